"""The README stays true: its commands exist, its table lists every setting, its Python examples run.

The Python examples run in order, each as its own script, in a folder holding a synthetic dataset
(``puzzles``), with the ``TED_*`` and ``OPENAI_*`` variables pointing at the simulated endpoint. An
example marked ``<!-- readme-test: langgraph-dev -->`` runs against a real `langgraph dev` server.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import click
import pytest
from servers import LangGraphDev

from ted.cli.main import SUBCOMMANDS, cli
from ted.graph import Context
from ted.sim import SimServer, World
from ted.tasks.synth import generate

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(
    r"(?:<!-- readme-test: (?P<marker>[\w-]+) -->\n)?```(?P<lang>\w+)\n(?P<code>.*?)```", re.DOTALL
)
DOCUMENTED_SERVER = "http://127.0.0.1:2024"


def _blocks(language: str) -> list[tuple[str | None, str]]:
    return [(m["marker"], m["code"]) for m in BLOCK.finditer(README) if m["lang"] == language]


def _commands() -> list[list[str]]:
    """Every `ted ...` command line of the bash blocks, continuation lines joined, comments dropped."""
    commands = []
    for _, code in _blocks("bash"):
        for line in code.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            for part in line.split("&&"):
                words = shlex.split(part.replace("$PWD", "/here"))
                if words and words[0] == "ted":
                    commands.append(words[1:])
    return commands


def test_the_quickstart_commands_are_the_documented_ones() -> None:
    bash = [code.strip() for _, code in _blocks("bash")]
    assert bash[0] == 'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[local]" && ted demo'
    assert bash[1] == (
        'pip install -e ".[dev,local]" && pip install --no-deps -r requirements-lenient.txt && pytest'
    )
    assert "https://download.pytorch.org/whl/cpu" in README


def test_benchmark_placeholders_and_the_published_numbers_are_there() -> None:
    assert "<!-- bench:memory -->" in README and "<!-- bench:orchestration -->" in README
    for number in ("0.627", "0.702", "0.517", "0.561"):
        assert number in README


def _command(words: list[str]) -> tuple[click.Command, list[str]]:
    """The (sub)command a command line runs, and its path of names."""
    command: click.Command = cli
    path: list[str] = []
    with click.Context(cli) as ctx:
        for word in words:
            if isinstance(command, click.Group) and not word.startswith("-"):
                sub = command.get_command(ctx, word)
                if sub is not None:
                    command, path = sub, [*path, word]
    return command, path


def test_every_documented_command_and_option_exists() -> None:
    commands = _commands()
    assert {words[0] for words in commands} >= {"demo", "distill", "eval", "solve", "experiences", "data"}
    for words in commands:
        assert words[0] in SUBCOMMANDS, f"ted {words[0]} is not a command"
        command, path = _command(words)
        known = {name for param in command.params for name in param.opts + param.secondary_opts}
        # Group options (ted experiences --library) come before the subcommand.
        if len(path) > 1:
            group, _ = _command(path[:1])
            known |= {name for param in group.params for name in param.opts}
        for word in words:
            option = word.split("=", 1)[0]
            if option.startswith("--"):
                assert option in known, (
                    f"`ted {' '.join(words)}`: {option} is not an option of ted {' '.join(path)}"
                )


def test_the_configuration_table_lists_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    table = README.split("<!-- config:start -->", 1)[1].split("<!-- config:end -->", 1)[0]
    defaults = Context()
    for field in fields(Context):
        env = field.metadata.get("env")
        value = getattr(defaults, field.name)
        if field.name.endswith("_system_prompt"):
            shown = "built in (`ted.prompts`)"
        elif value is None:
            shown = "unset"
        else:
            shown = f"`{value}`"
        scope = "deployment" if field.metadata.get("deployment") else "run"
        row = f"| `{field.name}` | {f'`{env}`' if env else '-'} | {shown} | {scope} |"
        assert row in table, f"the README's configuration table lacks or misstates {field.name}: {row}"
    assert table.count("\n| `") == len(fields(Context)), "the table lists a setting that does not exist"


class _Servers:
    """The simulated endpoint for every example, and `langgraph dev` on first demand."""

    def __init__(self, work: Path, sim: SimServer) -> None:
        self.work = work
        self.env = {
            **{name: value for name, value in os.environ.items() if not name.startswith("TED_")},
            "TED_STUDENT_MODEL": "sim-student",
            "TED_TEACHER_MODEL": "sim-teacher",
            "TED_STUDENT_BASE_URL": sim.base_url,
            "TED_TEACHER_BASE_URL": sim.base_url,
            "TED_EMBEDDINGS": "hash",
            "OPENAI_BASE_URL": sim.base_url,
            "OPENAI_API_KEY": "not-needed",
            "HF_HUB_OFFLINE": "1",
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGGRAPH_NO_VERSION_CHECK": "1",
            "TED_API_TOKEN": "readme-example-token",
        }
        self.langgraph: LangGraphDev | None = None

    def langgraph_dev(self) -> str:
        if self.langgraph is None:
            served = self.work / "served"
            deployment = {
                "TED_LIBRARY_ROOT": str(served / "libraries"),
                "TED_LIBRARY": "main",
                "TED_IMAGE_ROOTS": str(self.work / "puzzles"),
            }
            self.langgraph = LangGraphDev(served, {**self.env, **deployment})
            self.langgraph.start()
        return self.langgraph.url

    def close(self) -> None:
        if self.langgraph is not None:
            self.langgraph.stop()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Servers]:
    work = tmp_path_factory.mktemp("readme")
    items = generate(work / "puzzles", n=24, seed=0)
    with SimServer(World.from_items(items)) as sim:
        servers = _Servers(work, sim)
        try:
            yield servers
        finally:
            servers.close()


@pytest.mark.slow
@pytest.mark.server
def test_the_python_examples_run(servers: _Servers) -> None:
    examples = _blocks("python")
    assert len(examples) >= 4
    for number, (marker, code) in enumerate(examples, start=1):
        if marker == "langgraph-dev":
            assert DOCUMENTED_SERVER in code
            code = code.replace(DOCUMENTED_SERVER, servers.langgraph_dev())
        else:
            assert marker is None, f"unknown README test marker {marker!r}"
        script = servers.work / f"example_{number}.py"
        script.write_text(code, encoding="utf-8")
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=servers.work,
            env=servers.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"README example {number} failed:\n{code}\n{result.stderr[-3000:]}"
        assert result.stdout.strip(), f"README example {number} printed nothing"
    # The distillation example left a library behind, which the later examples used.
    assert (servers.work / "library" / "library.json").is_file()
