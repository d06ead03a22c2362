"""One question answered by the student, with the experiences it was given and the ones it used."""

from __future__ import annotations

from typing import Any

from ted.graph import Context, compile_solve_graph
from ted.runs.results import InjectedExperienceResult, SolveResult
from ted.tasks import Item


async def solve(item: Item, context: Context, *, use_library: bool = True) -> SolveResult:
    """The student's answer to ``item``, the relevant experiences of the library in its prompt.

    Experiences learned from this very item are never injected (the contamination guard). The item's
    ``answer`` may be empty; when it is given, the reply is graded.

    Args:
        item: The question, its options and images.
        context: The student and the library.
        use_library: False gives the baseline student, without experiences.

    Raises:
        ItemRejected: The item is malformed or out of bounds (see `ted.graph.admission`).
        ModelCallError: The call failed for good (unreachable endpoint, key refused ...).
    """
    output: dict[str, Any] = await compile_solve_graph().ainvoke(
        {"item": item.model_dump(mode="json"), "use_library": use_library}, context=context
    )
    trajectories = output.get("trajectories") or []
    errors = list(output.get("errors") or [])
    trajectory = trajectories[0] if trajectories else None
    cited = set(trajectory["cited"]) if trajectory else set()
    return SolveResult(
        item_id=item.id,
        answer=trajectory["answer"] if trajectory else None,
        correct=trajectory["correct"] if trajectory and item.answer and not trajectory["error"] else None,
        response=trajectory["response"] if trajectory else "",
        experiences=[
            InjectedExperienceResult(**experience, cited=experience["label"] in cited)
            for experience in output.get("injected") or []
        ],
        usage=[dict(u) for u in output.get("usage") or []],
        errors=[dict(e) for e in errors],
    )
