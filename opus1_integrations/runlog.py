"""The run log: one row per sync run with its status and counts, one row per item (contact) with its outcome.

Over 300 lines for a reason: the run's statuses and the items' outcomes, each documented, take a sixth of it, and the
writing (a run from insert to finish) and reading (filters, items) of the same two tables belong together; pruning
lives in ``retention``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import sqlite_utils

from .clock import Clock, iso, now, utcnow
from .locks import lock_is_free
from .redaction import scrub
from .state import StateUnusable, unusable

_FLUSH_EVERY = 1000
# Plain rows, many per statement: one step of SQLite, so the thread holding the write lock gives up Python's lock
# once per statement, not once per row (executemany), and its transaction is not drawn out by other threads.
_ROWS_PER_INSERT = 200
_INSERT_ITEMS = "insert into run_items (run_id, key, outcome, error_code, message, hint) values "


class RunStatus(StrEnum):
    """The status of a run in the run log."""

    RUNNING = "running"
    """In progress (a run whose process is gone shows as ``interrupted``)."""
    OK = "ok"
    """Finished: every item is in line or was left alone on purpose."""
    PARTIAL = "partial"
    """Finished, but the service refused some items (recorded as ``failed``; retried by the next run)."""
    FAILED = "failed"
    """Stopped by an error before it finished; the next run resumes the work."""
    INTERRUPTED = "interrupted"
    """Stopped by a signal or a killed process; the next run resumes the work."""


#: The statuses of a run that finished (the schedule counts them as the business's last sync).
FINISHED = (RunStatus.OK, RunStatus.PARTIAL)


class ItemOutcome(StrEnum):
    """What a sync did to one item (a contact key), as recorded with ``Run.record``; a dry run records what it
    would have done, with the same names."""

    CREATED = "created"
    """Added to the service."""
    UPDATED = "updated"
    """Already there; its fields or tags were brought in line."""
    UNCHANGED = "unchanged"
    """Already there and in line: nothing sent."""
    EMAIL_CHANGED = "email_changed"
    """The person's earlier entry got the new address (no duplicate was created)."""
    LEFT_ALONE = "left_alone"
    """Already in the service and not touched on purpose (e.g. the person unsubscribed there); the message says why."""
    SKIPPED = "skipped"
    """Not sent on purpose by the integration's rules (e.g. no consent to email); the message says why."""
    UNSUBSCRIBED = "unsubscribed"
    """Unsubscribed in the service by this integration (e.g. the client withdrew consent in opus1)."""
    ARCHIVED = "archived"
    """No longer a client: archived in the service (kept there, inactive)."""
    REMOVED = "removed"
    """No longer a client: deleted from the service."""
    LEAVER_TAGGED = "leaver_tagged"
    """No longer a client: tagged as a leaver in the service."""
    LEAVER_KEPT = "leaver_kept"
    """No longer a client: kept as it is in the service (the studio's leaver policy)."""
    LEAVER_GONE = "leaver_gone"
    """No longer a client, and already gone from the service."""
    FAILED = "failed"
    """The service refused it, or it could not be sent; needs a message, and is retried by the next run."""


#: The outcomes after which the item is in the service as opus1 has it (``verify`` samples these).
IN_LINE = (ItemOutcome.CREATED, ItemOutcome.UPDATED, ItemOutcome.UNCHANGED, ItemOutcome.EMAIL_CHANGED)


