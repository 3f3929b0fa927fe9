"""A total time limit for one HTTP exchange, which per-read socket timeouts cannot give.

``requests``' timeout applies to each socket operation, so a server that trickles a byte every 20 seconds holds a
request (and the sync's lock) forever. Inside ``with deadline(seconds) as d:`` every socket this thread opens or
reuses through a :class:`DeadlineAdapter` is registered; one watchdog thread shuts the sockets down when the time
is up, so the blocked read fails at once and ``d.expired`` tells why.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Deadline:
    """The end of one exchange's time, and the sockets to shut down then."""

    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds
        self.expired = False
        self.finished = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the time is up (at once if it already is)."""
        with self._lock:
            if self.finished:
                return
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def expire(self) -> None:
        """The time is up: mark it and shut every attached socket down (unless the exchange finished first)."""
        with self._lock:
            if self.finished:
                return
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def finish(self) -> None:
        """The exchange is over: its sockets (back in the pool, maybe in use elsewhere) are left alone from now on."""
        with self._lock:
            self.finished = True
            self._sockets = []


def _shut(sock: socket.socket) -> None:
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's method: also under a TLS wrapper
    except OSError:
        pass


class _Watchdog:
    """One daemon thread that expires deadlines when their time comes (finished ones are dropped unexpired)."""

    def __init__(self):
        self._heap: list[tuple[float, int, Deadline]] = []
        self._ids = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, limit: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (limit.at, next(self._ids), limit))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="opus1-mailchimp-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].finished:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                limit = heapq.heappop(self._heap)[2]
            limit.expire()


_watchdog = _Watchdog()


@contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Limit the HTTP exchanges of this block (through a :class:`DeadlineAdapter`) to ``seconds`` in total."""
    limit = Deadline(seconds)
    _watchdog.add(limit)
    outer = getattr(_current, "deadline", None)
    _current.deadline = limit
    try:
        yield limit
    finally:
        _current.deadline = outer
        limit.finish()


def _register(sock: socket.socket | None) -> None:
    limit = getattr(_current, "deadline", None)
    if limit is not None and sock is not None:
        limit.attach(sock)


class _Watched:
    """Registers the connection's socket with the thread's deadline when it is opened and on each request."""

    def _new_conn(self):
        sock = super()._new_conn()
        _register(sock)
        return sock

    def request(self, *args, **kwargs):
        _register(self.sock)
        return super().request(*args, **kwargs)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections obey :func:`deadline`."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        """Create the pool manager with the watched connection classes."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
