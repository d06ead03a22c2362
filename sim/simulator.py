"""From a chat completions request body to what the server sends back, faults included."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ted.sim import wire
from ted.sim.config import SimConfig
from ted.sim.draws import Draws, request_key
from ted.sim.faults import draw_fault, malform
from ted.sim.request import BadRequest, ChatRequest
from ted.sim.respond import find_item, respond
from ted.sim.tokens import completion_tokens, prompt_tokens
from ted.sim.world import World


@dataclass
class Outcome:
    """What to send: a JSON body, a stream of events, or nothing at all (status None: drop the connection)."""

    status: int | None
    payload: Any = None
    events: list[dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, message: str, kind: str, code: str | None = None) -> Outcome:
    return Outcome(status, wire.error(message, kind, code))


class Simulator:
    """The simulated models behind the server: deterministic per seed, request body and repetition.

    Args:
        world: The puzzles the models know.
        config: Probabilities, latency and fault rates.
    """

    def __init__(self, world: World, config: SimConfig) -> None:
        self.world = world
        self.config = config
        self._draws = Draws(config.seed)

    def complete(self, raw: bytes, record: dict[str, Any], wait: Callable[[float], object]) -> Outcome:
        """Answer one chat completions request.

        Args:
            raw: The request body.
            record: Filled in with what the request log keeps (model, role, kind, tokens, fault ...).
            wait: Sleeps for the simulated latency or a timeout's hold (returns early when the server stops).
        """
        try:
            body = json.loads(raw or b"null")
            request = ChatRequest.parse(body)
        except (ValueError, BadRequest) as exc:
            return _error(400, f"Invalid request: {exc}", "invalid_request_error")
        config = self.config
        record.update(model=request.model, role=request.role, kind=request.kind, stream=request.stream)
        record["prompt_tokens"] = prompt_tokens(request, image_tokens=config.image_tokens)
        key = request_key(body)
        occurrence = self._draws.occurrence(key)
        fault = record["fault"] = draw_fault(config, self._draws.rng(key, occurrence, "fault"))
        if fault == "429":
            message = "Rate limit reached (simulated). Retry later."
            outcome = _error(429, message, "rate_limit_error", "rate_limit_exceeded")
            outcome.headers = {
                "retry-after": str(math.ceil(config.retry_after)),
                "retry-after-ms": str(int(config.retry_after * 1000)),
            }
            return outcome
        if fault == "500":
            return _error(500, "The simulated server had an error.", "server_error")
        if fault == "timeout":
            if config.timeout_action == "close":
                return Outcome(None)
            wait(config.timeout_hold)
            return _error(504, "The simulated upstream timed out.", "server_error", "timeout")
        item = find_item(request, self.world)
        record["item_id"] = item.id if item is not None else None
        if item is None and config.strict and request.kind != "compress":
            message = "No puzzle of the simulated world appears in the request (strict mode)."
            return _error(400, message, "invalid_request_error")
        # At temperature 0, repeating a request repeats its answer; faults stay independent draws.
        content_occurrence = occurrence if request.stochastic else 0
        rngs = [self._draws.rng(key, content_occurrence, f"choice-{n}") for n in range(request.n)]
        replies = [respond(request, item, self.world, config, rng) for rng in rngs]
        if fault == "malformed":
            replies[0], record["fault"] = malform(
                replies[0], request, config, self._draws.rng(key, occurrence, "malformed")
            )
        tokens = record["completion_tokens"] = sum(completion_tokens(reply) for reply in replies)
        delay = config.latency.sample(self._draws.rng(key, occurrence, "latency"))
        wait(delay + tokens * config.seconds_per_completion_token)
        completion_id = f"chatcmpl-sim-{key[:12]}-{occurrence}"
        if request.stream:
            usage = wire.usage(record["prompt_tokens"], tokens) if request.include_usage else None
            return Outcome(200, events=list(wire.chunks(completion_id, request.model, replies, usage)))
        return Outcome(
            200, wire.completion(completion_id, request.model, replies, record["prompt_tokens"], tokens)
        )
