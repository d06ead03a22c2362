"""The item a graph works on: validated once where it enters, then read back without validating again.

An item enters a graph as untrusted input and is checked by `ted.graph.admission.admit_item` (in the
retrieve nodes, and for a whole dataset in the loop's ``start``). The state then carries the admitted
item's JSON dump, which later nodes turn back into an `Item` here, trusting that it was validated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ted.tasks import Item


def admitted(item: Mapping[str, Any]) -> Item:
    """The `Item` behind an admitted item's dump in graph state, rebuilt without validation."""
    return Item.model_construct(**item)
