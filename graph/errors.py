"""Errors of the TED graphs, and one clear sentence for each way a model call can fail."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ted.graph.models import ModelSpec


class TedGraphError(Exception):
    """Base of the errors a user of the graphs can act on."""


class ConfigurationError(TedGraphError, ValueError):
    """The context does not describe a usable setup (no endpoint, bad value)."""


class SettingNotAllowed(ConfigurationError):
    """A run over the API tried to change a deployment setting, or to leave the library root."""

    def __init__(self, message: str, *, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


class ModelCallError(TedGraphError):
    """A model call failed for good: retries are exhausted or retrying cannot help."""

    def __init__(self, message: str, *, kind: str, fatal: bool) -> None:
        super().__init__(message)
        self.kind = kind
        self.fatal = fatal


# Environment variables whose names say they hold a secret; their values never go into a message.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_REDACTED = "[redacted]"


def redact(text: str, *variables: str | None) -> str:
    """``text`` with the value of every secret in the environment replaced by ``[redacted]``.

    Secrets are the values of ``variables`` (e.g. a model's API key variable, whatever its name) and of
    every variable whose name contains KEY, TOKEN, SECRET, PASSWORD or CREDENTIAL. Values shorter than
    six characters are left alone: they cannot be told from ordinary words.
    """
    names = {name for name in os.environ if _SECRET_NAME.search(name)}
    names.update(name for name in variables if name)
    values = {os.environ[name] for name in names if len(os.environ.get(name, "")) >= 6}
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, _REDACTED)
    return text


def safe_cause(exc: BaseException, spec: ModelSpec) -> BaseException | None:
    """``exc`` as the cause to chain to a `ModelCallError`, or None when its text holds a secret.

    Tracebacks print the cause's message, and they end up in server logs.
    """
    return exc if redact(str(exc), spec.api_key_env) == str(exc) else None


def _mentions(exc: BaseException, *words: str) -> bool:
    text = str(exc).lower()
    return any(word in text for word in words)


def describe_model_error(exc: BaseException, spec: ModelSpec) -> ModelCallError:
    """Turn an exception from a model call into a ``ModelCallError`` a person can act on.

    ``fatal`` marks failures that will repeat for every item (wrong key, unreachable server, a model
    without vision or tool support): a run should stop on them rather than record each item as failed.
    The message never holds a secret, even when the endpoint echoed one back (`redact`).
    """
    error = _describe(exc, spec)
    message = redact(str(error), spec.api_key_env)
    if message == str(error):
        return error
    return ModelCallError(message, kind=error.kind, fatal=error.fatal)


def _describe(exc: BaseException, spec: ModelSpec) -> ModelCallError:
    import openai

    where = spec.base_url or "api.openai.com"
    who = f"the {spec.role} model {spec.model!r} at {where}"
    if isinstance(exc, ModelCallError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ModelCallError(
            f"{who} did not answer within {spec.timeout:g} s ({spec.max_retries} retries)",
            kind="timeout",
            fatal=False,
        )
    if isinstance(exc, openai.APIConnectionError):
        return ModelCallError(f"cannot reach {who}: is the server running?", kind="unreachable", fatal=True)
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ModelCallError(
            f"{who} refused the API key: check the variable {spec.api_key_env or 'OPENAI_API_KEY'}",
            kind="authentication",
            fatal=True,
        )
    if isinstance(exc, openai.RateLimitError):
        return ModelCallError(
            f"{who} is rate limiting and {spec.max_retries} retries did not get through",
            kind="rate_limit",
            fatal=False,
        )
    if isinstance(exc, openai.NotFoundError):
        return ModelCallError(f"{who} does not exist on that server", kind="model_not_found", fatal=True)
    if isinstance(exc, openai.BadRequestError):
        if _mentions(exc, "image", "vision", "multimodal"):
            return ModelCallError(
                f"{who} does not accept images: use a vision model", kind="no_vision", fatal=True
            )
        if _mentions(exc, "tool", "function"):
            return ModelCallError(
                f"{who} does not support tool calling: set TED_TOOL_MODE=json", kind="no_tools", fatal=True
            )
        return ModelCallError(f"{who} rejected the request: {exc}", kind="bad_request", fatal=False)
    if isinstance(exc, openai.InternalServerError | openai.APIStatusError):
        return ModelCallError(
            f"{who} failed with a server error after {spec.max_retries} retries: {exc}",
            kind="server_error",
            fatal=False,
        )
    return ModelCallError(f"{who} failed: {type(exc).__name__}: {exc}", kind="unexpected", fatal=False)
