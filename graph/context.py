"""Run-time configuration of the TED graphs: one dataclass, passed as LangGraph's ``context_schema``.

Every field has a description, which LangGraph Studio shows next to the field. A field's default can be
set from an environment variable named after it with the ``TED_`` prefix (``student_model`` reads
``TED_STUDENT_MODEL``); values given explicitly, from Python or in a run's context, always win.

Settings come in two kinds (see SECURITY.md). *Run settings* (k, temperatures, rollouts, thresholds
...) tune one run. *Deployment settings* decide where credentials go and what the process touches:
endpoints, API key variables, models, the library's location, embeddings, limits on input, prompts.
Python code that builds a `Context` is the deployment and sets anything. A run that arrives over the
LangGraph API is checked by `ServedContext`: it may set run settings, and name a library under the
deployment's ``library_root``; a deployment setting it tries to change is refused, by name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

from ted.graph.errors import ConfigurationError, SettingNotAllowed
from ted.prompts import compress, reflect, student, teacher

T = TypeVar("T")
Role = Literal["student", "teacher", "compress"]

# A library named by a run: one plain folder name under the deployment's library_root.
LIBRARY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_BOUNDS: dict[str, tuple[float, float]] = {
    "student_temperature": (0.0, 2.0),
    "solve_temperature": (0.0, 2.0),
    "teacher_temperature": (0.0, 2.0),
    "student_max_tokens": (1, 1_000_000),
    "teacher_max_tokens": (1, 1_000_000),
    "timeout": (0.001, 86_400.0),
    "max_retries": (0, 20),
    "student_concurrency": (1, 10_000),
    "teacher_concurrency": (1, 10_000),
    "rollouts": (1, 64),
    "reflect_max_steps": (1, 32),
    "max_new_experiences": (0, 20),
    "max_words": (5, 500),
    "k": (0, 100),
    "token_budget": (0, 100_000),
    "utility_weight": (0.0, 1.0),
    "min_similarity": (0.0, 1.0),
    "duplicate_threshold": (0.0, 1.0),
    "merge_threshold": (0.0, 1.0),
    "prune_min_evidence": (0, 1_000_000),
    "prune_max_utility": (0.0, 1.0),
    "compress_every": (0, 1_000_000),
    "library_cap": (1, 1_000_000),
    "max_image_side": (16, 16_384),
    "max_image_bytes": (1, 1_000_000_000),
    "max_image_pixels": (1, 1_000_000_000),
    "max_images": (0, 64),
    "max_text_chars": (1, 10_000_000),
}


def _from_env(
    name: str, default: T, description: str, *, deployment: bool = False, show_default: bool = True
) -> Any:
    """A dataclass field whose default comes from ``TED_<NAME>`` when that variable is set.

    ``deployment`` marks a setting that a run over the API may not change.
    """
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
            raise ConfigurationError(f"{variable}={raw!r} is not a valid {kind.__name__}") from exc

    shown = "unset" if default is None else repr(default)
    details = f"env {variable}; default {shown}" if show_default else f"env {variable}"
    if deployment:
        description = f"{description}. Deployment setting: a run over the API cannot change it"
    return field(
        default_factory=factory,
        metadata={"description": f"{description} ({details})", "env": variable, "deployment": deployment},
    )


@dataclass(kw_only=True)
class Context:
    """Models, library and algorithm settings for one TED run."""

    # The student: the model that learns, through its prompt.
    student_model: str = _from_env(
        "student_model", "Qwen/Qwen3-VL-8B-Instruct", "Student model name", deployment=True
    )
    student_base_url: str | None = _from_env(
        "student_base_url",
        None,
        "OpenAI-compatible base URL of the student (e.g. a vLLM server's /v1)",
        deployment=True,
    )
    student_api_key_env: str = _from_env(
        "student_api_key_env",
        "TED_STUDENT_API_KEY",
        "Name of the environment variable holding the student's API key",
        deployment=True,
    )
    student_temperature: float = _from_env(
        "student_temperature", 0.7, "Sampling temperature of the student's distillation rollouts"
    )
    student_max_tokens: int = _from_env(
        "student_max_tokens", 2048, "Maximum tokens of one student answer", deployment=True
    )
    solve_temperature: float = _from_env(
        "solve_temperature",
        0.0,
        "Temperature of the student when solving and evaluating (0: greedy decoding)",
    )

    # The teacher: solves items on its own, reflects, and (by default) compresses.
    teacher_model: str = _from_env("teacher_model", "gpt-4.1", "Teacher model name", deployment=True)
    teacher_base_url: str | None = _from_env(
        "teacher_base_url",
        None,
        "OpenAI-compatible base URL of the teacher (unset: api.openai.com)",
        deployment=True,
    )
    teacher_api_key_env: str = _from_env(
        "teacher_api_key_env",
        "OPENAI_API_KEY",
        "Name of the environment variable holding the teacher's API key",
        deployment=True,
    )
    teacher_temperature: float = _from_env("teacher_temperature", 0.0, "Sampling temperature of the teacher")
    teacher_max_tokens: int = _from_env(
        "teacher_max_tokens", 4096, "Maximum tokens of one teacher answer", deployment=True
    )

    # An optional cheaper model for compression; unset means the teacher compresses.
    compress_model: str | None = _from_env(
        "compress_model", None, "Model that merges and rewrites experiences", deployment=True
    )
    compress_base_url: str | None = _from_env(
        "compress_base_url", None, "Base URL of the compress model", deployment=True
    )
    compress_api_key_env: str | None = _from_env(
        "compress_api_key_env",
        None,
        "Environment variable holding the compress model's API key",
        deployment=True,
    )

    timeout: float = _from_env("timeout", 120.0, "Seconds before a model call times out", deployment=True)
    max_retries: int = _from_env(
        "max_retries",
        4,
        "Retries of a model call on rate limits, server errors and timeouts, with backoff",
        deployment=True,
    )
    student_concurrency: int = _from_env(
        "student_concurrency",
        64,
        "Most requests in flight at once to the student's endpoint, shared by every item of a run and "
        "by evaluation in this process (a vLLM server stays busy with dozens)",
        deployment=True,
    )
    teacher_concurrency: int = _from_env(
        "teacher_concurrency",
        16,
        "Most requests in flight at once to the teacher's endpoint (and to the compress model's, which "
        "counts as its own endpoint when it has its own base URL), so that a rate-limited API is not "
        "flooded; a 429's Retry-After is honoured by the client's retries",
        deployment=True,
    )
    tool_mode: Literal["auto", "tools", "json"] = _from_env(
        "tool_mode",
        "auto",
        "How reflect and compress edit the library: 'tools' (tool calling), 'json' (validated JSON "
        "operations, for endpoints without tool calling) or 'auto' (tools, falling back to JSON)",
        deployment=True,
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

    # Grading.
    scoring: Literal["official", "lenient"] = _from_env(
        "scoring",
        "official",
        "How answers are graded: 'official' (each benchmark's own harness, verdict for verdict) or "
        "'lenient' (also answers that math-verify finds equivalent)",
    )

    # Retrieval.
    k: int = _from_env("k", 5, "Most experiences injected into the student's prompt")
    token_budget: int = _from_env("token_budget", 600, "Token budget of the injected experiences")
    utility_weight: float = _from_env(
        "utility_weight", 0.3, "Weight of utility against similarity when ranking retrieved experiences"
    )
    min_similarity: float = _from_env(
        "min_similarity", 0.2, "Least cosine similarity for an experience to be injected"
    )
    retrieval: Literal["default", "similarity", "random", "all"] = _from_env(
        "retrieval",
        "default",
        "Which experiences the student is shown: default (similarity and utility), similarity (no "
        "utility), random (k drawn at random), all (the whole library); the last three are ablations",
    )

    # Library upkeep.
    duplicate_threshold: float = _from_env(
        "duplicate_threshold",
        0.92,
        "Similarity above which an added experience updates its neighbour instead",
    )
    merge_threshold: float = _from_env(
        "merge_threshold",
        0.55,
        "Similarity that makes experiences candidates for a merge, which the compress model confirms or "
        "declines (calibrated for MiniLM: every paraphrase group of the calibration set is a candidate)",
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
        "library",
        "library",
        "The experience library: a folder (Chroma, journal, manifest), or with library_root set, the "
        "name of a folder under it. A run over the API may name another library only under library_root",
    )
    library_root: str | None = _from_env(
        "library_root",
        None,
        "Folder holding the libraries that runs name (unset: `library` is a path, and runs over the API "
        "use the deployment's library)",
        deployment=True,
    )
    chroma_url: str | None = _from_env(
        "chroma_url",
        None,
        "URL of a Chroma server holding the vectors (unset: embedded in the library folder)",
        deployment=True,
    )
    embeddings: str = _from_env(
        "embeddings",
        "minilm",
        "Embedding model: 'minilm' (bundled, offline), 'hash', or 'openai:<model>'",
        deployment=True,
    )

    # Inputs: what an item may carry.
    image_roots: str | None = _from_env(
        "image_roots",
        None,
        f"Folders (separated by {os.pathsep!r}) that image paths of items may name; unset: items over "
        "the API carry images only as data URLs, and Python callers may name any file",
        deployment=True,
    )
    max_image_side: int = _from_env(
        "max_image_side", 1024, "Images are resized to at most this many pixels a side", deployment=True
    )
    max_image_bytes: int = _from_env(
        "max_image_bytes", 20_000_000, "Largest image file or data URL payload, in bytes", deployment=True
    )
    max_image_pixels: int = _from_env(
        "max_image_pixels",
        40_000_000,
        "Most pixels of one image, read from its header before it is decoded (decompression bombs)",
        deployment=True,
    )
    max_images: int = _from_env("max_images", 8, "Most images of one item", deployment=True)
    max_text_chars: int = _from_env(
        "max_text_chars",
        20_000,
        "Longest question, answer, option or metadata of an item, in characters",
        deployment=True,
    )

    # Prompts. They shape what enters the shared library, so only the deployment sets them.
    student_system_prompt: str = _from_env(
        "student_system_prompt",
        student.SYSTEM,
        "Student system prompt; {experiences} is filled in",
        deployment=True,
        show_default=False,
    )
    teacher_system_prompt: str = _from_env(
        "teacher_system_prompt", teacher.SYSTEM, "Teacher system prompt", deployment=True, show_default=False
    )
    reflect_system_prompt: str = _from_env(
        "reflect_system_prompt",
        reflect.SYSTEM,
        "Reflection system prompt; {max_words}, {max_new} and {protocol} are filled in",
        deployment=True,
        show_default=False,
    )
    compress_system_prompt: str = _from_env(
        "compress_system_prompt",
        compress.SYSTEM,
        "Compression system prompt; {max_words} and {protocol} are filled in",
        deployment=True,
        show_default=False,
    )

    def __post_init__(self) -> None:
        """Check every value against its range, so a bad setting fails before a run starts.

        Raises:
            ConfigurationError: Values out of range or not among their choices, one line each.
        """
        problems = []
        if self.tool_mode not in ("auto", "tools", "json"):
            problems.append(f"tool_mode must be auto, tools or json, not {self.tool_mode!r}")
        if self.reflect_on not in ("mistakes", "always"):
            problems.append(f"reflect_on must be mistakes or always, not {self.reflect_on!r}")
        if self.scoring not in ("official", "lenient"):
            problems.append(f"scoring must be official or lenient, not {self.scoring!r}")
        if self.retrieval not in ("default", "similarity", "random", "all"):
            problems.append(f"retrieval must be default, similarity, random or all, not {self.retrieval!r}")
        for name, (low, high) in _BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{name} must be a number, not {value!r}")
            elif not low <= value <= high:
                problems.append(f"{name} must be between {low:g} and {high:g}, not {value!r}")
        if self.library_root is not None and not LIBRARY_NAME.match(self.library):
            problems.append(
                f"library {self.library!r} is not a library name: with library_root set, a library is "
                "named by one folder name of letters, digits, '.', '_' and '-' (no path)"
            )
        if problems:
            # One line per bad value, so that a user fixes them all at once.
            raise ConfigurationError("\n".join(problems))

    @classmethod
    def environment_variables(cls) -> dict[str, str]:
        """Map each field that reads the environment to its variable name."""
        return {f.name: f.metadata["env"] for f in fields(cls) if "env" in f.metadata}

    @classmethod
    def deployment_settings(cls) -> list[str]:
        """Names of the settings a run over the API may not change."""
        return [f.name for f in fields(cls) if f.metadata.get("deployment")]

    def library_folder(self) -> Path:
        """The library's folder: ``library`` itself, or the name ``library`` under ``library_root``.

        Raises:
            ConfigurationError: The named library would lie outside ``library_root`` (a symlink out).
        """
        if self.library_root is None:
            return Path(self.library).expanduser().resolve()
        root = Path(self.library_root).expanduser().resolve()
        folder = (root / self.library).resolve()
        if folder.parent != root:
            raise ConfigurationError(f"library {self.library!r} leads out of the library root {root}")
        return folder

    def image_folders(self) -> list[Path] | None:
        """Folders that image paths of items must lie in; None: any path (a trusted caller)."""
        if self.image_roots is None:
            return None
        return [Path(p).expanduser().resolve() for p in self.image_roots.split(os.pathsep) if p.strip()]


@dataclass(kw_only=True)
class ServedContext(Context):
    """The context of a run that arrives over the LangGraph API (`langgraph dev`, LangGraph Server).

    The served graphs declare it as their context schema, so LangGraph builds it from each run's
    ``context``: the deployment's values (environment) fill everything the run leaves out, a run
    setting the run gives is used, and a deployment setting the run tries to change is refused by name.
    A null counts as left out, since forms such as Studio's may send one for an untouched field.

    Image paths are allowed only inside ``image_roots`` (none by default: images come as data URLs).
    """

    def __post_init__(self) -> None:
        """Refuse changed deployment settings, then check ranges as `Context` does.

        Raises:
            SettingNotAllowed: The run tries to change a deployment setting, or names a library
                outside the library root.
        """
        deployment = Context()
        allowed = ", ".join(f.name for f in fields(Context) if not f.metadata.get("deployment"))
        for name in Context.deployment_settings():
            value = getattr(self, name)
            wanted = getattr(deployment, name)
            if value is None:
                setattr(self, name, wanted)
            elif value != wanted:
                raise SettingNotAllowed(
                    f"{name} is a deployment setting: a run over the API cannot change it (the server "
                    f"sets it with {Context.environment_variables()[name]}). A run may set: {allowed}",
                    setting=name,
                )
        named: object = self.library
        if named is None:
            self.library = deployment.library
        if self.library != deployment.library:
            if self.library_root is None:
                raise SettingNotAllowed(
                    "library is chosen by the deployment on this server: a run over the API may name a "
                    "library only when the server sets TED_LIBRARY_ROOT",
                    setting="library",
                )
            if not isinstance(self.library, str) or not LIBRARY_NAME.match(self.library):
                raise SettingNotAllowed(
                    f"library {self.library!r} is not a library name: name a library by one folder name "
                    "of letters, digits, '.', '_' and '-' (no path, no '..')",
                    setting="library",
                )
        # A symlink out of the root is caught when the library is opened (`library_folder`): this
        # runs on the server's event loop, where no file may be touched.
        super().__post_init__()

    def image_folders(self) -> list[Path]:
        """Folders that image paths may lie in: ``image_roots``, or none at all."""
        return super().image_folders() or []
