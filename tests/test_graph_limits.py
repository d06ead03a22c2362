"""Requests in flight per endpoint, and a 429's Retry-After, against the simulated endpoint over HTTP."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import pytest
from langchain_core.messages import HumanMessage

from ted.graph import Context
from ted.graph.calling import call
from ted.graph.models import chat_model, model_spec
from ted.sim import FixedLatency, RequestRecord, SimConfig, SimServer, World
from ted.tasks.synth import generate

pytestmark = pytest.mark.server


def _most_at_once(log: list[RequestRecord]) -> int:
    edges = sorted([(r.start, 1) for r in log] + [(r.end, -1) for r in log])
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


def _context(url: str, **settings: object) -> Context:
    return Context(
        student_model="sim-student",
        teacher_model="sim-teacher",
        student_base_url=url,
        teacher_base_url=url,
        **settings,  # type: ignore[arg-type]
    )


async def _ask(context: Context, role: str, text: str) -> None:
    spec = model_spec(context, role)  # type: ignore[arg-type]
    reply = await call(
        chat_model(context, role),  # type: ignore[arg-type]
        [HumanMessage(text)],
        spec=spec,
        stage="student" if role == "student" else "teacher",
        item_id="x",
    )
    assert not reply.errors, reply.errors


async def test_each_endpoint_has_its_own_limit_shared_by_all_calls(tmp_path: object) -> None:
    config = SimConfig(latency=FixedLatency(seconds=0.2))
    with SimServer(World.from_items(generate(tmp_path, n=2, seed=1)), config=config) as sim:  # type: ignore[arg-type]
        context = _context(sim.base_url, student_concurrency=3, teacher_concurrency=2)
        students = [_ask(context, "student", f"question {n}") for n in range(9)]
        teachers = [_ask(context, "teacher", f"question {n}") for n in range(6)]
        await asyncio.gather(*students, *teachers)
        log = [r for r in sim.log if r.path == "/v1/chat/completions"]
    student = [r for r in log if r.role == "student"]
    teacher = [r for r in log if r.role == "teacher"]
    assert len(student) == 9 and len(teacher) == 6
    assert _most_at_once(student) == 3, "the student's endpoint had at most 3 requests, and was kept busy"
    assert _most_at_once(teacher) == 2
    assert _most_at_once(log) == 5, "the two endpoints' limits are separate"


async def test_a_429_is_retried_after_the_time_it_asks_for(tmp_path: object) -> None:
    # Retry-After 1.5 s: much longer than the client's own first backoff (0.375 to 0.5 s).
    config = SimConfig(rate_429=0.5, retry_after=1.5)
    with SimServer(World.from_items(generate(tmp_path, n=2, seed=1)), config=config) as sim:  # type: ignore[arg-type]
        context = _context(sim.base_url, max_retries=6)
        for n in range(8):
            await _ask(context, "student", f"question {n}")
            statuses = [r.status for r in sim.log]
            if 429 in statuses and 200 in statuses[statuses.index(429) :]:
                break
        log = list(sim.log)
    waits = [later.start - earlier.end for earlier, later in pairwise(log) if earlier.status == 429]
    assert waits, "the simulated endpoint answered 429 at least once"
    assert all(1.45 <= wait < 3.0 for wait in waits), waits
