"""The simulated OpenAI-compatible HTTP server on loopback, and its request log."""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from openai.types.chat import ChatCompletionChunk
from pydantic import BaseModel, Field

from ted.sim import wire
from ted.sim.config import SimConfig
from ted.sim.errors import SimError
from ted.sim.reading import Kind, Role
from ted.sim.simulator import Simulator
from ted.sim.world import World

logger = logging.getLogger(__name__)

SIMULATED_HEADER = "x-ted-simulated"
CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
LOG_PATH = "/sim/log"
DROPPED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
STOP_GRACE = 5.0
"""Seconds `SimServer.stop` waits for requests still being answered to finish their log line."""


class RequestRecord(BaseModel):
    """What the simulated endpoint did with one request. Times are Unix epoch seconds."""

    start: float = Field(description="When the request arrived.")
    end: float = Field(description="When the response was written (or the connection dropped).")
    path: str = Field(description="The request path, e.g. /v1/chat/completions.")
    model: str | None = Field(default=None, description="The model name the request asked for.")
    role: Role | None = Field(default=None, description="student or teacher, from the model name.")
    kind: Kind | None = Field(default=None, description="solve, reflect, compress or structured.")
    item_id: str | None = Field(default=None, description="The puzzle the request quoted, if any.")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    status: int | None = Field(description="HTTP status sent; None when the connection was dropped.")
    fault: str | None = Field(
        default=None, description="The fault injected: 429, 500, timeout or a malformed-output kind."
    )
    stream: bool = False
    latency: float | None = Field(
        default=None,
        description="The model's simulated latency: the answer went out this many seconds after the request "
        "arrived (the simulator's own work included).",
    )
    simulated: Literal[True] = True

    @property
    def duration(self) -> float:
        """Seconds from arrival to response."""
        return self.end - self.start


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # The pipeline opens dozens of connections at once; a short listen queue would stall them.
    request_queue_size = 128
    # Connections go to threads started with the server. Starting a thread per connection waits until
    # the new thread runs: when a run opens dozens of connections at once, the last one waited for all
    # of those starts, on the cores of the pipeline being measured. Beyond these, a connection gets a
    # thread of its own as usual.
    workers = 64

    def __init__(self, address: tuple[str, int], sim: SimServer) -> None:
        self.sim = sim
        self._connections: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        self._started = 0
        super().__init__(address, _Handler)  # binds the port, or raises
        for n in range(self.workers):
            threading.Thread(target=self._work, name=f"ted-sim-{n}", daemon=True).start()
        self._started = self.workers

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._waiting_lock:
            ready = self._waiting > 0
            self._waiting -= ready
        if ready:
            self._connections.put((request, client_address))
        else:
            super().process_request(request, client_address)

    def _work(self) -> None:
        while True:
            with self._waiting_lock:
                self._waiting += 1
            connection = self._connections.get()
            if connection is None:
                return
            self.process_request_thread(*connection)

    def server_close(self) -> None:
        super().server_close()
        for _ in range(self._started):
            self._connections.put(None)
        self._started = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ted-sim"
    # Headers and body go out in separate writes; with Nagle's algorithm the body would wait for the
    # client's delayed ACK (about 40 ms a response).
    disable_nagle_algorithm = True
    server: _HTTPServer
    # Called with the status just before a response goes out, so that the request log is complete
    # by the time the client has its answer.
    before_write: Callable[[int], None] | None = None

    def do_GET(self) -> None:
        self.server.sim._handle(self)

    def do_POST(self) -> None:
        self.server.sim._handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self._start(status, "application/json", {"Content-Length": str(len(data)), **(headers or {})})
        self.wfile.write(data)

    def send_events(self, events: list[ChatCompletionChunk]) -> None:
        self._start(200, "text/event-stream", {"Cache-Control": "no-cache", "Transfer-Encoding": "chunked"})
        for event in [*events, None]:
            data = wire.sse(event)
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def _start(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        if self.before_write is not None:
            self.before_write(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header(SIMULATED_HEADER, "true")
        self.send_header("x-request-id", f"req_sim_{self.server.sim._next_id()}")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()


class SimServer:
    """A simulated OpenAI-compatible endpoint serving a world of puzzles on a loopback port.

    Use it as a context manager (``with SimServer(world) as sim: ChatOpenAI(base_url=sim.base_url, ...)``)
    or with `start` and `stop`. Each request is recorded in `log`, and in ``log_path`` (JSON lines) when
    given.

    Args:
        world: The puzzles the simulated models know.
        config: Probabilities, latency and fault rates.
        host: Interface to bind; loopback by default.
        port: Port to bind; 0 picks a free one.
        log_path: Optional JSON-lines file that receives every request record as it completes.
    """

    def __init__(
        self,
        world: World,
        *,
        config: SimConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: str | Path | None = None,
    ) -> None:
        self.world = world
        self.config = config or SimConfig()
        self.host = host
        self._port = port
        self.log_path = Path(log_path) if log_path is not None else None
        self.log: list[RequestRecord] = []
        self._lock = threading.Lock()
        # Requests being handled; `stop` waits for them so that the log is complete when it returns.
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self._simulator = Simulator(world, self.config)
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port.

        Raises:
            SimError: If the server has not been started.
        """
        if self._httpd is None:
            raise SimError("the simulated server is not running; call start() or use it in a with block")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ending in /v1."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> SimServer:
        """Bind the port and serve in a background thread.

        Raises:
            SimError: If the port cannot be bound.
        """
        if self._httpd is not None:
            return self
        try:
            self._httpd = _HTTPServer((self.host, self._port), self)
        except OSError as exc:
            raise SimError(f"cannot listen on {self.host}:{self._port}: {exc.strerror or exc}") from exc
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="ted-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests held by latency or a timeout fault are released at once."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        # Handler threads are daemons (idle keep-alive connections must not block stopping); the ones
        # still answering were released by `_stopping` and only have their log line left to write.
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout=STOP_GRACE)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _next_id(self) -> int:
        return next(self._ids)

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.log.append(record)
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as file:
                    file.write(record.model_dump_json() + "\n")

    def _handle(self, handler: _Handler) -> None:
        path = handler.path.split("?", 1)[0].rstrip("/")
        record: dict[str, Any] = {"start": time.time(), "path": path}
        logged = False

        def log(status: int | None) -> None:
            nonlocal logged
            if not logged and path != LOG_PATH:
                logged = True
                self._record(RequestRecord(**record, status=status, end=time.time()))

        handler.before_write = log
        with self._idle:
            self._busy += 1
        try:
            # The body is read whatever the answer, or it would be taken for the next request on the
            # same keep-alive connection.
            raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
            if self.config.api_key is not None and handler.headers.get("Authorization") != (
                f"Bearer {self.config.api_key}"
            ):
                handler.send_json(
                    401, wire.error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
                )
            elif handler.command == "GET" and path == LOG_PATH:
                with self._lock:
                    records = [entry.model_dump(mode="json") for entry in self.log]
                handler.send_json(200, records)
            elif handler.command == "GET" and path == MODELS_PATH:
                handler.send_json(200, wire.models(self.config.models))
            elif handler.command == "POST" and path == CHAT_PATH:
                self._chat(handler, raw, record)
            else:
                handler.send_json(
                    404, wire.error(f"Unknown endpoint {handler.command} {path}.", "invalid_request_error")
                )
        except DROPPED:
            # The client went away (its own timeout, or it was stopped): the log says no response.
            pass
        except Exception as exc:
            # A bug of the simulator: the client gets a 500 and the traceback goes to the log.
            logger.exception("simulated endpoint failed on %s", path)
            if not logged:
                message = f"Internal error in the simulated endpoint: {exc}"
                handler.send_json(500, wire.error(message, "server_error"))
        finally:
            handler.before_write = None
            # Requests answered with a dropped connection are logged too.
            log(None)
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _chat(self, handler: _Handler, raw: bytes, record: dict[str, Any]) -> None:
        outcome = self._simulator.complete(raw, record, self._stopping.wait)
        if outcome.status is None:
            handler.close_connection = True
        elif outcome.events is not None:
            handler.send_events(outcome.events)
        else:
            handler.send_json(outcome.status, outcome.payload, outcome.headers)
