"""One chat completions request, from its body to what the server sends: draws, faults, tokens, latency.

Randomness is reproducible per request: each gets generators derived from (seed, hash of the body,
how many identical bodies came before it, purpose). N identical requests therefore get N different
draws, and the same requests sent to a fresh server get the same draws, whatever the timing. Whether
an answer is right is decided by a "luck" drawn from (seed, the item, the role, that same repetition
count, the choice) rather than from the body: the same item asked with other experiences in the
prompt gets the same luck, so paired comparisons (evaluation conditions, retrieval ablations) differ
only where the prompts change the odds.

Token counts need no tokenizer: about four characters a token, plus a fixed count per image.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openai.types.chat import ChatCompletionChunk, ChatCompletionMessage

from ted.sim import wire
from ted.sim.behaviour import respond
from ted.sim.config import SimConfig
from ted.sim.faults import draw_fault, malform
from ted.sim.reading import find_item, kind_of, role_of
from ted.sim.wire import BadRequest, ChatRequest
from ted.sim.world import World

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4


def request_key(body: Any) -> str:
    """A hash of a request body that ignores key order."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Draws:
    """Counts identical requests and derives their random generators."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def occurrence(self, key: str) -> int:
        """How many requests with this key came before (0 for the first), counting this one."""
        with self._lock:
            count = self._seen[key]
            self._seen[key] = count + 1
        return count

    def rng(self, key: str, occurrence: int, purpose: str) -> random.Random:
        """The generator of one request for one purpose ("fault", "latency", "choice-0" ...)."""
        digest = hashlib.sha256(f"{self.seed}:{key}:{occurrence}:{purpose}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))


def count_text(text: str) -> int:
    """Tokens in a piece of text."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def prompt_tokens(request: ChatRequest, *, image_tokens: int) -> int:
    """Tokens of the prompt: message texts, earlier tool calls, images and tool definitions."""
    total = 0
    for message in request.messages:
        total += MESSAGE_OVERHEAD + count_text(message.text) + message.images * image_tokens
        total += sum(count_text(json.dumps(call)) for call in message.tool_calls)
    total += sum(count_text(json.dumps(tool)) for tool in request.tools.values())
    return total


def completion_tokens(reply: ChatCompletionMessage) -> int:
    """Tokens of one reply: its text and its tool calls."""
    total = count_text(reply.content or "")
    total += sum(
        count_text(call.function.name) + count_text(call.function.arguments)
        for call in wire.function_calls(reply)
    )
    return max(total, 1)


@dataclass
class Outcome:
    """What to send: a JSON body, a stream of events, or nothing at all (status None: drop the connection)."""

    status: int | None
    payload: dict[str, Any] | None = None
    events: list[ChatCompletionChunk] | None = None
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
            record: Filled in with what the request log keeps (model, role, kind, tokens, fault ...);
                its ``start`` is when the request arrived, from which the latency runs.
            wait: Sleeps for the simulated latency or a timeout's hold (returns early when the server stops).
        """
        try:
            body = json.loads(raw or b"null")
            request = ChatRequest.parse(body)
        except (ValueError, BadRequest) as exc:
            return _error(400, f"Invalid request: {exc}", "invalid_request_error")
        config = self.config
        kind = kind_of(request)
        record.update(model=request.model, role=role_of(request), kind=kind, stream=request.stream)
        record["prompt_tokens"] = prompt_tokens(request, image_tokens=config.image_tokens)
        # The item is read before any fault is drawn, so that the log tells which item a failed call was for.
        item = find_item(request, self.world)
        record["item_id"] = item.id if item is not None else None
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
        if item is None and config.strict and kind != "compress":
            message = "No puzzle of the simulated world appears in the request (strict mode)."
            return _error(400, message, "invalid_request_error")
        # At temperature 0, repeating a request repeats its answer; faults stay independent draws.
        content_occurrence = occurrence if request.stochastic else 0
        rngs = [self._draws.rng(key, content_occurrence, f"choice-{n}") for n in range(request.n)]
        lucks: list[float | None] = [
            self._draws.rng(f"item:{item.id}:{record['role']}", content_occurrence, f"luck-{n}").random()
            if item is not None
            else None
            for n in range(request.n)
        ]
        replies = [
            respond(request, item, self.world, config, rng, luck)
            for rng, luck in zip(rngs, lucks, strict=True)
        ]
        if fault == "malformed":
            replies[0], record["fault"] = malform(
                replies[0], request, config, self._draws.rng(key, occurrence, "malformed")
            )
        tokens = record["completion_tokens"] = sum(completion_tokens(reply) for reply in replies)
        latency = record["latency"] = config.latency.sample(self._draws.rng(key, occurrence, "latency"))
        completion_id = f"chatcmpl-sim-{key[:12]}-{occurrence}"
        usage = wire.usage(record["prompt_tokens"], tokens)
        if request.stream:
            events = wire.chunks(
                completion_id, request.model, replies, usage if request.include_usage else None
            )
            outcome = Outcome(200, events=list(events))
        else:
            outcome = Outcome(200, wire.dump(wire.completion(completion_id, request.model, replies, usage)))
        # The answer is due `latency` seconds after the request arrived: the simulator's own work (reading
        # the request, writing the answer) falls within the model's time, as a real server's does.
        wait(max(0.0, record["start"] + latency - time.time()))
        return outcome
