"""The Sandbox: one emulated Mailchimp account (one key, one or more audiences) on a loopback port, with controls
for tests and benchmarks."""

from __future__ import annotations

import base64
import binascii
import os
import threading
from collections.abc import Callable, Iterable

from . import reads, writes
from .account import Account
from .api import Api
from .control import control
from .persist import StateFile
from .replies import Problem, Reply, not_found
from .server import SandboxServer
from .traffic import Latency, RecordedRequest, Traffic

DEFAULT_API_KEY = "0123456789abcdef0123456789abcdef-us1"
DEFAULT_AUDIENCE_ID = "a1b2c3d4e5"
DEFAULT_AUDIENCE_NAME = "Example Music School"
DEFAULT_USERNAME = "studio_owner"
DEFAULT_MERGE_FIELDS = ("FNAME", "LNAME", "PHONE")


class Sandbox:
    """A stateful local emulator of the Mailchimp Marketing API v3.0: one account, one API key, one or more
    audiences (``audience_id`` is the default one; ``audiences`` adds more, each a list id or a dict
    ``{"id", "name", "merge_fields"}``).

    Start it with :meth:`start` or as a context manager and point a client at :attr:`base_url`.
    """

    def __init__(self, api_key: str = DEFAULT_API_KEY, audience_id: str = DEFAULT_AUDIENCE_ID,
                 audience_name: str = DEFAULT_AUDIENCE_NAME, username: str = DEFAULT_USERNAME,
                 host: str = "127.0.0.1", port: int = 0, latency_ms: float = 0.0, per_member_ms: float = 0.0,
                 seed: int = 0, state_file: str | os.PathLike | None = None, max_connections: int = 10,
                 merge_fields: Iterable[str | dict] = DEFAULT_MERGE_FIELDS, audiences: Iterable[str | dict] = ()):
        self.api_key = api_key
        self.audience_id = audience_id
        self.username = username
        self.host = host
        self.port = port
        self._account = Account(username=username, seed=seed)
        self._account.add_audience(audience_id, audience_name, merge_fields)
        for extra in audiences:
            spec = {"id": extra} if isinstance(extra, str) else extra
            self.add_audience(spec["id"], spec.get("name"), spec.get("merge_fields", DEFAULT_MERGE_FIELDS))
        latency = Latency(latency_ms, per_member_ms)
        self._traffic = Traffic(max_connections, latency, seed)
        self._api = Api(self._account, latency, seed)
        self._state = StateFile(state_file, self._account) if state_file else None
        if self._state:
            self._state.load()
            self._account.on_change = self._state.mark
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> "Sandbox":
        """Bind the port and serve in a background thread; returns self."""
        if self._server is not None:
            raise RuntimeError("the sandbox is already running")
        self._server = SandboxServer((self.host, self.port), self, self._traffic)
        self.port = self._server.server_address[1]
        self._account.api_root = self._api.batches.api_root = self.base_url
        self._api.batches.results_root = f"{self.root_url}/_sandbox/batch-results"
        self._api.batches.start()
        if self._state:
            self._state.start()
        self._thread = threading.Thread(target=self._server.serve, name="mailchimp-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections, stop the batch worker and write the state file."""
        if self._server is None:
            return
        self._server.stop_serving()
        self._thread.join()
        self._server.close_connections()
        self._server.server_close()
        self._server = self._thread = None
        self._api.batches.stop()
        if self._state:
            self._state.stop()

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        """``http://<host>:<port>`` (the control surface is under ``/_sandbox``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What a client uses instead of ``https://<dc>.api.mailchimp.com/3.0``."""
        return f"{self.root_url}/3.0"

    # ----------------------------------------------------------------- audiences and members

    def add_audience(self, audience_id: str, name: str | None = None,
                     merge_fields: Iterable[str | dict] = DEFAULT_MERGE_FIELDS) -> None:
        """Add an empty audience (also while running); every list endpoint then serves it under its id.
        ``name`` defaults to the id. ValueError if the id is taken or not 1-100 letters, digits, ``-``, ``_``."""
        self._account.add_audience(audience_id, audience_id if name is None else name, merge_fields)

    def audiences(self) -> list[dict]:
        """Every audience, default first: ``{"id", "name"}``."""
        with self._account.lock:
            return [{"id": a.id, "name": a.name} for a in self._account.audiences.values()]

    def seed_member(self, email: str, status: str = "subscribed", *, unsubscribed_by: str = "contact",
                    unsubscribe_reason: str | None = None, merge_fields: dict | None = None,
                    tags: Iterable[str] = (), forgotten: bool = False, audience_id: str | None = None) -> dict | None:
        """Put an address into any state (``status`` incl. cleaned, archived, pending, transactional; ``forgotten`` =
        permanently deleted) in an audience (None: the default); ``unsubscribed_by="contact"`` makes an unsubscribe
        one the API cannot undo, and ``unsubscribe_reason`` is what the member then shows. Returns the member (None
        when forgotten)."""
        return writes.seed_member(self._account, self._list(audience_id), email, status,
                                  unsubscribed_by=unsubscribed_by, unsubscribe_reason=unsubscribe_reason,
                                  merge_fields=merge_fields, tags=tags, forgotten=forgotten)

    def member(self, email: str, audience_id: str | None = None) -> dict | None:
        """The stored member as the API would return it, or None."""
        return reads.member_by_email(self._account, self._list(audience_id), email)

    def members(self, audience_id: str | None = None) -> list[dict]:
        """Every member of an audience (archived included), as the API would return them."""
        return reads.all_members(self._account, self._list(audience_id))

    def _list(self, audience_id: str | None) -> str:
        """The audience a control names (None: the default); ValueError for an unknown one."""
        audience_id = self.audience_id if audience_id is None else audience_id
        if audience_id not in self._account.audiences:
            raise ValueError(f"the sandbox has no audience {audience_id!r}")
        return audience_id

    @property
    def clock(self) -> Callable[[], float]:
        """The clock member times are stamped with (epoch seconds); tests may replace it."""
        return self._account.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self._account.clock = clock

    # ----------------------------------------------------------------- requests, faults, latency

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every API request received so far, oldest first."""
        return self._traffic.requests()

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._traffic.clear()

    def reset(self) -> None:
        """Empty audiences (they stay), no batches, empty request log and no faults (latency is kept)."""
        self._account.clear()
        self._api.batches.clear()
        self.clear_requests()
        self.clear_faults()

    def inject(self, kind: str, rate: float = 1.0, count: int | None = None, methods: Iterable[str] | None = None,
               path_contains: str | None = None) -> None:
        """Make matching requests fail: ``429``, ``429_nobody``, ``403_nobody``, ``500``, ``503``, ``timeout``
        (no answer until the client gives up), ``drop_before`` (connection closed, nothing applied) or
        ``drop_after`` (change applied, then connection closed). ``rate`` is the share of matching requests hit
        (deterministic by seed), ``count`` how many at most."""
        self._traffic.faults.add(kind, rate, count, methods, path_contains)

    def fault_rules(self) -> list[dict]:
        """The injected faults as data: ``{"kind", "rate", "remaining", "methods", "path_contains"}``."""
        return self._traffic.faults.rules()

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._traffic.faults.reset()

    def set_latency(self, latency_ms: float, per_member_ms: float = 0.0) -> None:
        """Delay every request by ``latency_ms``, and each batch-subscribe member and batch operation by
        ``per_member_ms``."""
        self._traffic.latency.set(latency_ms, per_member_ms)

    def info(self) -> dict:
        """Base URL, key, default audience id, username, connection limit and latency."""
        latency = self._traffic.latency
        return {"base_url": self.base_url, "api_key": self.api_key, "audience_id": self.audience_id,
                "username": self.username, "max_connections": self._traffic.max_connections,
                "latency_ms": latency.latency_ms, "per_member_ms": latency.per_member_ms}

    def name_batch_results_at(self, url_root: str) -> None:
        """Name ``{url_root}/{batch_id}.tar.gz`` as finished batches' ``response_body_url`` from now on, as Mailchimp
        names pre-signed links on another host (tests point it at a hostile server)."""
        self._api.batches.results_root = url_root.removesuffix("/")

    def batch_results(self, batch_id: str) -> bytes | None:
        """The gzipped tar of a finished batch's results (None: unknown, unfinished or deleted)."""
        return self._api.batches.archive(batch_id)

    # ----------------------------------------------------------------- used by the server

    def answer(self, method: str, path: str, query: dict[str, str], authorization: str | None, body: bytes) -> Reply:
        """Check the key, then answer an API request (``path`` includes ``/3.0``)."""
        problem = self._auth_problem(authorization)
        if problem is not None:
            return self.problem(problem)
        if path != "/3.0" and not path.startswith("/3.0/"):
            return self.problem(not_found())
        return self._api.dispatch(method, path[len("/3.0"):], query, body)

    def answer_control(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        """Answer a request to the ``/_sandbox`` control surface."""
        return control(self, method, path, query, body)

    def problem(self, problem: Problem) -> Reply:
        """The problem+json reply for an error."""
        return self._api.problem(problem)

    def _auth_problem(self, authorization: str | None) -> Problem | None:
        if not authorization:
            return Problem(401, "API Key Missing", "Your request did not include an API key.")
        scheme, _, credentials = authorization.partition(" ")
        key = None
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                key = None
        if key != self.api_key:
            return Problem(401, "API Key Invalid",
                           "Your API key may be invalid, or you've attempted to access the wrong datacenter.")
        return None
