"""The run log: one row per sync run with its status and counts, one row per item (contact) with its outcome."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import sqlite_utils

from .clock import now
from .locks import lock_is_free
from .redaction import scrub
from .state import StateUnusable, unusable

_FLUSH_EVERY = 1000


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

    def __init__(self, db: sqlite_utils.Database, run_id: int, business: str, integration: str, dry_run: bool):
        self.db = db
        self.id = run_id
        self.business = business
        self.integration = integration
        self.dry_run = dry_run
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
            with writing(self.db):
                with self.db.atomic():  # plain rows: insert_all would inspect every value of every row
                    self.db.conn.executemany(
                        "insert into run_items (run_id, key, outcome, error_code, message, hint)"
                        " values (?, ?, ?, ?, ?, ?)",
                        self._pending,
                    )
            self._pending = []

    def finish(self, status: RunStatus, counts: dict | None = None, error: str | None = None) -> None:
        """Close the run with its final status and counts; secrets are scrubbed from the error."""
        self.flush()
        self.status = status
        with writing(self.db):
            self._update(status, counts, error)

    def _update(self, status: RunStatus, counts: dict | None, error: str | None) -> None:
        self.db["runs"].update(
            self.id,
            {
                "status": status.value,
                "finished_at": now(),
                "counts": json.dumps(counts or {}),
                "error": scrub(error) if error else error,
                "export_fingerprint": self.export_fingerprint if status in FINISHED else None,
            },
        )


@contextmanager
def running(db: sqlite_utils.Database, business: str, integration: str, dry_run: bool) -> Iterator[Run]:
    """Open a run; it ends ``ok`` (``partial`` when items failed), ``failed`` or ``interrupted`` however the block
    exits. Call it holding the business's lock (``locks.business_lock``); the block sets ``run.counts``."""
    table = db["runs"]
    table.insert(
        {
            "business": business,
            "integration": integration,
            "started_at": now(),
            "status": RunStatus.RUNNING.value,
            "dry_run": int(dry_run),
            "counts": "{}",
            "pid": os.getpid(),
        }
    )
    run = Run(db, table.last_pk, business, integration, dry_run)
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
    db.execute(
        "update runs set status = ?, finished_at = coalesce(finished_at, ?), error = coalesce(error, ?) "
        "where business = ? and integration = ? and status = ?",
        [RunStatus.INTERRUPTED.value, now(), "the process stopped before the run finished", business, integration,
         RunStatus.RUNNING.value],
    )
    db.conn.commit()


def mark_stopped(db: sqlite_utils.Database, pid: int) -> list[int]:
    """Mark this process's runs still ``running`` as ``interrupted`` (a hard stop, before the process exits
    without waiting for them); returns their ids."""
    ids = [r[0] for r in db.execute("select id from runs where status = ? and pid = ?", [RunStatus.RUNNING.value, pid]).fetchall()]
    if ids:
        db.execute(
            "update runs set status = ?, finished_at = coalesce(finished_at, ?), error = coalesce(error, ?) "
            "where status = ? and pid = ?",
            [RunStatus.INTERRUPTED.value, now(), "interrupted", RunStatus.RUNNING.value, pid],
        )
        db.conn.commit()
    return ids


def list_runs(
    db: sqlite_utils.Database,
    *,
    run_id: int | None = None,
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
            for clause, value in (("id = :run_id", run_id), ("business = :business", business),
                                  ("integration = :integration", integration), ("started_at >= :since", since))
            if value is not None
        )
        or None,
        {"run_id": run_id, "business": business, "integration": integration, "since": since},
        order_by="id desc",
    ):
        row = dict(row)
        row["dry_run"] = bool(row["dry_run"])
        row["counts"] = json.loads(row["counts"] or "{}")
        if row["status"] == RunStatus.RUNNING and lock_is_free(row["business"], row["integration"]):
            row["status"] = RunStatus.INTERRUPTED.value
        if status is None or row["status"] == status:
            rows.append(row)
        if len(rows) >= limit:
            break
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
