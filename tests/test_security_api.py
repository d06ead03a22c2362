"""The attacker's view: a real `langgraph dev` serving the project's langgraph.json, driven through the SDK.

The deployment sets an API token, a library root, one image root (the synthetic dataset) and a secret in
its environment. A loopback listener stands for the attacker's own server: it must never receive a
request, let alone a credential.
"""

from __future__ import annotations

import base64
import os
import shutil
import struct
import threading
import urllib.error
import urllib.request
import zlib
from collections.abc import AsyncIterator, Awaitable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from servers import LangGraphDev

from ted.sim import SimConfig, SimServer, World
from ted.tasks.synth import generate

pytestmark = [pytest.mark.slow, pytest.mark.server]

TOKEN = "ted-test-api-token-5d1c"
SECRET = "server-secret-value-9f4e2b"


class _Trap(ThreadingHTTPServer):
    """A loopback HTTP server that records every request it gets."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        trap = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                trap.seen.append(
                    {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
                )
                self.send_response(500)
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


def _bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of ``width`` x ``height`` white pixels, compressed row by row (small on disk)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _process_tree(pid: int) -> list[int]:
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        for child in Path("/proc").glob(f"{parent}/task/*/children"):
            children = [int(c) for c in child.read_text().split()]
            found.extend(children)
            frontier.extend(children)
    return found


def _peak_rss_mb(pid: int) -> float:
    """The largest peak resident size (VmHWM) among the server's processes, in MB."""
    peaks = []
    for process in _process_tree(pid):
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("deployment")
    items = generate(work / "data", n=6, seed=5)
    trap = _Trap()
    threading.Thread(target=trap.serve_forever, daemon=True).start()
    with SimServer(World.from_items(items), config=SimConfig(seed=2)) as sim:
        server = LangGraphDev(
            work / "server",
            {
                **os.environ,
                "TED_STUDENT_MODEL": "sim-student",
                "TED_TEACHER_MODEL": "sim-teacher",
                "TED_STUDENT_BASE_URL": sim.base_url,
                "TED_TEACHER_BASE_URL": sim.base_url,
                "TED_LIBRARY_ROOT": str(work / "libraries"),
                "TED_LIBRARY": "main",
                "TED_IMAGE_ROOTS": str(work / "data"),
                "TED_EMBEDDINGS": "hash",
                "TED_ROLLOUTS": "2",
                "TED_API_TOKEN": TOKEN,
                "TED_TEST_SERVER_SECRET": SECRET,
            },
        )
        try:
            url = server.start()
            yield {"url": url, "items": items, "work": work, "trap": trap, "sim": sim, "server": server}
        finally:
            server.stop()
            trap.shutdown()
            trap.server_close()


@pytest.fixture
async def client(deployment: dict[str, Any]) -> AsyncIterator[Any]:
    """An SDK client with the deployment's token, closed (its connections too) after the test."""
    from langgraph_sdk import get_client

    async with get_client(url=deployment["url"], headers={"Authorization": f"Bearer {TOKEN}"}) as sdk:
        yield sdk


