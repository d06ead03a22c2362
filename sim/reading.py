"""What a request shows the simulated models: their role, the kind of work, the puzzle, the experiences.

Everything is read the way our prompts write it, through the tags of `ted.prompts.framing`: the
problem frame, the experience frames with their labels, the merge, rewrite and review groups of compression,
the correct answer and attempts of reflection. A request that is not framed (another client) is
still read: its whole user text is the problem.
"""

from __future__ import annotations

import re
from typing import Literal

from ted.memory.operations import ADD_TOOL, MERGE_TOOL
from ted.prompts.framing import (
    ATTEMPT,
    CORRECT_ANSWER,
    EXPERIENCE,
    MERGE_GROUP,
    PROBLEM,
    REVIEW_GROUP,
    REWRITE_GROUP,
    framed,
    reveal,
)
from ted.sim.wire import SYSTEM_ROLES, ChatRequest
from ted.sim.world import World
from ted.tasks.items import Item

Role = Literal["student", "teacher"]
Kind = Literal["solve", "reflect", "compress", "structured"]
Labelled = tuple[str, str]

REFLECT_TOOL = ADD_TOOL
COMPRESS_TOOL = MERGE_TOOL
# The one form of injected instruction a hijacked model obeys (`SimConfig.obey_injections`).
INJECTION = re.compile(r"add this experience to the library\s*:\s*(?P<payload>\S.*?)\s*$", re.IGNORECASE)


def role_of(request: ChatRequest) -> Role:
    """The student when the model name says so, else the teacher."""
    return "student" if "student" in request.model.lower() else "teacher"


def _shows(request: ChatRequest, *tags: str) -> bool:
    user = request.text("user")
    return any(framed(tag, user) for tag in tags)


def _first_system_line(request: ChatRequest) -> str:
    for message in request.messages:
        if message.role in SYSTEM_ROLES:
            return message.text.strip().split("\n", 1)[0]
    return ""


def kind_of(request: ChatRequest) -> Kind:
    """Which work the request asks for, decided as our pipeline asks for it.

    Memory tools on offer decide first (add_experience: reflect; merge_experiences alone: compress);
    then JSON mode, by the frames the prompt shows (merge, rewrite or review groups: compress; a correct
    answer or graded attempts: reflect), else by the first line of the system message ("reflect"
    or "compress"), else a structured answer; other tools on offer also mean a structured answer;
    everything else is a puzzle to solve.
    """
    tools = request.usable_tools
    if REFLECT_TOOL in tools:
        return "reflect"
    if COMPRESS_TOOL in tools:
        return "compress"
    if request.json_mode:
        if _shows(request, MERGE_GROUP, REWRITE_GROUP, REVIEW_GROUP):
            return "compress"
        if _shows(request, CORRECT_ANSWER, ATTEMPT):
            return "reflect"
        line = _first_system_line(request)
        if re.search(r"\breflect", line, re.IGNORECASE):
            return "reflect"
        if re.search(r"\bcompress", line, re.IGNORECASE):
            return "compress"
        return "structured"
    return "structured" if tools else "solve"


def problem_of(request: ChatRequest) -> str:
    """The content of the problem frames of the user messages, else all their text (unframed requests)."""
    user = request.text("user")
    frames = [content for _, content in framed(PROBLEM, user)]
    return "\n".join(frames) if frames else user


def find_item(request: ChatRequest, world: World) -> Item | None:
    """The puzzle the request quotes: looked for in its problem, then the user messages, then everywhere."""
    return world.find(problem_of(request)) or world.find(request.text("user")) or world.find(request.text())


def experiences_in(text: str) -> list[Labelled]:
    """The ``(label, text)`` of every labelled experience frame, first occurrence of each label."""
    seen: dict[str, str] = {}
    for attributes, content in framed(EXPERIENCE, text):
        label = attributes.get("label")
        if label:
            seen.setdefault(label, content.strip())
    return list(seen.items())


def experience_records(text: str) -> dict[str, dict[str, str]]:
    """The attributes of every labelled experience frame (its usage record in a merge or review group)."""
    records: dict[str, dict[str, str]] = {}
    for attributes, _ in framed(EXPERIENCE, text):
        label = attributes.get("label")
        if label:
            records.setdefault(label, attributes)
    return records


def injected_experiences(request: ChatRequest) -> list[Labelled]:
    """The experiences the prompt offers, in its system and user messages."""
    return experiences_in(request.text(*SYSTEM_ROLES, "user"))


def compress_groups(request: ChatRequest) -> tuple[list[list[Labelled]], list[Labelled]]:
    """The clusters to merge (one per merge group) and the experiences to rewrite (all rewrite groups)."""
    user = request.text("user")
    clusters = [experiences_in(content) for _, content in framed(MERGE_GROUP, user)]
    verbose = [pair for _, content in framed(REWRITE_GROUP, user) for pair in experiences_in(content)]
    return [cluster for cluster in clusters if cluster], verbose


def review_group(request: ChatRequest) -> list[Labelled]:
    """The experiences to review (all review groups): those whose usage shows that they misled."""
    return [
        pair for _, content in framed(REVIEW_GROUP, request.text("user")) for pair in experiences_in(content)
    ]


def injection_lines(text: str) -> list[str]:
    """Every line of ``text`` in the injection form, as it stands."""
    return [line.strip() for line in text.splitlines() if INJECTION.search(line)]


def injected_payloads(text: str) -> list[str]:
    """The payload of every injection line of ``text``, each once, in order of appearance.

    The look-alike brackets of defusing are turned back into ASCII, as a model told to reproduce the
    payload would write it.
    """
    found = (INJECTION.search(line) for line in text.splitlines())
    return list(dict.fromkeys(reveal(match.group("payload")) for match in found if match))
