"""Retrieval ablations on the simulated skills world: does TED's choice of experiences matter?

For each seed it runs `ted.runs.Demo` on the skills world (card puzzles on two dozen topics; a library
capped at several times k, so it cannot fit in one prompt; a teacher that sometimes plants wrong or
too specific advice), then evaluates the held-out items under five retrieval strategies, paired on
the same items:

- none: the student alone;
- all: the whole library in the prompt;
- random: k experiences drawn at random, whatever the question;
- similarity: the k nearest experiences, without utility;
- default: TED's ranking (similarity and utility), as `ted eval` uses it.

It prints, per condition and pooled over the seeds, the accuracy with its 95% bootstrap interval over
items and McNemar's exact test against default, and writes a chart (``ablations.png``). It also counts
the wrong advice the teacher planted and what became of it (pruned, merged or rewritten, still there).
The models are simulated: this measures whether the pipeline's choices matter in a world built so that
they can, never model quality.

Run: python bench/ablations.py [--seeds 0,1,2] [--families 24] [--train 96] [--test 96] [--cap 32]
     [--out FOLDER] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ted.runs.demo import Demo, run_demo
from ted.runs.plots import BarGroup, category_bars
from ted.runs.results import DemoResult
from ted.tasks.metrics import bootstrap_interval, mcnemar_exact

# Strategy name -> evaluation condition (see ted.runs.answers.RETRIEVAL_CONDITIONS).
STRATEGIES = {
    "none": "baseline",
    "all": "all",
    "random": "random",
    "similarity": "similarity",
    "default": "library",
}


def _pooled(results: list[DemoResult], seed_of: list[int]) -> dict[str, dict[str, Any]]:
    """Per strategy: accuracy and interval over the items of every seed, and McNemar against default."""
    scores: dict[str, dict[str, float]] = {name: {} for name in STRATEGIES}
    for result, seed in zip(results, seed_of, strict=True):
        for name, condition in STRATEGIES.items():
            for item_id, score in result.eval.item_scores.get(condition, {}).items():
                scores[name][f"{seed}/{item_id}"] = score
    pooled: dict[str, dict[str, Any]] = {}
    for name in STRATEGIES:
        mine = scores[name]
        interval = bootstrap_interval(list(mine.values()), seed=0)
        paired = sorted(set(mine) & set(scores["default"]))
        p_value = (
            None
            if name == "default"
            else mcnemar_exact(
                [mine[i] == 1.0 for i in paired], [scores["default"][i] == 1.0 for i in paired]
            ).p_value
        )
        pooled[name] = {
            "accuracy": interval.estimate,
            "ci_low": interval.low,
            "ci_high": interval.high,
            "p_vs_default": p_value,
            "items": interval.n,
        }
    return pooled


def _per_seed(result: DemoResult) -> dict[str, dict[str, Any]]:
    by_condition = {c.condition: c for c in result.eval.conditions}
    table = {}
    for name, condition in STRATEGIES.items():
        found = by_condition[condition]
        versus = found.versus_library
        table[name] = {
            "accuracy": found.accuracy.estimate,
            "ci_low": found.accuracy.low,
            "ci_high": found.accuracy.high,
            "p_vs_default": versus.test.p_value if versus is not None else None,
        }
    return table


async def main(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Run every seed, pool, draw; returns the summary."""
    seeds = [int(seed) for seed in args.seeds.split(",")]
    results: list[DemoResult] = []
    clock = time.monotonic()
    for seed in seeds:
        demo = Demo(
            out / f"seed-{seed}",
            world="skills",
            families=args.families,
            train=args.train,
            test=args.test,
            rollouts=args.rollouts,
            batch=args.batch,
            seed=seed,
            latency=args.latency,
            embeddings=args.embeddings,
            library_cap=args.cap,
            retrieval=tuple(STRATEGIES),
        )
        results.append(await run_demo(demo))
        if not args.json:
            print(f"seed {seed}: done in {results[-1].seconds:.0f} s", file=sys.stderr)
    pooled = _pooled(results, seeds)
    wrong = [r.wrong_advice for r in results if r.wrong_advice is not None]
    summary: dict[str, Any] = {
        "simulated": True,
        "world": {
            "families": args.families,
            "train": args.train,
            "test": args.test,
            "library_cap": args.cap,
            "k": results[0].eval.settings["k"],
            "rollouts": args.rollouts,
            "embeddings": args.embeddings,
        },
        "seeds": seeds,
        "conditions": pooled,
        "per_seed": {str(seed): _per_seed(r) for seed, r in zip(seeds, results, strict=True)},
        "library_size": {str(seed): r.library_size for seed, r in zip(seeds, results, strict=True)},
        "wrong_advice": {
            field: sum(getattr(w, field) for w in wrong)
            for field in (
                "planted",
                "deleted",
                "superseded",
                "active",
                "unproven",
                "cited_wrong",
                "cited_correct",
                "harmful_votes",
            )
        },
        "seconds": time.monotonic() - clock,
        "folder": str(out),
    }
    groups = [
        BarGroup(
            label=f"seed {seed}",
            values={STRATEGIES[n]: (v["accuracy"], v["ci_low"], v["ci_high"]) for n, v in table.items()},
            items=results[i].test_items,
        )
        for i, (seed, table) in enumerate(summary["per_seed"].items())
    ]
    groups.append(
        BarGroup(
            label="pooled",
            values={STRATEGIES[n]: (v["accuracy"], v["ci_low"], v["ci_high"]) for n, v in pooled.items()},
            items=pooled["default"]["items"],
        )
    )
    summary["plot"] = str(
        category_bars(
            groups,
            out / "ablations.png",
            title="Retrieval ablations on the skills world",
            subtitle=f"SIMULATED MODELS; {args.families} families, library cap {args.cap}, k = "
            f"{summary['world']['k']}; 95% bootstrap intervals over items",
            labels={condition: name for name, condition in STRATEGIES.items()},
        )
    )
    return summary


