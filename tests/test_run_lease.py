"""One writer per library: a second `ted distill` on a live run or a new library is refused, not doubled."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from cli_support import TED, error_line, invoke, model_args, run_ted, simulated, subprocess_env, synth_dataset

from ted.memory import WriterLock
from ted.memory.lock import LibraryBusy
from ted.runs import all_runs

pytestmark = [pytest.mark.server, pytest.mark.slow]

RUN = ["--train-size", "6", "--rollouts", "2", "--batch", "2", "--embeddings", "hash"]


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*TED, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env()
    )


def _wait_for_holder(library: Path, process: subprocess.Popen[str]) -> dict[str, object]:
    """The lock file's record once ``process`` holds the library and has recorded its run."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        holder = WriterLock(library, "test").holder()
        if holder.get("pid") == process.pid and all_runs(library):
            return holder
        time.sleep(0.05)
    raise AssertionError("the run never took the library's writer lock")


def test_a_live_run_refuses_a_second_writer_and_nothing_is_doubled(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=12, seed=3)
    library = tmp_path / "library"
    # Calls of 1.5 s keep the first run going while the other two `ted` processes start.
    with simulated(dataset, latency=1.5) as server:
        new_run = ["distill", str(dataset), "--library", str(library), *model_args(server.base_url), *RUN]
        first = _start(new_run)
        holder = _wait_for_holder(library, first)
        [record] = all_runs(library)

        # The same run again from another process, then a new run on the same library.
        second = [_start(["distill", "--library", str(library), "--resume"]), _start(new_run)]
        refusals = [(p.wait(timeout=300), p.communicate()[1]) for p in second]
        assert first.poll() is None, "the first run ended before the others were refused"
        sent_while_refused = len(server.log)
        _, stderr = first.communicate(timeout=300)
        sent = len(server.log)

    assert first.returncode == 0, stderr
    for code, refused in refusals:
        lines = [line for line in refused.splitlines() if line.strip()]
        assert len(lines) == 1, refused
        line = lines[0]
        assert code == 1 and line.startswith("ted: error: library ")
        assert f"is being written by run {record.run_id} (process {first.pid}" in line, line
        assert str(holder["since"]) in line
    # The refused commands sent nothing and recorded nothing: one run, attempted once.
    assert sent > sent_while_refused > 0
    [finished] = all_runs(library)
    assert finished.run_id == record.run_id and finished.status == "finished" and finished.attempts == 1

    # The lock died with its process: the library is free again.
    again = run_ted(["distill", "--library", str(library), "--resume"])
    assert again.returncode == 1 and "no unfinished run to resume" in error_line(again)


def test_two_runs_creating_one_library_at_once(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=8, seed=5)
    library = tmp_path / "new-library"
    with simulated(dataset, latency=0.1) as server:
        args = ["distill", str(dataset), "--library", str(library), *model_args(server.base_url), *RUN]
        args.append("--json")
        processes = [_start(args), _start(args)]
        outcomes = [(p.wait(timeout=300), *p.communicate()) for p in processes]
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 1], outcomes
    [(_, _, refused)] = [(c, o, e) for c, o, e in outcomes if c == 1]
    [line] = [line for line in refused.splitlines() if line.strip()]
    assert line.startswith("ted: error: library ") and "is being written by run " in line, line
    [(_, out, _)] = [(c, o, e) for c, o, e in outcomes if c == 0]
    assert json.loads(out)["status"] == "finished"
    assert len(all_runs(library)) == 1


def test_the_writer_lock_in_one_process(tmp_path: Path) -> None:
    library = tmp_path / "library"
    with WriterLock(library, "run first") as held:
        assert held.held
        with pytest.raises(LibraryBusy, match=r"being written by run first \(process \d+, since "):
            WriterLock(library, "run second").acquire()
        # Curation commands are writers too; readers are not.
        texts = tmp_path / "texts.jsonl"
        texts.write_text(json.dumps({"text": "Count the corners before the edges."}) + "\n")
        imported = invoke(["experiences", "import", str(texts), f"--library={library}", "--embeddings=hash"])
        assert imported.exit_code == 1 and "being written by run first" in error_line(imported)
        listed = invoke(["experiences", "list", "--library", str(library)])
        assert "being written" not in listed.stderr
    with WriterLock(library, "run second") as second:
        assert second.holder()["writer"] == "run second"


def test_processes_sharing_a_chroma_server(tmp_path: Path) -> None:
    """Two libraries on one server are written at once; one library still has one writer; readers go on."""
    from test_memory_server import _start_chroma

    server, url = _start_chroma(tmp_path / "chroma-data")
    try:
        dataset = synth_dataset(tmp_path / "data", n=12, seed=8)
        first, second = tmp_path / "first", tmp_path / "second"
        with simulated(dataset, latency=1.0) as sim:
            run = ["distill", str(dataset), *model_args(sim.base_url), *RUN, "--chroma-url", url]
            writers = [_start([*run, "--library", str(first)]), _start([*run, "--library", str(second)])]
            _wait_for_holder(first, writers[0])
            _wait_for_holder(second, writers[1])
            refused = run_ted([*run, "--library", str(first)])
            server_option = ["--chroma-url", url]
            read = run_ted(["experiences", "search", "shapes", f"--library={first}", *server_option])
            assert all(writer.poll() is None for writer in writers), "the runs ended before the checks"
            outcomes = [(writer.wait(timeout=300), writer.communicate()[1]) for writer in writers]
        assert [code for code, _ in outcomes] == [0, 0], outcomes
        assert refused.returncode == 1 and "is being written by run " in error_line(refused)
        assert read.returncode == 0, read.stderr
        for library in (first, second):
            listed = run_ted(["experiences", "list", f"--library={library}", *server_option, "--json"])
            assert listed.returncode == 0 and json.loads(listed.stdout), listed.stderr
            assert not (library / "chroma").exists()  # the index is on the server
    finally:
        server.terminate()
        server.wait(timeout=10)
