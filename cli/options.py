"""Options shared by `ted distill`, `ted eval`, `ted solve` and `ted demo`, and the `Context` they build.

An option left out leaves its setting to the environment (``TED_<FIELD>``) or the default, so the
command line, the environment and LangGraph Studio all configure the same `ted.graph.Context`.
``--set FIELD=VALUE`` reaches every other setting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ted.cli.errors import CliError, OptionConflict

if TYPE_CHECKING:
    from ted.graph import Context
    from ted.graph.context import Role

F = TypeVar("F", bound=Callable[..., Any])
_FORMATS = ("mathvision", "visualpuzzles", "jsonl")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _apply(command: F, decorators: Sequence[Callable[[F], F]]) -> F:
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def library_option(command: F) -> F:
    """``--library PATH`` (or ``$TED_LIBRARY``), ``--embeddings`` and ``--chroma-url``."""
    return _apply(
        command,
        [
            click.option(
                "--library",
                type=click.Path(path_type=Path, file_okay=False),
                envvar="TED_LIBRARY",
                help="The experience library folder (default: $TED_LIBRARY).",
            ),
            click.option(
                "--embeddings",
                help="Embeddings of a new library: minilm (default, offline), hash, or openai:MODEL. "
                "An existing library uses the model it was built with.",
            ),
            click.option(
                "--chroma-url", "chroma_url", help="A Chroma server holding the index (default: embedded)."
            ),
        ],
    )


def _model_options(role: str, *, url_default: str, key_default: str) -> list[Callable[[F], F]]:
    """``--ROLE``, ``--ROLE-url`` and ``--ROLE-key-env``: a role's model and where it is served."""
    env = f"TED_{role.upper()}"
    return [
        click.option(
            f"--{role}",
            f"{role}_model",
            metavar="MODEL",
            help=f"{role.capitalize()} model (env {env}_MODEL).",
        ),
        click.option(
            f"--{role}-url",
            f"{role}_base_url",
            metavar="URL",
            help=f"OpenAI-compatible base URL of the {role} ({url_default}env {env}_BASE_URL).",
        ),
        click.option(
            f"--{role}-key-env",
            f"{role}_api_key_env",
            metavar="VAR",
            help=f"Variable holding the {role}'s API key (default {key_default}).",
        ),
    ]


def student_options(command: F) -> F:
    """The student's model and endpoint."""
    return _apply(
        command,
        _model_options(
            "student", url_default="e.g. http://localhost:8000/v1; ", key_default="TED_STUDENT_API_KEY"
        ),
    )


def teacher_options(command: F) -> F:
    """The teacher's model and endpoint, and how it edits the library."""
    return _apply(
        command,
        [
            *_model_options("teacher", url_default="default api.openai.com; ", key_default="OPENAI_API_KEY"),
            click.option(
                "--tool-mode",
                "tool_mode",
                type=click.Choice(["auto", "tools", "json"]),
                help="How the teacher edits the library: tool calls, JSON operations, "
                "or auto (tools, else JSON).",
            ),
        ],
    )


def scoring_option(command: F) -> F:
    """``--scoring official|lenient``."""
    return click.option(
        "--scoring",
        type=click.Choice(["official", "lenient"]),
        help="How answers are graded: each benchmark's official harness (the default), or lenient "
        "(also answers math-verify finds equivalent).",
    )(command)


