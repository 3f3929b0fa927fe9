"""What happens to an API request on the wire around its answer: a connection slot, an injected fault (slow
answers, rate limits, server errors, timeouts, dropped connections), the modelled latency and a line in the
request log."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

from .replies import Problem, Reply

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


FAULT_KINDS = ("429", "429_nobody", "403_nobody", "500", "503", "timeout", "drop_before", "drop_after")
_PROBLEMS = {
    "429": Problem(429, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections."),
    "500": Problem(500, "Internal Server Error",
                   "An unexpected internal error has occurred. Please contact Support for more information."),
    "503": Problem(503, "Service Unavailable", "The service is temporarily unavailable. Please try again later."),
}


@dataclass
class FaultRule:
    """Inject ``kind`` into a share ``rate`` of matching requests, ``remaining`` more times (None: no limit)."""

    kind: str
    rate: float = 1.0
    remaining: int | None = None
    methods: tuple[str, ...] | None = None
    path_contains: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether the rule applies to this request."""
        return (self.remaining != 0 and (self.methods is None or method in self.methods)
                and (self.path_contains is None or self.path_contains in path))


class Faults:
    """The injected faults; which requests they hit is deterministic for a given seed and request order."""

    def __init__(self, seed: int = 0):
        self._seed = seed
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """No faults, and the random sequence restarts from the seed."""
        with self._lock:
            self._rules: list[FaultRule] = []
            self._random = random.Random(self._seed)

    def add(self, kind: str, rate: float = 1.0, count: int | None = None, methods=None,
            path_contains: str | None = None) -> None:
        """Add a rule; ``methods`` is an iterable of HTTP methods (None: all)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if count is not None and count < 0:
            raise ValueError("count must be 0 or more")
        methods = tuple(m.upper() for m in methods) if methods else None
        rule = FaultRule(kind, float(rate), count, methods, path_contains)
        with self._lock:
            self._rules.append(rule)

    def pick(self, method: str, path: str) -> str | None:
        """The fault to inject into this request, if any (the first matching rule that fires)."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path) and (rule.rate >= 1.0 or self._random.random() < rule.rate):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule.kind
        return None

    def rules(self) -> list[dict]:
        """The rules as data (``remaining`` counts down)."""
        with self._lock:
            return [asdict(rule) for rule in self._rules]


def fault_reply(kind: str, problem: Callable[[Problem], Reply]) -> Reply:
    """The answer of a fault that answers: ``problem(...)`` for 429, 500 and 503, an empty body for ``*_nobody``."""
    if kind.endswith("_nobody"):
        return Reply(int(kind[:3]), None, content_type=None)
    return problem(_PROBLEMS[kind])


class Latency:
    """Added response time: ``latency_ms`` for every request, plus ``per_member_ms`` per member or batch operation."""

    def __init__(self, latency_ms: float = 0.0, per_member_ms: float = 0.0):
        self.set(latency_ms, per_member_ms)

    def set(self, latency_ms: float, per_member_ms: float) -> None:
        """Change both knobs (milliseconds, 0 or more)."""
        if latency_ms < 0 or per_member_ms < 0:
            raise ValueError("latency must be 0 or more milliseconds")
        self.latency_ms = float(latency_ms)
        self.per_member_ms = float(per_member_ms)

    def request_seconds(self) -> float:
        """The delay of one request."""
        return self.latency_ms / 1000

    def member_seconds(self, n: int) -> float:
        """The extra delay of ``n`` members or operations."""
        return self.per_member_ms * n / 1000


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
