"""The distribution ships every package folder under the `ted` import root."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    expected = set()
    for package, path in config["package-dir"].items():
        folder = ROOT / path
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            expected.add(".".join([package, *relative]))
    assert expected == set(config["packages"])
