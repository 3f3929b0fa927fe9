"""The state database: one SQLite file under ``OPUS1_INT_HOME``, readable by its owner only.

The file is checked before it is used: an existing file that is empty or not SQLite, or a home that held a database
which is now missing, is refused with the path and how to restore it, never silently recreated (a cron job would
otherwise go on syncing nobody). A new home is created on first use only, and says so once (a log warning).

Over 300 lines for a reason: the host's migrations (every change to its tables, never edited once released, so they
only grow) take a quarter of it, and belong with the opening that applies them.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
import sqlite_utils

from .errors import OperationFailed

HOME_ENV = "OPUS1_INT_HOME"
DB_NAME = "opus1-integrations.db"
#: Written next to the database once it is initialised: a home with this file and no database lost its database.
MARKER = "opus1-integrations.home"
RESTORE_HINT = ("restore the file from your backup (docs/operations.md, Backups); or, to start afresh, move it away "
                "and configure every business again; or point OPUS1_INT_HOME at the right folder")
log = logging.getLogger("opus1_integrations")

DEFAULT_INTERVAL_HOURS = 24.0
DEFAULT_ITEMS_DAYS = 30.0  # run items (one row per contact and run) are kept this long
DEFAULT_RUNS_DAYS = 400.0  # runs (one row per sync) are kept this long
BUSY_TIMEOUT = 30.0  # seconds a connection waits for another one's write lock
WAL_LIMIT = 64 << 20  # bytes of write-ahead log kept after a checkpoint


class StateUnusable(OperationFailed):
    """The state folder or database cannot be used as it is (exit 1); the message names the path."""


class Database(sqlite_utils.Database):
    """sqlite-utils' ``Database`` whose transactions take the write lock as they begin (``BEGIN IMMEDIATE``).

    Several processes and threads write to one database (``sync --all``, ``schedule run``). A plain ``BEGIN``
    that reads first (sqlite-utils reads a table's columns before inserting) cannot wait for the write lock: it fails
    at once with "database is locked" when another connection wrote meanwhile. Taking the lock at ``BEGIN`` waits
    for ``busy_timeout`` instead.
    The threads of one process queue for it on a lock of their own, woken as soon as it is free: SQLite's wait sleeps
    up to 100 ms at a time, past a lock long free (bench/README.md, "The write lock"). Processes wait through SQLite.
    """

    created_now = False
    """Whether this process created the state database (the home's first use)."""

    @contextmanager
    def atomic(self) -> Iterator["Database"]:
        """A transaction that takes the write lock when it begins (a savepoint when nested)."""
        if self.conn.in_transaction:  # nested: sqlite-utils' savepoint
            with super().atomic():
                yield self
            return
        with _writers:
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


_writers = threading.Lock()  # this process's threads take turns at write transactions (``Database.atomic``)


def _new_writers_lock() -> None:
    """In a forked child: a lock of its own (another thread of the parent may have held this one)."""
    global _writers
    _writers = threading.Lock()


os.register_at_fork(after_in_child=_new_writers_lock)

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


@migrations()
def m004_run_log_filters(db: sqlite_utils.Database) -> None:
    """Indexes for the run log's filters and retention: ``runs --status S`` walks the runs of one status newest
    first (an index entry ends with the row id), ``--since`` and pruning find runs by start time."""
    db["runs"].create_index(["status"], if_not_exists=True)
    db["runs"].create_index(["started_at"], if_not_exists=True)


@migrations()
def m005_retention(db: sqlite_utils.Database) -> None:
    """The run log's retention (one row): how long run items and runs are kept, and how far pruning has got."""
    db.execute(
        "create table run_log_retention (id integer primary key check (id = 1), items_days real not null, "
        "runs_days real not null, items_pruned_through integer not null default 0, pruned_at text)"
    )
    db.execute("insert into run_log_retention (id, items_days, runs_days) values (1, ?, ?)",
               [DEFAULT_ITEMS_DAYS, DEFAULT_RUNS_DAYS])


@migrations()
def m006_run_items_by_outcome(db: sqlite_utils.Database) -> None:
    """A run's items of one outcome, in the order recorded (``runlog.outcome_counts``, ``services.runs.run_items``);
    the web's own migration made it before, so a database may have it already."""
    db.execute("create index if not exists run_items_run_outcome on run_items (run_id, outcome)")


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
    """Open the state database, checked (``StateUnusable`` says what is wrong with which file), created with mode
    0600 in a 0700 folder on first use, looser permissions tightened, the host's migrations applied."""
    path = path or home() / DB_NAME
    _prepare_folder(path.parent)
    first_use = _check_file(path)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    try:
        # Not bound to the opening thread: a fleet's worker thread keeps one connection for all its businesses, and
        # the fleet closes them all at the end. A connection is still used by one thread at a time.
        db = Database(sqlite3.connect(path, check_same_thread=False))
        db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        if db.execute("PRAGMA page_count").fetchone()[0] == 0:
            # Only a database without tables can take this without a VACUUM: pruning the run log then gives pages
            # back to the file system (``retention.prune``). Older databases are converted by ``runs prune``.
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        _use_wal(db)
        # In WAL mode NORMAL never corrupts the database; a power cut may undo the last commits, which the next run
        # redoes (it compares with Mailchimp, not with the ledger alone). FULL would fsync each small commit.
        db.execute("PRAGMA synchronous=NORMAL")
        # After a checkpoint the write-ahead log is cut back to this size: a large prune leaves no large file.
        db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        apply_migrations(db, migrations)
    except sqlite3.DatabaseError as exc:
        raise unusable(path, exc) from None
    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"):
        _tighten(path.parent / name, 0o600)
    if first_use:
        (path.parent / MARKER).touch(mode=0o600)
    db.created_now = first_use
    return db


def unusable(path: Path, exc: sqlite3.Error) -> StateUnusable:
    """The error to show for a database the SQLite library refused: which file, what is wrong, what to do."""
    text = str(exc)
    if "not a database" in text:
        return StateUnusable(f"the state database {path} is not a SQLite database", hint=RESTORE_HINT)
    if "full" in text:
        return StateUnusable(f"no space left for the state database {path}",
                             hint="free space on that disk; the next run redoes what this one did not record")
    if "readonly" in text or "unable to open" in text:
        return StateUnusable(f"cannot write to the state database {path} ({text})",
                             hint="check the owner and permissions of the file and its folder, and that the disk is "
                                  "not mounted read-only")
    return StateUnusable(f"the state database {path} cannot be used: {text}", hint=RESTORE_HINT)


def _prepare_folder(folder: Path) -> None:
    """Create the state folder (0700) on first use, tighten looser permissions, check it can be written."""
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StateUnusable(f"cannot create the state folder {folder}: {exc.strerror}",
                            hint="create it, or set OPUS1_INT_HOME to a folder this user can write") from None
    _tighten(folder, 0o700)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StateUnusable(f"cannot write to the state folder {folder}",
                            hint="check its owner and permissions, and that the disk is not mounted read-only; or "
                                 "set OPUS1_INT_HOME to another folder")
    if created:
        log.warning("created a new state folder %s (first use; set %s to use another)", folder, HOME_ENV)


def _check_file(path: Path) -> bool:
    """Refuse a database file that is empty once the home was initialised, or that is missing from a home that had
    one; returns whether this is the home's first use (the database is new). (A file that is not SQLite is refused
    when SQLite opens it: this never opens the file itself, as closing a descriptor of it would drop the POSIX locks
    of the process's SQLite connections to it.)"""
    initialised = (path.parent / MARKER).exists() or (path.parent / "locks").is_dir()
    size = path.stat().st_size if path.exists() else None
    if size:
        return not (path.parent / MARKER).exists()
    if initialised:
        what = "is missing" if size is None else "is empty"
        raise StateUnusable(f"the state database {path} {what}, but this folder held one before", hint=RESTORE_HINT)
    return True


def _tighten(path: Path, mode: int) -> None:
    """Take group and other permissions away from an existing file or folder (``StateUnusable`` when it cannot)."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & 0o077:
        try:
            path.chmod(current & mode)
        except OSError as exc:
            raise StateUnusable(f"{path} can be read by other users (mode {current:o}) and cannot be changed: "
                                f"{exc.strerror}", hint=f"run `chmod {mode:o} {path}` as its owner") from None
