"""Export to versioned JSON and Markdown; import of exports and of minimal JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from memory_fixtures import hash_embeddings_fixture, open_store, store_fixture  # noqa: F401

from ted.memory import ExperienceStore, Status, UsageStats, export_json, import_file
from ted.memory.embeddings import HashEmbeddings
from ted.memory.errors import ImportFormatError
from ted.memory.models import Origin, Provenance
from ted.memory.transfer import export_markdown, read_import_file


async def filled(store: ExperienceStore) -> None:
    a = await store.add(
        "Check the units before comparing options.",
        tags=["physics"],
        provenance=Provenance(origin=Origin.REFLECT, source_items=["q1", "q2"], run="run-1"),
    )
    b = await store.add("Units must match before comparison.", provenance=Provenance(origin=Origin.REFLECT))
    c = await store.add("Count the sides of the polygon.", tags=["geometry"])
    await store.record_usage(
        {a.id: UsageStats(retrieved=5, cited=2, cited_correct=2, helpful=1), c.id: UsageStats(harmful=1)}
    )
    await store.merge([a.id, b.id], "Make the units match before comparing options.")


async def test_export_import_round_trip(store: ExperienceStore, tmp_path: Path) -> None:
    await filled(store)
    target = tmp_path / "export.json"
    assert await export_json(store, target, include_inactive=True) == 4
    document = json.loads(target.read_text())
    assert document["schema"] == "ted-experiences" and document["schema_version"] == 1
    assert document["embedding_model"] == "hash-256" and document["student_model"] == "student-1"
    assert document["library_version"] == store.version

    # Another embedding model on the receiving side: texts are embedded again there.
    with open_store(tmp_path / "copy", embeddings=HashEmbeddings(128)) as copy:
        result = await import_file(copy, target)
        assert result.format == "json" and len(result.imported) == 4 and result.skipped == []
        before = {e.id: e for e in await store.experiences(status=None)}
        after = {e.id: e for e in await copy.experiences(status=None)}
        assert after == before  # texts, tags, status, versions, timestamps, statistics, provenance
        hits = await copy.search("units match", k=5)
        assert [h.experience.text for h in hits] == [
            "Make the units match before comparing options.",
            "Count the sides of the polygon.",
        ]
        again = await import_file(copy, target)
        assert again.imported == [] and len(again.skipped) == 4
        assert (await copy.history(hits[0].experience.id))[0].kind == "import"


async def test_active_only_export_and_markdown(store: ExperienceStore, tmp_path: Path) -> None:
    await filled(store)
    assert await export_json(store, tmp_path / "active.json") == 2
    assert await export_markdown(store, tmp_path / "library.md", include_inactive=True) == 4
    text = (tmp_path / "library.md").read_text()
    assert text.startswith("# Experience library\n")
    assert "- experiences: 2 active, 2 superseded" in text
    assert "### 1. Make the units match before comparing options." in text  # the most useful first
    assert "from items `q1`, `q2`" in text and "votes 1 helpful / 0 harmful" in text


async def test_minimal_jsonl(store: ExperienceStore, tmp_path: Path) -> None:
    source = tmp_path / "mine.jsonl"
    source.write_text(
        '{"text": "Draw the figure first."}\n'
        "\n"
        '{"text": "  Read   every option. ", "id": "read-all", "tags": ["Reading"]}\n',
        encoding="utf-8",
    )
    result = await import_file(store, source)
    assert result.format == "jsonl" and len(result.imported) == 2
    read_all = await store.get("read-all")
    assert read_all.text == "Read every option." and read_all.tags == ["reading"]
    assert read_all.provenance.origin is Origin.IMPORT and read_all.student_model == "student-1"
    assert read_all.status is Status.ACTIVE
    # Lines without an id get one derived from the text, so a second import adds nothing.
    again = await import_file(store, source)
    assert again.imported == [] and await store.count() == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "ok"}\n{"text": "broken"\n', r"line 2: not valid JSON"),
        ('{"text": "ok"}\n["a list"]\n', r"line 2: expected an object"),
        ('{"tags": ["x"]}\n', r"line 1: text: Field required"),
        ('{"text": "ok", "colour": "red"}\n', r"line 1: colour: Extra inputs are not permitted"),
        ('{"text": "   "}\n', r"line 1: text is empty"),
        ('{"text": "a", "id": "x"}\n{"text": "b", "id": "x"}\n', r"line 2: experience x repeats line 1"),
        ('{"text": "same"}\n{"text": "same"}\n', r"line 2: .* repeats line 1"),
        ("\n\n", r"no experiences in the file"),
        ('{"schema": "other", "experiences": []}', r"not a ted-experiences export"),
        (
            '{"schema": "ted-experiences", "schema_version": 9, "experiences": []}',
            r"schema version 9 is newer",
        ),
        (
            '{"schema": "ted-experiences", "schema_version": 1, "embedding_model": "m", '
            '"experiences": [{"id": 1}]}',
            r"experiences.0.id: Input should be a valid string",
        ),
    ],
)
async def test_malformed_files_change_nothing(
    store: ExperienceStore, tmp_path: Path, content: str, message: str
) -> None:
    await store.add("Already here.")
    source = tmp_path / "bad.jsonl"
    source.write_text(content, encoding="utf-8")
    version = store.version
    with pytest.raises(ImportFormatError, match=message):
        await import_file(store, source)
    assert store.version == version and await store.count() == 1


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="no such file"):
        read_import_file(tmp_path / "missing.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ImportFormatError, match="UTF-8"):
        read_import_file(binary)
