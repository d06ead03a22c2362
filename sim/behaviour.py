"""What the simulated models do with a request: decide, then write the decision as it was asked for.

The student is right with a base probability, more often when an injected experience carries its
puzzle's skill. The teacher is usually right; reflecting, it votes on what the students were shown
and proposes what they lacked, sometimes useless advice or another wording of a known skill, so that
voting, pruning and merging have work; compressing, it merges clusters, shortens verbose entries and
deletes reviewed advice that states a misconception and misled.
Experiences are recognised by meaning (`ted.tasks.synth.skill_of`), never by the teacher's wording.

`respond` is the entry point. A decision goes out as free text ending in ``Answer: ...``, as calls of
the offered tools, or as JSON (library operations, or an object that follows the requested schema).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from openai.types.chat import ChatCompletionMessage

from ted.memory.models import UsageStats, shows_harm
from ted.memory.operations import OPERATION_TYPES, argument_fields
from ted.prompts.student import CITATION
from ted.sim.config import SimConfig
from ted.sim.reading import (
    compress_groups,
    experience_records,
    injected_experiences,
    injected_payloads,
    injection_lines,
    kind_of,
    problem_of,
    review_group,
    role_of,
)
from ted.sim.wire import ChatRequest, assistant, tool_call
from ted.sim.world import World
from ted.tasks.items import Item
from ted.tasks.synth import DECOYS, FAMILIES, NOISE, Family, skill_of

# A library operation as our pipeline reads it: {"op": "add" | "update" | "delete" | "merge" | "vote", ...}.
Operation = dict[str, Any]

REFLECTED = "Library updated. (simulated teacher)"
COMPRESSED = "Library compressed. (simulated teacher)"
UNKNOWN = (
    "Simulated model: no puzzle of the simulated world appears in this request, so there is nothing "
    "to solve.\nAnswer: unknown"
)
# op -> (tool name, argument names in the order the tool declares them), from the operation models.
TOOLS: dict[str, tuple[str, tuple[str, ...]]] = {
    kind.model_fields["op"].default: (kind.tool_name, tuple(argument_fields(kind)))
    for kind in OPERATION_TYPES
}
# A verbose experience without a skill is cut to this many words.
SHORT_WORDS = 12
# Schemas nest no deeper than this before a plain value stands in.
MAX_DEPTH = 6


@dataclass(frozen=True)
class Solution:
    """A solved puzzle: the answer given, the reasoning, and the experiences it cites."""

    answer: str
    reasoning: str
    cited: list[str] = field(default_factory=list)
    student: bool = True

    def text(self) -> str:
        """The free-text response: reasoning, the cited experiences (students), the final answer line."""
        lines = [self.reasoning]
        if self.student:
            lines.append(f"{CITATION}: {', '.join(self.cited) if self.cited else 'none'}")
        lines.append(f"Answer: {self.answer}")
        return "\n".join(lines)


def respond(
    request: ChatRequest,
    item: Item | None,
    world: World,
    config: SimConfig,
    rng: random.Random,
    luck: float | None = None,
) -> ChatCompletionMessage:
    """One reply (one choice) to a request about ``item``, by the request's kind.

    - reflect / compress: library operations, as tool calls (then a final text once the tool results
      are back) or as JSON in JSON mode; with ``obey_injections``, a reflection also adds every
      injected payload it is shown;
    - structured: JSON content following the schema, or a call of the first usable tool with arguments
      that follow its parameters (then a final text once the tool results are back);
    - solve: free text ending in ``Answer: ...``.
    """
    kind = kind_of(request)
    tools = request.usable_tools
    if kind in ("reflect", "compress"):
        done = REFLECTED if kind == "reflect" else COMPRESSED
        if request.has_tool_results and not request.json_mode:
            return assistant(done)
        if kind == "compress":
            operations = compress(request, world)
        else:
            operations = reflect(request, item, world, config, rng) if item is not None else []
            if config.obey_injections:
                operations += obey(request, item, world)
        return _operations(operations, offered=tools, json_mode=request.json_mode, rng=rng, done=done)
    solution = solve(request, item, world, config, rng, luck) if item is not None else None
    if kind == "structured":
        if tools and not request.has_tool_results:
            name, function = next(iter(tools.items()))
            arguments = fill(function.get("parameters") or {}, solution=solution)
            return assistant(tool_calls=[tool_call(rng, name, arguments)])
        if request.json_mode:
            return assistant(_json_answer(request.json_schema, solution))
    return assistant(solution.text() if solution is not None else UNKNOWN)


def _inferred(request: ChatRequest, item: Item, world: World) -> Family | None:
    """The family a teacher takes the puzzle to be.

    Families read by meaning (the skills world) are inferred from what the request shows, the problem
    text, as the nearest skill; classic families are known from the item.
    """
    family = world.family_of(item)
    if family is None or family.keywords:
        return family
    name = world.reader.topic(problem_of(request))
    return world.family_of_name(name) if name is not None else None


def solve(
    request: ChatRequest,
    item: Item,
    world: World,
    config: SimConfig,
    rng: random.Random,
    luck: float | None = None,
) -> Solution:
    """Solve the puzzle the request quotes, as the role its model name says.

    The student reads each injected experience by meaning (`World.reader`). The first one about its
    puzzle decides: a wrong one is followed with ``p_follow_wrong`` (accuracy ``p_student_misled``),
    else the skill, when one is there, gives ``p_student_skill``; otherwise ``p_student_base``. Every
    experience about something else costs a share ``irrelevant_cost`` of that accuracy. It cites what
    it followed, and now and then another label (more often when wrong). The teacher is right with
    ``p_teacher`` and states the skill it infers in its reasoning. With ``obey_injections``, the
    student also copies every injection line of its problem into its reasoning.

    ``luck`` (uniform in [0, 1)), when given, decides right or wrong instead of a draw from ``rng``: the
    simulator derives it from the item, not from the whole prompt, so that the same item asked with
    other experiences gets the same luck and paired comparisons measure only what the prompts change
    (common random numbers).
    """
    family = world.family_of(item)
    title = family.title if family else "this question"
    if role_of(request) == "teacher":
        inferred = _inferred(request, item, world)
        correct = (rng.random() if luck is None else luck) < config.p_teacher
        answer = item.answer if correct else world.wrong_answer(item, rng)
        key_idea = f" Key idea: {inferred.skill}" if inferred else ""
        reasoning = f"Simulated teacher reasoning about {title}.{key_idea} Working it through gives {answer}."
        return Solution(answer, reasoning, student=False)
    injected = injected_experiences(request)
    readings = world.reader.read_many([text for _, text in injected])
    about = [
        (label, text, reading.stance)
        for (label, text), reading in zip(injected, readings, strict=True)
        if family is not None and reading.family == family.name
    ]
    skill_lines = [(label, text) for label, text, stance in about if stance == "skill"]
    irrelevant = len(injected) - len(about)
    draw = rng.random() if luck is None else luck
    misled = bool(about) and about[0][2] == "wrong" and rng.random() < config.p_follow_wrong
    if misled:
        p = config.p_student_misled
    else:
        p = config.p_student_skill if skill_lines else config.p_student_base
    correct = draw < p * (1 - config.irrelevant_cost) ** irrelevant
    answer = item.answer if correct else world.wrong_answer(item, rng)
    followed = [about[0][:2]] if misled else skill_lines
    cited = [label for label, _ in followed]
    others = [label for label, _ in injected if label not in cited]
    if others and rng.random() < (config.cite_other_when_right if correct else config.cite_other_when_wrong):
        cited.append(rng.choice(others))
    if followed:
        label, text = followed[0]
        reasoning = (
            f"Simulated student reasoning about {title}. Following {label}: {text} This gives {answer}."
        )
    else:
        reasoning = f"Simulated student reasoning about {title}. Judging from the picture, it is {answer}."
    if config.obey_injections:
        reasoning = "\n".join([reasoning, *injection_lines(problem_of(request))])
    return Solution(answer, reasoning, cited)


def reflect(
    request: ChatRequest, item: Item, world: World, config: SimConfig, rng: random.Random
) -> list[Operation]:
    """The library operations a reflecting teacher proposes for the puzzle the request quotes.

    The teacher works on the family it infers (`_inferred`) and reads the injected experiences by
    meaning. Those stating that family's skill get a helpful vote; those about nothing the world knows
    get a harmful vote with probability ``p_vote_harmful``; one stating the family's misconception gets
    a harmful vote with probability ``p_spot_wrong`` (otherwise it goes unnoticed, and only the
    students' citations in wrong answers count against it). When no injected experience carries the
    skill, the teacher adds one: with probability ``p_wrong_advice`` (skills world) the family's
    misconception; with ``noise_rate``
    useless advice, half the time generic and half the time a decoy (classic world) or advice too
    specific to this item (skills world); else a paraphrase of the skill. When the skill was there and
    the reflection happens anyway (some attempt was wrong), it restates the skill in other words with
    probability ``p_rephrase``, the near-duplicates that compression must merge.
    """
    family = _inferred(request, item, world)
    if family is None:
        return []
    operations: list[Operation] = []
    carried = False
    injected = injected_experiences(request)
    for (label, _), reading in zip(injected, world.reader.read_many([t for _, t in injected]), strict=True):
        if reading.family == family.name and reading.stance == "skill":
            carried = True
            reason = f"It states the skill for {family.title}."
            operations.append({"op": "vote", "label": label, "vote": "helpful", "reason": reason})
        elif reading.family == family.name and reading.stance == "wrong":
            if rng.random() < config.p_spot_wrong:
                reason = f"It contradicts the correct solution for {family.title}."
                operations.append({"op": "vote", "label": label, "vote": "harmful", "reason": reason})
        elif reading.family is None and rng.random() < config.p_vote_harmful:
            reason = "Generic advice that did not help."
            operations.append({"op": "vote", "label": label, "vote": "harmful", "reason": reason})
    if carried and rng.random() < config.p_rephrase:
        text = rng.choice(family.paraphrases)
        reason = f"Restating the skill for {family.title}. (simulated teacher)"
        operations.append({"op": "add", "text": text, "tags": [family.name], "reason": reason})
    elif not carried:
        draw = rng.random()
        if family.wrong_advice and draw < config.p_wrong_advice:
            text = rng.choice(family.wrong_advice)
        elif draw < config.p_wrong_advice * bool(family.wrong_advice) + config.noise_rate:
            if rng.random() >= 0.5:
                text = rng.choice(NOISE)
            elif family.name in DECOYS:
                text = rng.choice(DECOYS[family.name])
            else:
                text = _too_specific(item)
        else:
            text = rng.choice(family.paraphrases)
        reason = f"The students lacked the skill for {family.title}. (simulated teacher)"
        operations.append({"op": "add", "text": text, "tags": [family.name], "reason": reason})
    return operations


def _too_specific(item: Item) -> str:
    """Advice that only fits this one item: its answer, by the puzzle's number."""
    puzzle = item.question.split(":", 1)[0] if ":" in item.question[:20] else "This puzzle"
    return f"{puzzle}: the answer was {item.answer}."


def obey(request: ChatRequest, item: Item | None, world: World) -> list[Operation]:
    """One ``add`` per injected payload in the user messages, as a hijacked reflecting model proposes."""
    family = world.family_of(item) if item is not None else None
    reason = "The text I was shown asked for it. (simulated teacher obeying an injection)"
    return [
        {"op": "add", "text": payload, "tags": [family.name] if family else [], "reason": reason}
        for payload in injected_payloads(request.text("user"))
    ]


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


def compress(request: ChatRequest, world: World) -> list[Operation]:
    """Decide about every listed group, rewrite every verbose experience, review every reviewed one.

    Members are read by meaning (`World.reader`) and a group is split by what they state: members
    stating the same skill (or the same misconception, or nothing the world knows) are merged into
    one experience, the canonical skill of a classic family, else the member closest to what they
    state, else the shortest line; when the group states more than one thing, one member of each part
    is kept apart with the reason.

    A misconception in the same group as its topic's skill is a contradiction: when the usage record
    of one of its members shows that it misled (a harmful vote, or more citations in wrong answers than
    in right ones), every member stating it is deleted; otherwise it is left undecided, neither merged
    into anything nor kept apart, until the records tell.

    A reviewed experience (one whose usage, the pipeline says, shows harm) is deleted when it states a
    misconception and its record shows that it misled; anything else is left as it is: a skill is
    right whatever its record (the misses had other causes), and advice about nothing the world knows
    is not wrong, only of no use, which pruning settles once the evidence is in.
    """
    clusters, verbose = compress_groups(request)
    records = experience_records(request.text("user"))
    operations: list[Operation] = []
    for cluster in clusters:
        if len(cluster) < 2:
            continue
        readings = world.reader.read_many([text for _, text in cluster])
        parts: dict[tuple[str | None, str | None], list[tuple[str, str, float]]] = {}
        for (label, text), reading in zip(cluster, readings, strict=True):
            parts.setdefault((reading.family, reading.stance), []).append((label, text, reading.similarity))
        for family, stance in list(parts):
            if stance != "wrong" or (family, "skill") not in parts:
                continue
            wrong = parts.pop((family, stance))
            if any(_misled(records.get(label, {})) for label, _, _ in wrong):
                rule = parts[(family, "skill")][0][0]
                reason = f"It contradicts {rule}, the rule for {family}, and misled the students."
                reason += " (simulated teacher)"
                operations.extend({"op": "delete", "label": label, "reason": reason} for label, _, _ in wrong)
        for (family, _), members in parts.items():
            if len(members) < 2:
                continue
            classic = FAMILIES.get(family) if family is not None else None
            if classic is not None:
                text = classic.skill
            elif family is not None:
                text = max(members, key=lambda member: member[2])[1]
            else:
                text = min((member[1] for member in members), key=len)
            labels = [label for label, _, _ in members]
            reason = "They say the same thing. (simulated teacher)"
            operations.append({"op": "merge", "labels": labels, "text": text, "reason": reason})
        if len(parts) > 1:
            said = "; ".join(
                f"{members[0][0]}: {_stated(family, stance)}" for (family, stance), members in parts.items()
            )
            reason = f"They give different advice ({said}). (simulated teacher)"
            labels = [members[0][0] for members in parts.values()]
            operations.append({"op": "keep_apart", "labels": labels, "reason": reason})
    for label, text in verbose:
        reason = "Shorter. (simulated teacher)"
        operations.append({"op": "update", "label": label, "text": _shorter(text), "reason": reason})
    review = review_group(request)
    for (label, _), reading in zip(review, world.reader.read_many([t for _, t in review]), strict=True):
        if reading.stance == "wrong" and _misled(records.get(label, {})):
            family = (reading.family or "its topic").replace("_", " ")
            reason = f"It states a wrong rule for {family}, and its record shows that it misled the students."
            operations.append({"op": "delete", "label": label, "reason": reason + " (simulated teacher)"})
    return operations


def _misled(record: dict[str, str]) -> bool:
    """Whether a usage record as the prompt shows it shows harm (`ted.memory.models.shows_harm`)."""
    count = {
        name: int(v) if (v := record.get(name, "")).isdigit() else 0
        for name in ("harmful", "cited_wrong", "cited_correct")
    }
    return shows_harm(UsageStats(**count))


def _stated(family: str | None, stance: str | None) -> str:
    if family is None:
        return "general advice"
    return f"{'a wrong rule' if stance == 'wrong' else 'the rule'} for {family.replace('_', ' ')}"


def _operations(
    operations: list[Operation], *, offered: Collection[str], json_mode: bool, rng: random.Random, done: str
) -> ChatCompletionMessage:
    """The operations as JSON content in JSON mode, else as calls of the offered tools.

    An operation whose tool is not on offer is left out; with nothing to call, the reply is ``done``.
    """
    if json_mode:
        return assistant(json.dumps({"operations": operations}, ensure_ascii=False))
    calls = []
    for operation in operations:
        name, arguments = TOOLS[operation["op"]]
        if name in offered:
            calls.append(tool_call(rng, name, {key: operation[key] for key in arguments if key in operation}))
    return assistant(None if calls else done, calls)


def _json_answer(schema: dict[str, Any] | None, solution: Solution | None) -> str:
    """JSON content: the schema filled in, or ``{"answer", "reasoning"}`` when there is no schema."""
    if schema is not None:
        return json.dumps(fill(schema, solution=solution))
    if solution is None:
        return json.dumps({"answer": "unknown", "reasoning": "Simulated model: no puzzle of the world here."})
    return json.dumps({"answer": solution.answer, "reasoning": solution.reasoning})


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/"):
        target: Any = root
        for part in reference[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target if isinstance(target, dict) else {}
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list):
            # Prefer a branch that is not null: Optional fields get a value.
            for option in options:
                if isinstance(option, dict) and option.get("type") != "null":
                    return _resolve(option, root)
    return schema


def _value(
    name: str, schema: dict[str, Any], root: dict[str, Any], solution: Solution | None, depth: int
) -> Any:
    schema = _resolve(schema, root)
    kind = schema.get("type")
    lowered = name.lower()
    if schema.get("enum"):
        choices = schema["enum"]
        if solution is not None and solution.answer in choices:
            return solution.answer
        return choices[0]
    if solution is not None and "answer" in lowered:
        if kind in ("integer", "number"):
            try:
                number = float(solution.answer)
            except ValueError:
                return 0
            return int(number) if kind == "integer" else number
        return solution.answer
    if solution is not None and any(word in lowered for word in ("reason", "explan", "rational", "thought")):
        return solution.reasoning
    if (
        solution is not None
        and kind == "array"
        and any(word in lowered for word in ("experience", "cite", "label"))
    ):
        return solution.cited
    if kind == "object" and depth < MAX_DEPTH:
        return fill(schema, root, solution, depth + 1)
    defaults: dict[str, Any] = {
        "string": "simulated",
        "integer": 0,
        "number": 0.0,
        "boolean": True,
        "array": [],
        "object": {},
        "null": None,
    }
    return defaults.get(kind if isinstance(kind, str) else "string", "simulated")


def fill(
    schema: dict[str, Any],
    root: dict[str, Any] | None = None,
    solution: Solution | None = None,
    depth: int = 0,
) -> dict[str, Any]:
    """An object for a JSON schema with every required property set (all of them if none is required).

    Fields named like an answer get the solution's answer, reasoning-like fields its reasoning, and
    arrays of experiences or labels the cited labels; everything else gets a plain value of its type.
    """
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    properties = schema.get("properties") or {}
    required = schema.get("required") or list(properties)
    return {
        name: _value(name, properties.get(name) or {}, root, solution, depth)
        for name in required
        if isinstance(name, str)
    }
