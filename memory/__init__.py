"""The experience memory: a library of short learned experiences, on SQLite and Chroma.

Public API, what a host app or a notebook needs:

- `ExperienceStore`: the library itself: open it, search it, change it, read its history and stats.
- `Experience`: the record that the store's reads and changes return.
- `Status`: an experience's life cycle, and the filter of ``experiences()`` and ``count()``.
- `UsageStats`: the usage counts that ``record_usage`` adds: how a host reports that advice helped.
- `get_embeddings`: embeddings by name (``minilm``, ``hash``, ``openai:<model>``) for ``open``.
- `retrieve`: the experiences to put in a prompt: ranked, packed into a token budget, uncontaminated.
- `create_memory_tools`: LangChain tools over a store, for a host agent to curate the library.
- `plan_compression`: what compression would merge, prune and evict, without changing anything.
- `apply_plan`: carry out such a plan, journaled.
- `export_json`: write the library to a versioned JSON file, to move or archive it.
- `import_file`: read such a file (or a JSONL of texts) into a library.
- `repair_library`: restore a damaged journal from the last good backup and rebuild the index.
- `WriterLock`: the claim of the library's one writer (a run, a curation command), held until released.
- `LibraryError`: the base of every error the library raises on purpose.

Everything else is internal to the project and imported from the module that defines it (for
example `ted.memory.operations` for the requests a model makes, `ted.memory.editor` for the editor
that carries them out). Module names carry no leading underscore: the project's own packages (graph,
runs, cli, sim) import from them, and ``ted.memory.heap`` is named in SECURITY.md; what is public is
this list, and names private to a module start with ``_``.

The modules:

- ``store``: `ExperienceStore`, one class over the modules below.
- ``library``: opening a library folder: manifest, embedding check, database, index.
- ``database``: the SQLite file: experiences, vectors, journal, refusals; one transaction per change.
- ``changes``: the rules each change follows inside its transaction.
- ``index``: the Chroma index of the active experiences and the neighbour lists kept with it.
- ``lock``: the writer lock, a file lock that dies with its process.
- ``heap``: the guard that keeps freed process memory out of the embedded index's files.
- ``models``: the data (experiences, journal entries, refusals, statistics) and the utility score.
- ``screening``: what the library refuses to store, and why.
- ``embeddings``: embeddings by name, and the model-free `HashEmbeddings`.
- ``minilm``: the default embeddings, the bundled all-MiniLM-L6-v2.
- ``retrieval``: ranking and packing experiences into a prompt.
- ``operations``: the requests a model makes, one per memory tool.
- ``editor``: carries out a model's requests, naming experiences by short labels.
- ``tools``: the LangChain tools and their schemas, generated from the requests.
- ``compression``: planning and applying a compression.
- ``transfer``: export (JSON, Markdown) and import.
- ``backups``: copies of the journal, and SQLite's checks of journal files.
- ``repair``: restoring a damaged journal from a backup.
- ``errors``: the errors, each message saying what to do.

Names load on first use, as in LangChain's own packages: importing one module (the simulator imports
the tool names of ``ted.memory.operations``) then costs neither the store nor LangChain's tools, and
importing this package loads neither Chroma nor torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ted.memory.compression import apply_plan, plan_compression
    from ted.memory.embeddings import get_embeddings
    from ted.memory.errors import LibraryError
    from ted.memory.lock import WriterLock
    from ted.memory.models import Experience, Status, UsageStats
    from ted.memory.repair import repair_library
    from ted.memory.retrieval import retrieve
    from ted.memory.store import ExperienceStore
    from ted.memory.tools import create_memory_tools
    from ted.memory.transfer import export_json, import_file

_MODULES = {
    "ExperienceStore": "store",
    "Experience": "models",
    "Status": "models",
    "UsageStats": "models",
    "get_embeddings": "embeddings",
    "retrieve": "retrieval",
    "create_memory_tools": "tools",
    "plan_compression": "compression",
    "apply_plan": "compression",
    "export_json": "transfer",
    "import_file": "transfer",
    "repair_library": "repair",
    "LibraryError": "errors",
    "WriterLock": "lock",
}

__all__ = [
    "Experience",
    "ExperienceStore",
    "LibraryError",
    "Status",
    "UsageStats",
    "WriterLock",
    "apply_plan",
    "create_memory_tools",
    "export_json",
    "get_embeddings",
    "import_file",
    "plan_compression",
    "repair_library",
    "retrieve",
]


if not TYPE_CHECKING:
    # Out of the type checker's sight, so that it still rejects a name this package does not export.

    def __getattr__(name: str) -> object:
        if name not in _MODULES:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
