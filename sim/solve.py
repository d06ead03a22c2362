"""Simulated students and teachers solving a puzzle of the world."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ted.sim.config import SimConfig
from ted.sim.experiences import experiences_in
from ted.sim.injections import injected_lines
from ted.sim.request import SYSTEM_ROLES, ChatRequest
from ted.sim.world import World
from ted.tasks.items import Item
from ted.tasks.synth import skill_of

UNKNOWN = (
    "Simulated model: no puzzle of the simulated world appears in this request, so there is nothing "
    "to solve.\nAnswer: unknown"
)


@dataclass(frozen=True)
class Solution:
    """A solved puzzle: the answer given, whether it is right, and the experiences it cites."""

    item: Item
    answer: str
    correct: bool
    reasoning: str
    cited: list[str] = field(default_factory=list)
    student: bool = True

    def text(self) -> str:
        """The free-text response: reasoning, the cited experiences (students), the final answer line."""
        lines = [self.reasoning]
        if self.student:
            lines.append(f"Experiences used: {', '.join(self.cited) if self.cited else 'none'}")
        lines.append(f"Answer: {self.answer}")
        return "\n".join(lines)


def solve(request: ChatRequest, item: Item, world: World, config: SimConfig, rng: random.Random) -> Solution:
    """Solve the puzzle the request quotes, as the role its model name says.

    The student is right with ``p_student_skill`` when an injected experience carries its puzzle's skill,
    else with ``p_student_base``; it cites the skill lines, and now and then another label (more often
    when wrong). The teacher is right with ``p_teacher`` and states the skill in its reasoning. With
    ``obey_injections``, the student also copies every injection line of its problem into its reasoning.
    """
    family = world.family_of(item)
    title = family.title if family else "this question"
    if request.role == "teacher":
        correct = rng.random() < config.p_teacher
        answer = item.answer if correct else world.wrong_answer(item, rng)
        key_idea = f" Key idea: {family.skill}" if family else ""
        reasoning = f"Simulated teacher reasoning about {title}.{key_idea} Working it through gives {answer}."
        return Solution(item, answer, correct, reasoning, student=False)
    injected = experiences_in(request.text(*SYSTEM_ROLES, "user"))
    skill_lines = [
        (label, text) for label, text in injected if family is not None and skill_of(text) == family.name
    ]
    correct = rng.random() < (config.p_student_skill if skill_lines else config.p_student_base)
    answer = item.answer if correct else world.wrong_answer(item, rng)
    cited = [label for label, _ in skill_lines]
    others = [label for label, _ in injected if label not in cited]
    if others and rng.random() < (config.cite_other_when_right if correct else config.cite_other_when_wrong):
        cited.append(rng.choice(others))
    if skill_lines:
        label, text = skill_lines[0]
        reasoning = (
            f"Simulated student reasoning about {title}. Following {label}: {text} This gives {answer}."
        )
    else:
        reasoning = f"Simulated student reasoning about {title}. Judging from the picture, it is {answer}."
    if config.obey_injections:
        reasoning = "\n".join([reasoning, *injected_lines(request.problem)])
    return Solution(item, answer, correct, reasoning, cited)
