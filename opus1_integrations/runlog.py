"""The run log: one row per sync run, one row per item outcome, and a lock per business and integration."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlite_utils

from .errors import OperationFailed
from .settings import now, scrub
from .state import home

RUNNING, OK, FAILED, INTERRUPTED = "running", "ok", "failed", "interrupted"
_FLUSH_EVERY = 1000


class Run:
    """A run in progress: buffers item outcomes and writes them in batches."""

    def __init__(self, db: sqlite_utils.Database, run_id: int, business: str, integration: str, dry_run: bool):
        self.db = db
        self.id = run_id
        self.business = business
        self.integration = integration
        self.dry_run = dry_run
        self._pending: list[tuple] = []
        self.counts: dict = {}
        self.export_fingerprint: str | None = None

    def record(
        self,
        key: str,
        outcome: str,
        *,
        error_code: str | None = None,
        message: str | None = None,
        hint: str | None = None,
    ) -> None:
        """Record what happened to one item (a contact key or a person id); secrets are scrubbed from the text."""
        self._pending.append(
            (self.id, key, outcome, error_code, scrub(message) if message else message, scrub(hint) if hint else hint)
        )
        if len(self._pending) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write buffered item outcomes."""
        if self._pending:
            with self.db.atomic():  # plain rows: insert_all would inspect every value of every row
                self.db.conn.executemany(
                    "insert into run_items (run_id, key, outcome, error_code, message, hint) values (?, ?, ?, ?, ?, ?)",
                    self._pending,
                )
            self._pending = []

    def finish(self, status: str, counts: dict | None = None, error: str | None = None) -> None:
        """Close the run with its final status and counts; secrets are scrubbed from the error."""
        self.flush()
        self.db["runs"].update(
            self.id,
            {
                "status": status,
                "finished_at": now(),
                "counts": json.dumps(counts or {}),
                "error": scrub(error) if error else error,
                "export_fingerprint": self.export_fingerprint if status == OK else None,
            },
        )


def lock_path(business: str, integration: str) -> Path:
    """The lock file guarding one business's runs of one integration."""
    return home() / "locks" / f"{quote(business, safe='')}.{quote(integration, safe='')}.lock"


class Locked(OperationFailed):
    """Another process holds the business's lock for this integration (exit 1)."""


_WAIT_POLL = 0.05


@contextmanager
def business_lock(
    business: str, integration: str, *, wait: bool = False, stop: threading.Event | None = None
) -> Iterator[None]:
    """Hold the business's lock; released when the block ends or the process dies (the kernel drops a dead
    process's ``flock``, so a killed run never leaves a stale lock).

    When another process holds it: raise ``Locked`` at once, or with ``wait`` poll until it is free. A waiter
    gives up with ``Locked`` when ``stop`` is set (a stopping scheduler must not start new runs).
    """
    path = lock_path(business, integration)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or (stop is not None and stop.is_set()):
                    raise Locked(
                        f"another {integration} run for business {business!r} is in progress",
                        hint="wait for it to finish; `opus1-int runs` shows it; `sync --wait` waits for it",
                    ) from None
            # Polling, not a blocking flock: a waiting worker thread must notice ``stop``.
            if stop is not None:
                stop.wait(_WAIT_POLL)
            else:
                time.sleep(_WAIT_POLL)
        yield
    finally:
        os.close(fd)


def _lock_is_free(business: str, integration: str) -> bool:
    path = lock_path(business, integration)
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


