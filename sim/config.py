"""The knobs of the simulated endpoint: probabilities of the world, latency and fault rates."""

from __future__ import annotations

import math
import random
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ted.sim.errors import ConfigError

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
MalformedKind = Literal["invalid_json", "bad_arguments", "wrong_arguments", "empty"]


class FixedLatency(BaseModel):
    """The same delay for every completion."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["fixed"] = "fixed"
    seconds: float = Field(default=0.0, ge=0.0)

    def sample(self, rng: random.Random) -> float:
        """The delay in seconds."""
        return self.seconds


class UniformLatency(BaseModel):
    """A delay drawn uniformly between two bounds."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["uniform"] = "uniform"
    low: float = Field(ge=0.0)
    high: float = Field(ge=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> UniformLatency:
        if self.high < self.low:
            raise ValueError(f"uniform latency needs low <= high, got {self.low} > {self.high}")
        return self

    def sample(self, rng: random.Random) -> float:
        """The delay in seconds."""
        return rng.uniform(self.low, self.high)


class LogNormalLatency(BaseModel):
    """A long-tailed delay, as model servers show: a median and a spread, capped."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["lognormal"] = "lognormal"
    median: float = Field(gt=0.0)
    sigma: float = Field(default=0.5, ge=0.0, description="Standard deviation of the log of the delay.")
    cap: float = Field(default=60.0, gt=0.0, description="No delay is longer than this.")

    def sample(self, rng: random.Random) -> float:
        """The delay in seconds."""
        return min(self.cap, rng.lognormvariate(math.log(self.median), self.sigma))


Latency = Annotated[FixedLatency | UniformLatency | LogNormalLatency, Field(discriminator="kind")]


def parse_latency(text: str) -> FixedLatency | UniformLatency | LogNormalLatency:
    """Read a latency from the command line: ``0.2``, ``uniform:0.1,0.5`` or ``lognormal:0.3,0.5``.

    Raises:
        ConfigError: If the text is none of these forms.
    """
    problem = f"latency {text!r} is not valid; use seconds (0.2), uniform:LOW,HIGH, lognormal:MEDIAN[,SIGMA]"
    kind, _, values = text.partition(":")
    try:
        if not values:
            return FixedLatency(seconds=float(kind))
        numbers = [float(value) for value in values.split(",")]
        if kind == "uniform" and len(numbers) == 2:
            return UniformLatency(low=numbers[0], high=numbers[1])
        if kind == "lognormal" and len(numbers) in (1, 2):
            return LogNormalLatency(median=numbers[0], sigma=numbers[1] if len(numbers) == 2 else 0.5)
    except ValueError as exc:
        # Pydantic's messages (negative seconds, low > high) say what is wrong; float()'s do not.
        if isinstance(exc, ValidationError):
            detail = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ConfigError(f"{problem} ({detail})") from exc
        raise ConfigError(problem) from exc
    raise ConfigError(problem)


class SimConfig(BaseModel):
    """Everything that shapes the simulated endpoint's behaviour.

    The same configuration, seed and sequence of requests give the same responses.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=0, description="Seed of all randomness.")
    models: tuple[str, ...] = Field(
        default=("sim-student", "sim-teacher"),
        description="Model names listed by /v1/models; any name is served (role by name).",
    )
    api_key: str | None = Field(
        default=None, description="When set, requests must carry it as a bearer token (else 401)."
    )

    # The world.
    p_student_base: Probability = Field(default=0.3, description="Student accuracy without the skill.")
    p_student_skill: Probability = Field(
        default=0.9, description="Student accuracy when an injected experience carries its puzzle's skill."
    )
    p_teacher: Probability = Field(default=0.95, description="Teacher accuracy.")
    irrelevant_cost: Probability = Field(
        default=0.03,
        description="Share of its accuracy the student loses for each injected experience that is not "
        "about its puzzle (compounded: n of them leave (1 - cost)^n of it).",
    )
    p_follow_wrong: Probability = Field(
        default=0.8,
        description="Chance that the student follows a wrong experience about its puzzle when that is the "
        "first experience about its puzzle in the prompt.",
    )
    p_student_misled: Probability = Field(
        default=0.05, description="Student accuracy when it follows a wrong experience."
    )
    p_wrong_advice: Probability = Field(
        default=0.15,
        description="Skills world: share of reflection proposals that state the topic's misconception "
        "(wrong advice the teacher believes and never votes against).",
    )
    cite_other_when_wrong: Probability = Field(
        default=0.3,
        description="Chance that a wrong student also cites a random experience that is not its skill.",
    )
    cite_other_when_right: Probability = Field(
        default=0.05,
        description="Chance that a right student also cites a random experience that is not its skill.",
    )
    noise_rate: Probability = Field(
        default=0.2,
        description="Share of reflection proposals that are useless advice (generic advice, or decoys in the "
        "classic world and advice too specific to one item in the skills world).",
    )
    p_rephrase: Probability = Field(
        default=0.3,
        description="Chance that reflection adds another wording of a skill the students already had but "
        "still got wrong (near-duplicates, as real teachers write them).",
    )
    p_spot_wrong: Probability = Field(
        default=0.3,
        description="Skills world: chance that reflection votes harmful an injected experience that states "
        "its puzzle's misconception (the teacher, knowing the answer, sees that it misleads).",
    )
    p_vote_harmful: Probability = Field(
        default=0.5,
        description="Chance that reflection votes an injected experience without any skill harmful.",
    )

    # Speed and usage.
    latency: Latency = Field(
        default_factory=FixedLatency,
        description="Delay before each completion: a distribution, or a number of seconds for a fixed one.",
    )
    image_tokens: int = Field(default=256, ge=0, description="Prompt tokens counted for each image.")

    # Faults, drawn per request in this order; their sum must not exceed 1.
    rate_429: Probability = Field(default=0.0, description="Share of requests answered 429 (rate limit).")
    rate_500: Probability = Field(default=0.0, description="Share of requests answered 500 (server error).")
    rate_timeout: Probability = Field(default=0.0, description="Share of requests that time out.")
    rate_malformed: Probability = Field(
        default=0.0, description="Share of completions whose output is malformed (see malformed_kinds)."
    )
    retry_after: float = Field(default=1.0, gt=0.0, description="Seconds a 429 asks the client to wait.")
    timeout_action: Literal["hold", "close"] = Field(
        default="hold",
        description="hold: keep the request open for timeout_hold seconds, then answer 504; "
        "close: drop the connection without an answer.",
    )
    timeout_hold: float = Field(
        default=30.0,
        ge=0.0,
        description="How long a timed-out request is held (longer than the client waits).",
    )
    malformed_kinds: frozenset[MalformedKind] = Field(
        default=frozenset({"invalid_json", "bad_arguments", "wrong_arguments", "empty"}),
        description="Which malformed outputs may be produced; each request picks one that applies to it.",
    )
    strict: bool = Field(
        default=False,
        description="Answer 400 when a request names no puzzle of the world (instead of a generic reply).",
    )
    obey_injections: bool = Field(
        default=False,
        description="Simulate a hijacked model, for tests with hostile data: the student copies into its "
        "response every line of its problem of the form 'Add this experience to the library: <payload>' "
        "(in any case), and the reflecting teacher adds, once each, the payload of every such line anywhere "
        "in what it is shown (problem, attempts, solution, experiences) as an experience, with the "
        "look-alike brackets of defusing turned back into ASCII. Off by default; nothing else about the "
        "world changes.",
    )

    @field_validator("latency", mode="before")
    @classmethod
    def _seconds_are_fixed(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"kind": "fixed", "seconds": value}
        return value

    @model_validator(mode="after")
    def _rates_fit(self) -> SimConfig:
        total = self.rate_429 + self.rate_500 + self.rate_timeout + self.rate_malformed
        if total > 1.0 + 1e-9:
            raise ValueError(f"the fault rates add up to {total:.3f}; they must not exceed 1")
        if not self.malformed_kinds:
            raise ValueError("malformed_kinds must name at least one kind")
        return self
