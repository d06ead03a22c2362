"""Run (or resume) a distillation in its own process, so a test can kill it for real.

Usage: distill_worker.py DATA_DIR LIBRARY BASE_URL RUN_ID [WINDOW]
Prints one line per point of the learning curve (every 4 items), flushed, for the test to follow.
"""

from __future__ import annotations

import asyncio
import sys

from ted.graph import Context
from ted.runs.checkpoints import run_graph
from ted.tasks import load_dataset


def main() -> None:
    data, library, base_url, run_id = sys.argv[1:5]
    window = int(sys.argv[5]) if len(sys.argv) > 5 else None
    items = load_dataset(data)
    context = Context(
        library=library,
        embeddings="hash",
        student_model="sim-student",
        teacher_model="sim-teacher",
        student_base_url=base_url,
        teacher_base_url=base_url,
        rollouts=2,
        compress_every=8,
    )

    def report(namespace: tuple[str, ...], node: str, update: dict[str, object]) -> None:
        if not namespace and update.get("progress"):
            print("batch done", flush=True)

    output = asyncio.run(
        run_graph(items, context, run_id=run_id, batch_size=4, window=window, on_event=report)
    )
    print(f"finished {len(output['results'])} items", flush=True)


if __name__ == "__main__":
    main()