@contextmanager
def running(
    db: sqlite_utils.Database,
    business: str,
    integration: str,
    dry_run: bool,
    *,
    wait: bool = False,
    stop: threading.Event | None = None,
    check: Callable[[], None] | None = None,
) -> Iterator[Run]:
    """Open a run under the business lock; it ends ``ok``, ``failed`` or ``interrupted`` however the block exits.

    The block sets ``run.counts`` before returning; runs left ``running`` by a killed process are marked
    ``interrupted`` first. ``check`` is called once the lock is held and before the run is opened: it raises to
    skip the run (a scheduled sync re-checks that the business is still due). ``wait`` and ``stop`` are
    ``business_lock``'s.
    """
    with business_lock(business, integration, wait=wait, stop=stop):
        mark_interrupted(db, business, integration)
        if check is not None:
            check()
        table = db["runs"]
        table.insert(
            {
                "business": business,
                "integration": integration,
                "started_at": now(),
                "status": RUNNING,
                "dry_run": int(dry_run),
                "counts": "{}",
                "pid": os.getpid(),
            }
        )
        run = Run(db, table.last_pk, business, integration, dry_run)
        try:
            yield run
        except KeyboardInterrupt:
            run.finish(INTERRUPTED, run.counts, "interrupted")
            raise
        except BaseException as exc:
            run.finish(FAILED, run.counts, getattr(exc, "message", None) or f"{type(exc).__name__}")
            raise
        else:
            run.finish(OK, run.counts)


def mark_interrupted(db: sqlite_utils.Database, business: str, integration: str) -> None:
    """Mark runs left ``running`` as ``interrupted``; call only while holding the business lock."""
    db.execute(
        "update runs set status = ?, finished_at = coalesce(finished_at, ?), error = coalesce(error, ?) "
        "where business = ? and integration = ? and status = ?",
        [INTERRUPTED, now(), "the process stopped before the run finished", business, integration, RUNNING],
    )
    db.conn.commit()


def mark_stopped(db: sqlite_utils.Database, pid: int) -> list[int]:
    """Mark this process's runs still ``running`` as ``interrupted`` (a hard stop, before the process exits
    without waiting for them); returns their ids."""
    ids = [r[0] for r in db.execute("select id from runs where status = ? and pid = ?", [RUNNING, pid]).fetchall()]
    if ids:
        db.execute(
            "update runs set status = ?, finished_at = coalesce(finished_at, ?), error = coalesce(error, ?) "
            "where status = ? and pid = ?",
            [INTERRUPTED, now(), "interrupted", RUNNING, pid],
        )
        db.conn.commit()
    return ids


def list_runs(
    db: sqlite_utils.Database,
    *,
    business: str | None = None,
    integration: str | None = None,
    status: str | None = None,
    since: str | None = None,
    limit: int = 20,
) -> list[dict]:
    """The most recent runs, newest first; a ``running`` run whose process is gone shows as ``interrupted``.

    ``since`` (ISO 8601 text in UTC, as stored) keeps the runs started at or after it.
    """
    rows = []
    for row in db["runs"].rows_where(
        " and ".join(
            clause
            for clause, value in (("business = :business", business), ("integration = :integration", integration),
                                  ("started_at >= :since", since))
            if value is not None
        )
        or None,
        {"business": business, "integration": integration, "since": since},
        order_by="id desc",
    ):
        row = dict(row)
        row["dry_run"] = bool(row["dry_run"])
        row["counts"] = json.loads(row["counts"] or "{}")
        if row["status"] == RUNNING and _lock_is_free(row["business"], row["integration"]):
            row["status"] = INTERRUPTED
        if status is None or row["status"] == status:
            rows.append(row)
        if len(rows) >= limit:
            break
    return rows


def items(db: sqlite_utils.Database, run_id: int, *, outcome: str | None = None) -> list[dict]:
    """The item outcomes recorded by one run, optionally of one outcome only."""
    where, args = "run_id = ?", [run_id]
    if outcome is not None:
        where, args = where + " and outcome = ?", args + [outcome]
    return [dict(r) for r in db["run_items"].rows_where(where, args, order_by="rowid")]


def last_item(db: sqlite_utils.Database, business: str, integration: str, key: str) -> dict | None:
    """What the latest non-dry run that touched ``key`` recorded for it."""
    rows = db.execute(
        "select run_items.*, runs.started_at from run_items join runs on runs.id = run_items.run_id "
        "where runs.business = ? and runs.integration = ? and runs.dry_run = 0 and run_items.key = ? "
        "order by run_items.run_id desc limit 1",
        [business, integration, key],
    ).fetchall()
    if not rows:
        return None
    cols = ["run_id", "key", "outcome", "error_code", "message", "hint", "started_at"]
    return dict(zip(cols, rows[0]))
