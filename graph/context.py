"""Run-time configuration of the TED graphs: one dataclass, passed as LangGraph's ``context_schema``.

Every field has a description, which LangGraph Studio shows next to the field. A field's default can be
set from an environment variable named after it with the ``TED_`` prefix (``student_model`` reads
``TED_STUDENT_MODEL``); values given explicitly, from Python or in a run's context, always win.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

from ted.prompts import compress, reflect, student, teacher

T = TypeVar("T")
Role = Literal["student", "teacher", "compress"]
ToolMode = Literal["auto", "tools", "json"]


def _from_env(name: str, default: T, description: str) -> Any:
    """A dataclass field whose default comes from ``TED_<NAME>`` when that variable is set."""
    variable = f"TED_{name.upper()}"
    kind = type(default)

    def factory() -> Any:
        raw = os.environ.get(variable)
        if raw is None or raw == "":
            return default
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if default is None:
            return raw
        convert: Callable[[str], Any] = kind
        try:
            return convert(raw)
        except ValueError as exc:
            raise ValueError(f"{variable}={raw!r} is not a valid {kind.__name__}") from exc

    shown = "unset" if default is None else repr(default)
    return field(
        default_factory=factory,
        metadata={"description": f"{description} (env {variable}; default {shown})", "env": variable},
    )


@dataclass(kw_only=True)
class Context:
    """Models, library and algorithm settings for one TED run."""

    # The student: the model that learns, through its prompt.
    student_model: str = _from_env("student_model", "Qwen/Qwen3-VL-8B-Instruct", "Student model name")
    student_base_url: str | None = _from_env(
        "student_base_url", None, "OpenAI-compatible base URL of the student (e.g. a vLLM server's /v1)"
    )
    student_api_key_env: str = _from_env(
        "student_api_key_env",
        "TED_STUDENT_API_KEY",
        "Name of the environment variable holding the student's API key",
    )
    student_temperature: float = _from_env(
        "student_temperature", 0.7, "Sampling temperature of the student's distillation rollouts"
    )
    student_max_tokens: int = _from_env("student_max_tokens", 2048, "Maximum tokens of one student answer")
    solve_temperature: float = _from_env(
        "solve_temperature",
        0.0,
        "Temperature of the student when solving and evaluating (0: greedy decoding)",
    )

    # The teacher: solves items on its own, reflects, and (by default) compresses.
    teacher_model: str = _from_env("teacher_model", "gpt-4.1", "Teacher model name")
    teacher_base_url: str | None = _from_env(
        "teacher_base_url", None, "OpenAI-compatible base URL of the teacher (unset: api.openai.com)"
    )
    teacher_api_key_env: str = _from_env(
        "teacher_api_key_env",
        "OPENAI_API_KEY",
        "Name of the environment variable holding the teacher's API key",
    )
    teacher_temperature: float = _from_env("teacher_temperature", 0.0, "Sampling temperature of the teacher")
    teacher_max_tokens: int = _from_env("teacher_max_tokens", 4096, "Maximum tokens of one teacher answer")

    # An optional cheaper model for compression; unset means the teacher compresses.
    compress_model: str | None = _from_env(
        "compress_model", None, "Model that merges and rewrites experiences"
    )
    compress_base_url: str | None = _from_env("compress_base_url", None, "Base URL of the compress model")
    compress_api_key_env: str | None = _from_env(
        "compress_api_key_env", None, "Environment variable holding the compress model's API key"
    )

    timeout: float = _from_env("timeout", 120.0, "Seconds before a model call times out")
    max_retries: int = _from_env(
        "max_retries", 4, "Retries of a model call on rate limits, server errors and timeouts, with backoff"
    )
    tool_mode: Literal["auto", "tools", "json"] = _from_env(
        "tool_mode",
        "auto",
        "How reflect and compress edit the library: 'tools' (tool calling), 'json' (validated JSON "
        "operations, for endpoints without tool calling) or 'auto' (tools, falling back to JSON)",
    )

    # Distillation.
    rollouts: int = _from_env("rollouts", 5, "Student trajectories per training item")
    reflect_on: Literal["mistakes", "always"] = _from_env(
        "reflect_on", "mistakes", "Reflect only when a student attempt was wrong, or on every item"
    )
    reflect_max_steps: int = _from_env(
        "reflect_max_steps", 4, "Maximum tool-calling rounds of one reflection"
    )
    max_new_experiences: int = _from_env("max_new_experiences", 2, "New experiences one reflection may add")
    max_words: int = _from_env("max_words", 40, "Longest experience, in words, before compress rewrites it")

    # Retrieval.
    k: int = _from_env("k", 5, "Most experiences injected into the student's prompt")
    token_budget: int = _from_env("token_budget", 600, "Token budget of the injected experiences")
    utility_weight: float = _from_env(
        "utility_weight", 0.3, "Weight of utility against similarity when ranking retrieved experiences"
    )
    min_similarity: float = _from_env(
        "min_similarity", 0.2, "Least cosine similarity for an experience to be injected"
    )

    # Library upkeep.
    duplicate_threshold: float = _from_env(
        "duplicate_threshold",
        0.92,
        "Similarity above which an added experience updates its neighbour instead",
    )
    merge_threshold: float = _from_env(
        "merge_threshold", 0.8, "Similarity that makes two experiences a merge pair"
    )
    prune_min_evidence: int = _from_env(
        "prune_min_evidence", 5, "Usage events an experience needs before it may be pruned"
    )
    prune_max_utility: float = _from_env("prune_max_utility", 0.25, "Utility at or below which it is pruned")
    compress_every: int = _from_env(
        "compress_every", 16, "Compress after this many items (0: never on a schedule)"
    )
    library_cap: int = _from_env("library_cap", 60, "Most active experiences; compress enforces it")

    # Where the library lives.
    library: str = _from_env(
        "library", "library", "Folder of the experience library (Chroma, journal, manifest)"
    )
    chroma_url: str | None = _from_env(
        "chroma_url",
        None,
        "URL of a Chroma server holding the vectors (unset: embedded in the library folder)",
    )
    embeddings: str = _from_env(
        "embeddings", "minilm", "Embedding model: 'minilm' (bundled, offline), 'hash', or 'openai:<model>'"
    )

    # Inputs and prompts.
    max_image_side: int = _from_env(
        "max_image_side", 1024, "Images are resized to at most this many pixels a side"
    )
    student_system_prompt: str = field(
        default=student.SYSTEM, metadata={"description": "Student system prompt; {experiences} is filled in"}
    )
    teacher_system_prompt: str = field(
        default=teacher.SYSTEM, metadata={"description": "Teacher system prompt"}
    )
    reflect_system_prompt: str = field(
        default=reflect.SYSTEM,
        metadata={
            "description": "Reflection system prompt; {max_words}, {max_new} and {protocol} are filled in"
        },
    )
    compress_system_prompt: str = field(
        default=compress.SYSTEM,
        metadata={"description": "Compression system prompt; {max_words} and {protocol} are filled in"},
    )

    def __post_init__(self) -> None:
        """Check the values a user is most likely to get wrong."""
        if self.rollouts < 1:
            raise ValueError("rollouts must be at least 1")
        if self.tool_mode not in ("auto", "tools", "json"):
            raise ValueError(f"tool_mode must be auto, tools or json, not {self.tool_mode!r}")
        for name in ("duplicate_threshold", "merge_threshold", "prune_max_utility", "min_similarity"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")

    @classmethod
    def environment_variables(cls) -> dict[str, str]:
        """Map each field that reads the environment to its variable name."""
        return {f.name: f.metadata["env"] for f in fields(cls) if "env" in f.metadata}
