"""How close the distillation loop gets to the time its model calls alone require.

Against the simulated endpoint, it distils synthetic items twice, with the barrier-free schedule (a
window of items in flight) and with the batched schedule of earlier versions (each batch waits for its
slowest item), and compares each wall time with the lower bound of its call schedule. The endpoint
runs in a process of its own (`ted sim serve`), as a real model server would, and logs the latency it
was asked to simulate for every call: the bounds are computed from those latencies, not from its
handler's time (which includes its own work).

- an item's critical path is its slowest solve call (the student rollouts and the teacher run in
  parallel) plus its reflection calls, which are sequential;
- stream bound: the items' paths placed greedily on ``window`` slots in the order the run starts
  them; when a compression runs, no item starts until it has finished (as in the run), and it
  lasts its calls' critical path (its calls' total time spread over the calls it may run at once,
  at least its longest run of calls that each waited for the one before: merges, then rewrites,
  then reviews);
- batched bound: per batch, the slowest item's path; plus each compression.

Before each timed run, as `ted distill` does before its loop, the endpoints are checked (which makes
the model clients) and the library is opened; the imports and the embedding model are loaded once.

It also evaluates held-out items with the distilled library (``answer_items``) and compares the
evaluation's wall time with its bound, answers x mean latency / concurrency (and with its calls placed
greedily on the concurrency's slots, which long-tailed latencies need); and it runs the stream
distillation with zero latency, where all remaining time is orchestration (graph, retrieval,
embeddings, library writes, checkpoints), reported per item. The models are simulated: this measures
the pipeline, not model quality.

Each run draws its own latencies (the simulator's draws follow the requests, which differ with the
timing), so the walls of the two schedules face different calls; ``bounds_on_the_same_calls`` compares
the two schedules' bounds on the stream run's calls.

A run's ratio moves by a few hundredths from one run to the next on a small machine, so each schedule
runs ``--repeat`` times (3 by default, the two schedules taking turns, each run against a fresh
endpoint and library): the figures are those of the run with the median ratio, ``runs`` lists every
run's, and the speedup compares the median walls. The evaluation follows the first stream run.

Run: python bench/orchestration.py [--items 32] [--rollouts 4] [--batch 8] [--window 8]
     [--latency 1.0 | lognormal:1.0,0.8 | uniform:0.5,1.5] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import math
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ted.graph import Context, close_libraries, open_library
from ted.graph.compression import CONCURRENCY as COMPRESS_CONCURRENCY
from ted.graph.preflight import preflight
from ted.graph.schedule import Schedule, units
from ted.memory import get_embeddings
from ted.runs.answers import answer_items
from ted.runs.checkpoints import run_graph
from ted.sim import RequestRecord, parse_latency
from ted.tasks import Item
from ted.tasks.synth import generate

CHAT = "/v1/chat/completions"


@contextmanager
def simulated_endpoint(data: Path, log: Path, *, seed: int, latency: str) -> Iterator[str]:
    """Run `ted sim serve` on the dataset in a child process; yield its base URL."""
    ted = Path(sys.executable).with_name("ted")
    command = [str(ted), "sim", "serve", "--dataset", str(data), "--seed", str(seed)]
    command += ["--latency", latency, "--log", str(log), "--json"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield str(json.loads(server.stdout.readline())["base_url"])
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def _context(work: Path, name: str, base_url: str, args: argparse.Namespace) -> Context:
    return Context(
        library=str(work / f"library-{name}"),
        embeddings=args.embeddings,
        student_model="sim-student",
        teacher_model="sim-teacher",
        student_base_url=base_url,
        teacher_base_url=base_url,
        rollouts=args.rollouts,
        compress_every=args.compress_every,
    )


def _read_log(path: Path) -> list[RequestRecord]:
    return [RequestRecord.model_validate_json(line) for line in path.read_text().splitlines() if line]


async def _distil(
    train: list[Item],
    test: list[Item],
    work: Path,
    args: argparse.Namespace,
    latency: str,
    schedule: Schedule,
    repeat: int = 0,
) -> dict[str, Any]:
    """One distillation (and, with ``test``, an evaluation after it) against a fresh endpoint and library.

    ``repeat`` numbers the runs of one schedule and latency, each with a library of its own.
    """
    name = f"{schedule}-{latency}-{repeat}"
    log_path = work / f"requests-{name}.jsonl"
    windows: list[list[float]] = []  # [start, end] of each compression, from the loop's steps

    def on_event(namespace: tuple[str, ...], node: str, update: dict[str, Any]) -> None:
        if namespace:
            return
        now = time.time()
        if node == "distill_items" and (update.get("compress_due") or update.get("finished") == len(train)):
            windows.append([now, math.inf])
        elif update.get("compressions") and windows:
            windows[-1][1] = now

    evaluation: dict[str, Any] = {}
    with simulated_endpoint(work / "data", log_path, seed=args.seed, latency=latency) as base_url:
        context = _context(work, name, base_url, args)
        # What `ted distill` does before the loop starts: check the endpoints (which also makes the model
        # clients) and open the library. Their requests are left out of the bound's log.
        context = (await preflight(context)).context
        await open_library(context)
        since = time.time()
        started = time.perf_counter()
        output = await run_graph(
            train,
            context,
            run_id=f"bench-{schedule}",
            batch_size=args.batch,
            window=args.window,
            schedule=schedule,
            on_event=on_event,
        )
        wall = time.perf_counter() - started
        if test:
            split = time.time()
            started = time.perf_counter()
            answers = await answer_items(test, context, concurrency=args.eval_concurrency)
            evaluation = {
                "wall": time.perf_counter() - started,
                "since": split,
                "answers": len(answers["answers"]),
            }
    close_libraries()
    return {
        "wall": wall,
        "since": since,
        "log": [r for r in _read_log(log_path) if r.start >= since],
        "output": output,
        "windows": windows,
        "eval": evaluation,
    }


def item_paths(log: list[RequestRecord]) -> dict[str, float]:
    """Each item's critical path: its slowest solve call, then its reflection calls, one after another."""
    solve: dict[str, float] = defaultdict(float)
    reflect: dict[str, float] = defaultdict(float)
    for record in log:
        if record.path != CHAT or record.item_id is None or record.kind == "compress":
            continue
        seconds = record.latency or 0.0
        if record.kind == "solve":
            solve[record.item_id] = max(solve[record.item_id], seconds)
        else:
            reflect[record.item_id] += seconds
    return {item: solve[item] + reflect[item] for item in set(solve) | set(reflect)}


