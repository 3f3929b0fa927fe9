"""The audience rules, run as SQL over the loaded records; every person ends with one reason code.

1. A person (one ``person_id``) is decided once, from their preferred record: on a non-archived account first,
   then as account manager, then on the most recently updated account, then the first in the file. A missing
   email or phone is taken from their next record that has one.
2. Children are never synced (``child``); they are reached through the manager of their account.
3. Other people need a valid email (``no_email``, ``invalid_email``) and a non-archived account
   (``account_archived``).
4. One contact per email key (trimmed, lower-cased). It exists when someone with a valid address on it has a
   non-archived account; everyone else with that key is merged into it (``shared_email``), archived or not.
   The contact's name: an account manager before a student, then the most recently updated account, then the
   lowest ``person_id`` (shorter ids first, so per_9 comes before per_10). Its phone: that person's, else the
   phone of another person merged into it.
5. A contact's programs and teachers: those of the children on the non-archived accounts its people manage, and
   its adults' own enrolments on non-archived accounts.
"""

from __future__ import annotations

import sqlite3
from itertools import islice

from .emails import EmailChecker
from .model import NOTES, REASONS
from .store import BATCH, MAX_RECORDS

MERGED = "('eligible', 'shared_email')"

# The preferred record of a person is the one with the smallest PREFERENCE: archived last, then the account
# manager's record, then the latest updated_at (whole seconds since 1970, below 2**34), then the record number
# (below MAX_RECORDS = 2**27), packed into one integer so one MIN() finds it while GROUP BY computes the rest.
PREFERENCE = (
    f"(((status = 'archived') * 2 + role) * 17179869184 + 17179869183"
    f" - MIN(MAX(CAST(updated_at AS INTEGER), 0), 17179869183)) * {MAX_RECORDS} + rec"
)

# A person listed once (almost everyone) is their record; the others are grouped. Both give the same columns.
_PERSONS = f"""
CREATE TABLE persons AS
SELECT person_id, account_id, role, first_name, last_name, is_child, email, email_key, phone,
    json_array(account_id) AS accounts,
    CASE WHEN role = 0 AND status != 'archived' THEN json_array(account_id) ELSE '[]' END AS managed,
    CASE WHEN status != 'archived' THEN json_array(account_id) ELSE '[]' END AS live_accounts,
    status != 'archived' AS live, status = 'active' AS active,
    CASE WHEN status != 'archived' THEN updated_at END AS last_update, listed AS records, 0 AS conflict
FROM records WHERE person_id NOT IN (SELECT person_id FROM listed_again)
UNION ALL
SELECT g.person_id, r.account_id, r.role, r.first_name, r.last_name, r.is_child,
    COALESCE(r.email, e.email), COALESCE(r.email_key, e.email_key), COALESCE(r.phone, ph.phone),
    g.accounts, g.managed, g.live_accounts, g.live, g.active, g.last_update, g.records, g.conflict
FROM (
    SELECT person_id,
        MIN({PREFERENCE}) % {MAX_RECORDS} AS pick,
        MIN(CASE WHEN email IS NOT NULL THEN {PREFERENCE} END) % {MAX_RECORDS} AS email_pick,
        MIN(CASE WHEN phone IS NOT NULL THEN {PREFERENCE} END) % {MAX_RECORDS} AS phone_pick,
        json_group_array(account_id) AS accounts,
        json_group_array(account_id) FILTER (WHERE role = 0 AND status != 'archived') AS managed,
        json_group_array(account_id) FILTER (WHERE status != 'archived') AS live_accounts,
        SUM(status != 'archived') AS live,
        MAX(status = 'active') AS active,
        MAX(CASE WHEN status != 'archived' THEN updated_at END) AS last_update,
        SUM(listed) AS records,
        MIN(email_key) != MAX(email_key) OR MIN(first_name) != MAX(first_name)
            OR MIN(last_name) != MAX(last_name) OR MIN(is_child) != MAX(is_child) AS conflict
    FROM records WHERE person_id IN (SELECT person_id FROM listed_again) GROUP BY person_id
) g
    JOIN records r ON r.rec = g.pick
    LEFT JOIN records e ON e.rec = g.email_pick AND r.email IS NULL
    LEFT JOIN records ph ON ph.rec = g.phone_pick AND r.phone IS NULL
"""

