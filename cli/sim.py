"""`ted sim`: run the simulated OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ted.sim import SimConfig

_RATE = click.FloatRange(0.0, 1.0)


@click.group()
def sim() -> None:
    """The simulated model endpoint (for demos, tests and benchmarks; its models are simulated)."""


def _config(options: dict[str, Any]) -> SimConfig:
    from pydantic import ValidationError

    from ted.sim import ConfigError, SimConfig, parse_latency

    try:
        return SimConfig(latency=parse_latency(options.pop("latency")), **options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{where}: {message}" if where else message) from exc


@sim.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (default: a free one).")
@click.option(
    "--dataset",
    type=click.Path(),
    help="Dataset the models know, e.g. a folder written by `ted data synth` (any format `ted data "
    "inspect` reads). Default: synthetic puzzles made with --n and --data-seed.",
)
@click.option(
    "--n", "count", type=click.IntRange(min=1), default=200, show_default=True, help="Synthetic puzzles."
)
@click.option("--data-seed", type=int, default=0, show_default=True, help="Seed of the synthetic items.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulated models.")
@click.option("--model", "models", multiple=True, help="A model name /v1/models lists (repeatable).")
@click.option("--api-key", help="Require this bearer token (default: accept any).")
@click.option(
    "--latency",
    default="0",
    show_default=True,
    help="Seconds per completion, or uniform:LOW,HIGH, or lognormal:MEDIAN[,SIGMA].",
)
@click.option("--p-student-base", type=_RATE, default=0.3, show_default=True, help="Student accuracy.")
@click.option(
    "--p-student-skill", type=_RATE, default=0.9, show_default=True, help="Student accuracy with the skill."
)
@click.option("--p-teacher", type=_RATE, default=0.95, show_default=True, help="Teacher accuracy.")
@click.option(
    "--noise-rate", type=_RATE, default=0.2, show_default=True, help="Share of useless reflection proposals."
)
@click.option("--rate-429", type=_RATE, default=0.0, show_default=True, help="Share of 429 answers.")
@click.option("--rate-500", type=_RATE, default=0.0, show_default=True, help="Share of 500 answers.")
@click.option("--rate-timeout", type=_RATE, default=0.0, show_default=True, help="Share of timeouts.")
@click.option(
    "--rate-malformed", type=_RATE, default=0.0, show_default=True, help="Share of malformed outputs."
)
@click.option(
    "--timeout-action",
    type=click.Choice(["hold", "close"]),
    default="hold",
    show_default=True,
    help="A timeout holds the request (then 504) or drops the connection.",
)
@click.option("--timeout-hold", type=float, default=30.0, show_default=True, help="Seconds a timeout holds.")
@click.option("--strict", is_flag=True, help="Answer 400 to requests that quote no known puzzle.")
@click.option(
    "--obey-injections",
    is_flag=True,
    help="Simulate a hijacked model (hostile-data tests): the student echoes and the reflecting teacher "
    "stores every 'Add this experience to the library: ...' line it is shown.",
)
@click.option("--log", "log_path", type=click.Path(dir_okay=False), help="Append request records (JSONL).")
@click.option("--json", "as_json", is_flag=True, help="Print the address as one JSON line on stdout.")
def serve(
    host: str,
    port: int,
    dataset: str | None,
    count: int,
    data_seed: int,
    models: tuple[str, ...],
    log_path: str | None,
    as_json: bool,
    **knobs: Any,
) -> None:
    """Serve simulated student and teacher models until interrupted.

    A model name containing "student" is the student; any other name is the teacher.
    """
    import json
    import signal
    import tempfile
    import threading
    from pathlib import Path

    from ted.cli.output import err_console, user_errors
    from ted.sim import SimServer, World
    from ted.tasks.synth import generate_items

    with user_errors(), tempfile.TemporaryDirectory(prefix="ted-sim-") as scratch:
        if models:
            knobs["models"] = models
        config = _config(knobs)
        if dataset is not None:
            world = World.from_dataset(dataset)
            source = dataset
        else:
            world = World.from_items(generate_items(count, seed=data_seed, image_dir=Path(scratch)))
            source = f"{count} synthetic puzzles, seed {data_seed}"
        # Installed before the address is printed: whoever reads it may stop the server at once.
        stopped = threading.Event()
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda *_: stopped.set())
        server = SimServer(world, config=config, host=host, port=port, log_path=log_path).start()
        if as_json:
            # One line, so that a script reading the process's output gets the address at once.
            address = {"base_url": server.base_url, "port": server.port, "models": config.models}
            click.echo(json.dumps(address))
        else:
            names = ", ".join(config.models)
            click.echo(f"Simulated models at {server.base_url} ({source}). Models: {names}.")
        err_console.print("[dim]The models are simulated: their answers say nothing about model quality.[/]")
        while not stopped.wait(0.5):
            pass
        server.stop()
        err_console.print(f"Stopped after {len(server.log)} requests.")