def chain(calls: list[RequestRecord]) -> float:
    """The longest run of calls each sent after the one before it answered, in requested latency.

    A compression asks in rounds (merges, then rewrites; reviews after pruning), each waiting for the
    one before: the calls of a round overlap, those of the next start after they end.
    """
    ordered = sorted(calls, key=lambda r: r.start)
    longest: list[float] = []
    for n, call in enumerate(ordered):
        before = [longest[m] for m in range(n) if ordered[m].end <= call.start]
        longest.append((call.latency or 0.0) + max(before, default=0.0))
    return max(longest, default=0.0)


def compressions(
    log: list[RequestRecord],
    windows: list[list[float]],
    progress: list[dict[str, Any]],
    reports: list[dict[str, Any]],
    total: int,
) -> list[tuple[int, float]]:
    """Each compression as (items finished when it started, the critical path of its calls)."""
    calls = [r for r in log if r.path == CHAT and r.kind == "compress"]
    found = []
    for n, report in enumerate(reports):
        start, end = windows[n] if n < len(windows) else (math.inf, math.inf)
        mine = [r for r in calls if start - 0.05 <= r.start <= end]
        seconds = [r.latency or 0.0 for r in mine]
        path = max([chain(mine), sum(seconds) / min(COMPRESS_CONCURRENCY, len(mine))]) if mine else 0.0
        step = report["step"]
        found.append((progress[step - 1]["items_done"] if 0 < step <= len(progress) else total, path))
    return found


