"""The simulated teacher compressing the library: merging near-duplicates, shortening verbose entries."""

from __future__ import annotations

import re
from collections import Counter

from ted.sim.experiences import compress_sections
from ted.sim.operations import Operation
from ted.sim.request import ChatRequest
from ted.tasks.synth import FAMILIES, skill_of

DONE = "Library compressed. (simulated teacher)"
SHORT_WORDS = 12


def _shorter(text: str) -> str:
    """The canonical skill the text carries, else its first sentence, else its first words."""
    family = skill_of(text)
    if family is not None:
        return FAMILIES[family].skill
    sentence = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    if len(sentence) < len(text.strip()):
        return sentence
    words = text.split()
    return " ".join(words[:SHORT_WORDS]).rstrip(",;:") + "." if len(words) > SHORT_WORDS else text


def compress(request: ChatRequest) -> list[Operation]:
    """Merge every listed cluster into one experience and rewrite every listed verbose one.

    A cluster becomes the canonical skill of the family most of its lines carry, or its shortest line
    when none carries a skill.
    """
    clusters, verbose = compress_sections(request.text("user"))
    operations: list[Operation] = []
    for cluster in clusters:
        if len(cluster) < 2:
            continue
        families = Counter(name for _, text in cluster if (name := skill_of(text)) is not None)
        if families:
            text = FAMILIES[families.most_common(1)[0][0]].skill
        else:
            text = min((text for _, text in cluster), key=len)
        operations.append(
            {
                "op": "merge",
                "labels": [label for label, _ in cluster],
                "text": text,
                "reason": "They say the same thing. (simulated teacher)",
            }
        )
    for label, text in verbose:
        operations.append(
            {"op": "update", "label": label, "text": _shorter(text), "reason": "Shorter. (simulated teacher)"}
        )
    return operations
