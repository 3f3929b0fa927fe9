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
6. Consent (``store.CONSENT_RANKS``): a person's is the highest-ranked of their records (a denial anywhere wins,
   then a grant, else unknown), and a contact's the highest-ranked of the people merged into it; ``consent_at``
   is that of the record or person that decided, the latest among equals.
"""

from __future__ import annotations

import sqlite3

from .model import CONSENTS, NOTES, REASONS
from .store import CONSENT_RANKS, MAX_RECORDS

MERGED = "('eligible', 'shared_email')"

# The preferred record of a person is the one with the smallest PREFERENCE: archived last, then the account
# manager's record, then the latest updated_at (whole seconds since 1970, below 2**34), then the record number
# (below MAX_RECORDS = 2**27), packed into one integer so one MIN() finds it while GROUP BY computes the rest.
PREFERENCE = (
    f"(((status = 'archived') * 2 + role) * 17179869184 + 17179869183"
    f" - MIN(MAX(CAST(updated_at AS INTEGER), 0), 17179869183)) * {MAX_RECORDS} + rec"
)

# The JSON readers put the programs of an account's children on its manager's record (``store.RECORD_COLUMNS``);
# the rows of a CSV account may be far apart, so there the rules move them (CSV has no teachers).
_CHILDREN_TAGGED = "SELECT account_id FROM records WHERE is_child = 1 AND programs IS NOT NULL"
_FAMILY_TAGS = f"""
INSERT INTO family_tags
SELECT m.rec,
    (SELECT NULLIF(json_group_array(DISTINCT j.value), '[]') FROM records r, json_each(r.programs) j
     WHERE r.account_id = m.account_id AND (r.rec = m.rec OR r.is_child = 1))
FROM records m WHERE m.role = 0 AND m.account_id IN ({_CHILDREN_TAGGED})
"""


_MOVE_CHILDREN_TAGS = (
    "CREATE TABLE family_tags (rec INTEGER PRIMARY KEY, programs)",
    _FAMILY_TAGS,
    "UPDATE records SET programs = (SELECT programs FROM family_tags f WHERE f.rec = records.rec)"
    " WHERE rec IN (SELECT rec FROM family_tags)",
    "UPDATE records SET programs = NULL WHERE is_child = 1",
)

# The values of the JSON arrays in a column of the records of the person ``g`` on non-archived accounts.
_TAGS = (
    "(SELECT NULLIF(json_group_array(DISTINCT j.value), '[]') FROM records t, json_each(t.{column}) j"
    " WHERE t.person_id = g.person_id AND t.status != 'archived')"
)


# A person listed once (almost everyone) is their record; the others are grouped. Both give the same columns;
# ``programs`` and ``teachers`` are those the person brings to their contact.
_PERSONS = f"""
CREATE TABLE persons AS
SELECT person_id, account_id, role, first_name, last_name, is_child, email, email_key, email_problem, phone,
    json_array(account_id) AS accounts,
    CASE WHEN status != 'archived' THEN json_array(account_id) ELSE '[]' END AS live_accounts,
    role = 0 AND status != 'archived' AS manages,
    status != 'archived' AS live, status = 'active' AS active,
    CASE WHEN status != 'archived' THEN updated_at END AS last_update, listed AS records, 0 AS conflict,
    CASE WHEN status != 'archived' THEN programs END AS programs,
    CASE WHEN status != 'archived' THEN teachers END AS teachers,
    consent, consent_at, consent_time
FROM records WHERE person_id NOT IN (SELECT person_id FROM listed_again)
UNION ALL
SELECT g.person_id, r.account_id, r.role, r.first_name, r.last_name, r.is_child,
    COALESCE(r.email, e.email), COALESCE(r.email_key, e.email_key),
    CASE WHEN r.email IS NOT NULL THEN r.email_problem ELSE e.email_problem END, COALESCE(r.phone, ph.phone),
    g.accounts, g.live_accounts, g.manages, g.live, g.active, g.last_update, g.records, g.conflict,
    {_TAGS.format(column="programs")}, {_TAGS.format(column="teachers")}, cs.consent, cs.consent_at, cs.consent_time