def stream_bound(paths: list[float], window: int, pauses: list[tuple[int, float]]) -> float:
    """The makespan of the paths placed greedily on ``window`` slots, in order, with the pauses."""
    pause_after = dict(pauses)
    running: list[float] = []
    clock, finished, position, blocked = 0.0, 0, 0, 0.0
    while finished < len(paths):
        while position < len(paths) and len(running) < window and clock >= blocked:
            heapq.heappush(running, clock + paths[position])
            position += 1
        if not running or (clock < blocked < running[0]):
            clock = blocked
            continue
        clock = heapq.heappop(running)
        finished += 1
        if finished in pause_after and finished < len(paths):
            blocked = clock + pause_after[finished]
    return clock + pause_after.get(len(paths), 0.0)


def batched_bound(paths: list[float], batch: int, count: int, pauses: list[tuple[int, float]]) -> float:
    """Per batch (never across epochs), its slowest path; plus every compression."""
    total = 0.0
    for start in range(0, len(paths), count):
        epoch = paths[start : start + count]
        total += sum(max(epoch[n : n + batch]) for n in range(0, len(epoch), batch))
    return total + sum(seconds for _, seconds in pauses)


def _paths_and_pauses(
    run: dict[str, Any], items: list[Item], seed: int
) -> tuple[list[float], list[tuple[int, float]]]:
    log, output = run["log"], run["output"]
    path_of = item_paths(log)
    paths = [path_of.get(items[unit.item].id, 0.0) for unit in units(len(items), 1, seed)]
    return paths, compressions(log, run["windows"], output["progress"], output["compressions"], len(paths))


def bound_of(run: dict[str, Any], items: list[Item], args: argparse.Namespace, schedule: Schedule) -> float:
    """The bound of ``run`` under ``schedule``, from the latencies of ``run``'s own calls."""
    paths, pauses = _paths_and_pauses(run, items, args.seed)
    if schedule == "batches":
        return batched_bound(paths, args.batch, len(items), pauses)
    return stream_bound(paths, args.window, pauses)


def compression_times(run: dict[str, Any], total: int) -> dict[str, float]:
    """The compressions' wall time in the run (pausing item starts) against their calls' critical path."""
    output = run["output"]
    pauses = compressions(run["log"], run["windows"], output["progress"], output["compressions"], total)
    walls = [end - start for start, end in run["windows"][: len(pauses)] if math.isfinite(end)]
    return {
        "count": len(pauses),
        "wall_s": round(sum(walls), 3),
        "bound_s": round(sum(p for _, p in pauses), 3),
    }


def distillation_calls(run: dict[str, Any]) -> list[RequestRecord]:
    """The model calls of ``run``'s distillation (those of the evaluation after it left out)."""
    return [r for r in run["log"] if r.path == CHAT and r.start < run["eval"].get("since", math.inf)]


def _rounds(calls: list[RequestRecord]) -> list[tuple[float, float, float]]:
    """(start, end, longest latency) of each run of overlapping calls, in order."""
    rounds: list[list[float]] = []
    for call in sorted(calls, key=lambda r: r.start):
        if rounds and call.start < rounds[-1][1]:
            rounds[-1][1] = max(rounds[-1][1], call.end)
            rounds[-1][2] = max(rounds[-1][2], call.latency or 0.0)
        else:
            rounds.append([call.start, call.end, call.latency or 0.0])
    return [(start, end, latency) for start, end, latency in rounds]


