"""Messages for each role, built from the prompt templates, the item and its images.

Everything that comes from a dataset or a model (questions, options, answers, attempts, solutions,
experiences) goes into a prompt only inside a frame (`ted.prompts.framing`); what lies outside the
frames is ours: the templates, the benchmark's answer instruction, labels, counts and verdicts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from ted.graph.context import Context
from ted.graph.edits import COMPRESS_OPERATIONS, REFLECT_OPERATIONS
from ted.graph.state import InjectedExperience, TeacherSolution, Trajectory
from ted.memory import UsageStats
from ted.memory.operations import DeleteOp, KeepApartOp, MergeOp, UpdateOp, operation_examples
from ted.prompts import compress, reflect, render, student, teacher
from ted.prompts.framing import (
    ATTEMPT,
    CORRECT_ANSWER,
    EXPERIENCE,
    MERGE_GROUP,
    PROBLEM,
    REVIEW_GROUP,
    REWRITE_GROUP,
    SOLUTION,
    frame,
    group,
)
from ted.tasks import Item
from ted.tasks.scoring import format_question, prompt_parts

# Attempts are shown to the reflecting model in full up to this many characters each; beyond it, the
# start and the end (where the answer is) are kept.
MAX_ATTEMPT_CHARS = 3000

_CITATION_LINE = re.compile(re.escape(student.CITATION) + r"\s*:(.*)", re.IGNORECASE)
_LABEL = re.compile(r"\bE(\d+)\b", re.IGNORECASE)

USAGE_SHOWN = ("cited_correct", "cited_wrong", "helpful", "harmful")
"""The usage counts shown with an experience in a merge or review group (attributes of its frame)."""


def _content(text: str, images: Sequence[str]) -> list[str | dict[str, Any]]:
    parts: list[str | dict[str, Any]] = [{"type": "text", "text": text}]
    parts.extend({"type": "image_url", "image_url": {"url": url}} for url in images)
    return parts


def experience_frames(
    labelled: Sequence[tuple[str, str]], records: Mapping[str, UsageStats] | None = None
) -> list[str]:
    """One ``<experience label="E1">`` frame per ``(label, text)`` pair.

    With ``records``, an experience's frame also says how it fared when students used it
    (``cited_correct``, ``cited_wrong``, ``helpful``, ``harmful``), as attributes.
    """
    records = records or {}
    return [
        frame(EXPERIENCE, text, label=label, **usage_attributes(records[label]))
        if label in records
        else frame(EXPERIENCE, text, label=label)
        for label, text in labelled
    ]


def usage_attributes(stats: UsageStats) -> dict[str, str]:
    """The usage record shown with an experience: citations in correct and wrong answers, votes."""
    return {name: str(getattr(stats, name)) for name in USAGE_SHOWN}


def _injected(injected: Sequence[InjectedExperience]) -> str:
    return "\n".join(experience_frames([(e["label"], e["text"]) for e in injected]))


def task(item: Item) -> str:
    """The item's problem, framed, with the benchmark's answer instruction outside the frame.

    The instruction comes before or after the problem as the benchmark's official prompt puts it.
    """
    question, instruction, instruction_first = prompt_parts(item)
    problem = frame(PROBLEM, question)
    return f"{instruction}\n{problem}" if instruction_first else f"{problem}\n{instruction}"


def student_messages(
    context: Context, item: Item, images: Sequence[str], injected: Sequence[InjectedExperience]
) -> list[BaseMessage]:
    """The student's prompt: the injected experiences, the problem, how to answer and cite."""
    experiences = render(student.EXPERIENCES, experiences=_injected(injected)) if injected else ""
    return [
        SystemMessage(render(context.student_system_prompt, experiences=experiences)),
        HumanMessage(_content(render(student.USER, task=task(item)), images)),
    ]


def teacher_messages(context: Context, item: Item, images: Sequence[str]) -> list[BaseMessage]:
    """The teacher's prompt: the problem alone, without the library."""
    return [
        SystemMessage(render(context.teacher_system_prompt)),
        HumanMessage(_content(render(teacher.USER, task=task(item)), images)),
    ]


def _shorten(text: str, limit: int = MAX_ATTEMPT_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters left out ...]\n{text[-half:]}"


def _attempt_order(trajectory: Trajectory) -> tuple[bool, str, str]:
    return (not trajectory["correct"], trajectory["answer"] or "", trajectory["response"])


def _attempt(number: int, trajectory: Trajectory) -> str:
    # The parsed answer is read from model text, so it goes inside the frame, never into an attribute.
    content = render(
        reflect.ATTEMPT,
        answer=trajectory["answer"] or reflect.NO_ANSWER_READ,
        response=_shorten(trajectory["response"]),
    )
    verdict = "correct" if trajectory["correct"] else "wrong"
    return frame(ATTEMPT, content, number=str(number), verdict=verdict)


