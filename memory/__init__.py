"""The experience memory: a library of short learned experiences, on SQLite and Chroma.

Public API:

- Data: `Experience`, `Status`, `Origin`, `Provenance`, `UsageStats`, `ScoredExperience`,
  `JournalEntry`, `OperationRecord`, `Refusal`, `RefusalReason`, `InsertResult`; `utility` and
  `evidence` (the documented usefulness score).
- The store: `ExperienceStore` (open/aopen, add, add_many, insert, get, update, delete, merge, search,
  neighbours, list, count, record_usage, history, refusals, rollback, version/current_version; every
  change journaled and idempotent per operation id).
- Screening: `screen_text` (what the library refuses to store, with reason codes), `item_fragments`
  (the parts of an item an experience learned from it must not copy), `MAX_TEXT_CHARS`.
- Embeddings: `get_embeddings`, `MiniLMEmbeddings` (default, offline), `HashEmbeddings` (model-free),
  `openai_embeddings`, `embedding_model_name`.
- Retrieval: `retrieve`, `rank`, `pack`, `estimate_tokens`.
- Model-facing edits: `LabelBook`; the requests a model makes, one per memory tool (`ToolRequest`:
  `SearchQuery` and the operations `AddOp`, `UpdateOp`, `DeleteOp`, `MergeOp`, `VoteOp`), with
  `Operation`, `LibraryOperations` (JSON mode), `OPERATION_TYPES`, `REQUEST_TYPES`, the tool names
  (`TOOL_NAMES`, `SEARCH_TOOL`, `ADD_TOOL`, `UPDATE_TOOL`, `DELETE_TOOL`, `MERGE_TOOL`, `VOTE_TOOL`),
  `request_type`, `parse_request`, `parse_operation`, `argument_fields` and `operation_examples`
  (their JSON form for prompts); `LibraryEditor`, which carries them out; `create_memory_tools`
  (LangChain tools) and `tool_schemas` (their schemas, for ``bind_tools``), generated from them.
- Compression: `plan_compression`, `apply_plan`, `CompressionPlan`, `CompressionResult`.
- Transfer: `export_json`, `export_markdown`, `export_library`, `import_file`, `read_import_file`,
  `LibraryExport`, `ImportResult`.
- Errors: `LibraryError` and its subclasses `LibraryNotFound`, `EmbeddingMismatch`,
  `ExperienceNotFound`, `InactiveExperience`, `VersionConflict`, `ImportFormatError`, `TextRefused`,
  `ToolInputError`, `UnknownLabel`.

Importing this package loads neither Chroma nor torch; they load when a library or the MiniLM model
is first used.
"""

from ted.memory.compression import CompressionPlan, CompressionResult, apply_plan, plan_compression
from ted.memory.editor import LibraryEditor
from ted.memory.embeddings import (
    HashEmbeddings,
    MiniLMEmbeddings,
    embedding_model_name,
    get_embeddings,
    openai_embeddings,
)
from ted.memory.errors import (
    EmbeddingMismatch,
    ExperienceNotFound,
    ImportFormatError,
    InactiveExperience,
    LibraryError,
    LibraryNotFound,
    TextRefused,
    ToolInputError,
    UnknownLabel,
    VersionConflict,
)
from ted.memory.labels import LabelBook
from ted.memory.models import (
    Experience,
    InsertResult,
    JournalEntry,
    OperationRecord,
    Origin,
    Provenance,
    Refusal,
    RefusalReason,
    ScoredExperience,
    Status,
    UsageStats,
)
from ted.memory.operations import (
    ADD_TOOL,
    DELETE_TOOL,
    MERGE_TOOL,
    OPERATION_TYPES,
    REQUEST_TYPES,
    SEARCH_TOOL,
    TOOL_NAMES,
    UPDATE_TOOL,
    VOTE_TOOL,
    AddOp,
    DeleteOp,
    LibraryOperations,
    MergeOp,
    Operation,
    SearchQuery,
    ToolRequest,
    UpdateOp,
    VoteOp,
    argument_fields,
    operation_examples,
    parse_operation,
    parse_request,
    request_type,
)
from ted.memory.retrieval import estimate_tokens, pack, rank, retrieve
from ted.memory.screening import MAX_TEXT_CHARS, item_fragments, screen_text
from ted.memory.store import ExperienceStore
from ted.memory.tools import create_memory_tools, tool_schemas
from ted.memory.transfer import (
    ImportResult,
    LibraryExport,
    export_json,
    export_library,
    export_markdown,
    import_file,
    read_import_file,
)
from ted.memory.utility import evidence, utility

__all__ = [
    "ADD_TOOL",
    "DELETE_TOOL",
    "MAX_TEXT_CHARS",
    "MERGE_TOOL",
    "OPERATION_TYPES",
    "REQUEST_TYPES",
    "SEARCH_TOOL",
    "TOOL_NAMES",
    "UPDATE_TOOL",
    "VOTE_TOOL",
    "AddOp",
    "CompressionPlan",
    "CompressionResult",
    "DeleteOp",
    "EmbeddingMismatch",
    "Experience",
    "ExperienceNotFound",
    "ExperienceStore",
    "HashEmbeddings",
    "ImportFormatError",
    "ImportResult",
    "InactiveExperience",
    "InsertResult",
    "JournalEntry",
    "LabelBook",
    "LibraryEditor",
    "LibraryError",
    "LibraryExport",
    "LibraryNotFound",
    "LibraryOperations",
    "MergeOp",
    "MiniLMEmbeddings",
    "Operation",
    "OperationRecord",
    "Origin",
    "Provenance",
    "Refusal",
    "RefusalReason",
    "ScoredExperience",
    "SearchQuery",
    "Status",
    "TextRefused",
    "ToolInputError",
    "ToolRequest",
    "UnknownLabel",
    "UpdateOp",
    "UsageStats",
    "VersionConflict",
    "VoteOp",
    "apply_plan",
    "argument_fields",
    "create_memory_tools",
    "embedding_model_name",
    "estimate_tokens",
    "evidence",
    "export_json",
    "export_library",
    "export_markdown",
    "get_embeddings",
    "import_file",
    "item_fragments",
    "openai_embeddings",
    "operation_examples",
    "pack",
    "parse_operation",
    "parse_request",
    "plan_compression",
    "rank",
    "read_import_file",
    "request_type",
    "retrieve",
    "screen_text",
    "tool_schemas",
    "utility",
]
