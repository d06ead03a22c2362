"""LangChain tools over the experience library, for host agents and for binding to a model.

The tools, their names, descriptions and argument schemas are generated from the requests of
`ted.memory.operations`. Each tool call is one library operation whose id is the editor's
``op_prefix`` plus the tool call id, so a re-executed tool call (a resumed graph re-running its tool
node) changes the library once. A mistake the model can correct comes back to it as an error
`ToolMessage` (``status="error"``), never as an exception out of the tool node. The tools work with
`langgraph.prebuilt.ToolNode` and ``create_react_agent``; call them with a full tool call (they need
its id).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool, ToolException
from pydantic import BaseModel, ValidationError, create_model

from ted.memory.editor import LibraryEditor
from ted.memory.errors import ToolInputError
from ted.memory.operations import TOOL_NAMES, ToolRequest, argument_fields, describe_invalid, request_type
from ted.memory.store import ExperienceStore


@functools.cache
def _arguments(kind: type[ToolRequest]) -> type[BaseModel]:
    """The tool's argument schema: the request's fields, plus the injected tool call id."""
    fields: dict[str, Any] = {name: (info.annotation, info) for name, info in argument_fields(kind).items()}
    fields["tool_call_id"] = (Annotated[str, InjectedToolCallId], ...)
    return create_model(f"{kind.__name__}Arguments", __doc__=f"Arguments of {kind.tool_name}.", **fields)


def _run_sync(make: Callable[[], Awaitable[str]]) -> str:
    async def run() -> str:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    # Called synchronously from inside an event loop: run on a private loop in a worker thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def _validation_message(error: ValidationError) -> str:
    return f"Error: {describe_invalid(error)}"


def _tool(kind: type[ToolRequest], max_words: int, run: Callable[..., Awaitable[str]]) -> BaseTool:
    async def coroutine(**kwargs: Any) -> str:
        try:
            return await run(**kwargs)
        except ToolInputError as exc:
            raise ToolException(f"Error: {exc}") from exc

    def function(**kwargs: Any) -> str:
        return _run_sync(lambda: coroutine(**kwargs))

    return StructuredTool.from_function(
        func=function,
        coroutine=coroutine,
        name=kind.tool_name,
        description=kind.tool_description.format(max_words=max_words),
        args_schema=_arguments(kind),
        handle_tool_error=True,
        handle_validation_error=_validation_message,
    )


def _requests(include: Iterable[str] | None) -> list[type[ToolRequest]]:
    wanted = list(TOOL_NAMES if include is None else include)
    unknown = sorted(set(wanted) - set(TOOL_NAMES))
    if unknown:
        raise ValueError(f"unknown memory tools {unknown}; choose from {list(TOOL_NAMES)}")
    return [request_type(name) for name in wanted]


def create_memory_tools(
    target: ExperienceStore | LibraryEditor, *, include: Iterable[str] | None = None
) -> list[BaseTool]:
    """The memory tools over a store (a fresh `LibraryEditor`) or over a given editor.

    Args:
        target: The store, or an editor carrying labels, provenance and the operation id prefix.
        include: Names of the tools to return (default: all of `TOOL_NAMES`, in that order).
    """
    editor = target if isinstance(target, LibraryEditor) else LibraryEditor(target)

    def runner(kind: type[ToolRequest]) -> Callable[..., Awaitable[str]]:
        async def run(*, tool_call_id: str, **arguments: Any) -> str:
            return await editor.perform(kind.model_validate(arguments), op_id=tool_call_id)

        return run

    return [_tool(kind, editor.max_words, runner(kind)) for kind in _requests(include)]


@functools.cache
def tool_schemas(include: tuple[str, ...] = TOOL_NAMES, *, max_words: int = 60) -> tuple[dict[str, Any], ...]:
    """The OpenAI function schemas of the memory tools, for ``bind_tools``.

    They depend only on the tool names and the word limit, so they are built once: converting tools
    to schemas on every model call costs more than the rest of preparing the request.
    """
    from langchain_core.utils.function_calling import convert_to_openai_tool

    async def unused(**arguments: Any) -> str:
        raise NotImplementedError

    return tuple(convert_to_openai_tool(_tool(kind, max_words, unused)) for kind in _requests(include))
