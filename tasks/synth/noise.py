"""Generic advice that helps with no puzzle in particular, as useless experiences sometimes are."""

from __future__ import annotations

NOISE: tuple[str, ...] = (
    "Read the question carefully before answering.",
    "Double-check your final answer before you submit it.",
    "Take your time and think step by step.",
    "Stay calm and focused on the task at hand.",
    "Make sure the answer is written in the requested format.",
    "Consider every option before choosing one.",
    "Trust your first instinct when you are unsure.",
    "Avoid rushing, because accuracy matters more than speed.",
    "Look at the whole image before focusing on details.",
    "Write down intermediate results so you do not lose track.",
)
