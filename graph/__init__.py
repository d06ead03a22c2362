"""The TED graphs and their configuration.

- `Context`: every run-time setting, with descriptions (LangGraph's ``context_schema``).
- `ServedContext`: the context of a run over the LangGraph API; it refuses changes to deployment
  settings (endpoints, keys, library location ...), see SECURITY.md.
- `build_item_graph()`: the per-item state machine ``retrieve -> {student x N, teacher} -> reflect ->
  record -> [compress]``.
- `build_distill_graph()` / `compile_distill_graph(checkpointer=..., store=...)`: the dataset loop
  (a window of items in flight, compression when due, resumable with a checkpointer).
- `build_solve_graph()` / `compile_solve_graph(...)`: ``retrieve -> student`` for inference.
- `compress_library(context, ...)`: one compression of a library, outside any graph.

The compiled graphs that `langgraph.json` serves are ``ted.graph.distill:graph`` and
``ted.graph.solve:graph``; they carry no checkpointer or store (the server provides them), and check
each run's context as a `ServedContext`. The builders default to `Context`, for host apps and the CLI.
"""

from ted.graph.compression import compress_library
from ted.graph.context import Context, ServedContext
from ted.graph.distill import build_distill_graph, compile_distill_graph
from ted.graph.errors import ConfigurationError, ModelCallError, TedGraphError
from ted.graph.item_graph import build_item_graph
from ted.graph.library import close_libraries, open_library
from ted.graph.solve import build_solve_graph, compile_solve_graph

__all__ = [
    "ConfigurationError",
    "Context",
    "ModelCallError",
    "ServedContext",
    "TedGraphError",
    "build_distill_graph",
    "build_item_graph",
    "build_solve_graph",
    "close_libraries",
    "compile_distill_graph",
    "compile_solve_graph",
    "compress_library",
    "open_library",
]
