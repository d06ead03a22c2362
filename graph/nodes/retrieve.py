"""Retrieve: the item's images, and the experiences relevant to its question, labelled E1, E2, ..."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from ted.graph.admission import admit_item, image_source
from ted.graph.context import Context
from ted.graph.library import open_library
from ted.graph.slots import started_ahead, wait_for_slot
from ted.graph.state import ErrorRecord, InjectedExperience, ItemState, SolveState
from ted.tasks import Item, prepare_image


def query_text(item: Item) -> str:
    """What retrieval embeds: the question and its options."""
    return "\n".join([item.question, *(item.options or [])])


def _admit_and_prepare(raw: object, context: Context, *, require_answer: bool) -> tuple[Item, list[str]]:
    item = admit_item(raw, context, require_answer=require_answer)
    images = [
        prepare_image(
            image_source(source, context, number=number),
            max_side=context.max_image_side,
            max_pixels=context.max_image_pixels,
            max_bytes=context.max_image_bytes,
        )
        for number, source in enumerate(item.images, start=1)
    ]
    return item, images


async def _retrieve(
    item: Item, context: Context, *, exclude_own: bool
) -> tuple[list[InjectedExperience], list[ErrorRecord]]:
    """The experiences to inject, and the failure of a search that failed again after its retries.

    A failed search is recorded against the item, which goes on without experiences: one broken
    query must not stop a run of hundreds of items.
    """
    from ted.memory import LibraryError
    from ted.memory import retrieve as retrieve_experiences

    store = await open_library(context)
    try:
        found = await retrieve_experiences(
            store,
            query_text(item),
            k=context.k,
            token_budget=context.token_budget,
            exclude_items=[item.id] if exclude_own else [],
            utility_weight=context.utility_weight,
            min_similarity=context.min_similarity,
            strategy=context.retrieval,
        )
    except LibraryError as exc:
        return [], [ErrorRecord(item_id=item.id, stage="retrieve", kind="library", message=str(exc))]
    injected = [
        InjectedExperience(label=f"E{n}", id=s.experience.id, text=s.experience.text, similarity=s.similarity)
        for n, s in enumerate(found, start=1)
    ]
    return injected, []


async def retrieve(state: ItemState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Prepare the item's images and inject the experiences most relevant to it (once it has a slot)."""
    item, images = await asyncio.to_thread(
        _admit_and_prepare, state["item"], runtime.context, require_answer=True
    )
    # In the dataset loop an item is started ahead, and waits here for a slot of the window: what it
    # retrieves is the library as of the moment it may call its models. Its query is embedded meanwhile.
    # An item that searches an empty library at once needs no vector: the first window's queries took
    # the CPU its items needed to send their first calls.
    store = await open_library(runtime.context)
    if store.version > 0 or started_ahead():
        store.prefetch([query_text(item)])
    await wait_for_slot()
    injected, errors = await _retrieve(item, runtime.context, exclude_own=False)
    return {"item": item.model_dump(mode="json"), "images": images, "injected": injected, "errors": errors}


async def retrieve_for_solve(state: SolveState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Like `retrieve`, with the contamination guard: nothing learned from this very item is injected."""
    item, images = await asyncio.to_thread(
        _admit_and_prepare, state["item"], runtime.context, require_answer=False
    )
    injected: list[InjectedExperience] = []
    errors: list[ErrorRecord] = []
    if state.get("use_library", True):
        injected, errors = await _retrieve(item, runtime.context, exclude_own=True)
    return {"item": item.model_dump(mode="json"), "images": images, "injected": injected, "errors": errors}
