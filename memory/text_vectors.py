"""Embeddings of texts at hand: the recent ones kept, the ones on their way shared by all who wait.

A library embeds the same texts more than once in a short while: a question embedded ahead of its
search (`prefetch`), a duplicate check and the add right after it, several items asking the same
question. `TextVectors` keeps the embeddings of recent texts and lets every caller of a text being
embedded wait for that one embedding instead of starting another.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import partial

from langchain_core.embeddings import Embeddings

RECENT_EMBEDDINGS = 1024
"""Texts whose embeddings are kept at hand."""


class TextVectors:
    """The embeddings of texts, through ``embeddings``, with the recent ones kept at hand.

    An embedding on its way belongs to the event loop that started it; a caller on another loop starts
    its own.
    """

    def __init__(self, embeddings: Embeddings, *, keep: int = RECENT_EMBEDDINGS) -> None:
        self.embeddings = embeddings
        self._keep = keep
        self._recent: OrderedDict[str, list[float]] = OrderedDict()
        self._on_their_way: dict[str, asyncio.Future[list[float]]] = {}

    def at_hand(self, text: str) -> bool:
        """Whether ``text`` is embedded already, or on its way."""
        return text in self._recent or text in self._on_their_way

    def prefetch(self, texts: Iterable[str]) -> None:
        """Start embedding ``texts`` now, those not at hand already (on the running event loop)."""
        for text in texts:
            if text not in self._recent:
                self._embedding_of(text)

    async def query(self, text: str) -> list[float]:
        """The embedding of ``text`` as a query: kept, on its way, or made now."""
        if (cached := self._recent.get(text)) is not None:
            self._recent.move_to_end(text)
            return cached
        # Shielded: a cancelled search must not cancel an embedding that others may be waiting for.
        return await asyncio.shield(self._embedding_of(text))

    async def documents(self, texts: Sequence[str]) -> list[list[float]]:
        """The embeddings of ``texts``, in order: those at hand are not embedded again, the rest together."""
        kept = {t: self._recent[t] for t in texts if t in self._recent}
        ahead = {t: self._embedding_of(t) for t in texts if t not in kept and t in self._on_their_way}
        rest = list(dict.fromkeys(t for t in texts if t not in kept and t not in ahead))
        if rest:
            kept.update(zip(rest, await self.embeddings.aembed_documents(rest), strict=True))
        for text, pending in ahead.items():
            kept[text] = await asyncio.shield(pending)
        return [kept[t] for t in texts]

    def _embedding_of(self, text: str) -> asyncio.Future[list[float]]:
        """The embedding of ``text`` on its way, started now unless it already is (on this loop)."""
        pending = self._on_their_way.get(text)
        if pending is None or pending.get_loop() is not asyncio.get_running_loop():
            pending = asyncio.ensure_future(self.embeddings.aembed_query(text))
            pending.add_done_callback(partial(self._embedded, text))
            self._on_their_way[text] = pending
        return pending

    def _embedded(self, text: str, future: asyncio.Future[list[float]]) -> None:
        if self._on_their_way.get(text) is future:
            del self._on_their_way[text]
        # A failure reaches whoever awaits the future; with nobody waiting (a prefetch), it is dropped
        # here, and a search for the text embeds it again.
        if future.cancelled() or future.exception() is not None:
            return
        self._recent[text] = future.result()
        if len(self._recent) > self._keep:
            self._recent.popitem(last=False)
