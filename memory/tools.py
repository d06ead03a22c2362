"""LangChain tools over the experience library, for the reflect and compress nodes and for host agents.

Each tool call is one library operation whose id is the editor's ``op_prefix`` plus the tool call id,
so a re-executed tool call (a resumed graph re-running its tool node) changes the library once. A
mistake the model can correct comes back to it as an error `ToolMessage` (``status="error"``), never
as an exception out of the tool node. The tools work with `langgraph.prebuilt.ToolNode` and
``create_react_agent``; call them with a full tool call (they need its id).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Literal

from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool, ToolException
from pydantic import BaseModel, Field, ValidationError

from ted.memory.editor import LibraryEditor
from ted.memory.errors import ToolInputError
from ted.memory.operations import AddOp, DeleteOp, MergeOp, Operation, UpdateOp, VoteOp
from ted.memory.store import ExperienceStore

TOOL_NAMES = (
    "search_experiences",
    "add_experience",
    "update_experience",
    "delete_experience",
    "merge_experiences",
    "vote_experience",
)

_LABEL = "The label of the experience as shown to you, such as E3."
_REASON = "One short sentence: why this change helps the student."


class _SearchArgs(BaseModel):
    """Arguments of search_experiences."""

    query: str = Field(description="What you are looking for: a situation, a skill or a mistake.")
    k: int = Field(default=5, ge=1, le=20, description="How many experiences to return (1 to 20).")
    tool_call_id: Annotated[str, InjectedToolCallId]


class _AddArgs(BaseModel):
    """Arguments of add_experience."""

    text: str = Field(description="The experience: one short, general, actionable rule for similar problems.")
    tags: list[str] = Field(default_factory=list, description="Subjects or categories it applies to.")
    reason: str = Field(default="", description=_REASON)
    tool_call_id: Annotated[str, InjectedToolCallId]


class _UpdateArgs(BaseModel):
    """Arguments of update_experience."""

    label: str = Field(description=_LABEL)
    text: str = Field(description="The improved experience, still short, general and actionable.")
    reason: str = Field(default="", description=_REASON)
    tool_call_id: Annotated[str, InjectedToolCallId]


class _DeleteArgs(BaseModel):
    """Arguments of delete_experience."""

    label: str = Field(description=_LABEL)
    reason: str = Field(default="", description=_REASON)
    tool_call_id: Annotated[str, InjectedToolCallId]


class _MergeArgs(BaseModel):
    """Arguments of merge_experiences."""

    labels: list[str] = Field(min_length=2, description="Labels of the experiences to merge (two or more).")
    text: str = Field(description="The merged experience, keeping everything useful from each.")
    reason: str = Field(default="", description=_REASON)
    tool_call_id: Annotated[str, InjectedToolCallId]


class _VoteArgs(BaseModel):
    """Arguments of vote_experience."""

    label: str = Field(description=_LABEL)
    vote: Literal["helpful", "harmful"] = Field(description="helpful if it led towards the right answer.")
    reason: str = Field(default="", description=_REASON)
    tool_call_id: Annotated[str, InjectedToolCallId]


_ARGUMENTS: dict[str, type[BaseModel]] = {
    "search_experiences": _SearchArgs,
    "add_experience": _AddArgs,
    "update_experience": _UpdateArgs,
    "delete_experience": _DeleteArgs,
    "merge_experiences": _MergeArgs,
    "vote_experience": _VoteArgs,
}


def _descriptions(max_words: int) -> dict[str, str]:
    return {
        "search_experiences": (
            "Search the experience library. Returns up to k experiences, each with its label (E1, E2, ...) "
            "for use in the other tools, its similarity to the query and its utility (0 to 1: how useful "
            "it has proved; 0.5 means not yet known)."
        ),
        "add_experience": (
            "Add one new experience: a short, general, actionable rule that would help a student solve "
            f"similar problems (at most {max_words} words; no numbers or names from this particular item). "
            "If the library already holds an experience that says the same, nothing is added and you are "
            "told its label, so you can update it instead."
        ),
        "update_experience": (
            "Replace the text of an existing experience, given by its label, with a better version: "
            f"more correct, more general or clearer (at most {max_words} words)."
        ),
        "delete_experience": "Delete an experience, given by its label, that is wrong or misleading.",
        "merge_experiences": (
            "Merge two or more experiences that say the same thing into one new experience with the text "
            f"you give (at most {max_words} words). The old ones are retired; the new one gets a new label."
        ),
        "vote_experience": (
            "Record whether an experience that was shown to the student helped ('helpful') or misled "
            "('harmful') it on this item. One vote per experience."
        ),
    }


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
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in error.errors()
    )
    return f"Error: invalid arguments ({problems}); fix them and call the tool again"


def _tool(
    name: str, description: str, schema: type[BaseModel], run: Callable[..., Awaitable[str]]
) -> BaseTool:
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
        name=name,
        description=description,
        args_schema=schema,
        handle_tool_error=True,
        handle_validation_error=_validation_message,
    )


def create_memory_tools(
    target: ExperienceStore | LibraryEditor, *, include: Iterable[str] | None = None
) -> list[BaseTool]:
    """The memory tools over a store (a fresh `LibraryEditor`) or over a given editor.

    Args:
        target: The store, or an editor carrying labels, provenance and the operation id prefix.
        include: Names of the tools to return (default: all of `TOOL_NAMES`, in that order).
    """
    editor = target if isinstance(target, LibraryEditor) else LibraryEditor(target)
    wanted = list(TOOL_NAMES if include is None else include)
    unknown = sorted(set(wanted) - set(TOOL_NAMES))
    if unknown:
        raise ValueError(f"unknown memory tools {unknown}; choose from {list(TOOL_NAMES)}")

    async def search(query: str, k: int = 5, *, tool_call_id: str) -> str:
        return await editor.search(query, k=k)

    def applying(build: Callable[..., Operation]) -> Callable[..., Awaitable[str]]:
        async def run(*, tool_call_id: str, **arguments: Any) -> str:
            return await editor.apply(build(**arguments), op_id=tool_call_id)

        return run

    runners: dict[str, Callable[..., Awaitable[str]]] = {
        "search_experiences": search,
        "add_experience": applying(AddOp),
        "update_experience": applying(UpdateOp),
        "delete_experience": applying(DeleteOp),
        "merge_experiences": applying(MergeOp),
        "vote_experience": applying(VoteOp),
    }
    descriptions = _descriptions(editor.max_words)
    return [_tool(name, descriptions[name], _ARGUMENTS[name], runners[name]) for name in wanted]


@functools.cache
def tool_schemas(include: tuple[str, ...] = TOOL_NAMES, *, max_words: int = 60) -> tuple[dict[str, Any], ...]:
    """The OpenAI function schemas of the memory tools, for ``bind_tools``.

    They depend only on the tool names and the word limit, so they are built once: converting tools
    to schemas on every model call costs more than the rest of preparing the request.
    """
    from langchain_core.utils.function_calling import convert_to_openai_tool

    async def unused(**arguments: Any) -> str:
        raise NotImplementedError

    descriptions = _descriptions(max_words)
    return tuple(
        convert_to_openai_tool(_tool(name, descriptions[name], _ARGUMENTS[name], unused)) for name in include
    )