# Everyone with a valid address, by key, best-named first; live people rank first, so a key has a contact when its
# first-ranked person has a non-archived account. Rows are written in (key, rank) order, which later steps read.
_CANDIDATES = """
CREATE TABLE candidates AS
SELECT p.person_id, p.email_key AS key, p.live > 0 AS live,
    ROW_NUMBER() OVER ranked AS rank, FIRST_VALUE(p.live > 0) OVER ranked AS reachable,
    p.email, p.first_name, p.last_name, p.phone, p.accounts, p.active
FROM persons p
WHERE p.is_child = 0 AND p.email IS NOT NULL AND p.email NOT IN (SELECT email FROM invalid_emails)
WINDOW ranked AS (PARTITION BY p.email_key
    ORDER BY p.live > 0 DESC, p.managed != '[]' DESC, p.last_update DESC, length(p.person_id), p.person_id)
"""

_ADULT_DECISIONS = """
CREATE TABLE decisions AS
SELECT p.*,
    CASE WHEN c.reachable AND c.rank = 1 THEN 'eligible'
         WHEN c.reachable THEN 'shared_email'
         WHEN p.live = 0 THEN 'account_archived'
         WHEN p.email IS NULL THEN 'no_email'
         ELSE 'invalid_email' END AS reason,
    CASE WHEN c.reachable THEN c.key END AS contact_key,
    e.problem AS email_problem,
    NULL AS via
FROM persons p
    LEFT JOIN candidates c ON c.person_id = p.person_id
    LEFT JOIN invalid_emails e ON e.email = p.email
WHERE p.is_child = 0
"""

_CHILD_DECISIONS = """
INSERT INTO decisions
SELECT p.*, 'child', m.contact_key, NULL, r.person_id
FROM persons p
    LEFT JOIN records r ON r.account_id = p.account_id AND r.role = 0
    LEFT JOIN decisions m ON m.person_id = r.person_id
WHERE p.is_child = 1
"""

_CONTACT_ACCOUNTS = """
CREATE TABLE contact_accounts AS
SELECT c.key, json_group_array(DISTINCT a.value) AS account_ids, json_group_array(DISTINCT c.person_id) AS person_ids,
    MAX(c.active) AS active, MAX(c.phone) AS phone
FROM candidates c, json_each(c.accounts) a
WHERE c.reachable
GROUP BY c.key
"""

# Student records with enrolments whose programs count for a contact: children on the live accounts its people
# manage, and its adults' own enrolments on live accounts.
_CONTACT_TAGS = f"""
CREATE TABLE contact_tags AS
WITH studies AS MATERIALIZED (
    SELECT d.contact_key AS key, r.programs, r.teachers
    FROM decisions d CROSS JOIN json_each(d.managed) m
        CROSS JOIN records r ON r.account_id = m.value AND r.role = 1 AND r.is_child = 1
    WHERE d.reason IN {MERGED}
    UNION ALL
    SELECT d.contact_key, r.programs, r.teachers
    FROM decisions d JOIN records r ON r.person_id = d.person_id
    WHERE d.reason IN {MERGED} AND r.is_child = 0 AND r.status != 'archived' AND r.programs IS NOT NULL
)
SELECT key, kind, json_group_array(DISTINCT value) AS items FROM (
    SELECT s.key, 'programs' AS kind, j.value FROM studies s, json_each(s.programs) j
    UNION ALL
    SELECT s.key, 'teachers', j.value FROM studies s, json_each(s.teachers) j
) GROUP BY key, kind
"""

