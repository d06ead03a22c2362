"""`ted eval` killed with SIGKILL and continued with `--resume`: no kept answer is asked again."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from cli_support import TED, error_line, invoke, model_args, run_ted, simulated, subprocess_env, synth_dataset

from ted.sim.server import RequestRecord

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _kept(library: Path) -> int:
    """Complete answer lines kept by the library's evaluations."""
    return sum(
        sum(1 for line in path.read_text().splitlines() if line.endswith("}"))
        for path in library.glob("evaluations/*/answers.jsonl")
    )


def _asked(log: list[RequestRecord]) -> int:
    """Answers the student was asked for (the endpoint check quotes no item)."""
    return sum(1 for record in log if record.kind == "solve" and record.item_id)


def test_a_killed_evaluation_resumes_to_the_same_report(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=24, seed=6)
    library = tmp_path / "library"
    with simulated(dataset) as sim:
        training = ["--train-size", "8", "--rollouts", "2", "--embeddings", "hash"]
        distilled = run_ted(
            ["distill", str(dataset), "--library", str(library), *model_args(sim.base_url), *training]
        )
    assert distilled.returncode == 0, distilled.stderr
    evaluate = ["eval", str(dataset), "--library", str(library), "--json"]

    with simulated(dataset) as sim:
        reference = run_ted([*evaluate, *model_args(sim.base_url, teacher=False)])
        total = _asked(sim.log)
    assert reference.returncode == 0, reference.stderr
    assert total == 16 * 2  # 16 held-out items, with and without the library
    kept_by_reference = _kept(library)

    # Slow answers, two at a time: the evaluation is killed part way.
    with simulated(dataset, latency=0.3) as sim:
        process = subprocess.Popen(
            [*TED, *evaluate, *model_args(sim.base_url, teacher=False), "--concurrency", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=subprocess_env(),
        )
        deadline = time.monotonic() + 120
        while _kept(library) - kept_by_reference < 8:
            assert process.poll() is None and time.monotonic() < deadline, "the evaluation never got going"
            time.sleep(0.05)
        process.kill()
        process.wait()
    kept = _kept(library) - kept_by_reference
    assert 8 <= kept < total

    # The endpoint moved: --resume takes its new address and asks only what was not kept.
    with simulated(dataset) as sim:
        resumed = run_ted(
            ["eval", "--library", str(library), "--resume", "--json", "--student-url", sim.base_url]
        )
        asked_again = _asked(sim.log)
    assert resumed.returncode == 0, resumed.stderr
    assert asked_again == total - kept

    ours, theirs = json.loads(resumed.stdout), json.loads(reference.stdout)
    for key in ("conditions", "categories", "comparison", "library_accuracy", "baseline_accuracy"):
        assert ours[key] == theirs[key], key
    for key in ("input_tokens", "output_tokens"):
        assert ours["costs"][key] == theirs["costs"][key], key

    # Finished: there is nothing left to resume, and a finished evaluation's options cannot change.
    again = invoke(["eval", "--library", str(library), "--resume"])
    assert again.exit_code == 1 and "no unfinished evaluation to resume" in error_line(again)
    changed = invoke(["eval", "--library", str(library), "--resume", "--seeds", "3"])
    assert changed.exit_code == 1 and "leave out --seeds" in error_line(changed)
