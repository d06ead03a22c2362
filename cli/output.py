"""How the `ted` command talks: errors on stderr, JSON or rich text on stdout."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from pydantic import BaseModel
from rich.console import Console

if TYPE_CHECKING:
    from ted.runs import EvaluationStopped, RunStopped

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)

# Exception classes whose message is meant for the user: "module:attribute", imported on demand so
# that this module stays light. Anything else is a bug and keeps its traceback.
USER_ERROR_CLASSES: tuple[str, ...] = (
    "ted.memory.errors:LibraryError",
    "ted.tasks.errors:DatasetError",
    "ted.sim.errors:SimError",
    "ted.graph.errors:TedGraphError",
    "ted.runs.errors:RunError",
    "ted.cli.errors:CliError",
)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line per problem on stderr and exit with a non-zero status."""
    for line in message.splitlines() or [""]:
        click.echo(f"ted: error: {line}", err=True)
    sys.exit(code)


class _NoteHandler(logging.Handler):
    """Shows the library's warnings (a damaged index rebuilt, ...) as one line on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"note: {record.getMessage()}", err=True)


def show_notes() -> None:
    """Print what ``ted.memory`` logs at warning level as ``note:`` lines on stderr (installed once)."""
    logger = logging.getLogger("ted.memory")
    if not any(isinstance(handler, _NoteHandler) for handler in logger.handlers):
        logger.addHandler(_NoteHandler(logging.WARNING))


def fail_stopped(stopped: RunStopped | EvaluationStopped, resume: str) -> NoReturn:
    """Say why a run or an evaluation stopped and the command that continues it (130 if interrupted)."""
    if stopped.reason == "interrupted":
        fail(f"{stopped}: continue it with `{resume}`", code=130)
    fail(f"{stopped}: fix this, then continue it with `{resume}`")


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def to_json(obj: Any) -> str:
    """Serialise ``obj`` (models, paths, datetimes included) to indented JSON."""
    return json.dumps(obj, default=_default, indent=2, ensure_ascii=False)


def print_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout."""
    click.echo(to_json(obj))


def _known_error_classes() -> tuple[type[BaseException], ...]:
    import importlib

    classes: list[type[BaseException]] = []
    for spec in USER_ERROR_CLASSES:
        module_name, attribute = spec.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        classes.append(getattr(module, attribute))
    return tuple(classes)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the project's user-facing errors into one line on stderr and exit status 1."""
    try:
        yield
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    except Exception as exc:
        if isinstance(exc, _known_error_classes()):
            fail(str(exc))
        raise


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine to its end, then close the libraries it opened."""
    import asyncio

    from ted.graph import close_libraries

    try:
        return asyncio.run(main)
    finally:
        close_libraries()


def emit(result: T, *, as_json: bool, show: Callable[[T], None]) -> None:
    """Print a command's result: as JSON, or with its ``show`` function."""
    if as_json:
        print_json(result)
    else:
        show(result)
