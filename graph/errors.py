"""Errors of the TED graphs, and one clear sentence for each way a model call can fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ted.graph.models import ModelSpec


class TedGraphError(Exception):
    """Base of the errors a user of the graphs can act on."""


class ConfigurationError(TedGraphError):
    """The context does not describe a usable setup (no endpoint, bad value)."""


class ModelCallError(TedGraphError):
    """A model call failed for good: retries are exhausted or retrying cannot help."""

    def __init__(self, message: str, *, kind: str, fatal: bool) -> None:
        super().__init__(message)
        self.kind = kind
        self.fatal = fatal


def _mentions(exc: BaseException, *words: str) -> bool:
    text = str(exc).lower()
    return any(word in text for word in words)


def describe_model_error(exc: BaseException, spec: ModelSpec) -> ModelCallError:
    """Turn an exception from a model call into a ``ModelCallError`` a person can act on.

    ``fatal`` marks failures that will repeat for every item (wrong key, unreachable server, a model
    without vision or tool support): a run should stop on them rather than record each item as failed.
    """
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
