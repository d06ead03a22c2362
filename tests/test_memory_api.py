"""The public surface of ted.memory: a dozen names or so, loaded on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import ted.memory

PUBLIC = {
    "ExperienceStore",
    "Experience",
    "Status",
    "UsageStats",
    "get_embeddings",
    "retrieve",
    "create_memory_tools",
    "plan_compression",
    "apply_plan",
    "export_json",
    "import_file",
    "repair_library",
    "WriterLock",
    "LibraryError",
}


def test_the_package_exports_the_documented_names() -> None:
    assert set(ted.memory.__all__) == PUBLIC
    for name in PUBLIC:
        assert f"`{name}`" in (ted.memory.__doc__ or ""), f"{name} has no line in the package docstring"
        assert getattr(ted.memory, name).__name__ == name
    assert set(dir(ted.memory)) >= PUBLIC


def test_other_names_come_from_their_own_modules() -> None:
    with pytest.raises(AttributeError, match="LibraryEditor"):
        _ = ted.memory.LibraryEditor
    with pytest.raises(ImportError):
        from ted.memory import LabelBook  # noqa: F401


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_importing_the_package_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import ted.memory")
    assert not loaded & {"chromadb", "torch", "numpy", "langchain_core", "ted.memory.store"}


def test_the_tool_requests_import_without_the_store() -> None:
    # The simulator imports the tool names; that must not cost the store, numpy or LangChain's tools.
    loaded = _loaded_after("from ted.memory.operations import ADD_TOOL")
    assert not loaded & {"chromadb", "torch", "numpy", "langchain_core", "ted.memory.store"}


def test_the_store_and_the_tools_import_without_chroma_or_torch() -> None:
    loaded = _loaded_after("from ted.memory import ExperienceStore, create_memory_tools")
    assert "ted.memory.store" in loaded and not loaded & {"chromadb", "torch"}
