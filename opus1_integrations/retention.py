"""The run log's retention: run items are kept for 30 days and runs for 400 (by default), except what still matters.

Kept past those ages:

- a **failed item that is its contact's latest word**: the latest item recorded for that key by a real (not dry) run
  of the same business and integration. It stays until a later run records the contact again (it succeeded, or
  failed anew), so ``diagnose`` and ``check`` still name it however old it is;
- the **latest run of each business and integration**, so the schedule and ``diagnose`` still see it.

Pruning deletes in small transactions (syncs running meanwhile wait milliseconds, not minutes), remembers how far
the run items are pruned (``items_pruned_through``: each item is looked at once, whatever the log's size), and then
gives the freed pages back to the file system (``PRAGMA incremental_vacuum``). A database created before incremental
vacuum was on is converted once by ``runs prune`` (a full ``VACUUM``); automatic pruning never converts (it could hold
the database for minutes), so such a file stops growing but does not shrink until then.

Syncs prune automatically (``prune_if_due``): at most once an hour for all processes sharing the database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import sqlite_utils

from .clock import iso, parse, utcnow
from .runlog import ItemOutcome

AUTO_EVERY = timedelta(hours=1)
"""How often syncs prune automatically (all processes together)."""
_CHUNK_RUNS = 200  # runs whose items are pruned per transaction (about 40,000 items of 200-contact studios)
_VACUUM_PAGES = 2000  # pages given back per transaction
_INCREMENTAL = 2  # PRAGMA auto_vacuum's value for INCREMENTAL (a connection reads it as the file was when it opened)
_LOOK_EVERY = AUTO_EVERY / 6  # how often one process asks the database whether pruning is due
_looked_at: dict[str, datetime] = {}  # database file -> when this process last asked


@dataclass(frozen=True)
class Retention:
    """How long the run log keeps run items and runs, in days."""

    items_days: float
    runs_days: float

    def to_dict(self) -> dict:
        """As ``runs retention --json`` prints it."""
        return asdict(self)


@dataclass
class Pruned:
    """What one pruning deleted (or, for a dry run, would delete) and how the file changed."""

    retention: Retention
    runs: int = 0
    items: int = 0
    failed_items_kept: int = 0
    """Failed items older than the retention, kept because their contact has not been recorded since."""
    bytes_before: int = 0
    bytes_after: int = 0
    converted: bool = False
    """The database was converted to incremental vacuum (once, by a full ``VACUUM``)."""
    dry_run: bool = False

    def to_dict(self) -> dict:
        """As ``runs prune --json`` prints it."""
        return {"dry_run": self.dry_run, "items_days": self.retention.items_days,
                "runs_days": self.retention.runs_days, "runs": self.runs, "items": self.items,
                "failed_items_kept": self.failed_items_kept, "bytes_before": self.bytes_before,
                "bytes_after": self.bytes_after, "converted": self.converted}


def load(db: sqlite_utils.Database) -> Retention:
    """The saved retention (the defaults until ``save``)."""
    items_days, runs_days = db.execute("select items_days, runs_days from run_log_retention").fetchone()
    return Retention(items_days, runs_days)


def save(db: sqlite_utils.Database, retention: Retention) -> None:
    """Save the retention that automatic pruning and ``runs prune`` use; both ages must be more than 0."""
    if not (retention.items_days > 0 and retention.runs_days > 0):
        raise ValueError("retention ages must be more than 0 days")
    with db.atomic():
        db.conn.execute("update run_log_retention set items_days = ?, runs_days = ?",
                        [retention.items_days, retention.runs_days])


def size(db: sqlite_utils.Database) -> int:
    """The database's size in bytes (its pages; free pages included)."""
    return db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]


def prune(db: sqlite_utils.Database, retention: Retention | None = None, *, now: datetime | None = None,
          dry_run: bool = False, convert: bool = False) -> Pruned:
    """Delete the run items and runs older than the retention (the saved one unless given), except those kept (see
    the module), then give the freed pages back. ``convert``: turn an older database's incremental vacuum on first
    (a full ``VACUUM``, once). A dry run does the same in one transaction and rolls it back (so its counts are
    exact; syncs wait for it meanwhile)."""
    retention = retention or load(db)
    now = now or utcnow()
    pruned = Pruned(retention, bytes_before=size(db), dry_run=dry_run)
    if dry_run:
        db.conn.execute("BEGIN IMMEDIATE")  # the chunks below become savepoints of this transaction
        try:
            _prune(db, retention, now, pruned)
        finally:
            db.conn.rollback()
        pruned.bytes_after = pruned.bytes_before
        return pruned
    if convert and db.execute("PRAGMA auto_vacuum").fetchone()[0] != _INCREMENTAL:
        db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        db.execute("VACUUM")
        pruned.converted = True
    _prune(db, retention, now, pruned)
    with db.atomic():
        db.conn.execute("update run_log_retention set pruned_at = ?", [iso(now)])
    vacuum(db)
    pruned.bytes_after = size(db)
    return pruned


