"""Many businesses at once (the fleet): the one-shot ``sync INTEGRATION --all`` and the long-running ``schedule run`` loop.

Each business is synced in a worker thread of a bounded pool, with its own SQLite connection and its own ``Host``;
one failing business never stops the others. Every sync runs under the business lock (``locks.business_lock``)
and re-checks, once it holds the lock, that the business is still due: another process may just have synced it.

Stopping: the caller passes a ``stop`` event (set by its signal handler). Once it is set no new sync starts, and the
syncs in flight finish (``opus1_integrations.cli.signals`` handles a second signal).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from enum import StrEnum
from datetime import datetime, timedelta

from .. import locks, schedule, state
from ..clock import iso, utcnow
from ..errors import Opus1Error
from ..exit_codes import ExitCode
from ..hookdata import SyncOptions
from ..host import Host
from ..plugins import Plugins
from ..redaction import scrub
from ..runlog import RunStatus
from .sync import sync_business

DEFAULT_JOBS = 4
_POLL = 0.2  # how often a waiting main thread looks at the stop event

Clock = Callable[[], datetime]


class Skip(StrEnum):
    """Why a business was not synced by a ``--all`` pass or the scheduler."""

    NOT_DUE = "skipped_not_due"
    """Its last finished sync is more recent than its interval."""
    LOCKED = "skipped_locked"
    """Another process is syncing it."""


@dataclass
class BusinessResult:
    """What happened to one business in a ``--all`` sync or a scheduler pass: a run's status, or why it was skipped."""

    business: str
    integration: str
    status: RunStatus | None = None
    skipped: Skip | None = None
    run_id: int | None = None
    due_at: str | None = None
    """When the business is (next) due: for a skipped business, when it will be; after a sync, the next time."""
    error: str | None = None
    hint: str | None = None
    exit_code: int | None = None
    """The exit code ``sync --business`` would have given this business."""
    counts: dict = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """The run's status, or the reason it was skipped (``skipped_not_due``, ``skipped_locked``)."""
        return self.skipped.value if self.skipped else self.status.value

    def as_dict(self) -> dict:
        """The result as printed by ``sync --all --json``."""
        return {"business": self.business, "integration": self.integration, "outcome": self.outcome,
                "run_id": self.run_id, "due_at": self.due_at, "error": self.error, "hint": self.hint,
                "exit_code": self.exit_code, "counts": self.counts}


def not_started(business: str, integration: str) -> BusinessResult:
    """A business the fleet did not start because it is stopping."""
    return BusinessResult(business, integration, RunStatus.INTERRUPTED, error="not started: stopping")