def reflect_messages(
    context: Context,
    item: Item,
    images: Sequence[str],
    injected: Sequence[InjectedExperience],
    trajectories: Sequence[Trajectory],
    solution: TeacherSolution | None,
    *,
    json_mode: bool,
) -> list[BaseMessage]:
    """The reflecting teacher's prompt: problem, truth, its solution, the graded attempts, the experiences.

    The attempts are listed right ones first, then by answer and text, not by rollout: the N rollouts
    are interchangeable samples, so the prompt depends on what they say and not on which rollout said
    it (the simulated endpoint tells identical requests apart by the order they arrive in).
    """
    graded = sorted((t for t in trajectories if t["error"] is None), key=_attempt_order)
    attempts = "\n\n".join(_attempt(n, t) for n, t in enumerate(graded, start=1))
    right = sum(t["correct"] for t in graded)
    if solution is None or solution["error"] is not None:
        teacher_text = reflect.NO_SOLUTION
    else:
        teacher_text = frame(SOLUTION, _shorten(solution["response"]))
    system = render(
        context.reflect_system_prompt,
        max_words=str(context.max_words),
        max_new=str(context.max_new_experiences),
        protocol=_reflect_protocol(json_mode=json_mode),
    )
    user = render(
        reflect.USER,
        problem=frame(PROBLEM, format_question(item)),
        answer=frame(CORRECT_ANSWER, _truth(item)),
        solution=teacher_text,
        summary=f"{right} of {len(graded)} correct",
        attempts=attempts or reflect.NO_ATTEMPTS,
        experiences=_injected(injected) or reflect.NO_EXPERIENCES,
    )
    return [SystemMessage(system), HumanMessage(_content(user, images))]


def _truth(item: Item) -> str:
    if item.options and len(item.answer) == 1 and item.answer.isalpha():
        index = ord(item.answer.upper()) - ord("A")
        if 0 <= index < len(item.options):
            return f"{item.answer} ({item.options[index]})"
    return item.answer


def compress_messages(
    context: Context,
    *,
    cluster: Sequence[tuple[str, str]] = (),
    verbose: Sequence[tuple[str, str]] = (),
    review: Sequence[tuple[str, str]] = (),
    records: Mapping[str, UsageStats] | None = None,
    json_mode: bool,
) -> list[BaseMessage]:
    """The compressing model's prompt: a near-duplicate cluster, verbose entries, experiences to review.

    The experiences to review are those whose usage shows that they misled. ``cluster``, ``verbose``
    and ``review`` are ``(label, text)`` pairs; ``records`` gives the usage of the cluster's and the
    reviewed experiences by label, shown so that the model can tell which of two contradicting ones
    misled the students, and how a reviewed one fared.
    """
    sections = []
    if cluster:
        frames = experience_frames(cluster, records)
        sections.append(render(compress.MERGE_SECTION, group=group(MERGE_GROUP, frames)))
    if review:
        sections.append(
            render(
                compress.REVIEW_SECTION,
                group=group(REVIEW_GROUP, experience_frames(review, records)),
                max_words=str(context.max_words),
            )
        )
    if verbose:
        sections.append(
            render(
                compress.REWRITE_SECTION,
                group=group(REWRITE_GROUP, experience_frames(verbose)),
                max_words=str(context.max_words),
            )
        )
    system = render(
        context.compress_system_prompt,
        max_words=str(context.max_words),
        protocol=_compress_protocol(json_mode=json_mode),
    )
    return [SystemMessage(system), HumanMessage("\n\n".join(sections))]


def _reflect_protocol(*, json_mode: bool) -> str:
    if json_mode:
        return render(reflect.JSON_PROTOCOL, operations=operation_examples(REFLECT_OPERATIONS))
    return reflect.TOOLS_PROTOCOL


def _compress_protocol(*, json_mode: bool) -> str:
    if json_mode:
        return render(compress.JSON_PROTOCOL, operations=operation_examples(COMPRESS_OPERATIONS))
    return render(
        compress.TOOLS_PROTOCOL,
        merge_tool=MergeOp.tool_name,
        delete_tool=DeleteOp.tool_name,
        keep_tool=KeepApartOp.tool_name,
        update_tool=UpdateOp.tool_name,
    )


def cited_labels(response: str, offered: Sequence[str]) -> list[str]:
    """Labels the student cited on its ``Experiences used:`` line, restricted to those it was offered."""
    matches = _CITATION_LINE.findall(response)
    if not matches:
        return []
    valid = {label.upper() for label in offered}
    cited = [f"E{number}" for number in _LABEL.findall(matches[-1])]
    return list(dict.fromkeys(label for label in cited if label in valid))
