"""The scratch database of one sync: the audience as read, the ledger as it was, and the plan, on disk.

A sync holds a bounded working set whatever the audience's size: members are streamed from Mailchimp's pages into
this database, the plan is made by walking the contacts (in key order) beside the members and the ledger (in the
same order), and every later step reads its actions back from a cursor. The database lives in a private temporary
folder (mode 0700, files 0600) that ``close`` removes, also when the sync fails.

It runs over 300 lines because it holds every query of the sync's data flow in one place: the tables, the walk
and the reads of the plan belong together, and split they would only call each other.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

from opus1_integrations.api import ItemOutcome

from .ledger import COLUMNS as _LEDGER_COLUMNS
from .ledger import Synced, decode, tag_set
from .members import Member, member_from_row
from .planner import Action
from .sender import Sent

#: SQLite's page cache per connection, in KiB: the working set does not grow with the audience.
CACHE_KIB = 16 * 1024
#: Rows per write to the scratch database or the ledger, and per read from a cursor (one transaction each).
BATCH = 2000
_PRAGMAS = ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", f"cache_size=-{CACHE_KIB}")
_MEMBER_COLUMNS = "key, email, status, fname, lname, phone, tags, unsubscribe_reason, last_changed"
_LEDGER_WIDTH = len(_LEDGER_COLUMNS.split(", "))
#: One row per planned action, in the order planned (``seq``); JSON where a value is a collection, NULL when empty.
#: ``people``, ``managed`` and ``accounts`` are what the ledger must hold for the member once the action went
#: through (person ids, managed tags and account ids, as ``ledger.encode`` makes them), or NULL when the ledger
#: holds it already; ``status`` is a new member's, ``code`` the reason code of an action not sent on purpose,
#: ``pids`` the people behind the member (for the plan file).
_PLAN_COLUMNS = ("seq, key, email, action, reason, fields, tags_add, tags_remove, old_key, people, managed, accounts, "
                 "status, code, pids")
_PLAN_WIDTH = len(_PLAN_COLUMNS.split(", "))


def _connect(path: Path) -> sqlite3.Connection:
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, uri=True)
    for pragma in _PRAGMAS:
        db.execute(f"PRAGMA {pragma}")
    return db


def _batches(rows: Iterable) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _jsontag_set(tags: frozenset[str]) -> str | None:
    return json.dumps(sorted(tags), ensure_ascii=False) if tags else None


class MemberWriter:
    """Takes the members read from Mailchimp, page by page, on a connection of its own (the reading threads')."""

    def __init__(self, path: Path):
        self.db = _connect(path)
        self.db.execute(f"CREATE TABLE members ({_MEMBER_COLUMNS}, source, PRIMARY KEY (key, source)) WITHOUT ROWID")
        self.db.execute("BEGIN")

    def add(self, rows: list[tuple]) -> None:
        """Store members as read (``members.member_row``): (key, email, status, FNAME, LNAME, PHONE, tags JSON,
        unsubscribe reason, last changed, source) where ``source`` 0 is the full listing and 1 the listing of
        archived members. The first row of a key and source is kept; the readers take the full listing's row of an
        address before the archived one's."""
        self.db.executemany("INSERT OR IGNORE INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def finish(self) -> None:
        """Commit and close."""
        self.db.execute("COMMIT")
        self.db.close()

    def close(self) -> None:
        """Close without finishing (the read failed)."""
        self.db.close()


class Scratch:
    """One sync's temporary database: members, the ledger's rows as the sync started, the plan and its outcomes."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="opus1-mailchimp-"))  # mode 0700
        try:
            self.db = _connect(self.folder / "sync.sqlite")
            self.db.executescript(f"""
                CREATE TABLE synced ({_LEDGER_COLUMNS}, PRIMARY KEY (key)) WITHOUT ROWID;
                CREATE TABLE people (pid, key);
                CREATE TABLE unmatched (key PRIMARY KEY) WITHOUT ROWID;
                CREATE TABLE moved (key PRIMARY KEY) WITHOUT ROWID;
                CREATE TABLE plan (seq INTEGER PRIMARY KEY, key, email, action, reason, fields, tags_add,
                                   tags_remove, old_key, people, managed, accounts, status, code, pids);
                CREATE TABLE sent (key PRIMARY KEY, outcome, error_code, message, hint) WITHOUT ROWID;
            """)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self._members_path = self.folder / "members.sqlite"
        self._seq = 0

    def __enter__(self) -> "Scratch":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database and remove its folder."""
        try:
            self.db.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- filling ------------------------------------------------------------------------------------------------

    def member_writer(self) -> MemberWriter:
        """Where the members read from Mailchimp go (one writer, used by one thread)."""
        return MemberWriter(self._members_path)

    def attach_members(self) -> None:
        """Make the members table (once ``MemberWriter.finish`` committed it) readable beside the others."""
        self.db.execute("ATTACH DATABASE ? AS mc", (str(self._members_path),))

    def copy_ledger(self, file: str, query: str, params: list[str]) -> None:
        """Keep the ledger's rows as the sync found them, and index them by person: ``query`` (of
        ``Ledger.source("ledger")``) reads them from the ledger's database ``file``, attached read-only. Runs on
        any one thread (the connection is not used elsewhere meanwhile)."""
        self.db.execute("ATTACH DATABASE ? AS ledger", (f"file:{quote(file)}?mode=ro",))
        try:
            self.db.execute("BEGIN")
            self.db.execute(f"INSERT INTO synced {query}", params)
            self.db.execute("INSERT INTO people SELECT j.value, s.key FROM synced s, json_each(s.person_ids) j")
            self.db.execute("CREATE INDEX people_pid ON people (pid, key)")
            self.db.execute("COMMIT")
        finally:
            self.db.execute("DETACH DATABASE ledger")

    # -- what the planner reads (planner.Known) -----------------------------------------------------------------

    def pair(self, contacts: Iterable) -> Iterator[tuple[object, Member | None, Synced | None]]:
        """Each contact with its member and its ledger row, walking both tables in key order beside the contacts
        (which come in key order: ``Audience.contacts``); ledger rows no contact claims are kept for ``leavers``."""
        members = _Walk(self.db.execute(f"SELECT {_MEMBER_COLUMNS} FROM mc.members ORDER BY key, source"))
        ledger = _Walk(self.db.execute(f"SELECT {_LEDGER_COLUMNS} FROM synced ORDER BY key"))
        unmatched: list[tuple[str]] = []
        previous = None
        for contact in contacts:
            key = contact.key
            if previous is not None and key <= previous:
                raise RuntimeError(f"contacts must come in ascending key order ({key!r} after {previous!r})")
            previous = key
            member = members.find(key, None)
            before = ledger.find(key, unmatched)
            if len(unmatched) >= BATCH:
                self._unmatched(unmatched)
            yield contact, member_from_row(member) if member else None, decode(before) if before else None
        ledger.find(None, unmatched)
        self._unmatched(unmatched)

    def _unmatched(self, rows: list[tuple[str]]) -> None:
        self.db.executemany("INSERT INTO unmatched VALUES (?)", rows)
        rows.clear()

    def owner(self, person_id: str) -> Synced | None:
        """The ledger row that holds this person (the greatest key, when several do)."""
        row = self.db.execute(
            f"SELECT {_LEDGER_COLUMNS} FROM synced WHERE key = (SELECT MAX(key) FROM people WHERE pid = ?)",
            (person_id,)).fetchone()
        return decode(row) if row else None

    def member(self, key: str) -> Member | None:
        """The member of an address, as read."""
        row = self.db.execute(f"SELECT {_MEMBER_COLUMNS} FROM mc.members WHERE key = ? ORDER BY source LIMIT 1",
                              (key,)).fetchone()
        return member_from_row(row) if row else None

    def moved(self, key: str) -> bool:
        """Whether an email change of this run already took this member."""
        return self.db.execute("SELECT 1 FROM moved WHERE key = ?", (key,)).fetchone() is not None

    def move(self, key: str) -> None:
        """Note that an email change of this run takes this member."""
        self.db.execute("INSERT INTO moved VALUES (?)", (key,))

    def leavers(self) -> Iterator[tuple[Synced, Member | None]]:
        """Ledger rows no contact claimed and no email change took, in key order, with their members."""
        rows = self.db.execute(
            f"SELECT {', '.join('s.' + c for c in _LEDGER_COLUMNS.split(', '))}, "
            f"{', '.join('m.' + c for c in _MEMBER_COLUMNS.split(', '))} FROM unmatched u JOIN synced s USING (key) "
            "LEFT JOIN mc.members m ON m.key = u.key AND m.source = (SELECT MIN(source) FROM mc.members WHERE key = u.key)"
            " WHERE u.key NOT IN (SELECT key FROM moved) ORDER BY u.key")
        for row in rows:
            yield decode(row[:_LEDGER_WIDTH]), (member_from_row(row[_LEDGER_WIDTH:])
                                                if row[_LEDGER_WIDTH] is not None else None)

    def seen(self) -> Iterator[tuple[Synced, Member]]:
        """The members of the ledger (as the sync found it) whose status in Mailchimp is another than the one the
        ledger holds (a status stored before statuses were kept counts as ``subscribed``), with the member read."""
        rows = self.db.execute(
            f"SELECT {', '.join('s.' + c for c in _LEDGER_COLUMNS.split(', '))}, "
            f"{', '.join('m.' + c for c in _MEMBER_COLUMNS.split(', '))} FROM synced s JOIN mc.members m "
            "ON m.key = s.key AND m.source = (SELECT MIN(source) FROM mc.members WHERE key = s.key)"
            " WHERE m.status != coalesce(s.status, 'subscribed') ORDER BY s.key")
        for row in rows:
            yield decode(row[:_LEDGER_WIDTH]), member_from_row(row[_LEDGER_WIDTH:])

    # -- the plan -----------------------------------------------------------------------------------------------

    def has_synced(self) -> bool:
        """Whether the ledger holds anyone."""
        return self.db.execute("SELECT EXISTS (SELECT 1 FROM synced)").fetchone()[0] == 1

    def has_current(self) -> bool:
        """Whether the ledger holds a member that has not left (so there may be leavers to act on)."""
        return self.db.execute("SELECT EXISTS (SELECT 1 FROM synced WHERE NOT left)").fetchone()[0] == 1

    def current_count(self) -> int:
        """How many members of the ledger have not left."""
        return self.db.execute("SELECT COUNT(*) FROM synced WHERE NOT left").fetchone()[0]

    def add_actions(self, planned: Iterable[tuple[Action, tuple[str, str, str] | None]]) -> None:
        """Append actions to the plan, each with what the ledger must then hold (``ledger.encode``'s person ids,
        managed tags and account ids, or ``None``)."""
        for batch in _batches(planned):
            rows = []
            for a, ledger in batch:
                self._seq += 1
                rows.append((self._seq, a.key, a.email, a.action.value, a.reason,
                             json.dumps(a.merge_fields, ensure_ascii=False) if a.merge_fields else None,
                             _jsontag_set(a.tags_add), _jsontag_set(a.tags_remove), a.old_key,
                             *(ledger or (None, None, None)), a.status, a.code,
                             json.dumps(a.person_ids) if a.person_ids else None))
            self.db.execute("BEGIN")
            self.db.executemany(f"INSERT INTO plan VALUES ({', '.join('?' * _PLAN_WIDTH)})", rows)
            self.db.execute("COMMIT")

    def counts(self) -> dict[ItemOutcome, int]:
        """How many actions of each kind the plan holds."""
        return {ItemOutcome(action): n for action, n in
                self.db.execute("SELECT action, COUNT(*) FROM plan GROUP BY action")}

    def actions(self, kind: ItemOutcome) -> Iterator[Action]:
        """The plan's actions of one kind, in the order planned."""
        for row in self.db.execute(f"SELECT {_PLAN_COLUMNS} FROM plan WHERE action = ? ORDER BY seq", (kind.value,)):
            yield _action(row)

    def rows(self) -> Iterator[dict]:
        """The plan as the rows of a plan file, in the order planned."""
        for row in self.db.execute(f"SELECT {_PLAN_COLUMNS} FROM plan ORDER BY seq"):
            yield _action(row).as_row()

    def changes(self) -> Iterator[Action]:
        """What ``/batches`` sends but the tags of email changes: updates, unsubscribes, leaver tags and archiving,
        in the order planned."""
        for row in self.db.execute(
                f"SELECT {_PLAN_COLUMNS} FROM plan WHERE action IN ('updated', 'unsubscribed', 'leaver_tagged', "
                "'archived') ORDER BY seq"):
            yield _action(row)

    def record_sent(self, outcomes: Iterable[tuple[str, Sent]]) -> None:
        """Keep the outcomes of sent actions, by member key."""
        self.db.execute("BEGIN")
        self.db.executemany("INSERT OR REPLACE INTO sent VALUES (?, ?, ?, ?, ?)",
                            ((key, s.outcome.value, s.error_code, s.message, s.hint) for key, s in outcomes))
        self.db.execute("COMMIT")

    def results(self, skip: ItemOutcome | None = None) -> Iterator[tuple]:
        """Every action (but those of kind ``skip``) with its outcome if sent, in the order planned: (key, email,
        action, reason, old key, people, managed, accounts, outcome, error code (the action's own reason code when
        it was not sent), message, hint)."""
        where, args = ("WHERE p.action != ?", (skip.value,)) if skip else ("", ())
        yield from self.db.execute(
            "SELECT p.key, p.email, p.action, p.reason, p.old_key, p.people, p.managed, p.accounts, s.outcome, "
            f"coalesce(s.error_code, p.code), s.message, s.hint FROM plan p LEFT JOIN sent s USING (key) {where} "
            "ORDER BY p.seq", args)


def _action(row: tuple) -> Action:
    (_, key, email, action, reason, fields, tags_add, tags_remove, old_key, _, managed, accounts, status, code,
     pids) = row
    return Action(key=key, email=email, action=ItemOutcome(action), reason=reason,
                  merge_fields=json.loads(fields) if fields else {}, tags_add=tag_set(tags_add),
                  tags_remove=tag_set(tags_remove), old_key=old_key,
                  person_ids=tuple(json.loads(pids)) if pids else (), managed_tags=tag_set(managed),
                  account_ids=tuple(json.loads(accounts)) if accounts else (), status=status, code=code)


class _Walk:
    """Rows of a cursor ordered by their first column (a key), taken in ascending key order: the first row of a
    key is the one found, any others are passed over."""

    def __init__(self, cursor: sqlite3.Cursor):
        self._cursor = cursor
        self._batch: list[tuple] = []
        self._i = 0
        self._next()

    def _next(self) -> None:
        self._i += 1
        if self._i >= len(self._batch):
            self._batch, self._i = self._cursor.fetchmany(BATCH), 0
        self.row = self._batch[self._i] if self._batch else None

    def find(self, key: str | None, skipped: list[tuple[str]] | None) -> tuple | None:
        """The row of ``key`` (None: none); rows with a smaller key are passed over (their keys added to
        ``skipped``, if given). ``key=None`` passes over all the rows left."""
        row = self.row
        while row is not None and (key is None or row[0] < key):
            if skipped is not None:
                skipped.append((row[0],))
            self._next()
            row = self.row
        if row is not None and row[0] == key:
            self._next()
            return row
        return None