class Fleet:
    """Syncs many businesses of the installed plugins, each with its own database connection, under its lock.

    ``stop`` is set by the caller's signal handler: no new sync starts once it is; ``clock`` is the time source
    of the due rules (tests pass their own).
    """

    def __init__(self, plugins: Plugins, *, stop: threading.Event | None = None, clock: Clock = utcnow):
        self.plugins = plugins
        self.stop = stop or threading.Event()
        self.clock = clock

    def sync_business(self, integration: str, business: str, *, force: bool = False, wait: bool = False,
                      dry_run: bool = False) -> BusinessResult:
        """Sync one business if it is due (always with ``force``); never raises for the business's own failures.

        The plugin never sees ``force``: a safety stop is overridden one business at a time with
        ``sync --business B --force``. Runs in any thread.
        """
        db = state.open_db()
        try:
            return self._sync(Host(self.plugins, db), integration, business, force, wait, dry_run)
        finally:
            db.conn.close()

    def _sync(self, host: Host, integration: str, business: str, force: bool, wait: bool,
              dry_run: bool) -> BusinessResult:
        if self.stop.is_set():
            return not_started(business, integration)
        if not force and (current := self._schedule(host, integration, business)) and not current.due:
            return BusinessResult(business, integration, skipped=Skip.NOT_DUE, due_at=iso(current.due_at))
        try:
            with locks.business_lock(business, integration, wait=wait, stop=self.stop):
                if self.stop.is_set():
                    return not_started(business, integration)
                # Another process may have synced it while this one waited for the lock: check again.
                if not force and (current := self._schedule(host, integration, business)) and not current.due:
                    return BusinessResult(business, integration, skipped=Skip.NOT_DUE, due_at=iso(current.due_at))
                result = sync_business(host, integration, business, options=SyncOptions(dry_run=dry_run),
                                       lock_held=True)
        except locks.Locked as exc:
            if self.stop.is_set():
                return not_started(business, integration)
            return BusinessResult(business, integration, skipped=Skip.LOCKED, due_at=self._next_due(host, integration,
                                  business), error="in progress elsewhere: " + exc.message)
        except KeyboardInterrupt:
            return BusinessResult(business, integration, RunStatus.INTERRUPTED, error="interrupted")
        except Opus1Error as exc:  # before a run was opened: not configured, disabled, broken plugin
            return BusinessResult(business, integration, RunStatus.FAILED, error=scrub(exc.message),
                                  hint=scrub(exc.hint) if exc.hint else None, exit_code=int(exc.exit_code))
        except Exception as exc:  # our own bug must not stop the other businesses
            return BusinessResult(business, integration, RunStatus.FAILED,
                                  error=scrub(f"unexpected {type(exc).__name__}: {exc}"), exit_code=1,
                                  hint="run `opus1-int sync` for this business alone with OPUS1_INT_DEBUG=1")
        failure = result.failure
        return BusinessResult(business, integration, result.status, run_id=result.run_id, counts=result.counts,
                              due_at=self._next_due(host, integration, business),
                              error=scrub(failure.message) if failure else None,
                              hint=scrub(failure.hint) if failure and failure.hint else None,
                              exit_code=int(result.exit_code) if result.exit_code else None)

    def _schedule(self, host: Host, integration: str, business: str) -> schedule.Schedule | None:
        return schedule.status(host.db, business, integration, self.clock())

    def _next_due(self, host: Host, integration: str, business: str) -> str | None:
        current = self._schedule(host, integration, business)
        return iso(current.due_at) if current else None

    def sync_all(self, integration: str, *, force: bool = False, wait: bool = False, dry_run: bool = False,
                 jobs: int = DEFAULT_JOBS, on_result: Callable[[BusinessResult], None] = lambda result: None,
                 log: Callable[[str], None] = lambda line: None) -> list[BusinessResult]:
        """Sync every enabled business configured for the integration that is due, ``jobs`` at a time.

        Returns one result per business, in business order; ``on_result`` hears each as it happens. Once ``stop``
        is set, businesses not started yet are reported ``interrupted`` ("not started") and the running ones finish.
        A ``KeyboardInterrupt`` in the calling thread propagates at once (see ``cli.signals.hard_stop``).
        """
        db = state.open_db()
        try:
            businesses = [b for b, _ in schedule.configured(db, integration)]
        finally:
            db.conn.close()
        pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="opus1-sync")
        futures: dict[Future, str] = {
            pool.submit(self.sync_business, integration, b, force=force, wait=wait, dry_run=dry_run): b
            for b in businesses
        }
        results: dict[str, BusinessResult] = {}
        pending = set(futures)
        stopping = False
        try:
            while pending:
                done, pending = wait_for_futures(pending, timeout=_POLL, return_when=FIRST_COMPLETED)
                for future in done:
                    business = futures[future]
                    result = not_started(business, integration) if future.cancelled() else future.result()
                    results[business] = result
                    on_result(result)
                if self.stop.is_set():
                    for future in pending:
                        future.cancel()  # only those not started yet
                    if not stopping and pending:
                        stopping = True
                        log(f"stopping: no new syncs start; waiting for {sum(not f.done() for f in pending)} "
                            "running sync(s) to finish (signal again to interrupt them)")
        except BaseException as exc:
            # A second signal (KeyboardInterrupt) must not wait for the running syncs: see ``cli.signals``.
            pool.shutdown(wait=not isinstance(exc, KeyboardInterrupt), cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return [results[b] for b in businesses]

    def run_schedule(self, *, jobs: int = DEFAULT_JOBS, max_sleep: float = 300.0, retry_after: float = 3600.0,
                     wake: threading.Event | None = None, log: Callable[[str], None] = lambda line: None,
                     on_result: Callable[[BusinessResult], None] = lambda result: None) -> None:
        """Until ``stop`` is set: sync every enabled (business, integration) that is due, ``jobs`` at a time, then
        sleep until the next one is due (at most ``max_sleep`` seconds, so new businesses are noticed).

        A business whose sync failed is retried after ``retry_after`` seconds (or its interval, when shorter); one
        locked by another process is looked at again after ``max_sleep``. Returns once ``stop`` is set and the syncs
        in flight have finished; the caller's ``wake`` event (set by its signal handler) cuts a sleep short.
        """
        wake = wake or threading.Event()
        stopping = False
        db = state.open_db()
        pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="opus1-schedule")
        in_flight: dict[tuple[str, str], Future] = {}
        not_before: dict[tuple[str, str], datetime] = {}
        unknown: set[str] = set()
        try:
            while True:
                wake.clear()
                now = self.clock()
                for pair, future in list(in_flight.items()):
                    if not future.done():
                        continue
                    del in_flight[pair]
                    result = future.result()
                    on_result(result)
                    if result.status is RunStatus.FAILED:
                        hours = schedule.interval_hours(db, *pair)
                        not_before[pair] = now + min(timedelta(seconds=retry_after), timedelta(hours=hours))
                    elif result.skipped is Skip.LOCKED:
                        not_before[pair] = now + timedelta(seconds=max_sleep)
                    else:
                        not_before.pop(pair, None)
                if self.stop.is_set():
                    if not in_flight:
                        return
                    if not stopping:
                        stopping = True
                        log(f"stopping: no new syncs start; waiting for {len(in_flight)} running sync(s) to finish "
                            "(signal again to interrupt them)")
                    wait_for_futures(list(in_flight.values()), timeout=_POLL, return_when=FIRST_COMPLETED)
                    continue
                wakeups: list[datetime] = []
                for pair in schedule.configured(db):
                    business, integration = pair
                    if integration not in self.plugins.loaded:
                        if integration not in unknown:
                            unknown.add(integration)
                            log(f"skipping {integration}: the integration is not installed (`opus1-int plugins`)")
                        continue
                    if pair in in_flight:
                        continue
                    current = schedule.status(db, business, integration, now)
                    if current is None:  # removed since it was listed
                        continue
                    at = max(current.due_at or now, not_before.get(pair, now))
                    if at > now:
                        wakeups.append(at)
                    elif len(in_flight) < jobs:
                        future = pool.submit(self.sync_business, integration, business)
                        future.add_done_callback(lambda _: wake.set())
                        in_flight[pair] = future
                timeout = min([max_sleep] + [(at - now).total_seconds() for at in wakeups])
                wake.wait(max(timeout, 0.0))
        finally:
            pool.shutdown(wait=not in_flight, cancel_futures=True)
            db.conn.close()


def exit_code(results: list[BusinessResult]) -> ExitCode:
    """130 when any business was interrupted; else 1 when any failed; else 6 when any finished partly; else 0."""
    statuses = {r.status for r in results}
    if RunStatus.INTERRUPTED in statuses:
        return ExitCode.INTERRUPTED
    if RunStatus.FAILED in statuses:
        return ExitCode.FAILED
    return ExitCode.PARTIAL if RunStatus.PARTIAL in statuses else ExitCode.OK
