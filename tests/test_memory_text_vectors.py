"""TextVectors: recent embeddings kept, embeddings on their way shared, the rest made together."""

from __future__ import annotations

import asyncio

from ted.memory.embeddings import HashEmbeddings
from ted.memory.text_vectors import TextVectors


class Counting(HashEmbeddings):
    def __init__(self) -> None:
        super().__init__(64)
        self.queries: list[str] = []
        self.documents: list[list[str]] = []

    async def aembed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        await asyncio.sleep(0.01)
        return self.embed_query(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents.append(list(texts))
        return self.embed_documents(texts)


async def test_documents_reuse_what_is_at_hand_and_embed_the_rest_together() -> None:
    embeddings = Counting()
    vectors = TextVectors(embeddings)
    await vectors.query("kept")
    vectors.prefetch(["on its way"])
    assert vectors.at_hand("kept") and vectors.at_hand("on its way") and not vectors.at_hand("new")

    texts = ["new", "kept", "on its way", "other", "new"]
    got = await vectors.documents(texts)

    assert got == [embeddings.embed_query(t) for t in texts]
    assert embeddings.documents == [["new", "other"]]  # once each, in one call
    assert embeddings.queries == ["kept", "on its way"]


async def test_only_the_most_recent_texts_are_kept() -> None:
    embeddings = Counting()
    vectors = TextVectors(embeddings, keep=2)
    for text in ("a", "b", "c"):
        await vectors.query(text)
    await vectors.query("a")
    assert embeddings.queries == ["a", "b", "c", "a"]  # "a" was the oldest of three: dropped
    assert not vectors.at_hand("b") and vectors.at_hand("c")
