"""A small hostile fake Mailchimp on loopback: each test scripts what a path answers (any status, headers and
body; trickled byte by byte, held, or limited to N requests in flight) and every request is recorded.

    with Hostile() as evil:
        evil.route("GET", "/3.0/ping", Answer(200, b"<html>hi</html>", content_type="text/html"))
        mc = Mailchimp(KEY, evil.base_url)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Answer:
    """One scripted answer. ``body`` may be bytes, text or JSON data; ``content_type=None`` sends no such header;
    ``trickle`` sends the body (or, with ``trickle_head``, the whole answer) one byte per ``trickle`` seconds;
    ``hold`` waits before answering; ``length=False`` sends no Content-Length (the body ends with the connection)."""

    status: int = 200
    body: bytes | str | dict | list | None = b""
    content_type: str | None = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0
    trickle_head: bool = False
    hold: float = 0.0
    length: bool = True

    def payload(self) -> bytes:
        """The body as bytes."""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class Seen:
    """A request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


Route = Answer | Callable[[Seen], Answer]
NOT_FOUND = Answer(404, {"type": "about:blank", "title": "Resource Not Found", "status": 404,
                         "detail": "The requested resource could not be found.", "instance": ""},
                   content_type="application/problem+json; charset=utf-8")


class Hostile:
    """The server; ``base_url`` is what a client uses for ``https://<dc>.api.mailchimp.com/3.0``."""

    def __init__(self, max_in_flight: int | None = None):
        self.max_in_flight = max_in_flight
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.stopping = threading.Event()
        self._routes: dict[tuple[str, str], Route] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def route(self, method: str, path: str, answer: Route) -> None:
        """Answer ``method path`` (path without query) with ``answer``, or with what ``answer(request)`` returns."""
        self._routes[(method, path)] = answer

    def sequence(self, method: str, path: str, *answers: Answer) -> None:
        """Answer the first requests with ``answers`` in turn, then keep giving the last one."""
        queue = list(answers)

        def next_answer(_: Seen) -> Answer:
            with self._lock:
                return queue.pop(0) if len(queue) > 1 else queue[0]

        self.route(method, path, next_answer)

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        """The requests received, optionally only those of a method and path."""
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method)
                    and (path is None or r.path == path)]

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The API base URL (``/3.0``)."""
        return self.root_url + "/3.0"

    def __enter__(self) -> "Hostile":
        self._server = _Server(("127.0.0.1", 0), self)
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _enter(self) -> bool:
        with self._lock:
            if self.max_in_flight is not None and self.in_flight >= self.max_in_flight:
                return False
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return True

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _answer(self, request: Seen) -> Answer:
        with self._lock:
            self.requests.append(request)
            route = self._routes.get((request.method, request.path), NOT_FOUND)
        return route(request) if callable(route) else route


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, hostile: Hostile):
        self.hostile = hostile
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address) -> None:
        """Quiet: clients that give up mid-answer are what these tests are about."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args) -> None:
        """Quiet."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        """Answer any method."""
        hostile = self.server.hostile
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = Seen(self.command, url.path, dict(parse_qsl(url.query)), dict(self.headers.items()), body)
        if not hostile._enter():
            hostile._answer(request)
            self._send(Answer(429, {"title": "Too Many Requests", "status": 429,
                                    "detail": "You have exceeded the limit of simultaneous connections."}))
            return
        try:
            answer = hostile._answer(request)
            if answer.hold:
                hostile.stopping.wait(answer.hold)
            self._send(answer)
        finally:
            hostile._leave()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _send(self, answer: Answer) -> None:
        data = answer.payload()
        head = [f"HTTP/1.1 {answer.status} X"]
        if answer.content_type is not None:
            head.append(f"Content-Type: {answer.content_type}")
        if answer.length:
            head.append(f"Content-Length: {len(data)}")
        else:
            head.append("Connection: close")
            self.close_connection = True
        head += [f"{k}: {v}" for k, v in answer.headers.items()]
        raw_head = ("\r\n".join(head) + "\r\n\r\n").encode()
        try:
            if answer.trickle and answer.trickle_head:
                self._trickle(raw_head + data, answer.trickle)
            elif answer.trickle:
                self.wfile.write(raw_head)
                self.wfile.flush()
                self._trickle(data, answer.trickle)
            else:
                self.wfile.write(raw_head + data)
        except OSError:
            self.close_connection = True

    def _trickle(self, data: bytes, every: float) -> None:
        stopping = self.server.hostile.stopping
        for i in range(len(data)):
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()
            if stopping.wait(every):
                return