class Run:
    """A run in progress: buffers item outcomes and writes them in batches."""

    def __init__(self, db: sqlite_utils.Database, run_id: int, business: str, integration: str, dry_run: bool,
                 clock: Clock = utcnow):
        self.db = db
        self.id = run_id
        self.business = business
        self.integration = integration
        self.dry_run = dry_run
        self.clock = clock
        self._pending: list[tuple] = []
        self.counts: dict = {}
        self.export_fingerprint: str | None = None
        self.failed_items = 0
        self.status = RunStatus.RUNNING

    def record(
        self,
        key: str,
        outcome: ItemOutcome | str,
        *,
        error_code: str | None = None,
        message: str | None = None,
        hint: str | None = None,
    ) -> None:
        """Record what happened to one item (a contact key); secrets are scrubbed from the texts.

        ``outcome`` is an ``ItemOutcome`` (or its value); a ``failed`` item needs a ``message`` saying why, which
        ``diagnose`` and ``check`` show with the ``hint``. Raises ``ValueError`` for anything else (a plugin bug).
        """
        outcome = ItemOutcome(outcome)
        if outcome is ItemOutcome.FAILED:
            if not message:
                raise ValueError(f"a failed item needs a message saying why ({key!r})")
            self.failed_items += 1
        self._pending.append(
            (self.id, key, outcome.value, error_code, scrub(message) if message else message,
             scrub(hint) if hint else hint)
        )
        if len(self._pending) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write buffered item outcomes (``StateUnusable`` with the path when the database cannot take them)."""
        if self._pending:
            self._write(_item_inserts(self._pending))  # made before the write lock is taken

    def finish(self, status: RunStatus, counts: dict | None = None, error: str | None = None) -> None:
        """Close the run with its final status and counts, in one transaction with the last items; secrets are
        scrubbed from the error."""
        self.status = status
        statements = _item_inserts(self._pending)
        statements.append((
            "update runs set status = ?, finished_at = ?, counts = ?, error = ?, export_fingerprint = ? where id = ?",
            [status.value, iso(self.clock()), json.dumps(counts or {}), scrub(error) if error else error,
             self.export_fingerprint if status in FINISHED else None, self.id]))
        self._write(statements)

    def _write(self, statements: list[tuple[str, list]]) -> None:
        """Run the statements in one transaction (they hold the buffered items, which are then written)."""
        with writing(self.db), self.db.atomic():
            for sql, values in statements:
                self.db.conn.execute(sql, values)
        self._pending = []


def _item_inserts(pending: list[tuple]) -> list[tuple[str, list]]:
    """Item rows as insert statements of many rows each."""
    return [(_INSERT_ITEMS + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(rows)), [v for row in rows for v in row])
            for rows in (pending[i:i + _ROWS_PER_INSERT] for i in range(0, len(pending), _ROWS_PER_INSERT))]


@contextmanager
def running(db: sqlite_utils.Database, business: str, integration: str, dry_run: bool, *,
            clock: Clock = utcnow) -> Iterator[Run]:
    """Open a run; it ends ``ok`` (``partial`` when items failed), ``failed`` or ``interrupted`` however the block
    exits. Call it holding the business's lock (``locks.business_lock``); the block sets ``run.counts``. ``clock``
    stamps its start and end (a benchmark replays past days with its own)."""
    with db.atomic():
        cursor = db.conn.execute(
            "insert into runs (business, integration, started_at, status, dry_run, counts, pid) "
            "values (?, ?, ?, ?, ?, '{}', ?)",
            [business, integration, iso(clock()), RunStatus.RUNNING.value, int(dry_run), os.getpid()],
        )
    run = Run(db, cursor.lastrowid, business, integration, dry_run, clock)
    try:
        yield run
    except KeyboardInterrupt as exc:
        _finish_despite(exc, run, RunStatus.INTERRUPTED, "interrupted")
        raise
    except BaseException as exc:
        _finish_despite(exc, run, RunStatus.FAILED, getattr(exc, "message", None) or f"{type(exc).__name__}")
        raise
    else:
        run.finish(RunStatus.PARTIAL if run.failed_items else RunStatus.OK, run.counts)


def _finish_despite(exc: BaseException, run: Run, status: RunStatus, error: str) -> None:
    """Record how a run ended after ``exc`` stopped it; when the database cannot take even that (a full disk), keep
    ``exc`` as the error to report: the next run marks this one ``interrupted``."""
    try:
        run.finish(status, run.counts, error)
    except StateUnusable as db_error:
        exc.add_note(f"the run log could not record it: {db_error.message}")


@contextmanager
def writing(db: sqlite_utils.Database) -> Iterator[None]:
    """Turn the SQLite library's refusal to write (a full disk, a read-only file) into ``StateUnusable`` naming
    the database file."""
    try:
        yield
    except sqlite3.Error as exc:
        path = db.execute("PRAGMA database_list").fetchone()[2]
        raise unusable(Path(path), exc) from None


def mark_interrupted(db: sqlite_utils.Database, business: str, integration: str) -> None:
    """Mark runs left ``running`` as ``interrupted``; call only while holding the business lock."""
    where, args = "business = ? and integration = ? and status = ?", [business, integration, RunStatus.RUNNING.value]
    if db.execute(f"select 1 from runs where {where} limit 1", args).fetchone() is None:
        return  # the usual case: no write transaction
    _interrupt(db, where, args, "the process stopped before the run finished")


def mark_stopped(db: sqlite_utils.Database, *pids: int) -> list[tuple[int, str, str]]:
    """Mark the runs of these processes (this one and its fleet's workers) still ``running`` as ``interrupted``
    (a hard stop, before the processes end without waiting for them); returns them as (id, business, integration),
    in id order."""
    marks = ", ".join("?" * len(pids))
    where, args = f"status = ? and pid in ({marks})", [RunStatus.RUNNING.value, *pids]
    runs = [tuple(r) for r in db.execute(f"select id, business, integration from runs where {where} order by id",
                                         args).fetchall()]
    if runs:
        _interrupt(db, where, args, "interrupted")
    return runs


def _interrupt(db: sqlite_utils.Database, where: str, args: list, error: str) -> None:
    """Mark the runs matching ``where`` ``interrupted``, keeping an end time or error they already have."""
    with db.atomic():
        db.conn.execute(
            f"update runs set status = ?, finished_at = coalesce(finished_at, ?), error = coalesce(error, ?) "
            f"where {where}",
            [RunStatus.INTERRUPTED.value, now(), error, *args],
        )


def list_runs(
    db: sqlite_utils.Database,
    *,
    run_id: int | None = None,
    business: str | None = None,
    integration: str | None = None,
    status: RunStatus | str | None = None,
    since: str | None = None,
    limit: int = 20,
) -> list[dict]:
    """The most recent runs, newest first, filtered in SQL; a ``running`` run whose process is gone (its business
    lock is free) shows as ``interrupted``, and only ``running`` rows are looked at for that.

    ``since`` (ISO 8601 text in UTC, as stored) keeps the runs started at or after it.
    """
    status = RunStatus(status) if status is not None else None
    where, args = [], []
    for clause, value in (("id = ?", run_id), ("business = ?", business), ("integration = ?", integration),
                          # unary plus: walk the runs newest first rather than every run since then by start time
                          ("+started_at >= ?", since)):
        if value is not None:
            where.append(clause)
            args.append(value)
    if status is RunStatus.INTERRUPTED:  # and the `running` rows whose process is gone
        where.append("status in (?, ?)")
        args += [RunStatus.RUNNING.value, RunStatus.INTERRUPTED.value]
    elif status is not None:
        where.append("status = ?")
        args.append(status.value)
    cursor = db.execute(f"select * from runs {'where ' + ' and '.join(where) if where else ''} order by id desc", args)
    columns = [c[0] for c in cursor.description]
    rows = []
    for values in cursor:
        row = dict(zip(columns, values))
        if row["status"] == RunStatus.RUNNING and lock_is_free(row["business"], row["integration"]):
            row["status"] = RunStatus.INTERRUPTED.value
        if status is not None and row["status"] != status:
            continue
        row["dry_run"] = bool(row["dry_run"])
        row["counts"] = json.loads(row["counts"] or "{}")
        rows.append(row)
        if len(rows) >= limit:
            break
    cursor.close()
    return rows


def items(db: sqlite_utils.Database, run_id: int, *, outcome: str | None = None,
          limit: int | None = None) -> list[dict]:
    """The item outcomes recorded by one run, in order, optionally of one outcome only and at most ``limit``."""
    where, args = "run_id = ?", [run_id]
    if outcome is not None:
        where, args = where + " and outcome = ?", args + [outcome]
    return [dict(r) for r in db["run_items"].rows_where(where, args, order_by="rowid", limit=limit)]


def outcome_counts(db: sqlite_utils.Database, run_id: int) -> dict[str, int]:
    """How many items of each outcome one run recorded."""
    return dict(db.execute("select outcome, count(*) from run_items where run_id = ? group by outcome",
                           [run_id]).fetchall())


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
