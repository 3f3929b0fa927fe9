"""The state database: one SQLite file under ``OPUS1_INT_HOME``, readable by its owner only."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
import sqlite_utils

HOME_ENV = "OPUS1_INT_HOME"
DB_NAME = "opus1-integrations.db"

DEFAULT_INTERVAL_HOURS = 24.0
BUSY_TIMEOUT = 30.0  # seconds a connection waits for another one's write lock


class Database(sqlite_utils.Database):
    """sqlite-utils' ``Database`` whose transactions take the write lock as they begin (``BEGIN IMMEDIATE``).

    Several processes and threads write to one database (``sync --all``, ``schedule run``). A plain ``BEGIN``
    that reads first (sqlite-utils reads a table's columns before inserting) cannot wait for the write lock: it fails
    at once with "database is locked" when another connection wrote meanwhile. Taking the lock at ``BEGIN`` waits
    for ``busy_timeout`` instead.
    """

    @contextmanager
    def atomic(self) -> Iterator["Database"]:
        """A transaction that takes the write lock when it begins (a savepoint when nested)."""
        if self.conn.in_transaction:  # nested: sqlite-utils' savepoint
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            with super().atomic():  # a savepoint inside this transaction
                yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.commit()
        except BaseException:
            self.rollback()
            raise


migrations = sqlite_utils.Migrations("opus1_integrations")


@migrations()
def m001_integrations_and_runs(db: sqlite_utils.Database) -> None:
    """Settings per business and integration, the run log and per-item results."""
    db["integrations"].create(
        {
            "business": str,
            "integration": str,
            "enabled": int,
            "settings": str,
            "contacts_path": str,
            "updated_at": str,
        },
        pk=("business", "integration"),
    )
    db["runs"].create(
        {
            "id": int,
            "business": str,
            "integration": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "dry_run": int,
            "counts": str,
            "error": str,
            "pid": int,
        },
        pk="id",
    )
    db["runs"].create_index(["business", "integration", "started_at"])
    db["run_items"].create(
        {
            "run_id": int,
            "key": str,
            "outcome": str,
            "error_code": str,
            "message": str,
            "hint": str,
        },
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["run_items"].create_index(["run_id", "key"])
    db["run_items"].create_index(["key"])


@migrations()
def m002_interval_hours(db: sqlite_utils.Database) -> None:
    """How often each business's integration is due for a sync (``configure --every HOURS``; default 24)."""
    db["integrations"].add_column("interval_hours", float, not_null_default=DEFAULT_INTERVAL_HOURS)
    db["runs"].create_index(["business", "integration", "status", "finished_at"])


@migrations()
def m003_export_fingerprint(db: sqlite_utils.Database) -> None:
    """The SHA-256 of the export a successful run read (``runs --json`` shows which export each run synced)."""
    db["runs"].add_column("export_fingerprint", str)


def apply_migrations(db: sqlite_utils.Database, migration_set: sqlite_utils.Migrations) -> None:
    """Apply a migration set while holding SQLite's write lock, so processes and threads opening the same
    database at once never apply a migration twice (each sees the others' records before it looks)."""
    if not migration_set.pending(db):
        return
    db.conn.execute("BEGIN IMMEDIATE")  # the write lock first; each migration runs in a savepoint inside
    try:
        migration_set.apply(db)
    except BaseException:
        db.rollback()
        raise
    db.commit()


def home() -> Path:
    """The folder holding the state: ``$OPUS1_INT_HOME`` or the platform's user data dir."""
    value = os.environ.get(HOME_ENV)
    return Path(value) if value else platformdirs.user_data_path("opus1-integrations", appauthor=False)


def _use_wal(db: sqlite_utils.Database) -> None:
    """Switch to WAL once. Switching does not wait for busy_timeout, so processes and threads opening a new
    database at once retry it."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def open_db(path: Path | None = None) -> sqlite_utils.Database:
    """Open (creating with mode 0600 if needed) the state database and apply the host's migrations."""
    path = path or home() / DB_NAME
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    db = Database(path)
    db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
    _use_wal(db)
    # In WAL mode NORMAL never corrupts the database; a power cut may undo the last commits, which the next run
    # redoes (it compares with Mailchimp, not with the ledger alone). FULL would fsync each of the many small commits.
    db.execute("PRAGMA synchronous=NORMAL")
    apply_migrations(db, migrations)
    return db
