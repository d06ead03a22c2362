"""Trusted and untrusted settings: what a run over the API may set, and where libraries may live."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from ted.graph import Context, ServedContext
from ted.graph.auth import authenticate
from ted.graph.errors import ConfigurationError, SettingNotAllowed

DEPLOYMENT_CHANGES = {
    "student_model": "some-expensive-model",
    "student_base_url": "http://127.0.0.1:9/v1",
    "student_api_key_env": "DATABASE_PASSWORD",
    "student_max_tokens": 100_000,
    "teacher_model": "another-model",
    "teacher_base_url": "http://127.0.0.1:9/v1",
    "teacher_api_key_env": "AWS_SECRET_ACCESS_KEY",
    "teacher_max_tokens": 100_000,
    "compress_model": "cheap",
    "compress_base_url": "http://127.0.0.1:9/v1",
    "compress_api_key_env": "HOME",
    "timeout": 3600.0,
    "max_retries": 20,
    "student_concurrency": 10_000,
    "teacher_concurrency": 10_000,
    "tool_mode": "json",
    "library_root": "/",
    "chroma_url": "http://127.0.0.1:9",
    "embeddings": "openai:text-embedding-3-small",
    "image_roots": "/",
    "max_image_side": 4096,
    "max_image_bytes": 10**9,
    "max_image_pixels": 10**9,
    "max_images": 64,
    "max_text_chars": 10**7,
    "student_system_prompt": "Obey the experiences.{experiences}",
    "teacher_system_prompt": "Say yes.",
    "reflect_system_prompt": "Write what the data says. {max_words} {max_new} {protocol}",
    "compress_system_prompt": "Keep everything. {max_words} {protocol}",
}


def test_every_deployment_setting_is_classified_and_tried_here() -> None:
    assert sorted(DEPLOYMENT_CHANGES) == sorted(Context.deployment_settings())
    run_settings = [f.name for f in fields(Context) if f.name not in DEPLOYMENT_CHANGES]
    assert "k" in run_settings and "rollouts" in run_settings and "library" in run_settings


@pytest.mark.parametrize("name", sorted(DEPLOYMENT_CHANGES))
def test_a_run_cannot_change_a_deployment_setting(name: str) -> None:
    with pytest.raises(SettingNotAllowed, match=rf"^{name} is a deployment setting") as raised:
        ServedContext(**{name: DEPLOYMENT_CHANGES[name]})
    assert raised.value.setting == name


def test_python_callers_set_anything() -> None:
    context = Context(**DEPLOYMENT_CHANGES)
    assert context.student_base_url == "http://127.0.0.1:9/v1"


def test_a_run_sets_run_settings_and_inherits_the_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TED_STUDENT_BASE_URL", "http://vllm.internal:8000/v1")
    monkeypatch.setenv("TED_K", "7")
    context = ServedContext(k=3, rollouts=2, merge_threshold=0.7, student_temperature=1.0)
    assert (context.k, context.rollouts, context.merge_threshold) == (3, 2, 0.7)
    assert context.student_base_url == "http://vllm.internal:8000/v1"
    assert ServedContext().k == 7


def test_restating_the_deployment_value_or_null_is_not_a_change(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TED_STUDENT_BASE_URL", "http://vllm.internal:8000/v1")
    assert ServedContext(student_base_url="http://vllm.internal:8000/v1").student_base_url.endswith("/v1")
    # Forms (Studio) may send null for a field left untouched: the deployment's value stands.
    assert ServedContext(student_base_url=None).student_base_url == "http://vllm.internal:8000/v1"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("k", -1, "k must be between 0 and 100"),
        ("rollouts", 0, "rollouts must be between 1 and 64"),
        ("rollouts", 10_000, "rollouts must be between 1 and 64"),
        ("merge_threshold", 1.5, "merge_threshold must be between 0 and 1"),
        ("student_temperature", -0.1, "student_temperature must be between 0 and 2"),
        ("reflect_on", "sometimes", "reflect_on must be mistakes or always"),
        ("k", "five", "k must be a number"),
    ],
)
def test_run_settings_are_range_checked(setting: str, value: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ServedContext(**{setting: value})


def test_without_a_library_root_the_library_is_the_deployments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TED_LIBRARY", str(tmp_path / "main"))
    assert ServedContext().library_folder() == tmp_path / "main"
    with pytest.raises(SettingNotAllowed, match="TED_LIBRARY_ROOT") as raised:
        ServedContext(library=str(tmp_path / "other"))
    assert raised.value.setting == "library"


@pytest.mark.parametrize(
    "name", ["/etc", "..", "../escape", "a/../../b", "team/../../x", ".hidden", "a/b", "", "x" * 65]
)
def test_library_names_stay_under_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("TED_LIBRARY_ROOT", str(tmp_path / "libraries"))
    monkeypatch.setenv("TED_LIBRARY", "main")
    with pytest.raises(SettingNotAllowed, match="not a library name"):
        ServedContext(library=name)


def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "libraries"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (root / "link").symlink_to(tmp_path / "elsewhere")
    monkeypatch.setenv("TED_LIBRARY_ROOT", str(root))
    monkeypatch.setenv("TED_LIBRARY", "main")
    with pytest.raises(ConfigurationError, match="leads out of the library root"):
        ServedContext(library="link").library_folder()
    named = ServedContext(library="team-a_2.x")
    assert named.library_folder() == root.resolve() / "team-a_2.x"


def test_image_folders_of_served_runs_default_to_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ServedContext().image_folders() == []
    assert Context().image_folders() is None
    monkeypatch.setenv("TED_IMAGE_ROOTS", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    assert ServedContext().image_folders() == [tmp_path / "a", tmp_path / "b"]


def _scope(host: str) -> dict[str, object]:
    return {"type": "http", "client": (host, 50000), "headers": []}


async def test_auth_without_a_token_answers_this_machine_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from langgraph_sdk import Auth

    monkeypatch.delenv("TED_API_TOKEN", raising=False)
    assert await authenticate(None, _scope("127.0.0.1")) == {"identity": "local"}
    assert await authenticate(None, _scope("::1")) == {"identity": "local"}
    for remote in ("10.1.2.3", "192.168.0.9", "2001:db8::1", "not-an-address"):
        with pytest.raises(Auth.exceptions.HTTPException) as raised:
            await authenticate(None, _scope(remote))
        assert raised.value.status_code == 403


async def test_auth_with_a_token_requires_it_from_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    from langgraph_sdk import Auth

    monkeypatch.setenv("TED_API_TOKEN", "s3cret-token")
    for header in (None, "", "Bearer", "Bearer wrong", "Basic s3cret-token", "s3cret-token"):
        with pytest.raises(Auth.exceptions.HTTPException) as raised:
            await authenticate(header, _scope("127.0.0.1"))
        assert raised.value.status_code == 401
        assert "s3cret" not in str(raised.value.detail)
    assert await authenticate("Bearer s3cret-token", _scope("10.1.2.3")) == {"identity": "token"}
