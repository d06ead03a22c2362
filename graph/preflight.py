"""Checking the model endpoints before a long run, so that a wrong setting fails in seconds.

For each role the check asks the endpoint, with a short timeout and one retry:

1. ``/models``: is the server reachable, is the key accepted, which models does it serve, and is it
   the simulated endpoint (it marks its answers)?
2. a tiny chat request with a small image: does the model exist and accept images?
3. for the teacher (and a separate compress model), a tiny request with a tool bound: does the
   endpoint support tool calling? With ``tool_mode="auto"`` an endpoint without it makes the run use
   validated JSON operations instead; with ``tool_mode="tools"`` it is an error.

Failures that would repeat on every item raise `ModelCallError` (``fatal``) or `ConfigurationError`
with one sentence a person can act on. Passing failures (a rate limit, a server error) only add a note:
the run itself retries and records them.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from ted.graph.context import Context, Role
from ted.graph.errors import ModelCallError, describe_model_error, safe_cause
from ted.graph.models import ModelSpec, build_chat_model, model_spec, resolve_api_key

PREFLIGHT_TIMEOUT = 30.0
PROBE_TOKENS = 16
# Vision processors refuse tiny images (Qwen-VL needs 28 pixels a side), so the probe is 64 x 64.
PROBE_IMAGE_SIDE = 64


class EndpointReport(BaseModel):
    """What the check learned about one role's endpoint."""

    role: str
    model: str
    endpoint: str = Field(description="The base URL, or api.openai.com (never a key).")
    simulated: bool = Field(description="The endpoint marks its answers as coming from simulated models.")
    served_models: list[str] | None = Field(description="What /models lists; None when it lists nothing.")
    vision: bool | None = Field(description="The model answered a request with an image; None: not checked.")
    tools: bool | None = Field(description="The endpoint accepted a bound tool; None: not checked.")
    notes: list[str] = Field(default_factory=list, description="Passing problems worth a warning.")


@dataclass(frozen=True)
class Preflight:
    """The outcome of `preflight`: the context to run with and what each endpoint showed."""

    context: Context
    """The given context, with ``tool_mode="json"`` when ``auto`` met an endpoint without tool calling."""
    reports: list[EndpointReport]

    @property
    def simulated(self) -> bool:
        """Whether every checked endpoint is the simulated one."""
        return bool(self.reports) and all(report.simulated for report in self.reports)

    @property
    def notes(self) -> list[str]:
        """The passing problems of every endpoint, each naming its role and model, for a warning."""
        return [f"{report.role} {report.model}: {note}" for report in self.reports for note in report.notes]


class _ProbeTool(BaseModel):
    """Report that the check reached you. Call it with ok=true."""

    ok: bool = Field(description="Always true.")


