"""Many businesses at once (the fleet): the one-shot ``sync INTEGRATION --all`` and the long-running ``schedule run``.

Each business is synced by a worker (``services.workers``): by default a thread of one of a few worker processes,
one process per core, ``jobs`` businesses at once in all; with ``processes=0`` a thread of this process. Each worker
thread keeps one SQLite connection and ``Host`` for all the businesses it syncs; one failing business (even a worker
process that crashes) never stops the others. Every sync runs under the business lock (``locks.business_lock``) and
re-checks, once it holds the lock, that the business is still due: another process may just have synced it.

Stopping: the caller passes a ``stop`` event (set by its signal handler). Once it is set no new sync starts, and the
syncs in flight finish (``opus1_integrations.cli.signals`` handles a second signal: the caller kills the workers and
marks the runs of this process and of ``worker_pids`` interrupted). Afterwards the run log is pruned when due
(``retention.prune_if_due``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime, timedelta

from .. import locks, retention, runlog, schedule, state
from ..clock import Clock, iso, utcnow
from ..errors import Opus1Error
from ..hookdata import SyncOptions
from ..host import Host
from ..plugins import Plugins
from ..redaction import scrub
from ..runlog import RunStatus
from .fleet_result import BusinessResult, Skip, exit_code, not_started  # noqa: F401  (the front doors' names)
from .sync import sync_business
from .workers import ProcessWorkers, ThreadWorkers, WorkerDied, default_processes, sleep

JOBS_PER_PROCESS = 16
"""Businesses at once per worker process by default: a sync mostly waits for the service (measured in bench/)."""
_POLL = 0.2  # how often a waiting main thread looks at the stop event


def default_jobs(processes: int) -> int:
    """How many businesses sync at once by default: ``JOBS_PER_PROCESS`` per worker process (or per core, for
    threads of this process)."""
    return JOBS_PER_PROCESS * (processes or default_processes())


class Fleet:
    """Syncs many businesses of the installed plugins, each under its lock, in worker processes (``processes``: how
    many; default one per core; 0: threads of this process).

    ``stop`` is set by the caller's signal handler: no new sync starts once it is; ``clock`` is the time source
    of the due rules (tests pass their own).
    """

    def __init__(self, plugins: Plugins, *, stop: threading.Event | None = None, clock: Clock = utcnow,
                 processes: int | None = None):
        self.plugins = plugins
        self.stop = stop or threading.Event()
        self.clock = clock
        self.processes = default_processes() if processes is None else processes
        self.worker_pids: list[int] = []
        """The worker processes this fleet started (a hard stop marks their runs interrupted)."""
        self._local = threading.local()
        self._hosts: list[Host] = []
        self._hosts_lock = threading.Lock()
        self._lost: dict[int, dict[tuple[str, str], int]] = {}

    def sync_business(self, integration: str, business: str, *, force: bool = False, wait: bool = False,
                      dry_run: bool = False) -> BusinessResult:
        """Sync one business if it is due (always with ``force``); never raises for the business's own failures.

        The plugin never sees ``force``: a safety stop is overridden one business at a time with
        ``sync --business B --force``. Runs in any thread, with that thread's connection (``close`` ends them).
        """
        return self._sync(self._host(), integration, business, force, wait, dry_run)

    def close(self) -> None:
        """Close the database connections of the threads that synced (call once they are done)."""
        with self._hosts_lock:
            hosts, self._hosts = self._hosts, []
        self._local = threading.local()
        for host in hosts:
            host.close()

    def _host(self) -> Host:
        """This thread's ``Host``, with a connection of its own kept for the next business."""
        host = getattr(self._local, "host", None)
        if host is None:
            host = self._local.host = Host(self.plugins, state.open_db())
            with self._hosts_lock:
                self._hosts.append(host)
        return host

    def _forget_parents_connections(self) -> None:
        """In a new worker process: the connections in the registry are the parent's (never used across a fork)."""
        self._hosts, self._local, self._hosts_lock = [], threading.local(), threading.Lock()

    def _workers(self, jobs: int) -> ThreadWorkers | ProcessWorkers:
        if self.processes == 0:
            return ThreadWorkers(self._task, jobs)
        return ProcessWorkers(self._task, processes=self.processes, jobs=jobs, on_stop=self.stop.set, initializer=self._forget_parents_connections,
                              finalizer=self.close)

    def _task(self, integration: str, business: str, force: bool, wait: bool, dry_run: bool) -> BusinessResult:
        return self.sync_business(integration, business, force=force, wait=wait, dry_run=dry_run)

    def _result(self, future: Future, integration: str, business: str) -> BusinessResult:
        """A finished worker task as a business's result: a task cancelled before it started was not started; a
        worker that died failed the business, and its run is marked interrupted."""
        if future.cancelled():
            return not_started(business, integration)
        error = future.exception()
        if error is None:
            return future.result()
        hint = f"run `opus1-int sync {integration} --business {business}` alone with OPUS1_INT_DEBUG=1"
        if isinstance(error, WorkerDied):
            run_id = self._lost_runs(error.pid).get((business, integration))
            return BusinessResult(business, integration, RunStatus.FAILED, run_id=run_id, exit_code=1, hint=hint,
                                  error=f"{error} while syncing it" + ("; the run is marked interrupted and the "
                                                                       "next run resumes it" if run_id else ""))
        return BusinessResult(business, integration, RunStatus.FAILED, exit_code=1, hint=hint,
                              error=scrub(f"unexpected {type(error).__name__}: {error}"))

    def _lost_runs(self, pid: int) -> dict[tuple[str, str], int]:
        """The runs a dead worker left ``running``, marked interrupted (once per worker)."""
        if pid not in self._lost:
            self._lost[pid] = {(business, integration): run_id for run_id, business, integration
                               in runlog.mark_stopped(self._host().db, pid)}
        return self._lost[pid]

    def _sync(self, host: Host, integration: str, business: str, force: bool, wait: bool,
              dry_run: bool) -> BusinessResult:
        if self.stop.is_set():
            return not_started(business, integration)
        if not force and (not_due := self._not_due(host, integration, business)) is not None:
            return not_due
        try:
            with locks.business_lock(business, integration, wait=wait, stop=self.stop):
                if self.stop.is_set():
                    return not_started(business, integration)
                # Another process may have synced it while this one waited for the lock: check again.
                if not force and (not_due := self._not_due(host, integration, business)) is not None:
                    return not_due
                result = sync_business(host, integration, business, options=SyncOptions(dry_run=dry_run),
                                       lock_held=True, apply_retention=False)
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

    def _not_due(self, host: Host, integration: str, business: str) -> BusinessResult | None:
        """The business's result skipped as not due yet, or ``None`` when it is due (or not scheduled)."""
        current = self._schedule(host, integration, business)
        if current and not current.due:
            return BusinessResult(business, integration, skipped=Skip.NOT_DUE, due_at=iso(current.due_at))
        return None

    def _schedule(self, host: Host, integration: str, business: str) -> schedule.Schedule | None:
        return schedule.status(host.db, business, integration, self.clock())

    def _next_due(self, host: Host, integration: str, business: str) -> str | None:
        current = self._schedule(host, integration, business)
        return iso(current.due_at) if current else None

    def sync_all(self, integration: str, *, force: bool = False, wait: bool = False, dry_run: bool = False,
                 jobs: int | None = None, on_result: Callable[[BusinessResult], None] = lambda result: None,
                 log: Callable[[str], None] = lambda line: None) -> list[BusinessResult]:
        """Sync every enabled business configured for the integration that is due, ``jobs`` at a time (default:
        ``default_jobs``).

        Returns one result per business, in business order; ``on_result`` hears each as it happens. Once ``stop``
        is set, businesses not started yet are reported ``interrupted`` ("not started") and the running ones finish.
        A ``KeyboardInterrupt`` in the calling thread kills the workers and propagates at once (see
        ``cli.signals.hard_stop``).
        """
        host = self._host()
        businesses = [b for b, _ in schedule.configured(host.db, integration)]
        workers = self._workers(jobs or default_jobs(self.processes))
        futures: dict[Future, str] = {workers.submit(integration, b, force, wait, dry_run): b for b in businesses}
        results: dict[str, BusinessResult] = {}
        pending = set(futures)
        stopping = False
        try:
            while pending:
                done = workers.wait(pending, _POLL)
                pending -= done
                for future in done:
                    result = self._result(future, integration, futures[future])
                    results[result.business] = result
                    on_result(result)
                if self.stop.is_set():
                    for future in pending:
                        future.cancel()  # only those not started yet
                    if not stopping:
                        stopping = True
                        workers.signal_stop()
                        if running := sum(not f.done() for f in pending):
                            log(f"stopping: no new syncs start; waiting for {running} running sync(s) to finish "
                                "(signal again to interrupt them)")
        except BaseException as exc:
            # A second signal (KeyboardInterrupt) must not wait for the running syncs: see ``cli.signals``.
            workers.shutdown(kill=isinstance(exc, KeyboardInterrupt))
            raise
        else:
            workers.shutdown()
            retention.prune_if_due(host.db)
        finally:
            self.worker_pids += workers.pids
            self.close()
        return [results[b] for b in businesses]

    def run_schedule(self, *, jobs: int | None = None, max_sleep: float = 300.0, retry_after: float = 3600.0,
                     wake: threading.Event | None = None, log: Callable[[str], None] = lambda line: None,
                     on_result: Callable[[BusinessResult], None] = lambda result: None) -> None:
        """Until ``stop`` is set: sync every enabled (business, integration) that is due, ``jobs`` at a time (default:
        ``default_jobs``), then sleep until the next one is due (at most ``max_sleep`` seconds, so new businesses are
        noticed), pruning the run log when due.

        A business whose sync failed is retried after ``retry_after`` seconds (or its interval, when shorter); one
        locked by another process is looked at again after ``max_sleep``. Returns once ``stop`` is set and the syncs
        in flight have finished; the caller's ``wake`` event (set by its signal handler) cuts a sleep short.
        """
        jobs = jobs or default_jobs(self.processes)
        wake = wake or threading.Event()
        stopping = False
        db = self._host().db
        workers = self._workers(jobs)
        in_flight: dict[tuple[str, str], Future] = {}
        not_before: dict[tuple[str, str], datetime] = {}
        unknown: set[str] = set()
        killed = False
        try:
            while True:
                wake.clear()
                now = self.clock()
                for pair, future in list(in_flight.items()):
                    if not future.done():
                        continue
                    del in_flight[pair]
                    result = self._result(future, pair[1], pair[0])
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
                        workers.signal_stop()
                        log(f"stopping: no new syncs start; waiting for {len(in_flight)} running sync(s) to finish "
                            "(signal again to interrupt them)")
                    workers.wait(in_flight.values(), _POLL)
                    continue
                retention.prune_if_due(db)
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
                        in_flight[pair] = workers.submit(integration, business, False, False, False)
                timeout = min([max_sleep] + [(at - now).total_seconds() for at in wakeups])
                sleep(workers, in_flight.values(), wake, max(timeout, 0.0))
        except KeyboardInterrupt:
            killed = True
            raise
        finally:
            workers.shutdown(kill=killed or bool(in_flight))
            self.worker_pids += workers.pids
            self.close()