def critical_chain(run: dict[str, Any]) -> dict[str, Any]:
    """Where the run's wall time went along its critical chain, from the endpoint's log.

    Walking back from the run's end: the compression that ended it, if any; before a compression or
    an item's first call, the item whose last call ended last before it (the slot it most likely
    took), or a compression that ended later than that. Each item on the chain adds its calls'
    latencies (its slowest solve call, then its reflection calls) and the gaps between them; each
    compression its rounds of calls and the gaps around them. The parts add up to the wall time.
    """
    since, end = run["since"], run["since"] + run["wall"]
    calls = distillation_calls(run)
    items: dict[str, list[RequestRecord]] = defaultdict(list)
    for record in calls:
        if record.kind != "compress" and record.item_id is not None:
            items[record.item_id].append(record)
    compress_calls = [r for r in calls if r.kind == "compress"]
    windows = [(start, stop) for start, stop in run["windows"] if math.isfinite(stop)]
    first = {item: min(r.start for r in records) for item, records in items.items()}
    last = {item: max(r.end for r in records) for item, records in items.items()}
    spent: dict[str, float] = defaultdict(float)
    loop_gap = "loop: from an item's last answer to a compression or the run's end"
    on_chain = 0

    def waited(begun: float, ended: float, latency: float | None) -> None:
        """A call (or a round of calls) the chain waited for, from ``begun`` to ``ended``."""
        spent["latency"] += latency or 0.0
        spent["calls: beyond their latency"] += ended - begun - (latency or 0.0)

    def compression(start: float, stop: float) -> None:
        before = start
        for begun, ended, latency in _rounds([r for r in compress_calls if start <= r.start <= stop]):
            spent["compression: before and between its rounds of calls"] += begun - before
            waited(begun, ended, latency)
            before = ended
        spent["compression: after its last call"] += stop - before

    def last_before(moment: float) -> str | None:
        done = [item for item in items if last[item] <= moment]
        return max(done, key=last.__getitem__) if done else None

    def through_compression(start: float, stop: float) -> str | None:
        """Count a compression on the chain and the wait before it; the item it followed, if any."""
        compression(start, stop)
        previous = last_before(start)
        if previous is None:
            spent["run start: to the first calls"] += start - since
        else:
            spent[loop_gap] += start - last[previous]
        return previous

    if windows and items and windows[-1][0] >= max(last.values()):
        spent["run end: after the last compression"] += end - windows[-1][1]
        item = through_compression(*windows[-1])
    else:
        item = last_before(end)
        if item is not None:
            spent[loop_gap] += end - last[item]
    while item is not None:
        on_chain += 1
        records = items[item]
        solve = [r for r in records if r.kind == "solve"]
        before = first[item]
        if solve:
            slowest = max(solve, key=lambda r: r.end)
            waited(before, slowest.end, slowest.latency)
            before = slowest.end
        reflections = sorted((r for r in records if r.kind != "solve"), key=lambda r: r.start)
        for n, call in enumerate(reflections):
            gap = (
                "items: solve answers to the first reflection call"
                if n == 0
                else "items: between reflection calls"
            )
            spent[gap] += call.start - before
            waited(call.start, call.end, call.latency)
            before = call.end
        start = first[item]
        previous = last_before(start)
        ended = [w for w in windows if w[1] <= start]
        window = max(ended, key=lambda w: w[1]) if ended else None
        if window is not None and (previous is None or window[1] >= last[previous]):
            spent["items: from one item's last answer to the next one's first call"] += start - window[1]
            previous = through_compression(*window)
        elif previous is not None:
            spent["items: from one item's last answer to the next one's first call"] += start - last[previous]
        else:
            spent["run start: to the first calls"] += start - since
        item = previous
    latency = spent.pop("latency", 0.0)
    return {
        "items": on_chain,
        "latency_s": round(latency, 3),
        "over_latency_ms": {
            part: round(1000 * seconds, 1) for part, seconds in sorted(spent.items(), key=lambda kv: -kv[1])
        },
    }


def per_stage(log: list[RequestRecord], count: int) -> dict[str, dict[str, float]]:
    """LLM calls and tokens per item, by stage (student, teacher, reflect, compress)."""
    stages: dict[str, dict[str, float]] = defaultdict(
        lambda: {"calls": 0.0, "prompt_tokens": 0.0, "completion_tokens": 0.0}
    )
    for record in log:
        if record.path != CHAT:
            continue
        stage = record.role if record.kind == "solve" else record.kind
        entry = stages[str(stage)]
        entry["calls"] += 1
        entry["prompt_tokens"] += record.prompt_tokens
        entry["completion_tokens"] += record.completion_tokens
    return {
        stage: {k: round(v / count, 2) for k, v in values.items()} for stage, values in sorted(stages.items())
    }


