"""`ted experiences ...` through click's CliRunner, and through a real subprocess for bad input."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from memory_fixtures import open_store

from ted.cli.main import cli
from ted.memory import UsageStats
from ted.memory.models import Origin, Provenance

UNITS = "Check the units of every quantity before comparing the options."
UNITS_COPY = "Check units of every quantity before comparing options."
POLYGON = "Count the polygon sides before using the angle sum formula."


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["experiences", *args], env=env, catch_exceptions=False)


@pytest.fixture
def library(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A library with three experiences (hash embeddings, so no model is loaded)."""
    path = tmp_path / "lib"

    async def fill() -> dict[str, str]:
        with open_store(path, student_model="qwen") as store:
            units = await store.add(
                UNITS, tags=["physics"], provenance=Provenance(origin=Origin.REFLECT, source_items=["q1"])
            )
            copy = await store.add(UNITS_COPY)
            polygon = await store.add(POLYGON, tags=["geometry"])
            await store.record_usage(
                {polygon.id: UsageStats(retrieved=20, cited=5, cited_wrong=5, harmful=2)}
            )
            await store.update(units.id, tags=["physics", "units"], reason="retagged")
            return {"units": units.id, "copy": copy.id, "polygon": polygon.id}

    return path, asyncio.run(fill())


def test_list_and_show(library: tuple[Path, dict[str, str]]) -> None:
    path, ids = library
    listed = run("--library", str(path), "list", "--json")
    assert listed.exit_code == 0
    rows = json.loads(listed.output)
    assert [r["id"] for r in rows] == [ids["units"], ids["copy"], ids["polygon"]]
    assert rows[0]["utility"] == 0.5 and rows[0]["tags"] == ["physics", "units"]
    table = run("--library", str(path), "list", "--tag", "geometry")
    assert (
        table.exit_code == 0 and ids["polygon"][:8] in table.output and ids["units"][:8] not in table.output
    )
    shown = run("--library", str(path), "show", ids["units"][:10], "--json")
    assert json.loads(shown.output)["provenance"]["source_items"] == ["q1"]
    text = run("--library", str(path), "show", ids["units"])
    assert text.exit_code == 0 and UNITS in text.output


def test_search_json(library: tuple[Path, dict[str, str]]) -> None:
    path, ids = library
    found = run("--library", str(path), "search", "units of quantities", "--k", "2", "--json")
    assert found.exit_code == 0
    rows = json.loads(found.output)
    assert {r["id"] for r in rows} == {ids["units"], ids["copy"]}
    assert all({"id", "text", "score"} <= set(r) for r in rows)
    assert rows[0]["score"] >= rows[1]["score"]
    tagged = json.loads(run("--library", str(path), "search", "units", "--tag", "geometry", "--json").output)
    assert [r["id"] for r in tagged] == [ids["polygon"]]
    table = run("--library", str(path), "search", "polygon")
    assert table.exit_code == 0 and "results for 'polygon'" in table.output


def test_history_and_stats(library: tuple[Path, dict[str, str]]) -> None:
    path, ids = library
    history = json.loads(run("--library", str(path), "history", ids["units"], "--json").output)
    assert [e["kind"] for e in history] == ["add", "update"] and history[1]["reason"] == "retagged"
    table = run("--library", str(path), "history", ids["polygon"])
    assert table.exit_code == 0 and "usage" in table.output
    stats = json.loads(run("--library", str(path), "stats", "--json").output)
    assert stats["counts"] == {"active": 3, "superseded": 0, "deleted": 0}
    assert (
        stats["version"] == 5 and stats["embedding_model"] == "hash-256" and stats["student_model"] == "qwen"
    )
    assert stats["usage"]["retrieved"] == 20 and stats["tags"] == {"physics": 1, "units": 1, "geometry": 1}


def test_compress_dry_run_then_apply(library: tuple[Path, dict[str, str]]) -> None:
    path, ids = library
    plan = json.loads(run("--library", str(path), "compress", "--dry-run", "--json").output)
    assert sorted(plan["clusters"][0]) == sorted([ids["units"], ids["copy"]])
    assert plan["prune"] == [ids["polygon"]]
    assert (
        json.loads(run("--library", str(path), "stats", "--json").output)["version"] == 5
    )  # nothing applied
    text = run("--library", str(path), "compress", "--dry-run")
    assert "1 clusters to merge, 1 to prune" in text.output
    applied = run("--library", str(path), "compress")
    assert applied.exit_code == 0 and "applied: 1 merged, 1 pruned, 0 evicted" in applied.output
    stats = json.loads(run("--library", str(path), "stats", "--json").output)
    assert stats["counts"] == {"active": 1, "superseded": 2, "deleted": 1}


