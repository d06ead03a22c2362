"""Embeddings for the library by name, all behind LangChain's `Embeddings` interface.

- ``"minilm"`` (default): `MiniLMEmbeddings`, the bundled all-MiniLM-L6-v2, offline on CPU
  (`ted.memory.minilm`).
- ``"hash"`` / ``"hash-<dimensions>"``: `HashEmbeddings`, deterministic and model-free (here).
- ``"openai:<model>"``: any OpenAI-compatible ``/v1/embeddings`` endpoint (`openai_embeddings`).

A library records the name of its embedding model (`embedding_model_name`) and refuses to be opened
with another one, because vectors of different models are not comparable.
"""

from __future__ import annotations

import hashlib
import math
import os
import re

from langchain_core.embeddings import Embeddings

from ted.memory.errors import LibraryError
from ted.memory.minilm import MODEL_NAME as MINILM_NAME
from ted.memory.minilm import MiniLMEmbeddings

DEFAULT_EMBEDDINGS = "minilm"


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


_WORD = re.compile(r"[a-z0-9]+")
# Function words carry no advice; negations are kept because they reverse it.
_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "be",
        "been",
        "was",
        "were",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "you",
        "your",
        "we",
        "our",
        "they",
        "their",
        "i",
        "me",
        "my",
        "if",
        "then",
        "so",
        "than",
        "into",
        "onto",
        "up",
        "out",
        "about",
        "over",
    ]
)
_SUFFIXES = ("ing", "ed", "es", "s", "e")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def features(text: str) -> list[str]:
    """The words a text is embedded from: lower-cased, function words dropped, crude suffix stemming."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP_WORDS]


def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimensions, 1.0 if value >> 63 else -1.0


class HashEmbeddings(Embeddings):
    """Feature-hashed bags of content words (see `features`), L2-normalised.

    Texts that share words get similar vectors (cosine = word overlap), so similarity search,
    duplicate checks and merge clustering behave sensibly without loading a model; paraphrases that
    reuse the same content words score high, rewordings with synonyms do not. The same text gives the
    same vector in every process (blake2b, not Python's salted ``hash``). The name a library records
    is ``hash-<dimensions>``.
    """

    def __init__(self, dimensions: int = 256) -> None:
        if dimensions < 8:
            raise ValueError("HashEmbeddings needs at least 8 dimensions")
        self.dimensions = dimensions

    @property
    def model_name(self) -> str:
        """The name a library records for these embeddings."""
        return f"hash-{self.dimensions}"

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for feature in features(text):
            index, sign = _bucket(feature, self.dimensions)
            vector[index] += sign
        norm = math.sqrt(sum(x * x for x in vector))
        if norm == 0.0:
            # An empty text still needs a valid unit vector for cosine search.
            vector[0], norm = 1.0, 1.0
        return [x / norm for x in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts to store."""
        return [self._embed(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query."""
        return self._embed(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts (cheap enough to run on the event loop)."""
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        """Embed a query (cheap enough to run on the event loop)."""
        return self.embed_query(text)
