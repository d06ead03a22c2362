"""The request log: one record per request, for tests and benchmarks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ted.sim.request import Kind, Role


class RequestRecord(BaseModel):
    """What the simulated endpoint did with one request. Times are Unix epoch seconds."""

    start: float = Field(description="When the request arrived.")
    end: float = Field(description="When the response was written (or the connection dropped).")
    path: str = Field(description="The request path, e.g. /v1/chat/completions.")
    model: str | None = Field(default=None, description="The model name the request asked for.")
    role: Role | None = Field(default=None, description="student or teacher, from the model name.")
    kind: Kind | None = Field(default=None, description="solve, reflect, compress or structured.")
    item_id: str | None = Field(default=None, description="The puzzle the request quoted, if any.")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    status: int | None = Field(description="HTTP status sent; None when the connection was dropped.")
    fault: str | None = Field(
        default=None, description="The fault injected: 429, 500, timeout or a malformed-output kind."
    )
    stream: bool = False
    simulated: Literal[True] = True

    @property
    def duration(self) -> float:
        """Seconds from arrival to response."""
        return self.end - self.start
