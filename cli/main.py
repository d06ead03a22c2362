"""The `ted` command line.

Subcommands live in their own modules and are imported only when invoked, so `ted --help` stays fast
and never loads Chroma, torch or the model clients.
"""

from __future__ import annotations

import importlib
from importlib.metadata import version

import click

# name -> "module:attribute" of a click command or group.
SUBCOMMANDS: dict[str, str] = {
    "experiences": "ted.cli.experiences:experiences",
    "data": "ted.cli.data:data",
    "sim": "ted.cli.sim:sim",
    "distill": "ted.cli.distill:distill",
    "eval": "ted.cli.evaluate:evaluate",
    "solve": "ted.cli.solve:solve",
    "score": "ted.cli.score:score",
    "demo": "ted.cli.demo:demo",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Names of the eager and the lazy subcommands."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand ``cmd_name``, importing its module on first use."""
        if cmd_name in self.lazy:
            module_name, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS)
@click.version_option(version("ted-distill"), prog_name="ted")
def cli() -> None:
    """TED: distil a teacher model's experience into a student model's prompt."""
    from ted.cli.output import show_notes

    show_notes()


def main() -> None:
    """Entry point of the `ted` console script."""
    cli(auto_envvar_prefix="TED")
