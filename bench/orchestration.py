"""How close the distillation loop gets to the time its model calls alone require.

Against the simulated endpoint with a fixed latency per call, it distils synthetic items and compares
the wall time with the lower bound implied by the call schedule, read from the endpoint's request log.
The endpoint runs in a process of its own (`ted sim serve`), as a real model server would, so its work
does not compete with the pipeline's for the interpreter.

- per item, the critical path is its slowest solve call (the student rollouts and the teacher run in
  parallel) plus its reflection calls, which are sequential;
- per batch, the bound is the slowest item's path (the items of a batch run concurrently);
- per compression, the bound is its calls' total time spread over the calls it may run at once.

It also runs the same distillation with zero latency, where all remaining time is orchestration
(graph, retrieval, embeddings, library writes, checkpoints), and reports it per item, with LLM calls and
tokens per item and stage. The models are simulated: this measures the pipeline, not model quality.

Run: python bench/orchestration.py [--items 32] [--rollouts 4] [--batch 8] [--latency 1.0] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ted.graph import Context, close_libraries
from ted.graph.compression import CONCURRENCY as COMPRESS_CONCURRENCY
from ted.memory import get_embeddings
from ted.runs.checkpoints import run_graph
from ted.sim import RequestRecord
from ted.tasks import Item
from ted.tasks.synth import generate


@contextmanager
def simulated_endpoint(data: Path, log: Path, *, seed: int, latency: float) -> Iterator[str]:
    """Run `ted sim serve` on the dataset in a child process; yield its base URL."""
    ted = Path(sys.executable).with_name("ted")
    command = [str(ted), "sim", "serve", "--dataset", str(data), "--seed", str(seed)]
    command += ["--latency", str(latency), "--log", str(log), "--json"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield str(json.loads(server.stdout.readline())["base_url"])
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


async def _run(items: list[Item], work: Path, args: argparse.Namespace, latency: float) -> dict[str, Any]:
    log_path = work / f"requests-{latency}.jsonl"
    with simulated_endpoint(work / "data", log_path, seed=args.seed, latency=latency) as base_url:
        context = Context(
            library=str(work / f"library-{latency}"),
            embeddings=args.embeddings,
            student_model="sim-student",
            teacher_model="sim-teacher",
            student_base_url=base_url,
            teacher_base_url=base_url,
            rollouts=args.rollouts,
            compress_every=args.compress_every,
        )
        started = time.perf_counter()
        output = await run_graph(items, context, run_id=f"bench-{latency}", batch_size=args.batch)
        wall = time.perf_counter() - started
    close_libraries()
    log = [RequestRecord.model_validate_json(line) for line in log_path.read_text().splitlines() if line]
    return {"wall": wall, "log": log, "output": output}


def lower_bound(log: list[RequestRecord], items: list[Item], batch: int) -> float:
    """The critical path of the call schedule; see the module docstring."""
    batch_of = {item.id: n // batch for n, item in enumerate(items)}
    solve: dict[str, float] = defaultdict(float)
    reflect: dict[str, float] = defaultdict(float)
    compress: list[RequestRecord] = []
    for record in log:
        if record.path != "/v1/chat/completions":
            continue
        if record.kind == "compress":
            compress.append(record)
        elif record.item_id is not None and record.kind == "solve":
            solve[record.item_id] = max(solve[record.item_id], record.duration)
        elif record.item_id is not None:
            reflect[record.item_id] += record.duration
    per_batch: dict[int, float] = defaultdict(float)
    for item_id, number in batch_of.items():
        per_batch[number] = max(per_batch[number], solve[item_id] + reflect[item_id])
    bound = sum(per_batch.values())
    # Compressions: calls that started within a second of each other belong to one compression.
    compress.sort(key=lambda r: r.start)
    groups: list[list[RequestRecord]] = []
    for record in compress:
        if groups and record.start - groups[-1][-1].end < 1.0:
            groups[-1].append(record)
        else:
            groups.append([record])
    for group in groups:
        longest = max(r.duration for r in group)
        bound += max(longest, sum(r.duration for r in group) / min(COMPRESS_CONCURRENCY, len(group)))
    return bound


def per_stage(log: list[RequestRecord], count: int) -> dict[str, dict[str, float]]:
    """LLM calls and tokens per item, by stage (student, teacher, reflect, compress)."""
    stages: dict[str, dict[str, float]] = defaultdict(
        lambda: {"calls": 0.0, "prompt_tokens": 0.0, "completion_tokens": 0.0}
    )
    for record in log:
        if record.path != "/v1/chat/completions":
            continue
        stage = record.role if record.kind == "solve" else record.kind
        entry = stages[str(stage)]
        entry["calls"] += 1
        entry["prompt_tokens"] += record.prompt_tokens
        entry["completion_tokens"] += record.completion_tokens
    return {
        stage: {k: round(v / count, 2) for k, v in values.items()} for stage, values in sorted(stages.items())
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    # Imports and the embedding model are one-time costs of the process, not of the loop: pay them first.
    started = time.perf_counter()
    import chromadb  # noqa: F401
    import langchain_openai  # noqa: F401

    await get_embeddings(args.embeddings).aembed_query("warm up")
    warm_up = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        items = generate(work / "data", n=args.items, seed=args.seed)
        timed = await _run(items, work, args, args.latency)
        free = await _run(items, work, args, 0.0)
    bound = lower_bound(timed["log"], items, args.batch)
    calls = sum(1 for r in timed["log"] if r.path == "/v1/chat/completions")
    return {
        "items": args.items,
        "rollouts": args.rollouts,
        "batch": args.batch,
        "latency_s": args.latency,
        "embeddings": args.embeddings,
        "wall_s": round(timed["wall"], 3),
        "lower_bound_s": round(bound, 3),
        "ratio": round(timed["wall"] / bound, 3) if bound else math.nan,
        "llm_calls": calls,
        "zero_latency_wall_s": round(free["wall"], 3),
        "overhead_per_item_ms": round(1000 * free["wall"] / args.items, 1),
        "per_item_by_stage": per_stage(timed["log"], args.items),
        "warm_up_s": round(warm_up, 2),
        "errors": len(timed["output"]["errors"]),
        "simulated": True,
    }


def _print(summary: dict[str, Any]) -> None:
    print(
        f"Distilling {summary['items']} synthetic items, N={summary['rollouts']}, batch {summary['batch']}, "
        f"{summary['latency_s']} s per call (simulated models, {summary['embeddings']} embeddings)"
    )
    print(f"  imports and model load   {summary['warm_up_s']:8.2f} s   (once per process, before timing)")
    print(f"  wall time                {summary['wall_s']:8.2f} s")
    print(
        f"  call-schedule bound      {summary['lower_bound_s']:8.2f} s   ({summary['llm_calls']} LLM calls)"
    )
    print(f"  ratio                    {summary['ratio']:8.3f}")
    print(f"  zero-latency wall time   {summary['zero_latency_wall_s']:8.2f} s")
    print(f"  overhead per item        {summary['overhead_per_item_ms']:8.1f} ms")
    print("  per item, by stage:       calls   prompt tok   completion tok")
    for stage, values in summary["per_item_by_stage"].items():
        calls, prompt, completion = values["calls"], values["prompt_tokens"], values["completion_tokens"]
        print(f"    {stage:22s} {calls:6.2f} {prompt:12.1f} {completion:16.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=32)
    parser.add_argument("--rollouts", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per simulated call")
    parser.add_argument("--compress-every", type=int, default=16)
    parser.add_argument("--embeddings", default="minilm", help="minilm (default), hash, ...")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    arguments = parser.parse_args()
    result = asyncio.run(main(arguments))
    if arguments.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
