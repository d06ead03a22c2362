"""Embeddings for the library, all behind LangChain's `Embeddings` interface.

- ``"minilm"`` (default): `MiniLMEmbeddings`, the bundled all-MiniLM-L6-v2, offline on CPU.
- ``"hash"`` / ``"hash-<dimensions>"``: `HashEmbeddings`, deterministic and model-free.
- ``"openai:<model>"``: any OpenAI-compatible ``/v1/embeddings`` endpoint (`openai_embeddings`).

A library records the name of its embedding model (`embedding_model_name`) and refuses to be opened
with another one, because vectors of different models are not comparable.
"""

from __future__ import annotations

import os

from langchain_core.embeddings import Embeddings

from ted.memory.errors import LibraryError
from ted.memory.hash_embeddings import HashEmbeddings
from ted.memory.minilm import MODEL_NAME as MINILM_NAME
from ted.memory.minilm import MiniLMEmbeddings

DEFAULT_EMBEDDINGS = "minilm"

__all__ = [
    "DEFAULT_EMBEDDINGS",
    "HashEmbeddings",
    "MiniLMEmbeddings",
    "embedding_model_name",
    "get_embeddings",
    "openai_embeddings",
]


def openai_embeddings(model: str, base_url: str | None = None, api_key: str | None = None) -> Embeddings:
    """Embeddings from an OpenAI-compatible endpoint.

    Texts are sent as they are (no tiktoken pre-splitting, which would download an encoding and which
    non-OpenAI servers do not need). The key defaults to ``TED_EMBEDDINGS_API_KEY`` or
    ``OPENAI_API_KEY``; local servers accept any non-empty key.
    """
    from langchain_openai import OpenAIEmbeddings
    from pydantic import SecretStr

    key = api_key or os.environ.get("TED_EMBEDDINGS_API_KEY") or os.environ.get("OPENAI_API_KEY") or "unused"
    return OpenAIEmbeddings(
        model=model,
        openai_api_base=base_url or os.environ.get("TED_EMBEDDINGS_BASE_URL"),
        openai_api_key=SecretStr(key),
        check_embedding_ctx_length=False,
    )


def get_embeddings(name: str = DEFAULT_EMBEDDINGS, *, base_url: str | None = None) -> Embeddings:
    """Build embeddings from a name: ``minilm``, ``hash``, ``hash-<dimensions>`` or ``openai:<model>``.

    For ``openai:<model>`` the endpoint is ``base_url`` or ``TED_EMBEDDINGS_BASE_URL``.

    Raises:
        LibraryError: the name is not one of the above.
    """
    if name in (DEFAULT_EMBEDDINGS, MINILM_NAME):
        return MiniLMEmbeddings()
    if name == "hash":
        return HashEmbeddings()
    if name.startswith("hash-") and name[5:].isdigit():
        return HashEmbeddings(int(name[5:]))
    if name.startswith("openai:") and len(name) > 7:
        return openai_embeddings(name[7:], base_url=base_url)
    raise LibraryError(
        f"unknown embeddings {name!r}; use 'minilm', 'hash', 'hash-<dimensions>' or 'openai:<model>'"
    )


def embedding_model_name(embeddings: Embeddings) -> str:
    """The name a library records for ``embeddings`` (``openai:<model>`` for OpenAI embeddings)."""
    name = getattr(embeddings, "model_name", None)
    if isinstance(name, str) and name:
        return name
    model = getattr(embeddings, "model", None)
    if type(embeddings).__name__ == "OpenAIEmbeddings" and isinstance(model, str):
        return f"openai:{model}"
    if isinstance(model, str) and model:
        return model
    return type(embeddings).__name__