_CONTACTS = """
INSERT INTO contacts
SELECT c.key, c.email, c.first_name, c.last_name, COALESCE(c.phone, a.phone), a.account_ids, a.person_ids,
    CASE WHEN a.active THEN 'active' ELSE 'inactive' END, programs.items, teachers.items
FROM candidates c
    JOIN contact_accounts a ON a.key = c.key
    LEFT JOIN contact_tags programs ON programs.key = c.key AND programs.kind = 'programs'
    LEFT JOIN contact_tags teachers ON teachers.key = c.key AND teachers.kind = 'teachers'
WHERE c.rank = 1 AND c.reachable
ORDER BY c.key
"""


def _validate_emails(db: sqlite3.Connection) -> None:
    """Check each distinct address of an adult once; keep the invalid ones with email-validator's explanation."""
    db.execute("CREATE TABLE invalid_emails (email TEXT PRIMARY KEY, problem TEXT NOT NULL) WITHOUT ROWID")
    checker = EmailChecker()
    addresses = db.execute("SELECT DISTINCT email FROM persons WHERE is_child = 0 AND email IS NOT NULL")
    while batch := list(islice(addresses, BATCH)):
        checked = ((address, checker.problem(address)) for (address,) in batch)
        db.executemany("INSERT INTO invalid_emails VALUES (?, ?)", [row for row in checked if row[1]])


def apply_rules(db: sqlite3.Connection) -> dict:
    """Decide every person and build the contacts; return the counts (accounts, people, contacts, skipped, notes)."""
    db.execute("CREATE TABLE listed_again AS SELECT person_id FROM records GROUP BY person_id HAVING COUNT(*) > 1")
    db.execute("CREATE UNIQUE INDEX listed_again_person ON listed_again (person_id)")
    db.execute(_PERSONS)
    _validate_emails(db)
    db.execute(_CANDIDATES)
    db.execute("CREATE INDEX candidates_person ON candidates (person_id)")
    db.execute("CREATE INDEX candidates_key ON candidates (key, rank)")
    db.execute(_ADULT_DECISIONS)
    db.execute("CREATE UNIQUE INDEX decisions_person ON decisions (person_id)")
    db.execute(_CHILD_DECISIONS)
    db.execute("DROP TABLE persons")
    db.execute("CREATE INDEX decisions_contact ON decisions (contact_key)")
    db.execute("CREATE INDEX decisions_email ON decisions (email_key)")
    db.execute(_CONTACT_ACCOUNTS)
    db.execute("CREATE UNIQUE INDEX contact_accounts_key ON contact_accounts (key)")
    db.execute(_CONTACT_TAGS)
    db.execute("CREATE UNIQUE INDEX contact_tags_key ON contact_tags (key, kind)")
    db.execute(
        "CREATE TABLE contacts (key TEXT PRIMARY KEY, email, first_name, last_name, phone, account_ids, person_ids,"
        " account_status, programs, teachers) WITHOUT ROWID"
    )
    db.execute(_CONTACTS)
    db.commit()
    return _counts(db)


def _counts(db: sqlite3.Connection) -> dict:
    skipped = dict(db.execute("SELECT reason, COUNT(*) FROM decisions WHERE reason != 'eligible' GROUP BY reason"))
    notes = db.execute(
        "SELECT SUM(is_child AND email IS NOT NULL), SUM(records > 1), SUM(conflict), SUM(is_child AND contact_key IS NULL)"
        " FROM decisions"
    ).fetchone()
    return {
        "accounts": db.execute("SELECT COUNT(DISTINCT account_id) FROM records").fetchone()[0],
        "people": db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0],
        "contacts": db.execute("SELECT COUNT(*) FROM contacts").fetchone()[0],
        "skipped": {reason: skipped[reason] for reason in REASONS if reason in skipped},
        "notes": {note: n for note, n in zip(NOTES, notes) if n},
    }
