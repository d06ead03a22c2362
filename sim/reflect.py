"""The simulated teacher reflecting on a solved puzzle: votes on what was shown, proposes what was missing."""

from __future__ import annotations

import random

from ted.sim.config import SimConfig
from ted.sim.experiences import experiences_in
from ted.sim.operations import Operation
from ted.sim.request import SYSTEM_ROLES, ChatRequest
from ted.sim.world import World
from ted.tasks.items import Item
from ted.tasks.synth import DECOYS, NOISE, skill_of

DONE = "Library updated. (simulated teacher)"


def reflect(
    request: ChatRequest, item: Item, world: World, config: SimConfig, rng: random.Random
) -> list[Operation]:
    """The library operations a reflecting teacher proposes for the puzzle the request quotes.

    Injected experiences carrying the puzzle's skill get a helpful vote; those carrying no skill at all
    get a harmful vote with probability ``p_vote_harmful``. When no injected experience carries the
    skill, the teacher adds one: a paraphrase of the skill, or with probability ``noise_rate`` useless
    advice, half the time generic and half the time on the puzzle's topic (a decoy that retrieval
    brings up for this family and that only usage statistics can tell from a real skill). When the
    skill was there and the reflection happens anyway (some attempt was wrong), it restates the skill
    in other words with probability ``p_rephrase``, the near-duplicates that compression must merge.
    """
    family = world.family_of(item)
    if family is None:
        return []
    operations: list[Operation] = []
    carried = False
    for label, text in experiences_in(request.text(*SYSTEM_ROLES, "user")):
        skill = skill_of(text)
        if skill == family.name:
            carried = True
            operations.append(
                {
                    "op": "vote",
                    "label": label,
                    "vote": "helpful",
                    "reason": f"It states the skill for {family.title}.",
                }
            )
        elif skill is None and rng.random() < config.p_vote_harmful:
            operations.append(
                {
                    "op": "vote",
                    "label": label,
                    "vote": "harmful",
                    "reason": "Generic advice that did not help.",
                }
            )
    if carried and rng.random() < config.p_rephrase:
        operations.append(
            {
                "op": "add",
                "text": rng.choice(family.paraphrases),
                "tags": [family.name],
                "reason": f"Restating the skill for {family.title}. (simulated teacher)",
            }
        )
    elif not carried:
        if rng.random() < config.noise_rate:
            text = rng.choice(DECOYS[family.name] if rng.random() < 0.5 else NOISE)
        else:
            text = rng.choice(family.paraphrases)
        operations.append(
            {
                "op": "add",
                "text": text,
                "tags": [family.name],
                "reason": f"The students lacked the skill for {family.title}. (simulated teacher)",
            }
        )
    return operations