def _prune(db: sqlite_utils.Database, retention: Retention, now: datetime, pruned: Pruned) -> None:
    _prune_items(db, iso(now - timedelta(days=retention.items_days)), pruned)
    _prune_runs(db, iso(now - timedelta(days=retention.runs_days)), pruned)
    pruned.failed_items_kept = db.execute(
        "select count(*) from run_items where run_id <= (select items_pruned_through from run_log_retention) "
        "and outcome = ?", [ItemOutcome.FAILED.value]).fetchone()[0]


def prune_if_due(db: sqlite_utils.Database, *, now: datetime | None = None) -> Pruned | None:
    """Prune with the saved retention unless any process sharing the database did so less than an hour ago
    (``AUTO_EVERY``); this process looks at most once every ten minutes. Returns what was pruned, or ``None``."""
    now = now or utcnow()
    (file,) = [row[2] for row in db.execute("PRAGMA database_list").fetchall() if row[1] == "main"]
    if file in _looked_at and _looked_at[file] <= now < _looked_at[file] + _LOOK_EVERY:
        return None
    _looked_at[file] = now
    with db.atomic():  # claim the pruning, so that two processes finishing together do not both prune
        claimed = db.conn.execute("update run_log_retention set pruned_at = ? where pruned_at is null or "
                                  "pruned_at <= ?", [iso(now), iso(now - AUTO_EVERY)]).rowcount
    return prune(db, now=now) if claimed else None


def vacuum(db: sqlite_utils.Database) -> None:
    """Give free pages back to the file system, a few thousand per transaction. Does nothing on a database without
    incremental vacuum (asked by its effect: a connection opened before ``runs prune`` converted the file would
    still read the old setting)."""
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    while free:
        db.execute(f"PRAGMA incremental_vacuum({_VACUUM_PAGES})").fetchall()
        db.conn.commit()
        free, before = db.execute("PRAGMA freelist_count").fetchone()[0], free
        if free >= before:
            return


# An item of the runs in (lo, hi] may go unless it is a failed item that is the latest one recorded for its key by a
# real run of its business and integration.
_EXPIRED_ITEMS = """
    select i.rowid from run_items i join runs r on r.id = i.run_id
    where i.run_id > :lo and i.run_id <= :hi
      and not (i.outcome = :failed and r.dry_run = 0 and not exists (
          select 1 from run_items later join runs lr on lr.id = later.run_id
          where later.key = i.key and later.run_id > i.run_id and lr.dry_run = 0
            and lr.business = r.business and lr.integration = r.integration))
"""


def _prune_items(db: sqlite_utils.Database, cutoff: str, pruned: Pruned) -> None:
    """Delete the expired items of runs started before ``cutoff``: first those kept last time (looked at again: their
    contact may have been recorded since), then those of the runs past the mark, in chunks, moving the mark."""
    (mark,) = db.execute("select items_pruned_through from run_log_retention").fetchone()
    first_kept = db.execute("select min(id) from runs where started_at >= ?", [cutoff]).fetchone()[0]
    through = first_kept - 1 if first_kept is not None else (db.execute("select max(id) from runs").fetchone()[0] or 0)
    ranges = [(0, mark)] if mark else []
    lo = mark
    while lo < through:
        ids = [r[0] for r in db.execute("select id from runs where id > ? and id <= ? order by id limit ?",
                                        [lo, through, _CHUNK_RUNS]).fetchall()]
        hi = ids[-1] if ids else through
        ranges.append((lo, hi))
        lo = hi
    for lo, hi in ranges:
        with db.atomic():
            pruned.items += db.conn.execute(
                f"delete from run_items where rowid in (select rowid from ({_EXPIRED_ITEMS}))",
                {"lo": lo, "hi": hi, "failed": ItemOutcome.FAILED.value}).rowcount
            if hi > mark:
                db.conn.execute("update run_log_retention set items_pruned_through = ?", [hi])


def _prune_runs(db: sqlite_utils.Database, cutoff: str, pruned: Pruned) -> None:
    """Delete the runs started before ``cutoff`` (and whatever items they still have), except the latest run of each
    business and integration."""
    ids = [r[0] for r in db.execute(
        "select id from runs r where started_at < ? and exists (select 1 from runs later where later.business = "
        "r.business and later.integration = r.integration and later.id > r.id) order by id", [cutoff]).fetchall()]
    for start in range(0, len(ids), _CHUNK_RUNS):
        chunk = ids[start:start + _CHUNK_RUNS]
        marks = ", ".join("?" * len(chunk))
        with db.atomic():
            pruned.items += db.conn.execute(f"delete from run_items where run_id in ({marks})", chunk).rowcount
            pruned.runs += db.conn.execute(f"delete from runs where id in ({marks})", chunk).rowcount


def last_pruned(db: sqlite_utils.Database) -> datetime | None:
    """When the run log was last pruned (``None``: never)."""
    (at,) = db.execute("select pruned_at from run_log_retention").fetchone()
    return parse(at) if at else None
