"""Keep image paths inside their dataset folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ted.tasks.errors import ImageError


def resolve_inside(root: Path, reference: str | Path, *, relative_to: Sequence[Path] = ()) -> Path:
    """Resolve an image path and refuse it unless it stays inside ``root``.

    A relative path is looked up in each folder of ``relative_to`` and then in ``root``; the first
    existing file inside ``root`` wins. Symlinks are resolved first, so a link that points out of the
    folder is refused too.

    Args:
        root: The dataset folder.
        reference: A relative path (as written in the dataset) or an absolute path.
        relative_to: Folders to look in before ``root``, e.g. the folder of the file naming the image.

    Returns:
        The absolute, resolved path of an existing file inside ``root``.

    Raises:
        ImageError: The path is empty, escapes ``root`` or names no file.
    """
    text = str(reference).strip()
    if not text:
        raise ImageError("image path is empty")
    base = root.resolve()
    folders = list(dict.fromkeys([*relative_to, root]))
    inside = [
        target for target in ((folder / text).resolve() for folder in folders) if target.is_relative_to(base)
    ]
    if not inside:
        raise ImageError(f"image path {text!r} escapes the dataset folder {base}")
    for target in inside:
        if target.is_file():
            return target
    looked = " or ".join(str(target) for target in dict.fromkeys(inside))
    raise ImageError(f"image file {text!r} not found at {looked}")
