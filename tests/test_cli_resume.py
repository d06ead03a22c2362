"""`ted distill` interrupted (SIGINT, then SIGKILL) and continued with `--resume`."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cli_support import TED, error_line, invoke, model_args, run_ted, simulated, subprocess_env, synth_dataset

from ted.memory import ExperienceStore
from ted.runs import all_runs

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _stop_at(args: list[str], marker: str, sig: signal.Signals) -> tuple[int, str]:
    """Start `ted ARGS`, send ``sig`` once its stderr shows ``marker``; the exit code and the stderr."""
    process = subprocess.Popen(
        [*TED, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env()
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if marker in line:
            process.send_signal(sig)
            break
    _, rest = process.communicate(timeout=120)
    return process.returncode, "".join(seen) + rest


def _experience_ids(library: Path) -> set[str]:
    async def ids() -> set[str]:
        store = await ExperienceStore.aopen(library, create=False)
        try:
            return {experience.id for experience in await store.experiences(status=None)}
        finally:
            store.close()

    return asyncio.run(ids())


def test_an_interrupted_run_resumes_to_completion(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=16, seed=2)
    library = tmp_path / "library"
    # Each model call takes 0.3 s, so the run is still going when the signals arrive.
    with simulated(dataset, latency=0.3) as sim:
        start = [
            "distill",
            str(dataset),
            "--library",
            str(library),
            *model_args(sim.base_url),
            "--train-size",
            "8",
            "--rollouts",
            "2",
            "--batch",
            "2",
            "--embeddings",
            "hash",
        ]
        code, stderr = _stop_at(start, "step 1/4", signal.SIGINT)
        assert code == 130, stderr
        [line] = [line for line in stderr.splitlines() if not line.startswith("step ")]
        assert (
            line.startswith("ted: error: interrupted") and f"ted distill --library {library} --resume" in line
        )
        [record] = all_runs(library)
        assert record.status == "interrupted" and record.attempts == 1
        learned_before = _experience_ids(library)

        resume = ["distill", "--library", str(library), "--resume"]
        code, stderr = _stop_at(resume, "step 2/4", signal.SIGKILL)
        assert code == -signal.SIGKILL, stderr
        [record] = all_runs(library)
        assert record.status == "running" and record.attempts == 2  # killed: nothing could be written

        finished = run_ted([*resume, "--json"])
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)
    assert summary["status"] == "finished" and summary["attempts"] == 3
    # Every training item was distilled exactly once, over three attempts.
    assert summary["items_done"] == 8
    assert sum(category["items"] for category in summary["categories"]) == 8
    assert [point["items_done"] for point in summary["curve"]] == [2, 4, 6, 8]
    assert learned_before and learned_before <= _experience_ids(library), "nothing learned is lost"
    assert (Path(summary["report_dir"]) / "report.md").is_file()
    [record] = all_runs(library)
    assert record.status == "finished"

    # A finished library has nothing to resume.
    again = invoke(resume)
    assert again.exit_code == 1
    assert "no unfinished run to resume" in error_line(again)


def test_resume_refuses_options_that_would_change_the_run(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=4)
    result = invoke(
        ["distill", str(dataset), "--library", str(tmp_path / "library"), "--resume", "--rollouts", "3"]
    )
    assert result.exit_code == 1
    line = error_line(result)
    assert "--resume continues a run with its recorded settings" in line
    assert "DATA" in line and "--rollouts" in line


def test_a_run_stopped_by_a_fatal_error_resumes_on_a_new_endpoint(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=12, seed=4)
    library = tmp_path / "library"
    with simulated(dataset, latency=0.05) as server:
        url = server.base_url

        def revoke_the_key_after_some_requests() -> None:
            while len(server.log) < 12:
                time.sleep(0.005)
            server.config = server.config.model_copy(update={"api_key": "only-this-key-now"})

        revoker = threading.Thread(target=revoke_the_key_after_some_requests)
        revoker.start()
        result = invoke(
            [
                "distill",
                str(dataset),
                "--library",
                str(library),
                *model_args(url),
                "--train-size",
                "8",
                "--rollouts",
                "2",
                "--batch",
                "2",
                "--embeddings",
                "hash",
            ]
        )
        revoker.join()
    assert result.exit_code == 1
    line = error_line(result)
    assert "refused the API key" in line
    assert f"continue it with `ted distill --library {library} --resume`" in line
    [record] = all_runs(library)
    assert record.status == "failed" and "refused the API key" in (record.error or "")

    # The endpoint moved (another port): --resume accepts its new address.
    with simulated(dataset) as moved:
        new_url = moved.base_url
        assert new_url != url
        resumed = invoke(
            [
                "distill",
                "--library",
                str(library),
                "--resume",
                "--student-url",
                moved.base_url,
                "--teacher-url",
                moved.base_url,
                "--json",
            ]
        )
    assert resumed.exit_code == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["items_done"] == 8 and summary["attempts"] == 2
    assert {m["endpoint"] for m in summary["models"]} == {new_url}