def test_compress_without_a_model_lists_what_misled_and_leaves_it(tmp_path: Path) -> None:
    path = tmp_path / "lib"

    async def fill() -> str:
        with open_store(path) as store:
            misled = await store.add(POLYGON)
            await store.add(UNITS)
            await store.record_usage({misled.id: UsageStats(retrieved=2, cited=2, cited_wrong=2)})
            return misled.id

    misled = asyncio.run(fill())
    plan = json.loads(run("--library", str(path), "compress", "--dry-run", "--json").output)
    assert plan["review"] == [misled] and plan["prune"] == []
    applied = run("--library", str(path), "compress")
    assert applied.exit_code == 0 and "1 to review" in applied.output, applied.output
    assert (
        f"review {misled[:8]}" in applied.output
        and "misled: cited in 2 wrong answers, 0 right" in applied.output
    )
    stats = json.loads(run("--library", str(path), "stats", "--json").output)
    assert stats["counts"] == {"active": 2, "superseded": 0, "deleted": 0}


def test_export_import_rollback(library: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    path, _ids = library
    exported = run("--library", str(path), "export", str(tmp_path / "out.json"))
    assert exported.exit_code == 0 and "exported 3 experiences" in exported.output
    markdown = run("--library", str(path), "export", str(tmp_path / "out.md"), "--markdown")
    assert markdown.exit_code == 0 and (tmp_path / "out.md").read_text().startswith("# Experience library")
    copy = tmp_path / "copy"
    imported = run("--library", str(copy), "import", str(tmp_path / "out.json"), "--embeddings", "hash-64")
    assert imported.exit_code == 0 and "imported 3 experiences (0 already present)" in imported.output
    assert json.loads(run("--library", str(copy), "stats", "--json").output)["embedding_model"] == "hash-64"

    lines = tmp_path / "more.jsonl"
    lines.write_text('{"text": "Draw the figure first."}\n', encoding="utf-8")
    assert run("--library", str(path), "import", str(lines)).exit_code == 0
    assert json.loads(run("--library", str(path), "stats", "--json").output)["counts"]["active"] == 4
    rolled = run("--library", str(path), "rollback", "5")
    assert rolled.exit_code == 0 and "now at version 7" in rolled.output
    assert json.loads(run("--library", str(path), "stats", "--json").output)["counts"]["active"] == 3


def test_library_from_environment(library: tuple[Path, dict[str, str]]) -> None:
    path, _ids = library
    listed = run("list", "--json", env={"TED_LIBRARY": str(path)})
    assert len(json.loads(listed.output)) == 3


def _spellings(path: Path, command: list[str]) -> dict[str, list[str]]:
    """The same command with --library before and after the subcommand's name."""
    name, *rest = command
    return {
        "group": ["--library", str(path), name, *rest],
        "subcommand": [name, "--library", str(path), *rest],
    }


@pytest.mark.parametrize(
    "command",
    [
        ["list", "--json"],
        ["show", "{units}", "--json"],
        ["history", "{units}", "--json"],
        ["stats", "--json"],
    ],
)
def test_library_before_or_after_the_subcommand(
    library: tuple[Path, dict[str, str]], command: list[str]
) -> None:
    path, ids = library
    command = [word.format(**ids) for word in command]
    outputs = {}
    for spelling, args in _spellings(path, command).items():
        result = run(*args)
        assert result.exit_code == 0, (spelling, result.output)
        outputs[spelling] = json.loads(result.output)
    assert outputs["group"] == outputs["subcommand"]


def test_export_with_library_after_the_subcommand(
    library: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    path, _ids = library
    for spelling, args in _spellings(path, ["export", str(tmp_path / "out.json")]).items():
        result = run(*args)
        assert result.exit_code == 0 and "exported 3 experiences" in result.output, spelling
    imported = run("import", str(tmp_path / "out.json"), "--library", str(tmp_path / "copy"))
    assert imported.exit_code == 0 and "imported 3 experiences" in imported.output


def test_the_subcommand_value_wins_and_a_typed_value_beats_the_environment(
    library: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    path, _ids = library
    missing = str(tmp_path / "missing")
    both = run("--library", missing, "stats", "--library", str(path), "--json")
    assert json.loads(both.output)["library"] == str(path)
    # The environment names a missing library; a value typed anywhere replaces it.
    for args in (["--library", str(path), "stats", "--json"], ["stats", "--library", str(path), "--json"]):
        result = run(*args, env={"TED_LIBRARY": missing})
        assert result.exit_code == 0 and json.loads(result.output)["library"] == str(path), args
    wrong = CliRunner().invoke(cli, ["experiences", "stats", "--library", missing])
    assert wrong.stderr.startswith(f"ted: error: no experience library at {missing}")


@pytest.mark.parametrize("command", [["list"], ["show", "abc"], ["history", "abc"], ["export", "out.json"]])
def test_no_library_anywhere_is_one_error_line(command: list[str]) -> None:
    result = CliRunner().invoke(cli, ["experiences", *command])
    assert result.exit_code == 1
    assert result.stderr == "ted: error: no library given: pass --library PATH or set TED_LIBRARY\n"


def test_every_subcommand_lists_the_library_options_in_its_help() -> None:
    group = cli.get_command(click.Context(cli), "experiences")
    assert isinstance(group, click.Group)
    for name in group.list_commands(click.Context(group)):
        shown = run(name, "--help")
        assert shown.exit_code == 0, name
        assert "--library DIRECTORY" in shown.output and "$TED_LIBRARY" in shown.output, name
        assert "--chroma-url" in shown.output, name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "ffffffff"], "no experience with id 'ffffffff'"),
        (["history", "nope"], "no experience with id 'nope'"),
        (["rollback", "99"], "cannot roll back to version 99: the library is at version 5"),
        (["search", "  "], "the search query is empty"),
        (
            ["export", "/nonexistent-folder/out.json"],
            "cannot write /nonexistent-folder/out.json: folder /nonexistent-folder does not exist",
        ),
    ],
)
def test_bad_input_is_one_clear_line(
    library: tuple[Path, dict[str, str]], args: list[str], message: str
) -> None:
    path, _ = library
    result = CliRunner().invoke(cli, ["experiences", "--library", str(path), *args])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"ted: error: {message}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert json.loads(run("--library", str(path), "stats", "--json").output)["version"] == 5


