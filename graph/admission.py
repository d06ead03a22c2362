"""Items at the graph boundary: validated once, bounded in size, their images where they may be read.

Items come from datasets and, when a graph is served, from whoever can reach the API. Before any model
sees an item, `admit_item` checks it against the context's limits (text lengths, number of images,
bytes and pixels of each image, read from the header before anything is decoded) and the rule for
image paths (`Context.image_folders`): a run over the API may send images as data URLs, or as paths
inside the folders the deployment names; a Python caller with no ``image_roots`` may name any file.
Each violation is one `ItemRejected` that says what to change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ted.graph.context import Context
from ted.graph.errors import TedGraphError
from ted.tasks import ImageError, Item, probe_image
from ted.tasks.images import is_data_url
from ted.tasks.paths import resolve_inside

# Identifiers and labels are short; the longer texts are bounded by the context's max_text_chars.
MAX_LABEL_CHARS = 256
MAX_OPTIONS = 26


class ItemRejected(TedGraphError, ValueError):
    """An item is malformed, too large, or names an image it may not."""


def admit_item(raw: object, context: Context, *, require_answer: bool = True) -> Item:
    """Validate an item from graph input against the context's limits and image rules.

    Reads image headers (files and data URLs), so call it from a worker thread in async code.

    Args:
        raw: The item, a dict in the shape of `ted.tasks.Item` (or an `Item`).
        context: The run's settings, with the limits and the folders images may come from.
        require_answer: False when only solving: the answer may then be left out.

    Raises:
        ItemRejected: What is wrong with the item, in one sentence.
    """
    if isinstance(raw, Item):
        raw = raw.model_dump(mode="json")
    if not isinstance(raw, dict):
        raise ItemRejected(f"an item must be an object with at least a question, not {type(raw).__name__}")
    _check_sizes(raw, context)
    if not require_answer:
        raw = {"answer": "", **raw}
    try:
        item = Item.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in exc.errors()
        )
        raise ItemRejected(f"the item is not valid: {problems}") from exc
    for number, source in enumerate(item.images, start=1):
        located = image_source(source, context, number=number)
        try:
            probe_image(located, max_pixels=context.max_image_pixels, max_bytes=context.max_image_bytes)
        except ImageError as exc:
            raise ItemRejected(f"image {number} of item {item.id!r}: {exc}") from exc
    return item


def image_source(source: str, context: Context, *, number: int = 1) -> str | Path:
    """Where image ``number`` of an item may be read: its data URL, or a file inside the allowed folders.

    Raises:
        ItemRejected: The path is not inside a folder the context allows.
    """
    if is_data_url(source):
        return source
    folders = context.image_folders()
    if folders is None:
        return Path(source)
    if not folders:
        raise ItemRejected(
            f"image {number} is a file path, and this server reads no image files: send images as "
            "data URLs (data:image/png;base64,...), or have the deployment set TED_IMAGE_ROOTS"
        )
    for folder in folders:
        try:
            return resolve_inside(folder, source)
        except ImageError:
            continue
    shown = source if len(source) <= 200 else source[:200] + "..."
    raise ItemRejected(
        f"image {number} ({shown!r}) is not a file inside the folders this server reads images from"
    )


def _check_sizes(raw: dict[str, Any], context: Context) -> None:
    limit = context.max_text_chars
    for name in ("id", "category", "level"):
        value = raw.get(name)
        if isinstance(value, str) and len(value) > MAX_LABEL_CHARS:
            raise ItemRejected(
                f"the item's {name} has {len(value):,} characters, more than {MAX_LABEL_CHARS}"
            )
    for name in ("question", "answer"):
        value = raw.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise ItemRejected(
                f"the item's {name} has {len(value):,} characters, more than the limit of {limit:,}"
            )
    options = raw.get("options")
    if isinstance(options, list):
        if len(options) > MAX_OPTIONS:
            raise ItemRejected(f"the item has {len(options)} options, more than {MAX_OPTIONS} (A to Z)")
        for number, option in enumerate(options, start=1):
            if isinstance(option, str) and len(option) > limit:
                raise ItemRejected(
                    f"option {number} has {len(option):,} characters, more than the limit of {limit:,}"
                )
    images = raw.get("images")
    if isinstance(images, list) and len(images) > context.max_images:
        raise ItemRejected(f"the item has {len(images)} images, more than the limit of {context.max_images}")
    metadata = raw.get("metadata")
    if metadata is not None and len(json.dumps(metadata, default=str)) > limit:
        raise ItemRejected(f"the item's metadata is longer than the limit of {limit:,} characters")
