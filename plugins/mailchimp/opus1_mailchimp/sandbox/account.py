"""The account behind the API key: its audiences, its clock and the one lock every API call holds.

Reads and writes take :attr:`Account.lock`, so each API call is applied atomically. ``snapshot``/``restore`` carry
every audience (definition and members) to and from the state file.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable

from . import replies
from .audience import Audience
from .clock import format_time

STATE_VERSION = 2
_LIST_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


class Account:
    """Audiences by id (the first is the default), the web-id counter, the clock and the lock."""

    def __init__(self, *, username: str, seed: int = 0, clock: Callable[[], float] = time.time):
        self.lock = threading.RLock()
        self.username = username
        self.seed = seed
        self.clock = clock
        self.api_root = "http://127.0.0.1/3.0"  # set by the Sandbox once it knows its port
        self.on_change: Callable[[], None] = lambda: None
        self.audiences: dict[str, Audience] = {}
        self.next_web_id = 100001
        self._now = (-1, "")
        self.created_at = self.now()

    def add_audience(self, list_id: str, name: str, merge_fields: Iterable[str | dict]) -> Audience:
        """A new, empty audience; ValueError for an id that is taken or not usable in a URL path."""
        if not isinstance(list_id, str) or not _LIST_ID.match(list_id):
            raise ValueError(f"an audience id is 1 to 100 letters, digits, '-' or '_', not {list_id!r}")
        with self.lock:
            if list_id in self.audiences:
                raise ValueError(f"the sandbox already has an audience {list_id!r}")
            audience = self.audiences[list_id] = Audience(list_id, name, merge_fields)
            self.on_change()
            return audience

    def audience(self, list_id: str) -> Audience:
        """The audience with this id; 404 Resource Not Found if there is none."""
        audience = self.audiences.get(list_id)
        if audience is None:
            raise replies.not_found()
        return audience

    def now(self) -> str:
        """The current time in Mailchimp's format (formatted once per second)."""
        second = int(self.clock())
        if self._now[0] != second:
            self._now = (second, format_time(second))
        return self._now[1]

    def changed(self, m: dict | None = None) -> None:
        """Note a change: a member's ``last_changed`` moves, and the state file is told."""
        if m is not None:
            m["last_changed"] = self.now()
        self.on_change()

    def clear(self) -> None:
        """Empty every audience (the audiences themselves stay)."""
        with self.lock:
            for audience in self.audiences.values():
                audience.clear()
            self.on_change()

    def snapshot(self) -> dict:
        """The state as JSON-able data holding the live members (encode it under the lock)."""
        with self.lock:
            return {"version": STATE_VERSION, "next_web_id": self.next_web_id,
                    "audiences": [a.snapshot() for a in self.audiences.values()]}

    def restore(self, data: dict) -> None:
        """Load a snapshot: configured audiences keep their definition, others are recreated from the file.
        A version 1 file (one audience, written before there were several) fills the default audience."""
        if data.get("version") == 1:
            default = next(iter(self.audiences))
            data = {"next_web_id": data["next_web_id"], "audiences": [{**data, "id": default}]}
        elif data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported sandbox state version {data.get('version')!r}")
        with self.lock:
            for saved in data["audiences"]:
                audience = self.audiences.get(saved["id"]) or self.add_audience(
                    saved["id"], saved["name"], saved["merge_fields"])
                audience.restore(saved)
            self.next_web_id = data["next_web_id"]
