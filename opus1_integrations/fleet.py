"""Many businesses at once (the fleet): the one-shot ``sync INTEGRATION --all`` and the long-running ``schedule run`` loop.

Each business is synced in a worker thread of a bounded pool, with its own SQLite connection and its own ``Host``;
one failing business never stops the others. Every sync runs under the business lock (``locks.business_lock``)
and re-checks, once it holds the lock, that the business is still due: another process may just have synced it.

Stopping: the caller passes a ``stop`` event (set by its signal handler). Once it is set no new sync starts, and the
syncs in flight finish; ``hard_stop`` is for a second signal: it marks this process's runs ``interrupted`` and exits
at once without waiting for them.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import locks, runlog, schedule, state
from .clock import iso, utcnow
from .errors import Opus1Error
from .host import Host
from .hookdata import SyncOptions
from .plugins import Plugins
from .redaction import scrub

OK, FAILED, SKIPPED_NOT_DUE, SKIPPED_LOCKED, INTERRUPTED = (
    "ok", "failed", "skipped_not_due", "skipped_locked", "interrupted")
DEFAULT_JOBS = 4
EXIT_INTERRUPTED = 130
_POLL = 0.2  # how often a waiting main thread looks at the stop event

Clock = Callable[[], datetime]


@dataclass
class Outcome:
    """What happened to one business in a ``--all`` sync or a scheduler pass."""

    business: str
    integration: str
    outcome: str
    run_id: int | None = None
    due_at: str | None = None
    """When the business is (next) due: for a skipped business, when it will be; after a sync, the next time."""
    error: str | None = None
    hint: str | None = None
    exit_code: int | None = None
    """The exit code ``sync --business`` would have given this failure."""
    counts: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The outcome as printed by ``sync --all --json``."""
        return {
            "business": self.business,
            "integration": self.integration,
            "outcome": self.outcome,
            "run_id": self.run_id,
            "due_at": self.due_at,
            "error": self.error,
            "hint": self.hint,
            "exit_code": self.exit_code,
            "counts": self.counts,
        }


class _Stopping(Exception):
    """Raised under the lock when the caller is stopping: the run is not started."""


def sync_business(
    plugins: Plugins,
    integration: str,
    business: str,
    *,
    force: bool = False,
    wait: bool = False,
    dry_run: bool = False,
    stop: threading.Event | None = None,
    clock: Clock = utcnow,
) -> Outcome:
    """Sync one business if it is due (always with ``force``); never raises for the business's own failures.

    Opens its own database connection, so it can run in any thread. The plugin never sees ``force``: a safety
    stop is overridden one business at a time with ``sync --business B --force``.
    """
    db = state.open_db()
    try:
        return _sync_business(db, plugins, integration, business, force, wait, dry_run, stop, clock)
    finally:
        db.conn.close()


def _sync_business(db, plugins, integration, business, force, wait, dry_run, stop, clock) -> Outcome:
    def outcome(kind: str, **kwargs) -> Outcome:
        return Outcome(business, integration, kind, **kwargs)

    def next_due() -> str | None:
        current = schedule.status(db, business, integration, clock())
        return iso(current.due_at) if current else None

    def check() -> None:  # under the lock, before the run is opened
        if stop is not None and stop.is_set():
            raise _Stopping
        if not force:
            current = schedule.status(db, business, integration, clock())
            if current is not None and not current.due:
                raise schedule.NotDue(current)

    if stop is not None and stop.is_set():
        return outcome(INTERRUPTED, error="not started: stopping")
    if not force:
        current = schedule.status(db, business, integration, clock())
        if current is not None and not current.due:
            return outcome(SKIPPED_NOT_DUE, due_at=iso(current.due_at))
    before = db.execute("select coalesce(max(id), 0) from runs").fetchone()[0]
    try:
        result = Host(plugins, db).sync(
            integration, business, contacts=None, options=SyncOptions(dry_run=dry_run, force=False),
            show_progress=False, wait=wait, stop=stop, check=check,
        )
    except schedule.NotDue as exc:
        return outcome(SKIPPED_NOT_DUE, due_at=iso(exc.schedule.due_at))
    except _Stopping:
        return outcome(INTERRUPTED, error="not started: stopping")
    except locks.Locked as exc:
        if stop is not None and stop.is_set():
            return outcome(INTERRUPTED, error="not started: stopping")
        return outcome(SKIPPED_LOCKED, error="in progress elsewhere: " + exc.message, due_at=next_due())
    except KeyboardInterrupt:
        return outcome(INTERRUPTED, run_id=_run_of(db, business, integration, before), error="interrupted")
    except Opus1Error as exc:
        run_id = _run_of(db, business, integration, before)
        return outcome(FAILED, run_id=run_id, error=scrub(exc.message), hint=scrub(exc.hint) if exc.hint else None,
                       exit_code=exc.exit_code, counts=_counts(db, run_id), due_at=next_due())
    except Exception as exc:  # a bug or a broken plugin must not stop the other businesses
        return outcome(FAILED, run_id=_run_of(db, business, integration, before),
                       error=scrub(f"unexpected {type(exc).__name__}: {exc}"), exit_code=1,
                       hint="run `opus1-int sync` for this business alone with OPUS1_INT_DEBUG=1", due_at=next_due())
    return outcome(OK, run_id=result.run_id, counts=result.counts, due_at=next_due())


