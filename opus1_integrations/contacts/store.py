"""The temporary SQLite database that holds one export while the rules run: on disk, deleted on close."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

from opus1_integrations.errors import ExportRejected

from .tempfiles import TempFile

#: One person on one account; ``role`` is 0 for the account manager and 1 for a student, ``updated_at`` in
#: seconds since the epoch, ``email`` trimmed (``email_key`` also lower-cased, ``email_problem`` email-validator's
#: objection or NULL), ``listed`` the number of listings the record stands for (2: manager and student).
#: ``programs``/``teachers`` (JSON arrays) are those the record brings to its person's contact: an adult's own
#: enrolments (teachers only with a program) and, on the account manager's record, the enrolments of the account's
#: children. The JSON readers put them there; CSV children's rows hold their own until the rules move them.
#: ``consent`` is the rank of the person's ``email_consent`` in ``CONSENT_RANKS``, ``consent_at`` its time as
#: written and ``consent_time`` the same in seconds since the epoch (or NULL).
RECORD_COLUMNS = (
    "line", "row", "account_id", "status", "updated_at", "role", "person_id", "first_name", "last_name",
    "email", "email_key", "email_problem", "phone", "is_child", "programs", "teachers", "listed",
    "consent", "consent_at", "consent_time",
)
#: The consents by rank: the highest rank among the people behind an address decides (a denial always wins).
CONSENT_RANKS = ("unknown", "granted", "denied")
BATCH = 10_000
CACHE_KIB = 32 * 1024
#: The rules pack a record number into a sort key (see ``rules.PREFERENCE``), which bounds an export's size.
MAX_RECORDS = 2**27


class Store:
    """A SQLite database for one export: in a temporary file that ``close`` removes, at a path of the caller's, or
    (``in_memory``, for a small export) in memory, where creating and removing a file would cost more than it saves."""

    def __init__(self, path: Path | None = None, in_memory: bool = False) -> None:
        self._temporary = TempFile() if path is None and not in_memory else None
        if self._temporary:
            path = self._temporary.path
        self.path = path
        self.db = sqlite3.connect(":memory:" if in_memory else path, check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", f"cache_size=-{CACHE_KIB}"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute(f"CREATE TABLE records (rec INTEGER PRIMARY KEY, {', '.join(RECORD_COLUMNS)})")

    def load(self, records: Iterable[tuple]) -> None:
        """Insert all the person records of an export, then index them."""
        self.insert(records)
        self.index()

    def insert(self, records: Iterable[tuple]) -> None:
        """Insert person records, in batches."""
        insert = f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) VALUES ({', '.join('?' * len(RECORD_COLUMNS))})"
        records = iter(records)
        while batch := list(islice(records, BATCH)):
            self.db.executemany(insert, batch)
        self.db.commit()

    def append(self, part: Path, lines: int) -> None:
        """Insert the records of another store, read from a later part of the export that starts after ``lines``."""
        self.db.execute("ATTACH DATABASE ? AS part", (str(part),))
        values = ", ".join("line + ?" if column == "line" else column for column in RECORD_COLUMNS)
        self.db.execute(f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) SELECT {values} FROM part.records ORDER BY rec", (lines,))
        self.db.commit()
        self.db.execute("DETACH DATABASE part")

    def index(self) -> None:
        """Index the records for grouping by account and by person (once all are in)."""
        if (self.db.execute("SELECT MAX(rec) FROM records").fetchone()[0] or 0) >= MAX_RECORDS:
            raise ExportRejected(f"the export holds more than {MAX_RECORDS:,} person records", hint="Split the export.")
        self.db.execute("CREATE INDEX records_account ON records (account_id, role, person_id)")
        self.db.execute("CREATE INDEX records_person ON records (person_id, role)")
        self.db.commit()

    def close(self) -> None:
        """Close the database, and delete its file if it is a temporary one."""
        self.db.close()
        if self._temporary:
            self._temporary.remove()
