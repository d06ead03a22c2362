"""all-MiniLM-L6-v2 as one TorchScript call: transformer, mean pooling and normalisation.

sentence-transformers runs the model's forward pass as a few hundred small Python-level operations.
Each of them takes the interpreter lock back, so while the event loop of a running graph is busy, a
query that takes about 12 ms alone took 40 times as long. The traced module runs the same
computation in one call that holds the lock only on entry and exit; the vectors are the same (within
1e-7, checked by the tests).
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import numpy as np


class TracedEncoder:
    """Encodes texts with the transformer of a loaded SentenceTransformer, traced once.

    Args:
        model: The SentenceTransformer of all-MiniLM-L6-v2: Transformer, mean Pooling, Normalize.
        batch_size: Texts per forward pass; texts are sorted by length so padding stays small.
    """

    def __init__(self, model: Any, *, batch_size: int = 64) -> None:
        import torch

        names = [type(module).__name__ for module in model]
        if names != ["Transformer", "Pooling", "Normalize"] or model[1].pooling_mode != "mean":
            raise ValueError(f"expected Transformer, mean Pooling, Normalize; the model has {names}")
        self._torch = torch
        self._tokenizer = model.tokenizer
        self._max_length = int(model.max_seq_length)
        self._batch_size = batch_size
        self._dimensions = int(model[1].embedding_dimension)
        self._module = self._trace(torch, model[0].auto_model.eval())

    def _trace(self, torch: Any, transformer: Any) -> Any:
        class MeanPooled(torch.nn.Module):  # type: ignore[misc]
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, ids: Any, mask: Any, types: Any) -> Any:
                tokens = self.inner(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]
                weights = mask.unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, dim=1)

        transformers_logging: Any = importlib.import_module("transformers.utils.logging")
        example = self._tokenize(["a sentence to trace the model with", "and a second, longer one to pad"])
        verbosity = transformers_logging.get_verbosity()
        transformers_logging.set_verbosity_error()
        try:
            with warnings.catch_warnings(), torch.inference_mode():
                # Tracing warns about Python values it records as constants; none depends on the input
                # here (the attention mask is always given), which the tests check on varied lengths.
                warnings.simplefilter("ignore")
                return torch.jit.trace(
                    MeanPooled(transformer).eval(), example, check_trace=False, strict=False
                )
        finally:
            transformers_logging.set_verbosity(verbosity)

    def _tokenize(self, texts: list[str]) -> tuple[Any, Any, Any]:
        batch = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self._max_length, return_tensors="pt"
        )
        return batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in the order given."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        rows = np.empty((len(texts), self._dimensions), dtype=np.float32)
        with self._torch.inference_mode():
            for start in range(0, len(order), self._batch_size):
                chunk = order[start : start + self._batch_size]
                vectors = self._module(*self._tokenize([texts[i] for i in chunk]))
                rows[chunk] = vectors.numpy()
        return rows
