"""Where `ted experiences` finds its library: ``--library`` and ``--chroma-url``, before or after.

``ted experiences --library L list`` and ``ted experiences list --library L`` mean the same; when both
are given, the subcommand's value wins, and a typed value always beats ``TED_LIBRARY``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from ted.cli.output import fail

FC = TypeVar("FC", bound=Callable[..., Any] | click.Command)


@dataclass
class _Options:
    """Where the library is, as given to the group or to the subcommand (see `library_options`)."""

    library: Path | None = None
    chroma_url: str | None = None


def _remember(ctx: click.Context, param: click.Parameter, value: Path | str | None) -> None:
    """Keep a library option's value in the shared ``_Options``."""
    if value is None or param.name is None:
        return
    options = ctx.ensure_object(_Options)
    # The group's options are parsed before the subcommand's, so a later value replaces an earlier
    # one, except that the environment, read by both, never replaces a value typed on the line.
    typed = ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE
    if typed or getattr(options, param.name) is None:
        setattr(options, param.name, value)


def library_options(command: FC) -> FC:
    """Add --library and --chroma-url, so that they work before and after the subcommand's name.

    The group and each subcommand carry both options; their values go to ``ctx.obj``, not to the
    command's arguments. When both are given, the subcommand's value wins.
    """
    command = click.option(
        "--chroma-url",
        envvar="TED_CHROMA_URL",
        expose_value=False,
        callback=_remember,
        help="A Chroma server holding the index (default: $TED_CHROMA_URL, else embedded).",
    )(command)
    return click.option(
        "--library",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="TED_LIBRARY",
        expose_value=False,
        callback=_remember,
        help="The library folder (default: $TED_LIBRARY).",
    )(command)


def location(ctx: click.Context) -> tuple[Path, str | None]:
    """The library folder and the Chroma URL; no library at all is one line on stderr."""
    options = ctx.ensure_object(_Options)
    if options.library is None:
        fail("no library given: pass --library PATH or set TED_LIBRARY")
    return options.library, options.chroma_url
