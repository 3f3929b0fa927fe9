"""What happens to an API request on the wire around its answer: a connection slot, an injected fault, the
modelled latency and a line in the request log."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from .faults import Faults, Latency
from .replies import Problem

TOO_MANY = "You have exceeded the limit of {n} simultaneous connections."


@dataclass(frozen=True)
class RecordedRequest:
    """One API request the sandbox received (``Authorization`` redacted) and the status it answered (None: none)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int | None

    def json(self) -> object:
        """The body parsed as JSON."""
        return json.loads(self.body)


class Traffic:
    """Connection slots (at most ``max_connections`` requests in flight), the faults, the latency and the log."""

    def __init__(self, max_connections: int, latency: Latency, seed: int = 0):
        self.max_connections = max_connections
        self.latency = latency
        self.faults = Faults(seed)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._log: list[RecordedRequest] = []

    def enter(self) -> bool:
        """Take a connection slot; False when ``max_connections`` requests are already in flight."""
        with self._lock:
            if self._in_flight >= self.max_connections:
                return False
            self._in_flight += 1
            return True

    def leave(self) -> None:
        """Give the slot back."""
        with self._lock:
            self._in_flight -= 1

    def too_many(self) -> Problem:
        """The 429 for a request over the connection limit."""
        return Problem(429, "Too Many Requests", TOO_MANY.format(n=self.max_connections))

    def record(self, method: str, path: str, query: dict, headers: dict, body: bytes, status: int | None) -> None:
        """Add a request to the log, its ``Authorization`` header redacted."""
        headers = {k: ("[redacted]" if k.lower() == "authorization" else v) for k, v in headers.items()}
        with self._lock:
            self._log.append(RecordedRequest(method, path, query, headers, body, status))

    def requests(self) -> list[RecordedRequest]:
        """Every API request logged so far, oldest first."""
        with self._lock:
            return list(self._log)

    def clear(self) -> None:
        """Empty the log."""
        with self._lock:
            self._log.clear()
