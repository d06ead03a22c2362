"""Damaged libraries through the `ted` command, in separate processes: notices and one-line errors."""

from __future__ import annotations

import asyncio
import json
import os
import random
from pathlib import Path

import pytest
from cli_support import error_line, invoke, model_args, run_ted, simulated, synth_dataset

from ted.memory import ExperienceStore
from ted.memory.embeddings import HashEmbeddings
from ted.runs import all_runs
from ted.runs.records import save_run

pytestmark = pytest.mark.slow

WORDS = [f"w{n}" for n in range(400)]
QUERY = "w1 w2 w3 w4 w5 w6"


def _library(path: Path, size: int) -> None:
    """A library of ``size`` texts of random words (past 1000, Chroma keeps vectors only in HNSW files)."""
    rng = random.Random(7)
    texts = [" ".join(rng.sample(WORDS, rng.randint(4, 12))) for _ in range(size)]

    async def build() -> None:
        store = await ExperienceStore.aopen(path, embeddings=HashEmbeddings(256))
        try:
            for start in range(0, size, 500):
                await store.add_many(texts[start : start + 500])
        finally:
            store.close()

    asyncio.run(build())


def _search(library: Path) -> tuple[list[tuple[str, float]], str]:
    """The results of a search up to the first tie (whose order is arbitrary), and the stderr."""
    result = run_ted(["experiences", "search", QUERY, "--library", str(library), "--k", "10", "--json"])
    assert result.returncode == 0, result.stderr
    hits = [(row["id"], row["score"]) for row in json.loads(result.stdout)]
    distinct = 0
    while distinct + 1 < len(hits) and hits[distinct][1] > hits[distinct + 1][1]:
        distinct += 1
    return hits[:distinct], result.stderr


@pytest.mark.parametrize("damage", ["chroma.sqlite3 truncated", "HNSW files deleted"])
def test_search_rebuilds_a_damaged_index_with_one_notice_and_the_same_results(
    tmp_path: Path, damage: str
) -> None:
    library = tmp_path / "library"
    _library(library, 1200)
    before, _ = _search(library)
    assert len(before) >= 3
    if damage == "chroma.sqlite3 truncated":
        os.truncate(library / "chroma" / "chroma.sqlite3", 20_000)
    else:
        [segment] = [p for p in (library / "chroma").iterdir() if p.is_dir()]
        for file in segment.iterdir():
            file.unlink()

    after, stderr = _search(library)
    assert after == before
    [notice] = stderr.splitlines()
    assert notice.startswith("note: the vector index of library") and "rebuilt it from the journal" in notice
    assert len(list(library.glob("chroma.damaged-*"))) == 1
    assert _search(library) == (before, "")  # the rebuilt index is healthy


def test_a_damaged_journal_is_one_line_until_repair_restores_the_last_backup(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=8, seed=4)
    library = tmp_path / "library"
    with simulated(dataset, seed=1) as sim:
        args = ["--library", str(library), *model_args(sim.base_url), "--embeddings", "hash"]
        distilled = invoke(["distill", str(dataset), *args, "--train-size", "4", "--rollouts", "1"])
        assert distilled.exit_code == 0, distilled.stderr
        listed = run_ted(["experiences", "list", "--library", str(library), "--json"])
        assert listed.returncode == 0, listed.stderr
        learned = json.loads(listed.stdout)
        assert learned, "the run learned nothing"
        # The run backed up the journal when it started and when it finished.
        assert len(list((library / "backups").glob("journal-*.sqlite"))) == 2
        # Pretend the run was interrupted, so that --resume has something to continue.
        [record] = all_runs(library)
        record.status = "interrupted"
        save_run(library, record)

        journal = library / "journal.sqlite"
        size = journal.stat().st_size
        assert size > 16384
        os.truncate(journal, size // 2)

        for command in (
            ["experiences", "list", "--library", str(library)],
            ["distill", "--library", str(library), "--resume"],
        ):
            failed = run_ted(command)
            assert failed.returncode == 1, failed.stderr
            assert "Traceback" not in failed.stderr
            line = error_line(failed)
            assert "journal" in line and "is damaged" in line
            assert f"run `ted experiences repair --library {library}`" in line

    repaired = run_ted(["experiences", "repair", "--library", str(library)])
    assert repaired.returncode == 0, repaired.stderr
    assert "restored it from the backup of" in repaired.stdout
    assert f"{len(learned)} active experiences" in repaired.stdout
    assert len(list(library.glob("journal.damaged-*.sqlite"))) == 1
    listed = run_ted(["experiences", "list", "--library", str(library), "--json"])
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == learned
    search = run_ted(["experiences", "search", "count the sides", "--library", str(library), "--json"])
    assert search.returncode == 0 and json.loads(search.stdout), search.stderr

    healthy = run_ted(["experiences", "repair", "--library", str(library), "--json"])
    assert healthy.returncode == 0, healthy.stderr
    assert json.loads(healthy.stdout)["journal_damage"] is None
    assert len(list(library.glob("journal.damaged-*.sqlite"))) == 1


def test_import_and_compress_back_up_the_journal_first(tmp_path: Path) -> None:
    library = tmp_path / "library"
    texts = tmp_path / "texts.jsonl"
    texts.write_text("".join(json.dumps({"text": f"Advice number {n} about w{n}."}) + "\n" for n in range(6)))
    backups = library / "backups"
    imported = invoke(["experiences", "import", str(texts), "--library", str(library), "--embeddings=hash"])
    assert imported.exit_code == 0, imported.stderr
    assert [b.name.endswith("-v0.sqlite") for b in backups.iterdir()] == [True]  # before the import
    compressed = invoke(["experiences", "compress", "--library", str(library), "--cap", "3"])
    assert compressed.exit_code == 0, compressed.stderr
    assert sorted(b.name.split("-v")[1] for b in backups.iterdir()) == ["0.sqlite", "6.sqlite"]
