"""Messages for each role, built from the prompt templates, the item and its images."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from ted.graph.context import Context
from ted.graph.state import InjectedExperience, TeacherSolution, Trajectory
from ted.prompts import compress, reflect, render, student, teacher
from ted.tasks import Item, format_question, render_prompt

# Attempts are shown to the reflecting model in full up to this many characters each; beyond it, the
# start and the end (where the answer is) are kept.
MAX_ATTEMPT_CHARS = 3000

_CITATION_LINE = re.compile(r"experiences used\s*:(.*)", re.IGNORECASE)
_LABEL = re.compile(r"\bE(\d+)\b", re.IGNORECASE)


def _content(text: str, images: Sequence[str]) -> list[str | dict[str, Any]]:
    parts: list[str | dict[str, Any]] = [{"type": "text", "text": text}]
    parts.extend({"type": "image_url", "image_url": {"url": url}} for url in images)
    return parts


def experience_lines(injected: Sequence[InjectedExperience]) -> str:
    """One ``[E1] text`` line per experience."""
    return "\n".join(f"[{e['label']}] {e['text']}" for e in injected)


def student_messages(
    context: Context, item: Item, images: Sequence[str], injected: Sequence[InjectedExperience]
) -> list[BaseMessage]:
    """The student's prompt: the injected experiences, the question, how to answer and cite."""
    experiences = render(student.EXPERIENCES, lines=experience_lines(injected)) if injected else ""
    return [
        SystemMessage(render(context.student_system_prompt, experiences=experiences)),
        HumanMessage(_content(render(student.USER, problem=render_prompt(item)), images)),
    ]


def teacher_messages(context: Context, item: Item, images: Sequence[str]) -> list[BaseMessage]:
    """The teacher's prompt: the question alone, without the library."""
    return [
        SystemMessage(render(context.teacher_system_prompt)),
        HumanMessage(_content(render(teacher.USER, problem=render_prompt(item)), images)),
    ]


def _shorten(text: str, limit: int = MAX_ATTEMPT_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters left out ...]\n{text[-half:]}"


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
    """The reflecting teacher's prompt: problem, truth, its solution, the graded attempts, the experiences."""
    graded = [t for t in sorted(trajectories, key=lambda t: t["index"]) if t["error"] is None]
    attempts = "\n\n".join(
        render(
            reflect.ATTEMPT,
            number=str(n),
            verdict=("correct" if t["correct"] else f"wrong (answered {t['answer'] or 'nothing readable'})"),
            response=_shorten(t["response"]),
        )
        for n, t in enumerate(graded, start=1)
    )
    right = sum(t["correct"] for t in graded)
    if solution is None or solution["error"] is not None:
        teacher_text = "(not available)"
    else:
        teacher_text = _shorten(solution["response"])
    system = render(
        context.reflect_system_prompt,
        max_words=str(context.max_words),
        max_new=str(context.max_new_experiences),
        protocol=reflect.JSON_PROTOCOL if json_mode else reflect.TOOLS_PROTOCOL,
    )
    user = render(
        reflect.USER,
        question=format_question(item),
        answer=_truth(item),
        teacher_solution=teacher_text,
        summary=f"{right} of {len(graded)} correct",
        attempts=attempts or "(no attempt could be graded)",
        experiences=experience_lines(injected) or "(none)",
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
    json_mode: bool,
) -> list[BaseMessage]:
    """The compressing model's prompt: one near-duplicate cluster and/or verbose experiences to rewrite.

    ``cluster`` and ``verbose`` are ``(label, text)`` pairs.
    """
    sections = []
    if cluster:
        sections.append(render(compress.MERGE_SECTION, lines="\n".join(f"[{lb}] {t}" for lb, t in cluster)))
    if verbose:
        sections.append(
            render(
                compress.REWRITE_SECTION,
                lines="\n".join(f"[{lb}] {t}" for lb, t in verbose),
                max_words=str(context.max_words),
            )
        )
    system = render(
        context.compress_system_prompt,
        max_words=str(context.max_words),
        protocol=compress.JSON_PROTOCOL if json_mode else compress.TOOLS_PROTOCOL,
    )
    return [SystemMessage(system), HumanMessage("\n\n".join(sections))]


def cited_labels(response: str, offered: Sequence[str]) -> list[str]:
    """Labels the student cited on its ``Experiences used:`` line, restricted to those it was offered."""
    matches = _CITATION_LINE.findall(response)
    if not matches:
        return []
    valid = {label.upper() for label in offered}
    cited = [f"E{number}" for number in _LABEL.findall(matches[-1])]
    return list(dict.fromkeys(label for label in cited if label in valid))
