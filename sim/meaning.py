"""Reading advice by meaning: which family's skill, or which misconception, a piece of text states.

Families of the skills catalogue (`ted.tasks.synth.catalogue`) carry two reference texts: the skill
and a misconception. A text is read as the reference its sentence embedding is closest to (cosine),
when that similarity reaches ``threshold``; below it, the text states nothing the world knows (generic
or item-specific advice). Teachers word their advice differently from the references, so the reading
does not depend on shared keywords. Classic families (keywords, no misconception) are read by their
keywords, as before.

Embeddings come from the bundled MiniLM (the ``local`` extra), loaded on the first reading that needs
them, and are cached per text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ted.sim.errors import WorldError
from ted.tasks.synth.family import Family

Stance = Literal["skill", "wrong"]

READ_THRESHOLD = 0.55
"""Least cosine similarity to a reference for a text to be read as stating it.

Measured with MiniLM on the catalogue: the teachers' wordings sit at 0.59 to 0.95 of their own
reference (median 0.82), each nearest its own reference; generic advice stays below 0.4, and advice
that only restates one puzzle's answer below 0.52.
"""
CACHE_SIZE = 20_000


@dataclass(frozen=True)
class Reading:
    """What a text states: a family and whether it is its skill or its misconception, or nothing."""

    family: str | None = None
    stance: Stance | None = None
    similarity: float = 0.0


NOTHING = Reading()


class Reader:
    """Reads texts against the references of some families.

    Args:
        families: The families of the world.
        threshold: See `READ_THRESHOLD`.
        embed: Texts -> unit vectors; default the bundled MiniLM.
    """

    def __init__(
        self, families: Iterable[Family], *, threshold: float = READ_THRESHOLD, embed: Any = None
    ) -> None:
        self._keyword = [f for f in families if f.keywords]
        self._meaning = [f for f in families if not f.keywords]
        self._threshold = threshold
        self._embed = embed
        self._cache: OrderedDict[str, Any] = OrderedDict()  # text -> unit vector (numpy)
        self._lock = threading.Lock()
        self._references: list[tuple[str, Stance]] = []
        for family in self._meaning:
            self._references.append((family.name, "skill"))
            if family.misconception:
                self._references.append((family.name, "wrong"))
        self._matrix: Any = None

    @property
    def by_meaning(self) -> bool:
        """Whether any family is read by meaning (then embeddings are needed)."""
        return bool(self._meaning)

    def _vectors(self, texts: Sequence[str]) -> Any:
        import numpy as np

        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            if self._embed is None:
                try:
                    from ted.memory.minilm import MiniLMEmbeddings
                except ImportError as exc:  # pragma: no cover - depends on the install
                    raise WorldError(
                        "the skills world reads advice with the bundled MiniLM embeddings; install the "
                        "`local` extra"
                    ) from exc
                self._embed = MiniLMEmbeddings().embed_documents
            computed = np.asarray(self._embed(missing), dtype=np.float32)
            with self._lock:
                for text, vector in zip(missing, computed, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        with self._lock:
            found = [self._cache.get(t) for t in texts]
        vectors: list[Any] = [v for v in found if v is not None]
        if len(vectors) < len(found):  # evicted meanwhile: embed those again
            return self._vectors(texts)
        return np.stack(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)

    def _reference_matrix(self) -> Any:
        if self._matrix is None:
            by_name = {f.name: f for f in self._meaning}
            texts = [
                by_name[name].skill if stance == "skill" else str(by_name[name].misconception)
                for name, stance in self._references
            ]
            self._matrix = self._vectors(texts)
        return self._matrix

    def read_many(self, texts: Sequence[str]) -> list[Reading]:
        """The reading of each text (one embedding batch for those not seen before)."""
        readings = [NOTHING] * len(texts)
        pending = []
        for n, text in enumerate(texts):
            keyword = next((f.name for f in self._keyword if f.carries_skill(text)), None)
            if keyword is not None:
                readings[n] = Reading(keyword, "skill", 1.0)
            elif self._meaning:
                pending.append(n)
        if pending:
            similarities = self._vectors([texts[n] for n in pending]) @ self._reference_matrix().T
            for n, row in zip(pending, similarities, strict=True):
                best = int(row.argmax())
                if row[best] >= self._threshold:
                    name, stance = self._references[best]
                    readings[n] = Reading(name, stance, float(row[best]))
        return readings

    def read(self, text: str) -> Reading:
        """The reading of one text."""
        return self.read_many([text])[0]

    def topic(self, text: str) -> str | None:
        """The family whose skill ``text`` (a question, a card) is closest to, if any is read by meaning."""
        if not self._meaning:
            return None
        skills = [n for n, (_, stance) in enumerate(self._references) if stance == "skill"]
        row = (self._vectors([text]) @ self._reference_matrix()[skills].T)[0]
        return self._references[skills[int(row.argmax())]][0]