def _run_of(db, business: str, integration: str, after: int) -> int | None:
    """The run this process opened for the business after run id ``after`` (None when it failed before one)."""
    row = db.execute(
        "select max(id) from runs where id > ? and business = ? and integration = ? and pid = ?",
        [after, business, integration, os.getpid()],
    ).fetchone()
    return row[0] if row else None


def _counts(db, run_id: int | None) -> dict:
    """The counts a run recorded (a failed run keeps what it got done)."""
    if run_id is None:
        return {}
    return json.loads(db["runs"].get(run_id)["counts"] or "{}")


def sync_all(
    plugins: Plugins,
    integration: str,
    *,
    force: bool = False,
    wait: bool = False,
    dry_run: bool = False,
    jobs: int = DEFAULT_JOBS,
    stop: threading.Event | None = None,
    clock: Clock = utcnow,
    on_outcome: Callable[[Outcome], None] = lambda outcome: None,
    log: Callable[[str], None] = lambda line: None,
) -> list[Outcome]:
    """Sync every enabled business configured for the integration that is due, ``jobs`` at a time.

    Returns one outcome per business, in business order; ``on_outcome`` hears each as it happens. Once ``stop``
    is set, businesses not started yet are reported ``interrupted`` ("not started") and the running ones finish.
    A ``KeyboardInterrupt`` in the calling thread propagates at once (see ``hard_stop``).
    """
    stop = stop or threading.Event()
    db = state.open_db()
    try:
        businesses = [b for b, _ in schedule.configured(db, integration)]
    finally:
        db.conn.close()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="opus1-sync")
    futures: dict[Future, str] = {
        pool.submit(sync_business, plugins, integration, b, force=force, wait=wait, dry_run=dry_run, stop=stop,
                    clock=clock): b
        for b in businesses
    }
    outcomes: dict[str, Outcome] = {}
    pending = set(futures)
    stopping = False
    try:
        while pending:
            done, pending = wait_for_futures(pending, timeout=_POLL, return_when=FIRST_COMPLETED)
            for future in done:
                business = futures[future]
                if future.cancelled():
                    result = Outcome(business, integration, INTERRUPTED, error="not started: stopping")
                else:
                    result = future.result()
                outcomes[business] = result
                on_outcome(result)
            if stop.is_set():
                for future in pending:
                    future.cancel()  # only those not started yet
                if not stopping and pending:
                    stopping = True
                    log(f"stopping: no new syncs start; waiting for {sum(not f.done() for f in pending)} running "
                        "sync(s) to finish (signal again to interrupt them)")
    except BaseException as exc:
        # A second signal (KeyboardInterrupt) must not wait for the running syncs: see ``hard_stop``.
        pool.shutdown(wait=not isinstance(exc, KeyboardInterrupt), cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [outcomes[b] for b in businesses]


def exit_code(outcomes: list[Outcome]) -> int:
    """0 when every business is ok or skipped; 130 when any was interrupted; else 1 when any failed."""
    kinds = {o.outcome for o in outcomes}
    if INTERRUPTED in kinds:
        return EXIT_INTERRUPTED
    return 1 if FAILED in kinds else 0


def run_schedule(
    plugins: Plugins,
    *,
    jobs: int = DEFAULT_JOBS,
    max_sleep: float = 300.0,
    retry_after: float = 3600.0,
    stop: threading.Event,
    wake: threading.Event | None = None,
    clock: Clock = utcnow,
    log: Callable[[str], None] = lambda line: None,
    on_outcome: Callable[[Outcome], None] = lambda outcome: None,
) -> None:
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
            now = clock()
            for pair, future in list(in_flight.items()):
                if not future.done():
                    continue
                del in_flight[pair]
                result = future.result()
                on_outcome(result)
                if result.outcome == FAILED:
                    hours = schedule.interval_hours(db, *pair)
                    not_before[pair] = now + min(timedelta(seconds=retry_after), timedelta(hours=hours))
                elif result.outcome == SKIPPED_LOCKED:
                    not_before[pair] = now + timedelta(seconds=max_sleep)
                else:
                    not_before.pop(pair, None)
            if stop.is_set():
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
                if integration not in plugins.loaded:
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
                    future = pool.submit(sync_business, plugins, integration, business, stop=stop, clock=clock)
                    future.add_done_callback(lambda _: wake.set())
                    in_flight[pair] = future
            timeout = min([max_sleep] + [(at - now).total_seconds() for at in wakeups])
            wake.wait(max(timeout, 0.0))
    finally:
        pool.shutdown(wait=not in_flight, cancel_futures=True)
        db.conn.close()


def hard_stop(log: Callable[[str], None]) -> None:
    """A second signal: mark this process's runs in flight ``interrupted`` and exit 130 without waiting for them.

    The next run of each business resumes the work (see ``runlog.running``). Never returns.
    """
    try:
        db = state.open_db()
        ids = runlog.mark_stopped(db, os.getpid())
        db.conn.close()
        log("interrupted" + (f": run {', '.join(map(str, ids))} marked interrupted; the next run finishes the work"
                             if ids else ""))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)


@contextmanager
def stopping_on_signals(stop: threading.Event, on_first: Callable[[], None] = lambda: None) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM set ``stop`` the first time (and call ``on_first``, which must not
    write output), and raise ``KeyboardInterrupt`` in the main thread the second time.

    Only the main thread can install signal handlers; anywhere else this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame) -> None:  # no output here: the main thread may be writing
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        on_first()

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