def _print(summary: dict[str, Any]) -> None:
    world = summary["world"]
    print(
        f"SIMULATED MODELS. Skills world: {world['families']} families, {world['train']} training and "
        f"{world['test']} held-out items per seed, library cap {world['library_cap']}, k = {world['k']}, "
        f"seeds {', '.join(map(str, summary['seeds']))}."
    )
    print()
    print("| Retrieval | Accuracy [95% CI] | McNemar p vs default | Per seed |")
    print("|---|---|---|---|")
    for name, row in summary["conditions"].items():
        p_value = "-" if row["p_vs_default"] is None else f"{row['p_vs_default']:.2g}"
        seeds = " / ".join(f"{table[name]['accuracy']:.3f}" for table in summary["per_seed"].values())
        interval = f"{row['accuracy']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
        print(f"| {name} | {interval} | {p_value} | {seeds} |")
    wrong = summary["wrong_advice"]
    print()
    print(
        f"Wrong advice planted by the teacher: {wrong['planted']}; deleted {wrong['deleted']}, merged or "
        f"rewritten {wrong['superseded']}, still active at the end {wrong['active']} ({wrong['unproven']} of "
        "them never shown to mislead: no harmful vote, no more wrong citations than right). Their usage: "
        f"cited in {wrong['cited_wrong']} wrong and {wrong['cited_correct']} right answers, "
        f"{wrong['harmful_votes']} harmful votes."
    )
    print(f"Libraries: {summary['library_size']} active experiences; {summary['seconds']:.0f} s in all.")
    print(f"Chart: {summary['plot']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds, one distillation each")
    parser.add_argument("--families", type=int, default=24)
    parser.add_argument("--train", type=int, default=96, help="training items per seed")
    parser.add_argument("--test", type=int, default=96, help="held-out items per seed")
    parser.add_argument("--cap", type=int, default=32, help="library cap")
    parser.add_argument("--rollouts", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per simulated call")
    parser.add_argument("--embeddings", default="minilm")
    parser.add_argument("--out", help="folder for the runs and the chart (default: a new temporary one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    arguments = parser.parse_args()
    folder = Path(arguments.out or tempfile.mkdtemp(prefix="ted-ablations-")).absolute()
    folder.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(main(arguments, folder))
    if arguments.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