def run_options(command: F) -> F:
    """``--scoring``, ``--set``, ``--prices``, ``--report-dir``, ``--no-preflight`` and ``--json``."""
    return _apply(
        command,
        [
            scoring_option,
            click.option(
                "--set",
                "settings",
                multiple=True,
                metavar="FIELD=VALUE",
                help="Any other setting of the configuration table, e.g. --set k=3 (repeatable).",
            ),
            click.option(
                "--prices",
                type=click.Path(dir_okay=False, path_type=Path),
                envvar="TED_PRICES",
                help="Price table (JSON or TOML): model -> {input, output} USD per million tokens.",
            ),
            click.option(
                "--report-dir",
                type=click.Path(file_okay=False, path_type=Path),
                help="Where to write the report (default: LIBRARY/reports/RUN).",
            ),
            click.option(
                "--preflight/--no-preflight",
                default=True,
                show_default=True,
                help="Check the endpoints (reachable, key, model, images, tools) before starting.",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout."),
        ],
    )


def data_options(*, train_size_default: int | None) -> Callable[[F], F]:
    """``--format``, ``--split``, ``--limit``, ``--train-size`` and ``--seed``."""
    size_help = "Training items taken from the dataset" + (
        f" (default {train_size_default})."
        if train_size_default is not None
        else " (default: as recorded by the library's latest run on this dataset, else 100)."
    )

    def decorate(command: F) -> F:
        return _apply(
            command,
            [
                click.option(
                    "--format",
                    "dataset_format",
                    type=click.Choice(_FORMATS),
                    help="Dataset format (detected).",
                ),
                click.option("--split", help="Dataset split (MathVision: test or testmini)."),
                click.option("--limit", type=click.IntRange(min=1), help="Read only the first N items."),
                click.option(
                    "--train-size", type=click.IntRange(min=0), default=train_size_default, help=size_help
                ),
                click.option(
                    "--seed",
                    type=int,
                    default=0 if train_size_default is not None else None,
                    help="Seed of the train/test split"
                    + (" (default 0)." if train_size_default is not None else "."),
                ),
            ],
        )

    return decorate


def _context_fields() -> dict[str, Any]:
    from ted.graph import Context

    return {f.name: f for f in fields(Context)}


def parse_settings(settings: Iterable[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` strings as typed Context settings.

    Raises:
        OptionConflict: A setting is malformed, unknown, or of the wrong type.
    """
    from ted.graph import Context

    known = _context_fields()
    defaults = Context()
    parsed: dict[str, Any] = {}
    for setting in settings:
        name, sep, raw = setting.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise OptionConflict(f"--set takes FIELD=VALUE, got {setting!r}")
        if name not in known:
            raise OptionConflict(
                f"unknown setting {name!r} in --set; the configuration table in the README lists them"
            )
        current = getattr(defaults, name)
        raw = raw.strip()
        try:
            if isinstance(current, bool):
                if raw.lower() not in _TRUE | _FALSE:
                    raise ValueError(raw)
                value: Any = raw.lower() in _TRUE
            elif isinstance(current, int):
                value = int(raw)
            elif isinstance(current, float):
                value = float(raw)
            else:
                value = None if raw.lower() in {"", "none"} and current is None else raw
        except ValueError:
            raise OptionConflict(f"--set {name}={raw!r}: expected a {type(current).__name__}") from None
        parsed[name] = value
    return parsed


def build_context(library: Path, options: Mapping[str, Any], settings: Iterable[str] = ()) -> Context:
    """The Context for a command: the given options and ``--set`` values over environment and defaults.

    Raises:
        OptionConflict: A value is invalid.
    """
    from ted.graph import Context

    known = _context_fields()
    values = {name: value for name, value in options.items() if name in known and value is not None}
    values.update(parse_settings(settings))
    values["library"] = str(library)
    try:
        return Context(**values)
    except ValueError as exc:
        raise OptionConflict(str(exc)) from exc


def require_library(library: Path | None) -> Path:
    """The ``--library`` value, or a clear error when it is missing."""
    if library is None:
        raise OptionConflict("no library given: pass --library PATH or set TED_LIBRARY")
    return library


_ROLE_OPTIONS = {
    "student": "--student-url URL",
    "teacher": "--teacher-url URL",
    "compress": "--set compress_base_url=URL",
}


def resume_endpoints(
    ctx: click.Context, options: dict[str, Any], fixed: Iterable[str], *, what: str
) -> dict[str, Any]:
    """The endpoint settings given with ``--resume``, after refusing the ``fixed`` options given.

    Raises:
        OptionConflict: An option that would change the resumed ``what`` (run, evaluation) was given.
    """
    from click.core import ParameterSource

    from ted.cli.errors import OptionConflict
    from ted.runs.records import ENDPOINT_SETTINGS

    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    refused = [name for name in fixed if ctx.get_parameter_source(name) in given]
    if refused:
        shown = ", ".join("DATA" if n == "data" else "--" + n.replace("_", "-") for n in refused)
        raise OptionConflict(
            f"--resume continues {what} with its recorded settings; leave out {shown} "
            f"(or start a new {what.split()[-1]})"
        )
    return {name: options[name] for name in ENDPOINT_SETTINGS if options.get(name) is not None}


def require_endpoints(context: Context, roles: Iterable[Role]) -> None:
    """Check that each role has an endpoint, naming the options and variables that give it one.

    Raises:
        CliError: A role has neither a base URL nor an API key.
    """
    from ted.graph.errors import ConfigurationError
    from ted.graph.models import model_spec, resolve_api_key

    for role in roles:
        spec = model_spec(context, role)
        try:
            resolve_api_key(spec)
        except ConfigurationError:
            variable = f"TED_{role.upper()}_BASE_URL"
            key = spec.api_key_env or "OPENAI_API_KEY"
            raise CliError(
                f"no endpoint configured for the {role} model {spec.model!r}: pass {_ROLE_OPTIONS[role]} "
                f"(or set {variable}) for an OpenAI-compatible server such as vLLM or `ted sim serve`, "
                "or set "
                f"{key} to use api.openai.com"
            ) from None