def _figures(wall: float, bound: float) -> dict[str, float]:
    return {
        "wall_s": round(wall, 3),
        "lower_bound_s": round(bound, 3),
        "ratio": round(wall / bound, 3) if bound else math.nan,
    }


def _median_run(
    runs: list[dict[str, Any]], figures: list[dict[str, float]]
) -> tuple[dict[str, Any], dict[str, float]]:
    """The run with the median ratio, and its figures (of two middle runs, the one with the higher ratio)."""
    order = sorted(range(len(runs)), key=lambda n: figures[n]["ratio"])
    middle = order[len(order) // 2]
    return runs[middle], figures[middle]


def _ends(run: dict[str, Any]) -> dict[str, float]:
    """Seconds from the run's start to its first model call, and from its last model call to its end."""
    calls = distillation_calls(run)
    if not calls:
        return {}
    first, last = min(r.start for r in calls), max(r.end for r in calls)
    return {
        "to_first_call_s": round(first - run["since"], 3),
        "after_last_call_s": round(run["since"] + run["wall"] - last, 3),
    }


def _evaluation(run: dict[str, Any], concurrency: int) -> dict[str, Any]:
    evaluation = run["eval"]
    calls = [r for r in run["log"] if r.path == CHAT and r.start >= evaluation["since"]]
    mean = sum(r.latency or 0.0 for r in calls) / len(calls) if calls else 0.0
    answers = evaluation["answers"]
    bound = answers * mean / concurrency
    # The calls placed greedily on the slots in the order they arrived: long-tailed latencies leave
    # the last answers waiting for their slowest calls whatever the concurrency.
    placed = stream_bound([r.latency or 0.0 for r in sorted(calls, key=lambda r: r.start)], concurrency, [])
    return {
        "answers": answers,
        "concurrency": concurrency,
        "mean_latency_s": round(mean, 3),
        **_figures(evaluation["wall"], bound),
        "answers_per_s": round(answers / evaluation["wall"], 2),
        "bound_answers_per_s": round(concurrency / mean, 2) if mean else math.nan,
        "placed_bound_s": round(placed, 3),
        "ratio_to_placed_bound": round(evaluation["wall"] / placed, 3) if placed else math.nan,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    parse_latency(args.latency)  # a bad value fails here, with the simulator's message
    # Imports and the embedding model are one-time costs of the process, not of the loop: pay them first.
    started = time.perf_counter()
    import chromadb  # noqa: F401
    import langchain_openai  # noqa: F401

    await get_embeddings(args.embeddings).aembed_query("warm up")
    warm_up = time.perf_counter() - started
    streams: list[dict[str, Any]] = []
    batches: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        items = generate(work / "data", n=args.items + args.eval_items, seed=args.seed)
        train, test = items[: args.items], items[args.items :]
        # The schedules take turns, so that a slow spell of the machine does not fall on one of them.
        for n in range(args.repeat):
            streams.append(await _distil(train, [] if n else test, work, args, args.latency, "stream", n))
            batches.append(await _distil(train, [], work, args, args.latency, "batches", n))
        free = await _distil(train, [], work, args, "0", "stream")
    stream_runs = [_figures(run["wall"], bound_of(run, train, args, "stream")) for run in streams]
    batched_runs = [_figures(run["wall"], bound_of(run, train, args, "batches")) for run in batches]
    stream, stream_figures = _median_run(streams, stream_runs)
    batched_figures = _median_run(batches, batched_runs)[1]
    distilling = distillation_calls(stream)
    speedup = statistics.median(r["wall_s"] for r in batched_runs) / statistics.median(
        r["wall_s"] for r in stream_runs
    )
    return {
        "items": args.items,
        "rollouts": args.rollouts,
        "batch": args.batch,
        "window": args.window,
        "latency": args.latency,
        "embeddings": args.embeddings,
        "repeat": args.repeat,
        **stream_figures,
        "runs": stream_runs,
        "batched": {**batched_figures, "runs": batched_runs},
        "speedup_over_batches": round(speedup, 3),
        # Each run draws its own latencies (they follow the requests, which differ with the timing);
        # on the same calls, the schedules' bounds compare the schedules alone.
        "bounds_on_the_same_calls": {
            "stream_s": stream_figures["lower_bound_s"],
            "batches_s": round(bound_of(stream, train, args, "batches"), 3),
        },
        "compressions": compression_times(stream, args.items),
        "run_ends": _ends(stream),
        "critical_chain": critical_chain(stream),
        "llm_calls": len(distilling),
        "evaluation": _evaluation(streams[0], args.eval_concurrency) if test else None,
        "zero_latency_wall_s": round(free["wall"], 3),
        "overhead_per_item_ms": round(1000 * free["wall"] / args.items, 1),
        "per_item_by_stage": per_stage(distilling, args.items),
        "warm_up_s": round(warm_up, 2),
        "errors": sum(len(run["output"]["errors"]) for run in [*streams, *batches]),
        "simulated": True,
    }


def _print(summary: dict[str, Any]) -> None:
    print(
        f"Distilling {summary['items']} synthetic items, N={summary['rollouts']}, "
        f"window {summary['window']}, batch {summary['batch']}, latency {summary['latency']} per call "
        f"(simulated models, {summary['embeddings']} embeddings)"
    )
    print(f"  imports and model load     {summary['warm_up_s']:8.2f} s   (once per process, before timing)")
    batched = summary["batched"]
    print(f"{'  median of ' + str(summary['repeat']) + ' runs each':31s}wall      bound    ratio")
    for name, row in (("stream (window)", summary), ("batches (barriers)", batched)):
        print(f"  {name:24s} {row['wall_s']:8.2f} s {row['lower_bound_s']:8.2f} s {row['ratio']:8.3f}")
    stream_ratios, batched_ratios = (
        ", ".join(f"{r['ratio']:.3f}" for r in row["runs"]) for row in (summary, batched)
    )
    print(f"  ratios of the runs: stream {stream_ratios}; batches {batched_ratios}")
    speedup, calls = summary["speedup_over_batches"], summary["llm_calls"]
    print(f"  speedup over batches     {speedup:8.3f}   (median walls; {calls} LLM calls)")
    same = summary["bounds_on_the_same_calls"]
    print(
        f"  bounds on the same calls {same['stream_s']:8.2f} s (stream) {same['batches_s']:8.2f} s (batches)"
    )
    if evaluation := summary["evaluation"]:
        print(
            f"  evaluation: {evaluation['answers']} answers, concurrency {evaluation['concurrency']}: "
            f"{evaluation['answers_per_s']:.2f}/s against {evaluation['bound_answers_per_s']:.2f}/s "
            f"(ratio {evaluation['ratio']:.3f}; to its calls placed on the slots "
            f"{evaluation['ratio_to_placed_bound']:.3f})"
        )
    chain = summary["critical_chain"]
    print(
        f"  critical chain (stream): {chain['items']} items, {chain['latency_s']:.2f} s of call latency; "
        "the rest, in ms:"
    )
    for part, ms in chain["over_latency_ms"].items():
        print(f"    {part:70s} {ms:7.1f}")
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
    parser.add_argument("--batch", type=int, default=8, help="items per point (and per batch, batched)")
    parser.add_argument("--window", type=int, default=8, help="items in flight (stream schedule)")
    parser.add_argument(
        "--latency",
        default="1.0",
        help="seconds per simulated call, uniform:LOW,HIGH or lognormal:MEDIAN,SIGMA",
    )
    parser.add_argument("--compress-every", type=int, default=16)
    parser.add_argument("--eval-items", type=int, default=32, help="held-out items evaluated (0: none)")
    parser.add_argument("--eval-concurrency", type=int, default=16)
    parser.add_argument("--embeddings", default="minilm", help="minilm (default), hash, ...")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per schedule; the run with the median ratio is reported"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    arguments = parser.parse_args()
    if arguments.repeat < 1:
        parser.error("--repeat must be at least 1")
    result = asyncio.run(main(arguments))
    if arguments.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
