"""ExperienceStore with its index on a real Chroma server (`chroma run`) started by the test."""

from __future__ import annotations

import gc
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port
from memory_fixtures import open_store

from ted.memory import LibraryError, UsageStats, plan_compression

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _start_chroma(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    executable = Path(sys.executable).with_name("chroma")
    process = subprocess.Popen(
        [str(executable), "run", "--path", str(data), "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("chroma run did not answer within 30 s")


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    process, url = _start_chroma(tmp_path / "server-data")
    yield url
    process.terminate()
    process.wait(timeout=10)


async def test_store_through_a_chroma_server(tmp_path: Path, chroma_server: str) -> None:
    library = tmp_path / "lib"
    with open_store(library, chroma_url=chroma_server) as store:
        units = await store.add(
            "Check the units of every quantity before comparing options.", tags=["physics"]
        )
        polygon = await store.add("Count the sides of the polygon before using the angle sum.")
        copy = await store.add("Check the units of each quantity before comparing them.")
        await store.record_usage({units.id: UsageStats(retrieved=2, cited=2, cited_correct=2)})
        hits = await store.search("units of quantities", k=2)
        assert {h.experience.id for h in hits} == {units.id, copy.id}
        assert [h.experience.id for h in await store.search("units", k=3, tags=["physics"])] == [units.id]
        plan = await plan_compression(store, merge_threshold=0.7)
        assert plan.clusters == [[units.id, copy.id]]
        await store.delete(polygon.id)
        assert not (library / "chroma").exists()  # the index lives on the server
    # A second process (here: a second store) sees the same index on the server.
    with open_store(library, chroma_url=chroma_server, create=False) as again:
        ids = [h.experience.id for h in await again.search("polygon sides", k=3)]
        assert set(ids) == {units.id, copy.id}


async def test_a_closed_store_leaves_no_connection_to_the_server(tmp_path: Path, chroma_server: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with open_store(tmp_path / "lib", chroma_url=chroma_server) as store:
            await store.add("Draw the figure before computing any angle.")
        del store
        gc.collect()  # an unclosed socket warns when it is collected
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []


async def test_a_new_server_gets_the_index_rebuilt(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    first, url = _start_chroma(tmp_path / "first")
    try:
        with open_store(library, chroma_url=url) as store:
            kept = await store.add("Draw the figure before computing any angle.")
    finally:
        first.terminate()
        first.wait(timeout=10)
    second, url = _start_chroma(tmp_path / "second")  # empty server: the collection is rebuilt from SQLite
    try:
        with open_store(library, chroma_url=url) as store:
            assert [h.experience.id for h in await store.search("draw the figure", k=1)] == [kept.id]
    finally:
        second.terminate()
        second.wait(timeout=10)


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="Chroma server"):
        open_store(tmp_path / "lib", chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(LibraryError, match="not an http"):
        open_store(tmp_path / "lib2", chroma_url="ftp://example")