def test_missing_library_is_not_created(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["experiences", "--library", str(tmp_path / "none"), "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("ted: error: no experience library at ")
    assert not (tmp_path / "none").exists()
    unset = CliRunner().invoke(cli, ["experiences", "list"])
    assert (
        unset.exit_code == 1
        and unset.stderr == "ted: error: no library given: pass --library PATH or set TED_LIBRARY\n"
    )


def test_malformed_import_leaves_the_library_as_it_was(
    library: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    path, _ = library
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": "fine too"}\n{"txt": "typo"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["experiences", "--library", str(path), "import", str(bad)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"ted: error: {bad}, line 3: text: Field required; txt: Extra inputs are not permitted\n"
    )
    assert json.loads(run("--library", str(path), "stats", "--json").output)["counts"]["active"] == 3
    fresh = CliRunner().invoke(cli, ["experiences", "--library", str(tmp_path / "new"), "import", str(bad)])
    assert fresh.exit_code == 1 and not (tmp_path / "new").exists()


@pytest.mark.slow
def test_real_subprocess_reports_bad_input_without_traceback(tmp_path: Path) -> None:
    ted = Path(sys.executable).with_name("ted")
    missing = subprocess.run(
        [str(ted), "experiences", "--library", str(tmp_path / "missing"), "search", "units"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"ted: error: no experience library at {tmp_path / 'missing'}")
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    assert missing.stdout == ""

    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    malformed = subprocess.run(
        [str(ted), "experiences", "--library", str(tmp_path / "lib"), "import", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert malformed.returncode == 1
    assert malformed.stderr == f"ted: error: {bad}, line 1: not valid JSON (Expecting value)\n"
    assert not (tmp_path / "lib").exists()
