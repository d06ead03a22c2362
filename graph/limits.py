"""Requests in flight per endpoint: one limit shared by every item, compression and evaluation.

A run keeps many items in flight, each with N student rollouts and a teacher call, and evaluation
answers many items at once; the limit per endpoint is what the endpoint sees. The student's
endpoint (``student_concurrency``) can be a vLLM server that wants dozens of requests at once; the
teacher's (``teacher_concurrency``) is often a rate-limited API. The compress model shares the
teacher's limit unless it has its own base URL.

A call holds its slot through the client's retries, so a rate-limited endpoint sees fewer requests
while the client waits the time its 429 asked for (Retry-After, honoured by the OpenAI client).
"""

from __future__ import annotations

import asyncio
import weakref

from ted.graph.models import ModelSpec

# Semaphores belong to the event loop that uses them, so they are kept per loop.
_slots: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str | None, int], asyncio.Semaphore]
] = weakref.WeakKeyDictionary()


def endpoint_of(spec: ModelSpec) -> tuple[str, str | None]:
    """Which limit a model's calls count against: the student's or the teacher's, per base URL."""
    return ("student" if spec.role == "student" else "teacher", spec.base_url)


def endpoint_slots(spec: ModelSpec) -> asyncio.Semaphore:
    """The semaphore that bounds the requests in flight to ``spec``'s endpoint on this event loop."""
    slots = _slots.setdefault(asyncio.get_running_loop(), {})
    key = (*endpoint_of(spec), spec.concurrency)
    if key not in slots:
        slots[key] = asyncio.Semaphore(spec.concurrency)
    return slots[key]