FROM (
    SELECT person_id,
        MIN({PREFERENCE}) % {MAX_RECORDS} AS pick,
        MIN(CASE WHEN email IS NOT NULL THEN {PREFERENCE} END) % {MAX_RECORDS} AS email_pick,
        MIN(CASE WHEN phone IS NOT NULL THEN {PREFERENCE} END) % {MAX_RECORDS} AS phone_pick,
        (SELECT c.rec FROM records c WHERE c.person_id = records.person_id
         ORDER BY c.consent DESC, c.consent_time DESC NULLS LAST, c.rec LIMIT 1) AS consent_pick,
        json_group_array(DISTINCT account_id) AS accounts,
        json_group_array(account_id) FILTER (WHERE status != 'archived') AS live_accounts,
        MAX(role = 0 AND status != 'archived') AS manages,
        SUM(status != 'archived') AS live,
        MAX(status = 'active') AS active,
        MAX(CASE WHEN status != 'archived' THEN updated_at END) AS last_update,
        SUM(listed) AS records,
        MIN(email_key) != MAX(email_key) OR MIN(first_name) != MAX(first_name)
            OR MIN(last_name) != MAX(last_name) OR MIN(is_child) != MAX(is_child)
            OR MIN(NULLIF(consent, 0)) != MAX(NULLIF(consent, 0)) AS conflict
    FROM records WHERE person_id IN (SELECT person_id FROM listed_again) GROUP BY person_id
) g
    JOIN records r ON r.rec = g.pick
    LEFT JOIN records e ON e.rec = g.email_pick AND r.email IS NULL
    LEFT JOIN records ph ON ph.rec = g.phone_pick AND r.phone IS NULL
    JOIN records cs ON cs.rec = g.consent_pick
"""

# Almost every valid address belongs to one adult, who alone decides whether its contact exists. The adults who
# share one are ranked per key, best-named first; live people rank first, so a key has a contact when its
# first-ranked person has a non-archived account.
_VALID = "is_child = 0 AND email IS NOT NULL AND email_problem IS NULL"
_CANDIDATES = f"""
CREATE TABLE candidates AS
SELECT person_id, email_key AS key, ROW_NUMBER() OVER ranked AS rank, FIRST_VALUE(live > 0) OVER ranked AS reachable,
    email, first_name, last_name, phone, accounts, active, programs, teachers, consent, consent_at, consent_time
FROM persons
WHERE {_VALID} AND email_key IN (SELECT email_key FROM persons WHERE {_VALID} GROUP BY email_key HAVING COUNT(*) > 1)
WINDOW ranked AS (PARTITION BY email_key
    ORDER BY live > 0 DESC, manages DESC, last_update DESC, length(person_id), person_id)
"""

_ADULT_DECISIONS = f"""
CREATE TABLE decisions AS
SELECT *, CASE WHEN reason IN {MERGED} THEN email_key END AS contact_key, NULL AS via
FROM (
    SELECT p.*,
        CASE WHEN c.reachable AND c.rank = 1 THEN 'eligible'
             WHEN c.reachable THEN 'shared_email'
             -- alone on a valid address
             WHEN c.person_id IS NULL AND p.live > 0 AND p.email IS NOT NULL AND p.email_problem IS NULL THEN 'eligible'
             WHEN p.live = 0 THEN 'account_archived'
             WHEN p.email IS NULL THEN 'no_email'
             ELSE 'invalid_email' END AS reason
    FROM persons p LEFT JOIN candidates c ON c.person_id = p.person_id
    WHERE p.is_child = 0
)
"""

_CHILD_DECISIONS = """
INSERT INTO decisions
SELECT p.*, 'child', m.contact_key, r.person_id
FROM persons p
    LEFT JOIN records r ON r.account_id = p.account_id AND r.role = 0
    LEFT JOIN decisions m ON m.person_id = r.person_id
