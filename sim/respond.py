"""Deciding what a simulated model replies to a request of each kind."""

from __future__ import annotations

import random

from ted.sim.compress import DONE as COMPRESSED
from ted.sim.compress import compress
from ted.sim.config import SimConfig
from ted.sim.injections import obeyed
from ted.sim.operations import operations_reply
from ted.sim.reflect import DONE as REFLECTED
from ted.sim.reflect import reflect
from ted.sim.reply import Reply, ToolCall
from ted.sim.request import ChatRequest
from ted.sim.solve import UNKNOWN, solve
from ted.sim.structured import fill, json_answer
from ted.sim.world import World
from ted.tasks.items import Item


def find_item(request: ChatRequest, world: World) -> Item | None:
    """The puzzle the request quotes: looked for in its problem, then the user messages, then everywhere."""
    return world.find(request.problem) or world.find(request.text("user")) or world.find(request.text())


def respond(
    request: ChatRequest, item: Item | None, world: World, config: SimConfig, rng: random.Random
) -> Reply:
    """One reply (one choice) to a request about ``item``, by the request's kind.

    - reflect / compress: library operations, as tool calls (then a final text once the tool results
      are back) or as JSON in JSON mode; with ``obey_injections``, a reflection also adds every
      injected payload it is shown;
    - structured: JSON content following the schema, or a call of the first usable tool with arguments
      that follow its parameters (then a final text once the tool results are back);
    - solve: free text ending in ``Answer: ...``.
    """
    kind = request.kind
    tools = request.usable_tools
    if kind in ("reflect", "compress"):
        done = REFLECTED if kind == "reflect" else COMPRESSED
        if request.has_tool_results and not request.json_mode:
            return Reply(content=done)
        if kind == "compress":
            operations = compress(request)
        else:
            operations = reflect(request, item, world, config, rng) if item is not None else []
            if config.obey_injections:
                family = world.family_of(item) if item is not None else None
                operations += obeyed(request.text("user"), [family.name] if family else [])
        return operations_reply(operations, offered=tools, json_mode=request.json_mode, rng=rng, done=done)
    solution = solve(request, item, world, config, rng) if item is not None else None
    if kind == "structured":
        if tools and not request.has_tool_results:
            name, function = next(iter(tools.items()))
            arguments = fill(function.get("parameters") or {}, solution=solution)
            return Reply(tool_calls=[ToolCall.make(rng, name, arguments)])
        if request.json_mode:
            return Reply(content=json_answer(request.json_schema, solution))
    return Reply(content=solution.text() if solution is not None else UNKNOWN)
