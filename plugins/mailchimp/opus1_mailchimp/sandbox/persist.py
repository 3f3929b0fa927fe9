"""The optional state file: the account as JSON, loaded at start and rewritten atomically after changes."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

from .account import Account


class StateFile:
    """Keeps an account in a JSON file. Changes are written by a background thread (bursts coalesce into one
    write), always via a temporary file and ``os.replace``, and once more on :meth:`stop`."""

    def __init__(self, path: str | os.PathLike, account: Account):
        self.path = Path(path)
        self.account = account
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()

    def load(self) -> None:
        """Load the file into the account if it exists."""
        if self.path.exists():
            self.account.restore(json.loads(self.path.read_text(encoding="utf-8")))

    def mark(self) -> None:
        """Note that the account changed (called under the account's lock, so it only sets a flag)."""
        self._dirty.set()

    def start(self) -> None:
        """Start the writer thread."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="mailchimp-sandbox-state", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the writer and write any pending change."""
        self._stopping.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()

    def flush(self) -> None:
        """Write the account now if it changed since the last write."""
        with self._write_lock:
            if not self._dirty.is_set():
                return
            self._dirty.clear()
            with self.account.lock:  # the snapshot holds the live members: encode it before anything changes
                text = json.dumps(self.account.snapshot(), separators=(",", ":"))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text)
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            if self._stopping.is_set():
                return
            self.flush()