WHERE p.is_child = 1
"""


# A value over the candidates ``c`` of the shared key of the candidate ``h``: an aggregate, the union of a JSON
# array column, and a column of the candidate whose consent decides (the highest rank, the latest).
_OF_SHARED = "(SELECT {value} FROM candidates c WHERE c.key = h.key)"
_UNION = (
    "(SELECT NULLIF(json_group_array(DISTINCT j.value), '[]') FROM candidates c, json_each(c.{column}) j"
    " WHERE c.key = h.key)"
)
_DECIDING = (
    "(SELECT c.{column} FROM candidates c WHERE c.key = h.key"
    " ORDER BY c.consent DESC, c.consent_time DESC NULLS LAST, c.rank LIMIT 1)"
)
_SHARED_ACCOUNTS = (
    "(SELECT json_group_array(DISTINCT a.value) FROM candidates c, json_each(c.accounts) a WHERE c.key = h.key)"
)


# A contact of one person is that person; a shared one takes its name from the first-ranked person and unites
# the accounts, people, phones and programs of everyone merged into it. Written in key order, the order read.
_CONTACTS = f"""
CREATE TABLE contacts AS
SELECT contact_key AS key, email, first_name, last_name, phone, accounts AS account_ids, json_array(person_id) AS person_ids,
    CASE WHEN active THEN 'active' ELSE 'inactive' END AS account_status, programs, teachers, consent, consent_at
FROM decisions WHERE reason = 'eligible' AND person_id NOT IN (SELECT person_id FROM candidates)
UNION ALL
SELECT h.key, h.email, h.first_name, h.last_name, COALESCE(h.phone, {_OF_SHARED.format(value="MAX(c.phone)")}),
    {_SHARED_ACCOUNTS}, {_OF_SHARED.format(value="json_group_array(c.person_id)")},
    CASE WHEN {_OF_SHARED.format(value="MAX(c.active)")} THEN 'active' ELSE 'inactive' END,
    {_UNION.format(column="programs")}, {_UNION.format(column="teachers")},
    {_DECIDING.format(column="consent")}, {_DECIDING.format(column="consent_at")}
FROM candidates h WHERE h.rank = 1 AND h.reachable
ORDER BY key
"""


# The rules, in order, once the records are loaded (and the children's programs moved).
_STEPS = (
    "CREATE TABLE listed_again AS SELECT person_id FROM records GROUP BY person_id HAVING COUNT(*) > 1",
    "CREATE UNIQUE INDEX listed_again_person ON listed_again (person_id)",
    _PERSONS,
    _CANDIDATES,
    "CREATE UNIQUE INDEX candidates_person ON candidates (person_id)",
    "CREATE INDEX candidates_key ON candidates (key)",
    _ADULT_DECISIONS,
    "CREATE UNIQUE INDEX decisions_person ON decisions (person_id)",
    _CHILD_DECISIONS,
    _CONTACTS,
    "CREATE UNIQUE INDEX contacts_key ON contacts (key)",
)
_ANY_CHILD_TAGGED = f"SELECT EXISTS ({_CHILDREN_TAGGED})"
_TOTALS = (
    "SELECT (SELECT COUNT(DISTINCT account_id) FROM records), (SELECT COUNT(*) FROM decisions),"
    " (SELECT COUNT(*) FROM contacts)"
)
_SKIPPED = "SELECT reason, COUNT(*) FROM decisions WHERE reason != 'eligible' GROUP BY reason"
# One sum per note, in the order of ``NOTES``.
_NOTES = (
    "SELECT SUM(is_child AND email IS NOT NULL), SUM(records > 1), SUM(conflict), SUM(is_child AND contact_key IS NULL)"
    " FROM decisions"
)
_BY_CONSENT = "SELECT consent, COUNT(*) FROM contacts GROUP BY consent"


def apply_rules(db: sqlite3.Connection) -> dict:
    """Decide every person and build the contacts; return the counts (accounts, people, contacts, skipped, notes,
    contacts by consent)."""
    if db.execute(_ANY_CHILD_TAGGED).fetchone()[0]:
        for statement in _MOVE_CHILDREN_TAGS:
            db.execute(statement)
    for statement in _STEPS:
        db.execute(statement)
    db.commit()
    return _counts(db)


def _counts(db: sqlite3.Connection) -> dict:
    accounts, people, contacts = db.execute(_TOTALS).fetchone()
    skipped = dict(db.execute(_SKIPPED))
    consent = dict(db.execute(_BY_CONSENT))
    return {
        "accounts": accounts,
        "people": people,
        "contacts": contacts,
        "skipped": {reason: skipped[reason] for reason in REASONS if reason in skipped},
        "notes": {note: n for note, n in zip(NOTES, db.execute(_NOTES).fetchone()) if n},
        "consent": {name: consent.get(CONSENT_RANKS.index(name), 0) for name in CONSENTS},
    }
