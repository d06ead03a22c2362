"""The `LibraryEditor` a model edits the library through: one per item's reflection, one per compression.

The editor carries what the model cannot be trusted to say: the labels it was shown, provenance, the
operation id prefix that makes a re-run step change the library once, and the screening rules.
"""

from __future__ import annotations

from collections.abc import Mapping

from ted.graph.context import Context
from ted.graph.library import open_library
from ted.graph.state import ItemState
from ted.memory import ExperienceStore
from ted.memory.editor import LabelBook, LibraryEditor
from ted.memory.models import Origin
from ted.memory.screening import item_fragments


def editor_word_limit(context: Context) -> int:
    """The longest text the library tools accept.

    Prompts ask for at most ``max_words``; a somewhat longer text is still accepted, and compression
    rewrites it later, rather than sending the model back to count words.
    """
    return 2 * context.max_words


async def item_editor(state: ItemState, context: Context) -> LibraryEditor:
    """The editor of one item's reflection, carrying the labels the model has seen so far.

    It refuses texts that copy the item's answer or options, so that what the library learns from an
    item is a general lesson rather than the item's solution.
    """
    labels = state.get("labels") or {e["label"]: e["id"] for e in state.get("injected", [])}
    item = state["item"]
    item_id = str(item["id"])
    return LibraryEditor(
        await open_library(context),
        labels=LabelBook.from_mapping(labels),
        source_items=[item_id],
        origin=Origin.REFLECT,
        student_model=context.student_model,
        op_prefix=state.get("op_prefix", f"item/{item_id}/"),
        step=f"epoch {state.get('epoch', 0)}",
        duplicate_threshold=context.duplicate_threshold,
        max_words=editor_word_limit(context),
        forbidden=item_fragments(str(item["answer"]), item.get("options")),
    )


def compression_editor(
    context: Context,
    store: ExperienceStore,
    labels: Mapping[str, str],
    *,
    merge: bool,
    op_prefix: str,
    step: str,
) -> LibraryEditor:
    """The editor of one compression request: merging a cluster, rewriting or reviewing experiences.

    A review's corrections are recorded with the rewrite origin, as rewrites are: a new text for the
    same experience.
    """
    return LibraryEditor(
        store,
        labels=LabelBook.from_mapping(labels),
        origin=Origin.MERGE if merge else Origin.REWRITE,
        student_model=context.student_model,
        op_prefix=op_prefix,
        step=step,
        duplicate_threshold=context.duplicate_threshold,
        max_words=editor_word_limit(context),
    )
