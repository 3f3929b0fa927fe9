"""The temporary SQLite database that holds one export while the rules run: on disk, deleted on close."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

from opus1_integrations.errors import ExportRejected

#: One person on one account; ``role`` is 0 for the account manager and 1 for a student, ``updated_at`` in
#: seconds since the epoch, ``email`` trimmed (``email_key`` also lower-cased), programs/teachers as JSON arrays of
#: the person's own enrolments, ``listed`` the number of listings the record stands for (2: manager and student).
RECORD_COLUMNS = (
    "line", "row", "account_id", "status", "updated_at", "role", "person_id", "first_name", "last_name",
    "email", "email_key", "phone", "is_child", "programs", "teachers", "listed",
)
BATCH = 10_000
CACHE_KIB = 32 * 1024
#: The rules pack a record number into a sort key (see ``rules.PREFERENCE``), which bounds an export's size.
MAX_RECORDS = 2**27


class Store:
    """A temporary SQLite database for one export; the file is removed by ``close``."""

    def __init__(self) -> None:
        handle, name = tempfile.mkstemp(prefix="opus1-contacts-", suffix=".sqlite")
        os.close(handle)
        self.path = Path(name)
        self.db = sqlite3.connect(name, check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", f"cache_size=-{CACHE_KIB}"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute(f"CREATE TABLE records (rec INTEGER PRIMARY KEY, {', '.join(RECORD_COLUMNS)})")

    def load(self, records: Iterable[tuple]) -> None:
        """Insert person records in batches, then index them for grouping by account and by person."""
        insert = f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) VALUES ({', '.join('?' * len(RECORD_COLUMNS))})"
        records = iter(records)
        while batch := list(islice(records, BATCH)):
            self.db.executemany(insert, batch)
        if (self.db.execute("SELECT MAX(rec) FROM records").fetchone()[0] or 0) >= MAX_RECORDS:
            raise ExportRejected(f"the export holds more than {MAX_RECORDS:,} person records", hint="Split the export.")
        self.db.execute("CREATE INDEX records_account ON records (account_id, role, person_id)")
        self.db.execute("CREATE INDEX records_person ON records (person_id, role)")
        self.db.commit()

    def close(self) -> None:
        """Close the database and delete its file."""
        self.db.close()
        self.path.unlink(missing_ok=True)
