"""Calibrating the merge threshold, and compression that decides, on a paraphrase set.

The paraphrase set (`ted.tasks.synth.paraphrase_groups`, `distinct_advice`) holds 29 groups of texts
that say the same thing (a skill and its rewordings) and 24 wrong rules on the same topics. With the
embedding model (bundled MiniLM by default) the script measures:

- the similarity of paraphrases within a group, and each group's bottleneck: the highest threshold at
  which its members are still connected through links at or above it (what union-find needs);
- the similarity between texts of different groups, and between a group and the wrong rules;
- per threshold, how many groups are connected and how many pairs of distinct advice are candidates.

Then it fills a fresh library with the whole set and compresses it with the simulated compress model
(`ted.graph.compress_library`, at the context's ``merge_threshold``) until nothing is left to decide,
and reports how many groups ended as one experience and how many merges mixed distinct advice. With
``--dry-run`` it only shows each candidate group and the model's decision (`preview_merges`), changing
nothing. The models are simulated: the decisions are the simulated teacher's reading by meaning.

Run: python bench/merge_calibration.py [--dry-run] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ted.graph import Context, close_libraries, compress_library, open_library
from ted.graph.compression import preview_merges
from ted.memory import Status
from ted.memory.compression import MERGE_THRESHOLD
from ted.memory.minilm import MiniLMEmbeddings
from ted.sim import SimConfig, SimServer, World
from ted.tasks.synth import distinct_advice, paraphrase_groups
from ted.tasks.synth.paraphrases import paraphrase_items

THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85)
ROUNDS = 6


def _bottleneck(similarity: np.ndarray) -> float:
    """The highest threshold at which the texts stay connected (weakest edge of a maximum spanning tree)."""
    n = len(similarity)
    inside, weakest = {0}, 1.0
    while len(inside) < n:
        best, choice = -2.0, -1
        for a in inside:
            for b in range(n):
                if b not in inside and similarity[a, b] > best:
                    best, choice = float(similarity[a, b]), b
        inside.add(choice)
        weakest = min(weakest, best)
    return weakest


def measure(groups: list[list[str]], distinct: list[str], embeddings: MiniLMEmbeddings) -> dict[str, Any]:
    """Similarities within and across groups, and per threshold what union-find would connect."""
    texts = [t for g in groups for t in g] + distinct
    owner = [n for n, g in enumerate(groups) for _ in g] + [-1 - n for n in range(len(distinct))]
    vectors = np.asarray(embeddings.embed_documents(texts), dtype=np.float32)
    similarity = vectors @ vectors.T
    upper = np.triu_indices(len(texts), k=1)
    same = np.array([owner[a] == owner[b] for a, b in zip(*upper, strict=True)])
    values = similarity[upper]
    bottlenecks = []
    start = 0
    for group in groups:
        block = similarity[start : start + len(group), start : start + len(group)]
        bottlenecks.append(_bottleneck(block))
        start += len(group)
    sweep = [
        {
            "threshold": t,
            "groups_connected": int(sum(b >= t for b in bottlenecks)),
            "distinct_pairs_above": int(np.sum(~same & (values >= t))),
        }
        for t in THRESHOLDS
    ]
    return {
        "groups": len(groups),
        "distinct": len(distinct),
        "within_min": float(values[same].min()),
        "within_median": float(np.median(values[same])),
        "bottleneck_min": float(min(bottlenecks)),
        "across_max": float(values[~same].max()),
        "sweep": sweep,
    }


async def compress_set(
    work: Path, groups: list[list[str]], distinct: list[str], dry_run: bool
) -> dict[str, Any]:
    """Compress a library holding the whole set with the simulated teacher; or only preview it."""
    items = paraphrase_items(work / "images")
    with SimServer(World.from_items(items), config=SimConfig(seed=0)) as sim:
        context = Context(
            library=str(work / "library"),
            embeddings="minilm",
            teacher_model="sim-teacher",
            teacher_base_url=sim.base_url,
            prune_min_evidence=1_000_000,
            library_cap=1_000_000,
        )
        try:
            store = await open_library(context)
            added = await store.add_many([t for g in groups for t in g] + distinct)
            group_of = {e.id: n for n, e in enumerate(added) for n in [_owner(groups, distinct, e.text)]}
            if dry_run:
                decisions, _, errors = await preview_merges(context)
                return {
                    "candidates": [
                        {
                            "texts": d.texts,
                            "similarity": d.similarity,
                            "decision": d.decision,
                            "merges": [labels for labels, _ in d.merges],
                            "reasons": d.reasons,
                        }
                        for d in decisions
                    ],
                    "errors": len(errors),
                }
            rounds = kept = 0
            for rounds in range(1, ROUNDS + 1):
                report, _, _ = await compress_library(
                    replace(context), op_prefix=f"round-{rounds}/", step=f"round {rounds}"
                )
                kept += report.get("kept_apart", 0)
                if report["merged"] == 0:
                    break
            everything = {e.id: e for e in await store.experiences(status=None)}

            def origins(experience_id: str) -> set[int]:
                experience = everything[experience_id]
                if not experience.provenance.merged_from:
                    return {group_of[experience_id]}
                return set().union(*(origins(i) for i in experience.provenance.merged_from))

            active = [e for e in everything.values() if e.status is Status.ACTIVE]
            mixed = [e.text for e in active if len(origins(e.id)) > 1]
            per_group = [sum(origins(e.id) == {n} for e in active) for n in range(len(groups))]
            return {
                "unmerged": [groups[n][0] for n, count in enumerate(per_group) if count != 1],
                "rounds": rounds,
                "groups_merged_into_one": sum(count == 1 for count in per_group),
                "groups": len(groups),
                "merges_mixing_distinct_advice": len(mixed),
                "mixed": mixed,
                "distinct_left_alone": sum(
                    origins(e.id) == {len(groups) + n} for e in active for n in range(len(distinct))
                ),
                "kept_apart_decisions": kept,
                "active": len(active),
            }
        finally:
            close_libraries()


def _owner(groups: list[list[str]], distinct: list[str], text: str) -> int:
    for n, group in enumerate(groups):
        if text in group:
            return n
    return len(groups) + distinct.index(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="show candidate groups and decisions only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    groups, distinct = paraphrase_groups(), distinct_advice()
    summary: dict[str, Any] = {"merge_threshold": MERGE_THRESHOLD}
    summary["measurement"] = measure(groups, distinct, MiniLMEmbeddings())
    with tempfile.TemporaryDirectory(prefix="ted-calibration-") as scratch:
        summary["compression"] = asyncio.run(compress_set(Path(scratch), groups, distinct, args.dry_run))
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    m = summary["measurement"]
    print(f"Paraphrase set: {m['groups']} groups, {m['distinct']} wrong rules on the same topics (MiniLM).")
    print(
        f"Within a group: min {m['within_min']:.3f}, median {m['within_median']:.3f}; weakest group "
        f"bottleneck {m['bottleneck_min']:.3f}. Across: max {m['across_max']:.3f}."
    )
    print("| threshold | groups connected | distinct pairs above |")
    print("|---|---|---|")
    for row in m["sweep"]:
        connected = f"{row['groups_connected']} / {m['groups']}"
        print(f"| {row['threshold']:.2f} | {connected} | {row['distinct_pairs_above']} |")
    c = summary["compression"]
    if args.dry_run:
        print(f"\nDry run at {MERGE_THRESHOLD}: {len(c['candidates'])} candidate groups")
        for n, candidate in enumerate(c["candidates"], start=1):
            print(f"\n{n}. similarity {candidate['similarity']}: {candidate['decision']}")
            for label, text in enumerate(candidate["texts"], start=1):
                print(f"   E{label}: {text}")
            for labels in candidate["merges"]:
                print(f"   merge: {', '.join(labels)}")
            for reason in candidate["reasons"]:
                print(f"   reason: {reason}")
        return
    print(
        f"\nCompression at {MERGE_THRESHOLD} with the simulated compress model ({c['rounds']} rounds): "
        f"{c['groups_merged_into_one']} of {c['groups']} groups merged into one experience; "
        f"{c['merges_mixing_distinct_advice']} merges mixed distinct advice; {c['distinct_left_alone']} of "
        f"{m['distinct']} wrong rules left alone; {c['kept_apart_decisions']} keep-apart decisions; "
        f"{c['active']} experiences at the end."
    )


if __name__ == "__main__":
    main()
