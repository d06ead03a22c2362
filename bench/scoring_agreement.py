"""Per-item agreement of ted's MathVision scoring with the official MATH-V harness.

The MATH-V repository releases model outputs scored by its own evaluation/evaluate.py: each line of
``outputs/**/<model>.jsonl`` holds the response, the official ``model_answer`` and the official
``correct``. This scores every response again with `ted.tasks.scoring.grade_response` (``official`` by
default) against ``data/test.jsonl`` and counts the items whose verdict differs, per file.

Run: python bench/scoring_agreement.py MATH-V-CHECKOUT [--scoring official|lenient] [--show 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ted.tasks.scoring import grade_response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repository", type=Path, help="a MATH-V checkout (data/test.jsonl, outputs/)")
    parser.add_argument("--scoring", default="official", choices=["official", "lenient"])
    parser.add_argument("--show", type=int, default=20, help="disagreements to print")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = {
        row["id"]: row
        for row in map(json.loads, (args.repository / "data" / "test.jsonl").read_text().splitlines())
    }
    files = sorted(p for p in (args.repository / "outputs").rglob("*.jsonl") if p.stat().st_size)
    report: dict[str, Any] = {"scoring": args.scoring, "files": {}, "disagreements": []}
    started = time.monotonic()
    for file in files:
        lines = [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
        same = same_read = official_right = ours_right = timed_out = 0
        for line in lines:
            row = rows[line["id"]]
            verdict = grade_response(
                "mathvision",
                line["response"],
                str(row["answer"]),
                row["options"] or None,
                scoring=args.scoring,
            )
            official_right += bool(line["correct"])
            ours_right += verdict.correct
            timed_out += verdict.timed_out
            same_read += (verdict.answer or "") == line.get("model_answer", "")
            if verdict.correct == bool(line["correct"]):
                same += 1
            else:
                report["disagreements"].append(
                    {
                        "file": str(file.relative_to(args.repository)),
                        "id": line["id"],
                        "answer": row["answer"],
                        "official": [line.get("model_answer"), line["correct"]],
                        "ours": [verdict.answer, verdict.correct],
                    }
                )
        report["files"][str(file.relative_to(args.repository))] = {
            "items": len(lines),
            "agree": same,
            "same_answer_read": same_read,
            "official_correct": official_right,
            "ours_correct": ours_right,
            "timed_out": timed_out,
        }
    report["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return
    total = sum(f["items"] for f in report["files"].values())
    agree = sum(f["agree"] for f in report["files"].values())
    for name, counts in report["files"].items():
        print(
            f"{name}: {counts['agree']}/{counts['items']} agree, {counts['same_answer_read']} read the same "
            f"answer; correct: official "
            f"{counts['official_correct']}, ours {counts['ours_correct']}; timed out {counts['timed_out']}"
        )
    print(f"all: {agree}/{total} items agree ({total - agree} disagreements) in {report['seconds']} s")
    for case in report["disagreements"][: args.show]:
        print(json.dumps(case, ensure_ascii=False))


if __name__ == "__main__":
    main()