@cache
def probe_image() -> str:
    """A small PNG data URL: a dark square on white."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (PROBE_IMAGE_SIDE, PROBE_IMAGE_SIDE), "white")
    ImageDraw.Draw(image).rectangle((16, 16, 47, 47), fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _probe_spec(spec: ModelSpec) -> ModelSpec:
    return replace(
        spec,
        max_tokens=PROBE_TOKENS,
        max_retries=min(spec.max_retries, 1),
        timeout=min(spec.timeout, PREFLIGHT_TIMEOUT),
    )


def _is_api_error(exc: BaseException) -> bool:
    import openai

    return isinstance(exc, openai.APIError)


async def _list_models(spec: ModelSpec) -> tuple[list[str] | None, bool, list[str]]:
    """Served model ids (None when not listed), whether the endpoint is simulated, and notes."""
    import openai

    client = openai.AsyncOpenAI(
        api_key=resolve_api_key(spec),
        base_url=spec.base_url,
        timeout=spec.timeout,
        max_retries=spec.max_retries,
    )
    try:
        raw = await client.models.with_raw_response.list()
    except (openai.APIConnectionError, openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        error = describe_model_error(exc, spec)
        if error.fatal:
            raise error from safe_cause(exc, spec)
        return None, False, [str(error)]
    except openai.APIStatusError:
        return None, False, []  # many servers do not list models; the chat probe still checks the name
    finally:
        await client.close()
    from ted.sim.server import SIMULATED_HEADER

    simulated = raw.headers.get(SIMULATED_HEADER, "").lower() == "true"
    return [model.id for model in raw.parse().data], simulated, []


async def _probe(spec: ModelSpec, *, tools: bool, served: list[str] | None) -> str | None:
    """Send one tiny request; None when it went through, else a note on a passing failure."""
    model: Any = build_chat_model(spec)
    if tools:
        model = model.bind_tools([_ProbeTool])
        content: str | list[str | dict[str, Any]] = "This is a connection check. Call the tool with ok=true."
    else:
        content = [
            {"type": "text", "text": "This is a connection check. What do you see? Answer in one word."},
            {"type": "image_url", "image_url": {"url": probe_image()}},
        ]
    try:
        await model.ainvoke([HumanMessage(content)])
    except Exception as exc:
        if not _is_api_error(exc):
            raise
        error = describe_model_error(exc, spec)
        if error.kind == "model_not_found" and served:
            shown = ", ".join(served[:10]) + (", ..." if len(served) > 10 else "")
            raise ModelCallError(f"{error}; it serves: {shown}", kind=error.kind, fatal=True) from safe_cause(
                exc, spec
            )
        if error.fatal:
            raise error from safe_cause(exc, spec)
        return f"the check request failed ({error.kind}): {error}"
    return None


async def check_endpoint(
    context: Context, role: Role, *, image: bool = True, tools: bool = False
) -> EndpointReport:
    """Check one role's endpoint: reachable, key accepted, model served, images, tool calling.

    Args:
        context: Where the role's model lives.
        role: ``student``, ``teacher`` or ``compress``.
        image: Send a small image (vision check).
        tools: Bind a tool (tool-calling check). A rejection is reported as ``tools=False`` with
            ``tool_mode="auto"``, and raised otherwise.

    Raises:
        ConfigurationError: No endpoint is configured for the role.
        ModelCallError: A fatal failure (unreachable, key refused, unknown model, no vision, no tools
            with ``tool_mode="tools"``).
    """
    spec = _probe_spec(model_spec(context, role))
    served, simulated, notes = await _list_models(spec)
    vision: bool | None = None
    if image:
        note = await _probe(spec, tools=False, served=served)
        vision = True if note is None else None
        notes += [note] if note else []
    supports_tools: bool | None = None
    if tools:
        try:
            note = await _probe(spec, tools=True, served=served)
        except ModelCallError as error:
            if error.kind != "no_tools" or context.tool_mode != "auto":
                raise
            supports_tools = False
            notes.append("no tool calling: the library is edited through JSON operations instead")
        else:
            supports_tools = True if note is None else None
            notes += [note] if note else []
    return EndpointReport(
        role=role,
        model=spec.model,
        endpoint=spec.base_url or "api.openai.com",
        simulated=simulated,
        served_models=served,
        vision=vision,
        tools=supports_tools,
        notes=notes,
    )


async def preflight(
    context: Context, *, roles: tuple[Role, ...] = ("student", "teacher"), image: bool = True
) -> Preflight:
    """Check the endpoints of ``roles`` before a run.

    The student is checked for images; the teacher for images and, unless ``tool_mode`` is ``json``,
    tool calling; a separately configured compress model for tool calling.

    Returns:
        The context to run with (``tool_mode`` switched from ``auto`` to ``json`` when the teacher
        cannot call tools) and one report per checked role.

    Raises:
        ConfigurationError: A role has no endpoint configured.
        ModelCallError: A fatal failure of one endpoint.
    """
    wanted = list(roles)
    if "teacher" in wanted and context.compress_model and "compress" not in wanted:
        wanted.append("compress")
    reports: list[EndpointReport] = []
    for role in wanted:
        wants_tools = role != "student" and context.tool_mode != "json"
        report = await check_endpoint(context, role, image=image and role != "compress", tools=wants_tools)
        reports.append(report)
        if report.tools is False and context.tool_mode == "auto":
            context = replace(context, tool_mode="json")
    return Preflight(context=context, reports=reports)
