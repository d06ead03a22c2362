"""Compress: the per-item graph's compression, when an item leaves the library over its cap.

Only standalone item runs take this step (the dataset loop compresses between items instead); the
procedure itself is `ted.graph.compression.compress_library`.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from ted.graph.compression import compress_library
from ted.graph.context import Context
from ted.graph.state import ItemState


async def compress_over_cap(state: ItemState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Compress the library after an item that left it over its cap."""
    prefix = state.get("op_prefix", f"item/{state['item']['id']}/")
    _, usage, errors = await compress_library(runtime.context, op_prefix=f"{prefix}compress/", step="item")
    return {"usage": usage, "errors": errors}
