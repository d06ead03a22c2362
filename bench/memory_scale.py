"""How the experience library scales: adds, search latency, recall and duplicate clustering.

For each size (default 1k, 10k and 100k experiences) a fresh library (embedded Chroma, bundled MiniLM)
is filled with synthetic but realistic advice sentences, some of them paraphrase families, and the
script measures:

- add throughput: bulk adds with precomputed vectors (one operation per 1,000), and single adds
  that embed their text (one operation each);
- search latency p50 / p95 for k=5, with a precomputed query vector and with the query embedded;
- recall@5 of the index against exact (numpy) search over the same vectors, ties counted as hits;
- the time to find near-duplicate clusters, and its growth from 1k to 10k (linear growth is a ratio
  of about 10), plus the whole `plan_compression`. Every experience's nearest neighbours are queried
  once, when it is indexed (that cost is inside the add throughput); cluster finding reads those
  lists, scores the pairs exactly and joins them with union-find. (Times up to 10k are the median of
  5 runs.)
- the recall of cluster finding, at the calibrated merge threshold (0.55, candidates a model confirms)
  and at 0.8 (merges nothing confirms): the share of the exact pairs at or above it (numpy over the
  same vectors) that the neighbour lists found ("pair recall"), and the share whose two ends the found
  pairs connect anyway, through other links ("linked recall": what union-find needs). Up to 20k every
  pair is checked; above, the pairs of a seeded sample of 2,000 experiences (an unbiased estimate).

Vectors of the synthetic texts are computed once with MiniLM and cached in ``--cache`` (default: a
folder in the system temp dir), so a rerun skips the ~4 minutes of embedding at 100k.

Usage: python bench/memory_scale.py [--sizes 1000,10000,100000] [--queries 200] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ted.memory import ExperienceStore, plan_compression
from ted.memory.compression import (
    MERGE_THRESHOLD,
    UNCONFIRMED_MERGE_THRESHOLD,
    clusters_from_pairs,
    similar_pairs,
)
from ted.memory.minilm import MiniLMEmbeddings

# Exact pairs are counted over all experiences up to this size, over a sample of sources above it.
EXACT_PAIRS_UP_TO = 20_000
PAIR_SAMPLE = 2_000

# Cluster finding is timed this many times up to 10k experiences and the median reported (small sizes
# are noisy); larger sizes are timed once.
CLUSTER_REPEATS = 5

TARGETS = {
    "search_p50_ms_at_100k": 10.0,
    "search_embedded_p50_ms_at_100k": 30.0,
    "recall_at_5": 0.95,
    "cluster_seconds_at_10k": 30.0,
}

SITUATIONS = [
    "the figure contains overlapping triangles",
    "the options differ only in sign",
    "a diagram is not to scale",
    "the question mentions a clock",
    "two shapes share an edge",
    "the answer must be an integer",
    "the sequence alternates between two rules",
    "the grid has hidden squares",
    "a probability is asked",
    "the units in the question are mixed",
    "the puzzle shows a rotating pattern",
    "the chart has two axes",
    "the question gives a percentage change",
    "a cube net is shown",
    "the text describes relative motion",
    "several options look almost the same",
    "a circle is inscribed in a square",
    "the pattern repeats every row",
    "the question asks for the odd one out",
    "a ratio is given instead of lengths",
    "the image is mirrored",
    "the problem involves consecutive numbers",
    "the path crosses itself",
    "colours encode a rule",
    "the question asks for a minimum",
    "a table lists partial data",
    "the angles are given in radians",
    "the shape is folded along a line",
    "the number of items grows each step",
    "an equation has two unknowns",
    "the question uses a double negative",
    "the dice are not standard",
    "a map uses a scale bar",
    "the statement contains 'at least'",
    "the graph is not a function",
    "the matrix is symmetric",
    "coins of several values are combined",
    "a balance scale is shown",
    "the spiral grows outward",
    "the word problem lists ages",
]
ACTIONS = [
    "label every known angle",
    "convert all lengths to the same unit",
    "write the equation explicitly",
    "count the edges one by one",
    "list the sample space",
    "check the parity of the total",
    "draw an auxiliary line",
    "compute both options numerically",
    "track each object separately",
    "mark the symmetric points",
    "estimate the answer first",
    "test the smallest case",
    "trace the path with a finger",
    "rewrite the ratio as fractions",
    "name every intermediate quantity",
    "compare the first and last rows",
    "split the figure into simple shapes",
    "note what stays constant",
    "look for a repeating period",
    "check the boundary cases",
    "read the axis labels again",
    "sum the angles around the point",
    "verify the units of the result",
    "eliminate impossible options",
    "count the hidden faces",
    "set up a small table",
    "follow the rotation step by step",
    "compute the complement",
    "check the sign of each term",
    "redraw the figure to scale",
    "translate the words into symbols",
    "group the items by colour",
    "look at the differences between terms",
    "find the invariant",
    "substitute the options back",
    "use coordinates",
    "compare areas instead of lengths",
    "check divisibility",
    "reflect the shape mentally",
    "count in a fixed order",
]
STEPS = [
    "choosing an option",
    "computing the final value",
    "applying the formula",
    "committing to a pattern",
    "writing the answer",
    "simplifying the expression",
    "comparing the options",
    "drawing a conclusion",
    "multiplying the probabilities",
    "reading off the graph",
    "rounding the result",
    "extending the sequence",
    "subtracting the overlap",
    "scaling the figure",
    "solving the equation",
    "adding the areas",
    "assuming independence",
    "counting the total",
    "guessing",
    "moving to the next row",
]
CONDITIONS = [
    "the figure looks symmetric",
    "the numbers grow quickly",
    "two options give the same value",
    "the diagram has a right angle",
    "the counts are small",
    "the answer seems too easy",
    "the rule changes halfway",
    "a shape is partly hidden",
    "the total is fixed",
    "the pieces can rotate",
    "the question involves time",
    "the data are given as percentages",
    "the pattern uses colours",
    "the problem mentions 'each'",
    "a length is missing",
    "the sequence is geometric",
    "the shapes overlap",
    "the question is about areas",
    "only one option is odd",
    "the path has loops",
    "the coins must be distinct",
    "the angles add up to more than 180 degrees",
    "the grid is square",
    "the figure is three-dimensional",
    "the options are ranges",
    "the events are dependent",
    "the answer is a fraction",
    "the rule involves position",
    "the table has empty cells",
    "the clock is a mirror image",
]
ALTERNATIVES = [
    "work backwards from the options",
    "count directly",
    "draw the full figure",
    "use an equation",
    "test each option",
    "look for a simpler pattern",
    "estimate and round",
    "use symmetry",
    "simulate a few steps",
    "use the complement rule",
    "split into cases",
    "measure with the grid",
    "compare ratios",
    "list all possibilities",
    "trust the computation over the picture",
    "check the extreme options first",
    "reduce the problem size",
    "use a diagram",
    "average the values",
    "track positions in a table",
]
MISTAKES = [
    "trust the picture",
    "add the percentages",
    "skip the units",
    "count corners twice",
    "assume symmetry",
    "ignore the hidden faces",
    "round too early",
    "pick the first plausible option",
    "mix up rows and columns",
    "forget the overlap",
    "assume the events are independent",
    "confuse area and perimeter",
    "read only the first sentence",
    "reverse the rotation",
    "ignore negative values",
    "assume a linear pattern",
    "drop the remainder",
    "mistake radius for diameter",
    "confuse hours and minutes",
    "guess from the colours",
]
TOPICS = [
    "geometry",
    "probability",
    "counting",
    "clock",
    "sequence",
    "spatial reasoning",
    "algebra",
    "logic",
    "arithmetic",
    "graph reading",
    "pattern",
    "measurement",
    "combinatorics",
    "rotation",
    "symmetry",
    "percentage",
    "ratio",
    "coordinate",
    "calendar",
    "mirror image",
]
ERRORS = [
    "sign errors",
    "double counting",
    "unit mistakes",
    "off-by-one errors",
    "misreading the figure",
    "rounding errors",
    "false patterns",
    "missing cases",
    "wrong orientation",
    "arithmetic slips",
    "confusing similar options",
    "overlooking constraints",
    "wrong assumptions about scale",
    "mixing up the order",
    "premature conclusions",
]
CHECKS = [
    "check the result against the picture",
    "make sure every case is counted",
    "verify the units",
    "confirm the answer is among the options",
    "recompute with another method",
    "check the extremes",
    "re-read the question",
    "confirm the pattern on one more term",
    "check that the total matches",
    "verify the sign",
    "make sure nothing overlaps",
    "check the orientation",
    "compare with an estimate",
    "test the rule on the first row",
    "make sure the answer is an integer",
]

# Surface forms of the same advice: paraphrase families use the same fillers in another form.
FORMS: dict[str, list[str]] = {
    "situation": [
        "When {situation}, {action} before {step}.",
        "Before {step}, {action} if {situation}.",
        "{Action} before {step} whenever {situation}.",
    ],
    "condition": [
        "If {condition}, {action}; otherwise {alternative}.",
        "{Action} if {condition}; if not, {alternative}.",
    ],
    "mistake": [
        "Do not {mistake} when {situation}; {action} instead.",
        "When {situation}, {action} instead of trying to {mistake}.",
    ],
    "topic": [
        "In {topic} problems, {action} to avoid {error}.",
        "To avoid {error} in {topic} problems, {action}.",
    ],
    "check": [
        "Before {step}, {action} and {check}.",
        "{Action} and {check} before {step}.",
    ],
}
SLOTS = {
    "situation": {"situation": SITUATIONS, "action": ACTIONS, "step": STEPS},
    "condition": {"condition": CONDITIONS, "action": ACTIONS, "alternative": ALTERNATIVES},
    "mistake": {"mistake": MISTAKES, "situation": SITUATIONS, "action": ACTIONS},
    "topic": {"topic": TOPICS, "action": ACTIONS, "error": ERRORS},
    "check": {"step": STEPS, "action": ACTIONS, "check": CHECKS},
}


def _render(meaning: str, form: int, fillers: dict[str, str]) -> str:
    values = dict(fillers, Action=fillers["action"][0].upper() + fillers["action"][1:])
    return FORMS[meaning][form].format(**values)


def generate_texts(count: int, seed: int, *, paraphrase_share: float = 0.05) -> list[str]:
    """``count`` distinct advice sentences; about ``paraphrase_share`` of them rephrase an earlier one."""
    rng = random.Random(seed)
    seen: set[str] = set()
    texts: list[str] = []
    kept: list[tuple[str, dict[str, str], int]] = []
    while len(texts) < count:
        if kept and rng.random() < paraphrase_share:
            meaning, fillers, used = kept[rng.randrange(len(kept))]
            others = [f for f in range(len(FORMS[meaning])) if f != used]
            text = _render(meaning, rng.choice(others), fillers)
        else:
            meaning = rng.choice(list(SLOTS))
            fillers = {slot: rng.choice(words) for slot, words in SLOTS[meaning].items()}
            form = rng.randrange(len(FORMS[meaning]))
            text = _render(meaning, form, fillers)
            kept.append((meaning, fillers, form))
        if text not in seen:
            seen.add(text)
            texts.append(text)
    return texts


def _vectors(texts: list[str], cache: Path, embeddings: MiniLMEmbeddings) -> np.ndarray:
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache / f"minilm-{len(texts)}-{key}.npy"
    if path.exists():
        return np.load(path)
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"embedding {len(texts)} texts with MiniLM (cached afterwards in {cache}) ...", file=sys.stderr)
    vectors = np.asarray(embeddings.encode_array(texts), dtype=np.float32)
    print(f"  {len(texts) / (time.perf_counter() - started):.0f} texts/s", file=sys.stderr)
    np.save(path, vectors)
    return vectors


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


async def _measure(
    size: int,
    texts: list[str],
    vectors: np.ndarray,
    queries: list[str],
    query_vectors: np.ndarray,
    embeddings: MiniLMEmbeddings,
    folder: Path,
) -> dict[str, Any]:
    store = await ExperienceStore.aopen(folder / f"library-{size}", embeddings=embeddings)
    try:
        singles = min(100, size // 10)
        started = time.perf_counter()
        for text in texts[:singles]:
            await store.add(text)
        single_rate = singles / (time.perf_counter() - started)

        started = time.perf_counter()
        for start in range(singles, size, 1000):
            end = min(start + 1000, size)
            await store.add_many(texts[start:end], vectors=vectors[start:end])
        bulk_rate = (size - singles) / (time.perf_counter() - started)

        ids, stored = await store.active_vectors()
        assert len(ids) == size
        latencies, hits = [], 0.0
        index = {i: n for n, i in enumerate(ids)}
        for vector in query_vectors:
            started = time.perf_counter()
            found = await store.search_vectors(vector[None, :], k=5)
            latencies.append((time.perf_counter() - started) * 1000)
            exact = stored @ vector
            fifth = np.partition(exact, -5)[-5]
            hits += sum(exact[index[h.experience.id]] >= fifth - 1e-5 for h in found) / 5
        embedded = []
        for query in queries:
            started = time.perf_counter()
            await store.search(query, k=5)
            embedded.append((time.perf_counter() - started) * 1000)

        timings = []
        for _ in range(CLUSTER_REPEATS if size <= 10_000 else 1):
            started = time.perf_counter()
            cluster_ids, cluster_vectors = await store.active_vectors()
            neighbours = await store.neighbour_lists(cluster_ids, cluster_vectors, k=8)
            found_pairs = similar_pairs(cluster_ids, neighbours, MERGE_THRESHOLD)
            clusters = clusters_from_pairs(found_pairs)
            timings.append(time.perf_counter() - started)
        cluster_seconds = statistics.median(timings)
        recall = {
            threshold: _pair_recall(
                cluster_ids, cluster_vectors, similar_pairs(cluster_ids, neighbours, threshold), threshold
            )
            for threshold in (MERGE_THRESHOLD, UNCONFIRMED_MERGE_THRESHOLD)
        }
        started = time.perf_counter()
        plan = await plan_compression(store)
        plan_seconds = time.perf_counter() - started
        disk = sum(p.stat().st_size for p in store.path.rglob("*") if p.is_file())
        return {
            "size": size,
            "single_adds_per_s": round(single_rate, 1),
            "bulk_adds_per_s": round(bulk_rate, 1),
            "search_p50_ms": round(_percentile(latencies, 50), 2),
            "search_p95_ms": round(_percentile(latencies, 95), 2),
            "search_embedded_p50_ms": round(_percentile(embedded, 50), 2),
            "search_embedded_p95_ms": round(_percentile(embedded, 95), 2),
            "recall_at_5": round(hits / len(query_vectors), 4),
            "cluster_seconds": round(cluster_seconds, 4),
            "clusters": len(clusters),
            **{
                f"{name}_at_{threshold:g}": value
                for threshold, values in recall.items()
                for name, value in zip(("exact_pairs", "pair_recall", "linked_recall"), values, strict=True)
            },
            "plan_seconds": round(plan_seconds, 3),
            "plan_clusters": len(plan.clusters),
            "disk_mb": round(disk / 1e6, 1),
        }
    finally:
        store.close()


def _pair_recall(
    ids: list[str], vectors: np.ndarray, found: list[tuple[float, str, str]], threshold: float
) -> tuple[int, float | None, float | None]:
    """The exact pairs at or above ``threshold``: how many, the share cluster finding listed, and the
    share whose ends its pairs connect (through any chain of found links).

    Above `EXACT_PAIRS_UP_TO` experiences, only pairs with one end in a seeded sample of sources count.
    """
    n = len(ids)
    rows = (
        np.arange(n)
        if n <= EXACT_PAIRS_UP_TO
        else np.sort(np.random.default_rng(0).choice(n, PAIR_SAMPLE, replace=False))
    )
    sources = {ids[i] for i in rows}
    listed = {(a, b) for _, a, b in found if a in sources or b in sources}
    parent = {i: i for i in ids}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for _, a, b in found:
        parent[root(a)] = root(b)
    exact: set[tuple[str, str]] = set()
    for start in range(0, len(rows), 1000):
        block = rows[start : start + 1000]
        similarity = vectors[block] @ vectors.T
        for row, column in zip(*np.nonzero(similarity >= threshold), strict=True):
            a, b = ids[block[row]], ids[column]
            if a != b:
                exact.add((a, b) if a < b else (b, a))
    if not exact:
        return 0, None, None
    linked = sum(root(a) == root(b) for a, b in exact)
    return len(exact), round(len(exact & listed) / len(exact), 4), round(linked / len(exact), 4)


async def run(sizes: list[int], query_count: int, cache: Path, seed: int) -> dict[str, Any]:
    embeddings = MiniLMEmbeddings()
    texts = generate_texts(max(sizes), seed)
    vectors = _vectors(texts, cache, embeddings)
    known = set(texts)
    queries = [t for t in generate_texts(max(sizes) + 5 * query_count, seed + 1) if t not in known][
        :query_count
    ]
    query_vectors = np.asarray(embeddings.encode_array(queries), dtype=np.float32)
    results = []
    with tempfile.TemporaryDirectory(prefix="ted-bench-") as scratch:
        for size in sizes:
            print(f"measuring {size} experiences ...", file=sys.stderr)
            results.append(
                await _measure(
                    size, texts[:size], vectors[:size], queries, query_vectors, embeddings, Path(scratch)
                )
            )
            shutil.rmtree(Path(scratch) / f"library-{size}", ignore_errors=True)
    by_size = {r["size"]: r for r in results}
    summary: dict[str, Any] = {"results": results, "targets": TARGETS, "queries": query_count}
    if 1000 in by_size and 10000 in by_size:
        summary["cluster_growth_1k_to_10k"] = round(
            by_size[10000]["cluster_seconds"] / max(by_size[1000]["cluster_seconds"], 1e-9), 2
        )
    return summary


def _print_table(summary: dict[str, Any]) -> None:
    columns = [
        ("size", "size"),
        ("bulk adds/s", "bulk_adds_per_s"),
        ("single adds/s", "single_adds_per_s"),
        ("search p50 ms", "search_p50_ms"),
        ("p95", "search_p95_ms"),
        ("embedded p50 ms", "search_embedded_p50_ms"),
        ("p95", "search_embedded_p95_ms"),
        ("recall@5", "recall_at_5"),
        ("clusters s", "cluster_seconds"),
        ("clusters", "clusters"),
        ("exact pairs 0.55", "exact_pairs_at_0.55"),
        ("pair recall", "pair_recall_at_0.55"),
        ("linked", "linked_recall_at_0.55"),
        ("exact pairs 0.8", "exact_pairs_at_0.8"),
        ("pair recall", "pair_recall_at_0.8"),
        ("linked", "linked_recall_at_0.8"),
        ("plan s", "plan_seconds"),
        ("disk MB", "disk_mb"),
    ]
    print(" | ".join(title for title, _ in columns))
    for row in summary["results"]:
        print(" | ".join(str(row[key]) for _, key in columns))
    if "cluster_growth_1k_to_10k" in summary:
        print(f"cluster finding growth 1k -> 10k: x{summary['cluster_growth_1k_to_10k']} (linear: about x10)")
    print("targets: " + ", ".join(f"{k} {v}" for k, v in TARGETS.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated library sizes")
    parser.add_argument("--queries", type=int, default=200, help="queries per size")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ted-bench-cache")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    args = parser.parse_args()
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        parser.error("--sizes takes comma-separated integers, e.g. 1000,10000")
    if not sizes or min(sizes) < 10:
        parser.error("sizes must be at least 10")
    summary = asyncio.run(run(sizes, args.queries, args.cache, args.seed))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_table(summary)


if __name__ == "__main__":
    main()
