"""Load an export and hand out its audience: contacts, per-person decisions and the data-quality report."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from opus1_integrations.errors import ExportRejected

from .explain import DECISION_SELECT, decision
from .model import Contact, Decision, QualityIssue
from .quality import quality_issues
from .parallel import load_records
from .readers import export_format
from .rules import apply_rules
from .store import CONSENT_RANKS, Store
from .tempfiles import remove_leftovers

#: Exports below this size (some 1,400 accounts) are kept in memory: a temporary file costs ~1.4 ms of CPU per
#: load (7% of a 200-contact export's), which only pays off in memory saved by larger ones (docs/contacts.md).
MEMORY_BYTES = 1 << 20
from .validation import ProblemLog, check_records

_CONTACT_COLUMNS = (
    "key, email, first_name, last_name, phone, account_ids, person_ids, account_status, programs, teachers, consent, consent_at"
)


def _contact(row: tuple) -> Contact:
    key, email, first, last, phone, *arrays, status, programs, teachers, consent, consent_at = row
    # The four JSON arrays (or NULLs) in one parse: a sync builds every contact, and one call costs less than four.
    accounts, people, programs, teachers = (tuple(sorted(values)) for values in json.loads(
        f"[{','.join(array or '[]' for array in (*arrays, programs, teachers))}]"))
    return Contact(
        key=key, email=email, first_name=first, last_name=last, phone=phone, account_ids=accounts,
        person_ids=people, account_status=status, programs=programs, teachers=teachers,
        email_consent=CONSENT_RANKS[consent], consent_at=consent_at,
    )


def email_key(email: str) -> str:
    """The key that identifies a contact: the address trimmed and lower-cased."""
    return email.strip().lower()


class Audience:
    """The contacts and decisions of one export, kept in a temporary SQLite database until ``close``."""

    def __init__(self, store: Store, counts: dict, source: Path):
        self._store, self._db = store, store.db
        self.counts = counts
        self.source = source
        self._lookups = False

    def load(self) -> Audience:
        """This audience (already loaded): the same call as ``LazyAudience.load``, so hooks need not tell them apart."""
        return self

    def __enter__(self) -> Audience:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete the temporary database; the audience cannot be read afterwards."""
        self._store.close()

    def _by_address(self) -> sqlite3.Connection:
        """The database, indexed to find decisions by address: built on first use, as a sync never needs it (the
        contacts are indexed by key by the rules)."""
        if not self._lookups:
            self._db.execute("CREATE INDEX IF NOT EXISTS decisions_contact ON decisions (contact_key)")
            self._db.execute("CREATE INDEX IF NOT EXISTS decisions_email ON decisions (email_key)")
            self._lookups = True
        return self._db

    def contacts(self) -> Iterator[Contact]:
        """Every contact, ordered by key."""
        for row in self._db.execute(f"SELECT {_CONTACT_COLUMNS} FROM contacts ORDER BY key"):
            yield _contact(row)

    def contact(self, key: str) -> Contact | None:
        """The contact of an email address (any case, surrounding spaces ignored), or None."""
        row = self._db.execute(f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE key = ?", (email_key(key),)).fetchone()
        return _contact(row) if row else None

    def decisions(self) -> Iterator[Decision]:
        """The decision for every person, ordered by person_id."""
        for row in self._db.execute(f"{DECISION_SELECT} ORDER BY d.person_id"):
            yield decision(row)

    def find(self, query: str) -> list[Decision]:
        """Decisions of the people with an email (any case; also those reached through it) or with a person_id."""
        if "@" in query:
            key = email_key(query)
            where, args = "d.email_key = ? OR d.contact_key = ?", (key, key)
        else:
            where, args = "d.person_id = ?", (query.strip(),)
        rows = self._by_address().execute(f"{DECISION_SELECT} WHERE {where} ORDER BY d.reason != 'eligible', d.person_id", args)
        return [decision(row) for row in rows]

    def quality(self) -> Iterator[QualityIssue]:
        """The data-quality issues to fix in opus1, grouped by kind."""
        return quality_issues(self._by_address())


def load_audience(path: str | Path) -> Audience:
    """Read and validate a whole export, then apply the rules; use the result as a context manager.

    :raises ExportRejected: the file is missing, empty, of unknown format or malformed; ``problems`` holds the
        first 20 problems (line, CSV row, field) and ``total`` their number. Nothing is returned then.
    """
    path = Path(path)
    fmt = export_format(path)
    remove_leftovers()  # of loads killed before they could clean up
    store, problems = Store(in_memory=path.stat().st_size < MEMORY_BYTES), ProblemLog()
    try:
        load_records(store, path, fmt, problems)
        if not problems:
            check_records(store.db, problems, csv_rows=fmt == "csv")
        if not problems and store.db.execute("SELECT NOT EXISTS (SELECT 1 FROM records)").fetchone()[0]:
            problems.add(None, "", "the export holds no accounts")
        if problems:
            raise ExportRejected(
                f"{path.name} is not a valid opus1 accounts export ({problems.total} problem{'s' if problems.total > 1 else ''})",
                problems=problems.first,
                total=problems.total,
                hint="Fix the problems listed (or export the accounts from opus1 again); docs/contacts.md describes the format.",
            )
        counts = apply_rules(store.db)
    except BaseException:
        store.close()
        raise
    return Audience(store, counts, path)
