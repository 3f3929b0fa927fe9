"""**Sync now**: syncs started from the page run in background threads, one at a time per business and integration,
under the same per-business lock as the CLI (``services.sync.sync_business``); the run log records them as always.
The same threads load a business's export ahead of the pages that need it."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .. import state
from ..errors import Opus1Error
from ..host import Host
from ..plugins import Plugins
from ..redaction import scrub
from ..services import exports
from ..services.diagnose import export_findings
from ..services.sync import sync_business


@dataclass(frozen=True)
class JobOutcome:
    """How a sync started from the page ended: without an error, or with the error that failed it or kept it from
    starting (another run holds the lock, the integration is disabled, ...)."""

    error: str | None = None
    hint: str | None = None


class Jobs:
    """The syncs this process started from the page."""

    def __init__(self, plugins: Plugins, workers: int = 4):
        self.plugins = plugins
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="opus1-web-sync")
        self._jobs: dict[tuple[str, str], Future] = {}
        self._lock = threading.Lock()
        self._warming: set[str] = set()

    def start(self, business: str, name: str) -> bool:
        """Start a sync in the background; ``False`` when this process is already syncing it."""
        with self._lock:
            current = self._jobs.get((business, name))
            if current is not None and not current.done():
                return False
            self._jobs[(business, name)] = self._pool.submit(self._sync, business, name)
            return True

    def warm(self, path: str) -> None:
        """Load an export into the shared cache in the background (``services.exports``), once at a time."""
        with self._lock:
            if path in self._warming:
                return
            self._warming.add(path)
        self._pool.submit(self._warm, path)

    def _warm(self, path: str) -> None:
        try:
            exports.warm(path, export_findings)  # what the errors page needs
        finally:
            with self._lock:
                self._warming.discard(path)

    def running(self, business: str, name: str) -> bool:
        """Whether a sync this process started is still running."""
        job = self._jobs.get((business, name))
        return job is not None and not job.done()

    def outcome(self, business: str, name: str) -> JobOutcome | None:
        """How the last sync this process started ended (``None``: none, or still running)."""
        job = self._jobs.get((business, name))
        return job.result() if job is not None and job.done() else None

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every running sync (tests; shutting down)."""
        for job in list(self._jobs.values()):
            job.exception(timeout)

    def _sync(self, business: str, name: str) -> JobOutcome:
        db = state.open_db()
        try:
            result = sync_business(Host(self.plugins, db), name, business)
            failure = result.failure
            return JobOutcome(scrub(failure.message) if failure else None,
                              scrub(failure.hint) if failure and failure.hint else None)
        except Opus1Error as exc:
            return JobOutcome(scrub(exc.message), scrub(exc.hint) if exc.hint else None)
        except Exception as exc:  # a bug of ours: say so on the page instead of losing it in a thread
            return JobOutcome(scrub(f"unexpected {type(exc).__name__}: {exc}"), "this is a bug; please report it")
        finally:
            db.conn.close()