def _item(deployment: dict[str, Any], n: int = 0, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = deployment["items"][n].model_dump(mode="json")
    item.update(changes)
    return item


async def _refused(run: Awaitable[Any]) -> str:
    """The error message of a run that must fail (the SDK raises it as an exception)."""
    try:
        output = await run
    except Exception as exc:
        return str(exc)
    raise AssertionError(f"the run should have failed: {output}")


async def test_a_run_cannot_send_a_server_secret_to_its_own_endpoint(
    deployment: dict[str, Any], client: Any
) -> None:
    trap = deployment["trap"]
    item = _item(deployment)
    hijack = {"student_base_url": trap.url, "student_api_key_env": "TED_TEST_SERVER_SECRET"}
    refused = "student_base_url is a deployment setting"

    # Through the run's context, through config.configurable, and through an assistant's context.
    assert refused in await _refused(client.runs.wait(None, "solve", input={"item": item}, context=hijack))
    assert refused in await _refused(
        client.runs.wait(None, "solve", input={"item": item}, config={"configurable": hijack})
    )
    assistant = await client.assistants.create(graph_id="solve", context=hijack)
    assert refused in await _refused(client.runs.wait(None, assistant["assistant_id"], input={"item": item}))
    assert refused in await _refused(
        client.runs.wait(None, "distill", input={"items": [item]}, context=hijack)
    )
    # Pointing the real endpoint's key variable at another secret is refused too.
    message = await _refused(
        client.runs.wait(
            None, "solve", input={"item": item}, context={"teacher_api_key_env": "TED_TEST_SERVER_SECRET"}
        )
    )
    assert "teacher_api_key_env is a deployment setting" in message
    assert SECRET not in message

    assert trap.seen == [], "the attacker's listener received requests"


async def test_a_run_may_set_run_settings(deployment: dict[str, Any], client: Any) -> None:
    output = await client.runs.wait(None, "solve", input={"item": _item(deployment)}, context={"k": 2})
    [trajectory] = output["trajectories"]
    assert trajectory["error"] is None and trajectory["answer"]


async def test_libraries_are_named_under_the_root(deployment: dict[str, Any], client: Any) -> None:
    work: Path = deployment["work"]
    outside = work / "outside"
    outside.mkdir()
    (work / "libraries").mkdir(exist_ok=True)
    (work / "libraries" / "escape").symlink_to(outside)
    items = [_item(deployment)]
    for name in (str(work / "evil-library"), "../evil-library", "team/../../evil-library", "escape"):
        message = await _refused(
            client.runs.wait(None, "distill", input={"items": items}, context={"library": name})
        )
        assert "not a library name" in message or "leads out of the library root" in message, message
    assert not (work / "evil-library").exists()
    assert list(outside.iterdir()) == [], "nothing was written through the symlink"

    output = await client.runs.wait(
        None, "distill", input={"items": [_item(deployment, 1)]}, context={"library": "team-a"}
    )
    assert output["results"], output
    assert (work / "libraries" / "team-a" / "library.json").is_file()


async def test_images_come_from_data_urls_or_the_image_roots(deployment: dict[str, Any], client: Any) -> None:
    work: Path = deployment["work"]
    copied = work / "not-a-dataset.png"
    shutil.copy(deployment["items"][0].images[0], copied)
    requests_before = len(deployment["sim"].log)
    for path in ("/etc/hostname", str(copied), "../not-a-dataset.png", "/proc/self/environ"):
        message = await _refused(
            client.runs.wait(None, "solve", input={"item": _item(deployment, images=[path])})
        )
        assert "not a file inside the folders this server reads images from" in message, path
    assert len(deployment["sim"].log) == requests_before, "no refused item reached a model"

    # The positive controls: a path inside the image root, and the same image as a data URL.
    output = await client.runs.wait(None, "solve", input={"item": _item(deployment)})
    assert output["trajectories"][0]["error"] is None
    data = base64.b64encode(copied.read_bytes()).decode()
    item = _item(deployment, images=[f"data:image/png;base64,{data}"])
    output = await client.runs.wait(None, "solve", input={"item": item})
    assert output["trajectories"][0]["error"] is None


async def test_oversized_items_are_refused_with_one_clear_error(
    deployment: dict[str, Any], client: Any
) -> None:
    images = _item(deployment)["images"]
    cases = [
        (_item(deployment, question="x" * 20_001), "question has 20,001 characters"),
        (_item(deployment, images=images * 9), "9 images, more than the limit of 8"),
        (_item(deployment, options=["a"] * 27), "27 options"),
        (_item(deployment, id="i" * 300), "id has 300 characters"),
        (_item(deployment, images=["data:image/png;base64," + "A" * 27_000_000]), "more than the limit"),
    ]
    for item, expected in cases:
        message = await _refused(client.runs.wait(None, "solve", input={"item": item}))
        assert "ItemRejected" in message and expected in message, message


async def test_decompression_bombs_are_refused_without_being_decoded(
    deployment: dict[str, Any], client: Any
) -> None:
    before = _peak_rss_mb(deployment["server"].pid)
    # 30000 x 30000 is past Pillow's own guard; 12000 x 12000 only the deployment's pixel limit stops.
    for side, expected in ((30_000, "900000000 pixels"), (12_000, "12000x12000 = 144,000,000 pixels")):
        png = _bomb_png(side, side)
        assert len(png) < 2_000_000, "the bomb itself is small"
        url = f"data:image/png;base64,{base64.b64encode(png).decode()}"
        item = _item(deployment, images=[url])
        message = await _refused(client.runs.wait(None, "solve", input={"item": item}))
        assert "decompression bomb" in message and expected in message, message
    after = _peak_rss_mb(deployment["server"].pid)
    print(f"server peak memory: {before:.0f} MB before the bombs, {after:.0f} MB after")
    # Decoding either would take 144 MB or 900 MB (one byte per pixel), and more to resize it.
    assert after - before < 100, f"the server's peak memory grew from {before:.0f} MB to {after:.0f} MB"


def _post(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        f"{url}/assistants/search",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_requests_without_the_token_are_refused(deployment: dict[str, Any]) -> None:
    url = deployment["url"]
    assert _post(url, {}) == 401
    assert _post(url, {"Authorization": "Bearer wrong-token"}) == 401
    assert _post(url, {"Authorization": TOKEN}) == 401
    # In `langgraph dev`, Studio's own scheme would otherwise skip custom auth for anyone who sends it.
    assert _post(url, {"x-auth-scheme": "langsmith"}) == 401
    assert _post(url, {"x-auth-scheme": "langsmith", "Authorization": "Bearer wrong-token"}) == 401
    assert _post(url, {"Authorization": f"Bearer {TOKEN}"}) == 200


async def test_the_sdk_without_the_token_gets_nothing(deployment: dict[str, Any]) -> None:
    from langgraph_sdk import get_client

    async with get_client(url=deployment["url"]) as client:
        with pytest.raises(Exception, match="missing API token"):
            await client.runs.wait(None, "solve", input={"item": _item(deployment)})
        with pytest.raises(Exception, match="missing API token") as raised:
            await client.assistants.search()
    assert "missing API token" in str(raised.value)
