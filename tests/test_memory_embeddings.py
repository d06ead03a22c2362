"""Embeddings: the model-free hash embeddings, names, and an OpenAI-compatible endpoint on loopback."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import free_port

from ted.memory import ExperienceStore, LibraryError, get_embeddings
from ted.memory.embeddings import HashEmbeddings, embedding_model_name, features, openai_embeddings
from ted.memory.minilm import MiniLMEmbeddings


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


class TestHashEmbeddings:
    def test_deterministic_unit_vectors(self) -> None:
        embeddings = HashEmbeddings(64)
        first = embeddings.embed_query("Check the units first.")
        assert first == HashEmbeddings(64).embed_documents(["Check the units first."])[0]
        assert math.isclose(sum(x * x for x in first), 1.0)
        assert len(first) == 64 and embeddings.model_name == "hash-64"
        empty = embeddings.embed_query("")
        assert math.isclose(sum(x * x for x in empty), 1.0)

    def test_shared_content_words_mean_similarity(self) -> None:
        embeddings = HashEmbeddings()
        a, b, c = embeddings.embed_documents(
            [
                "Check the units before comparing options.",
                "Always check units before you compare options.",
                "Count polygon sides.",
            ]
        )
        assert cosine(a, b) > 0.8 and abs(cosine(a, c)) < 0.3

    def test_features(self) -> None:
        assert features("The units are NOT comparing") == ["unit", "not", "compar"]

    def test_too_few_dimensions(self) -> None:
        with pytest.raises(ValueError, match="at least 8"):
            HashEmbeddings(4)


def test_names() -> None:
    assert isinstance(get_embeddings(), MiniLMEmbeddings)  # not loaded until used
    assert isinstance(get_embeddings("all-MiniLM-L6-v2"), MiniLMEmbeddings)
    assert embedding_model_name(get_embeddings("minilm")) == "all-MiniLM-L6-v2"
    assert embedding_model_name(get_embeddings("hash")) == "hash-256"
    assert embedding_model_name(get_embeddings("hash-32")) == "hash-32"
    assert embedding_model_name(
        openai_embeddings("text-embedding-3-small", base_url="http://127.0.0.1:1/v1")
    ) == ("openai:text-embedding-3-small")
    with pytest.raises(LibraryError, match="unknown embeddings 'word2vec'"):
        get_embeddings("word2vec")


class _EmbeddingsHandler(BaseHTTPRequestHandler):
    """/v1/embeddings answering with hash vectors, as an OpenAI-compatible server would."""

    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = HashEmbeddings(16).embed_documents(texts)
        payload = {
            "object": "list",
            "model": body["model"],
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def embeddings_server() -> Iterator[str]:
    _EmbeddingsHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _EmbeddingsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.mark.server
async def test_openai_compatible_endpoint(
    tmp_path: Path, embeddings_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    embeddings = openai_embeddings("stub-embed", base_url=embeddings_server, api_key="sk-local")
    with ExperienceStore.open(tmp_path / "lib", embeddings=embeddings) as store:
        assert store.embedding_model == "openai:stub-embed"
        added = await store.add("Check the units before comparing options.")
        await store.add("Count polygon sides.")
        hits = await store.search("units before comparing", k=1)
        assert [h.experience.id for h in hits] == [added.id]
    request = _EmbeddingsHandler.requests[0]
    assert request["path"] == "/v1/embeddings" and request["auth"] == "Bearer sk-local"
    assert request["body"]["model"] == "stub-embed"
    # Reopened by name, the endpoint comes from the environment.
    monkeypatch.setenv("TED_EMBEDDINGS_BASE_URL", embeddings_server)
    with ExperienceStore.open(tmp_path / "lib", create=False) as again:
        assert [h.experience.id for h in await again.search("units", k=1)] == [added.id]
