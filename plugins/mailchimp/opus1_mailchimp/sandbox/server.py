"""HTTP handling: a threading HTTP/1.1 server (keep-alive) in front of the emulated API.

Per API request: take a connection slot (429 beyond ``max_connections``), apply an injected fault, let the app
answer, then wait out the rest of the modelled latency. The slot is given back before the answer is written, so a
client that keeps at most ``max_connections`` requests open never sees a 429. ``/_sandbox/...`` is the control
surface: no auth, no slot, no latency, not logged.

An idle server costs nothing: the accept loop blocks in ``select`` without a timeout (stdlib ``serve_forever``
wakes every poll interval to look for a shutdown request) and is woken for shutdown through a socket pair.
"""

from __future__ import annotations

import selectors
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from .control import CONTROL_PREFIX
from .replies import Problem, Reply
from .traffic import Traffic, fault_reply

HOLD_SECONDS = 120  # Mailchimp's own request timeout: the longest a "timeout" fault holds a connection
IDLE_SECONDS = 60  # an idle keep-alive connection is closed after this


class App(Protocol):
    """What the server asks of the emulator behind it."""

    def answer(self, method: str, path: str, query: dict[str, str], authorization: str | None,
               body: bytes) -> Reply:
        """Answer an API request (``path`` includes ``/3.0``)."""

    def answer_control(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        """Answer a request to the control surface (``path`` starts with ``/_sandbox``)."""

    def problem(self, problem: Problem) -> Reply:
        """The problem+json reply for an error."""


class SandboxServer(ThreadingHTTPServer):
    """The listening server; it tracks open connections so :meth:`close_connections` can end them on stop."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App, traffic: Traffic):
        self.app = app
        self.traffic = traffic
        self.stopping = threading.Event()
        self.wakeup, self._waker = socket.socketpair()  # wakeup turns readable (for good) on stop
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)
        self.socket.setblocking(False)  # a connection that vanishes between select and accept must not block

    def serve(self) -> None:
        """Accept connections until :meth:`stop_serving`; each is handled on a thread of its own."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self.wakeup, selectors.EVENT_READ)
            while not self.stopping.is_set():
                if any(key.fileobj is self.wakeup for key, _ in selector.select()):
                    return
                try:
                    request, address = self.get_request()
                except OSError:  # BlockingIOError included: nothing to accept after all
                    continue
                self.process_request(request, address)

    def stop_serving(self) -> None:
        """Make :meth:`serve` return and every waiting handler give up."""
        self.stopping.set()
        self._waker.send(b"x")

    def server_close(self) -> None:
        """Close the listening socket and the wake-up pair."""
        super().server_close()
        self.wakeup.close()
        self._waker.close()

    def opened(self, connection: socket.socket) -> None:
        """Track a connection and the thread serving it."""
        with self._open_lock:
            self._connections.add(connection)
            self._handler_threads.add(threading.current_thread())

    def closed(self, connection: socket.socket) -> None:
        """Forget a connection."""
        with self._open_lock:
            self._connections.discard(connection)
            self._handler_threads.discard(threading.current_thread())

    def close_connections(self, timeout: float = 5.0) -> None:
        """Shut down every open connection and wait (bounded) for their threads."""
        with self._open_lock:
            connections, threads = list(self._connections), list(self._handler_threads)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class Handler(BaseHTTPRequestHandler):
    """One connection: any number of requests (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "opus1-mailchimp-sandbox"
    sys_version = ""
    timeout = IDLE_SECONDS
    server: SandboxServer

    def setup(self) -> None:
        """Track the connection; send each write at once (headers and body are two writes, and Nagle's algorithm
        would hold the body until the client's delayed ACK of the headers, some 40 ms later)."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.opened(self.connection)

    def finish(self) -> None:
        """Untrack the connection."""
        try:
            super().finish()
        finally:
            self.server.closed(self.connection)

    def log_message(self, format: str, *args) -> None:
        """Quiet: the request log is :attr:`Sandbox.requests`."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        """Handle GET."""
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self) -> None:
        app, traffic = self.server.app, self.server.traffic
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path == CONTROL_PREFIX or url.path.startswith(CONTROL_PREFIX + "/"):
            self._send(self._safely(lambda: app.answer_control(self.command, url.path, query, body)))
            return
        headers = dict(self.headers.items())
        if not traffic.enter():
            reply = app.problem(traffic.too_many())
            traffic.record(self.command, url.path, query, headers, body, reply.status)
            self._send(reply)
            return
        try:
            reply = self._answer(url.path, query, body)
        finally:
            traffic.leave()
        traffic.record(self.command, url.path, query, headers, body, reply.status if reply else None)
        if reply is None:
            self.close_connection = True
        else:
            self._send(reply)

    def _answer(self, path: str, query: dict, body: bytes) -> Reply | None:
        """The reply, or None when a fault ends the connection without one (while holding the slot).

        The modelled latency is the whole time Mailchimp takes, its handling included, so the sandbox's own work
        (answering and encoding) counts within it: the reply waits out only what is left.
        """
        app, traffic, stopping = self.server.app, self.server.traffic, self.server.stopping
        started = time.monotonic()
        fault = traffic.faults.pick(self.command, path)
        if fault and fault != "drop_after":
            if stopping.wait(traffic.latency.request_seconds()):
                return None
            if fault == "timeout":
                self._hold()
            return None if fault in ("timeout", "drop_before") else fault_reply(fault, app.problem)
        reply = self._safely(lambda: app.answer(self.command, path, query, self.headers.get("Authorization"), body))
        reply.body = reply.payload()
        left = started + traffic.latency.request_seconds() + reply.model_seconds - time.monotonic()
        if stopping.wait(max(0.0, left)):
            return None
        return None if fault == "drop_after" else reply

    def _safely(self, answer) -> Reply:
        """The answer, or a 500 problem if the sandbox itself failed (the traceback goes to stderr)."""
        try:
            return answer()
        except Exception:  # a sandbox bug must not kill the connection silently
            traceback.print_exc(file=sys.stderr)
            return self.server.app.problem(Problem(500, "Internal Server Error", "The sandbox failed; see its stderr."))

    def _hold(self) -> None:
        """Keep the connection open without answering until the client hangs up, the sandbox stops or 120 s pass."""
        deadline = time.monotonic() + HOLD_SECONDS
        with selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ)
            selector.register(self.server.wakeup, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0:
                ready = {key.fileobj for key, _ in selector.select(left)}
                if self.connection not in ready or self.server.stopping.is_set():
                    return
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return  # the client hung up
                except OSError:
                    return
                self.server.stopping.wait(0.05)  # it sent more without waiting for an answer: keep holding

    def _send(self, reply: Reply) -> None:
        data = reply.payload()
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
