"""Shared options: --set, the Context they build, endpoint checks; help stays fast and light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import invoke

from ted.cli.errors import CliError, OptionConflict
from ted.cli.options import build_context, parse_settings, require_endpoints


def test_settings_are_typed_from_the_context_fields() -> None:
    parsed = parse_settings(["k=3", "min-similarity=0.5", "compress_model=gpt-4.1-mini", "reflect_on=always"])
    assert parsed == {"k": 3, "min_similarity": 0.5, "compress_model": "gpt-4.1-mini", "reflect_on": "always"}
    with pytest.raises(OptionConflict, match="FIELD=VALUE"):
        parse_settings(["k"])
    with pytest.raises(OptionConflict, match="expected a float"):
        parse_settings(["timeout=soon"])


def test_options_win_over_the_environment_which_wins_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TED_STUDENT_MODEL", "from-env")
    monkeypatch.setenv("TED_K", "7")
    context = build_context(
        tmp_path, {"student_model": None, "teacher_model": "teacher-option"}, ["rollouts=2"]
    )
    assert context.student_model == "from-env" and context.k == 7
    assert context.teacher_model == "teacher-option" and context.rollouts == 2
    assert context.library == str(tmp_path)
    with pytest.raises(OptionConflict, match="rollouts must be between 1 and 64, not 0"):
        build_context(tmp_path, {}, ["rollouts=0"])


@pytest.mark.usefixtures("no_api_keys")
def test_an_api_key_or_a_url_is_an_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    context = build_context(tmp_path, {"student_base_url": "http://localhost:8000/v1"})
    require_endpoints(context, ["student"])
    with pytest.raises(CliError, match=r"teacher model 'gpt-4\.1'"):
        require_endpoints(context, ["student", "teacher"])
    monkeypatch.setenv("OPENAI_API_KEY", "sk-anything")
    require_endpoints(context, ["student", "teacher"])
    compress = build_context(tmp_path, {}, ["compress_model=small", "compress_api_key_env=NOT_SET_ANYWHERE"])
    with pytest.raises(CliError, match="--set compress_base_url=URL"):
        require_endpoints(compress, ["compress"])


def test_help_lists_the_commands() -> None:
    result = invoke(["--help"])
    assert result.exit_code == 0
    for command in ("distill", "eval", "solve", "demo", "experiences", "data", "sim"):
        assert command in result.stdout
    for command in ("distill", "eval", "solve", "demo"):
        shown = invoke([command, "--help"])
        assert shown.exit_code == 0 and "Usage:" in shown.stdout


def test_help_of_the_commands_loads_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from ted.cli.main import cli\n"
        "for name in ('distill', 'eval', 'solve', 'demo'):\n"
        "    assert CliRunner().invoke(cli, [name, '--help']).exit_code == 0\n"
        "for name in ('list', 'show', 'history', 'export'):\n"
        "    assert CliRunner().invoke(cli, ['experiences', name, '--help']).exit_code == 0\n"
        "heavy = {'chromadb', 'torch', 'sentence_transformers', 'langchain_openai', 'langgraph',\n"
        "         'pyarrow', 'numpy', 'matplotlib'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
