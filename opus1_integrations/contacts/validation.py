"""The input contract: the account JSON Schema, checks of accounts and CSV rows against it, and the problem log.

jsonschema is the authority. Because it costs ~150 µs per account, each account first goes through a fast check
that accepts only what the schema accepts (a strict subset, tested against jsonschema); anything it does not
accept is handed to jsonschema, which decides and explains.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from .model import Problem

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

SCHEMA_NAME = "opus1-accounts.schema.json"
MAX_PROBLEMS = 20
STATUSES = frozenset({"active", "inactive", "archived"})
HEAD_FIELDS = ("account_id", "status", "created_at", "updated_at")
#: Arrays and objects inside each other: an account needs 5 levels; deeper ones are refused before jsonschema,
#: which would recurse through them (and into Python's recursion limit).
MAX_DEPTH = 32
NESTED_TOO_DEEPLY = "the JSON is nested too deeply (arrays or objects inside each other) to be an account"

# The RFC 3339 grammar of jsonschema's "date-time" check (rfc3339-validator), anchored at the very end; the
# calendar (days per month) is checked by datetime.fromisoformat.
_STRICT_TIMESTAMP = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
# Every form that check accepts (it upper-cases first and its "$" allows one trailing newline).
_ANY_TIMESTAMP = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})\n?", re.ASCII
)


def load_schema() -> dict:
    """The accounts JSON Schema: shipped in the package, or the repo's top-level ``schemas/`` in a source checkout."""
    packaged = resources.files("opus1_integrations") / "schemas" / SCHEMA_NAME
    if packaged.is_file():
        return json.loads(packaged.read_text(encoding="utf-8"))
    return json.loads((Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_NAME).read_text(encoding="utf-8"))


def timestamp(value: str) -> float:
    """Seconds since the epoch of a schema-valid RFC 3339 timestamp (used to find the most recently updated account)."""
    date, time, fraction, zone = _ANY_TIMESTAMP.fullmatch(value).groups()
    offset = "+00:00" if zone in "Zz" else zone
    return datetime.fromisoformat(f"{date}T{time}{(fraction or '')[:7]}{offset}").timestamp()


class ProblemLog:
    """Collects the problems of one export: keeps the first ``MAX_PROBLEMS``, counts them all."""

    def __init__(self) -> None:
        self.first: list[Problem] = []
        self.total = 0

    def add(self, line: int | None, path: str, message: str, row: int | None = None) -> None:
        """Record one problem."""
        self.total += 1
        if len(self.first) < MAX_PROBLEMS:
            self.first.append(Problem(line, path, message, row))

    def extend(self, first: Iterable[Problem], total: int) -> None:
        """Record ``total`` problems of a later part of the export, of which ``first`` are the first ones."""
        self.first.extend(islice(first, MAX_PROBLEMS - len(self.first)))
        self.total += total

    def __bool__(self) -> bool:
        return self.total > 0


@cache
def _validators() -> dict[str, Draft202012Validator]:
    from jsonschema import Draft202012Validator  # on first need: exports that pass the fast check never need it

    schema = load_schema()
    checker = Draft202012Validator.FORMAT_CHECKER

    def part(subschema: dict) -> Draft202012Validator:
        return Draft202012Validator({"$defs": schema["$defs"], **subschema}, format_checker=checker)

    head = {"type": "object", "required": list(HEAD_FIELDS), "properties": {k: schema["properties"][k] for k in HEAD_FIELDS}}
    return {
        "account": Draft202012Validator(schema, format_checker=checker),
        "head": part(head),
        "account_manager": part({"$ref": "#/$defs/account_manager"}),
        "student": part({"$ref": "#/$defs/student"}),
    }


def _errors(kind: str, instance: object) -> list[tuple[str, str]]:
    found = []
    for error in sorted(_validators()[kind].iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        path = ""
        for step in error.absolute_path:
            path += f"[{step}]" if isinstance(step, int) else (f".{step}" if path else step)
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        found.append((path, message))
    return found


def _fast_timestamp(value: object) -> bool:
    if type(value) is not str or not _STRICT_TIMESTAMP.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_OPTIONAL_TEXT = frozenset({str, type(None)})  # the exact types of an "optional_text" (one set lookup, no call)
_CONSENTS = frozenset({"granted", "denied", "unknown", None})


def _fast_consent(person: dict) -> bool:
    consent_at = person.get("consent_at")
    return person.get("email_consent") in _CONSENTS and (consent_at is None or _fast_timestamp(consent_at))


def _fast_head(account: dict) -> bool:
    account_id = account["account_id"]
    return (
        type(account_id) is str
        and account_id != ""
        and account["status"] in STATUSES
        and _fast_timestamp(account["created_at"])
        and _fast_timestamp(account["updated_at"])
    )


def _fast_person(person: object, student: bool) -> bool:
    if type(person) is not dict:
        return False
    person_id = person["person_id"]
    if not (
        type(person_id) is str
        and person_id != ""
        and type(person["first_name"]) is str
        and type(person["last_name"]) is str
        and type(person.get("email")) in _OPTIONAL_TEXT
        and type(person.get("phone")) in _OPTIONAL_TEXT
        and _fast_consent(person)
    ):
        return False
    if not student:
        return True
    if type(person["is_child"]) is not bool or type(person.get("birth_date")) not in _OPTIONAL_TEXT:
        return False
    enrollments = person.get("enrollments")
    if enrollments is None:
        return True
    if type(enrollments) is not list:
        return False
    for enrollment in enrollments:
        if type(enrollment) is not dict:
            return False
        program = enrollment["program"]
        if not (
            type(program) is str
            and program != ""
            and type(enrollment.get("teacher")) in _OPTIONAL_TEXT
            and type(enrollment.get("term")) in _OPTIONAL_TEXT
        ):
            return False
    return True


def _fast_account(account: object) -> bool:
    if type(account) is not dict or not _fast_head(account) or not _fast_person(account["account_manager"], False):
        return False
    students = account["students"]
    return type(students) is list and all(_fast_person(s, True) for s in students)


def _too_deep(value: object) -> bool:
    """Whether arrays and objects are nested in ``value`` more than ``MAX_DEPTH`` levels (walked without recursion)."""
    todo = [(value, 1)]
    while todo:
        value, depth = todo.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= MAX_DEPTH:
                    return True
                todo.append((child, depth + 1))
    return False


def check_account(account: object) -> list[tuple[str, str]]:
    """Check one account against the schema: an empty list, or ``(field path, message)`` for each violation."""
    try:
        if _fast_account(account):
            return []
    except (KeyError, TypeError):
        pass
    if _too_deep(account):
        return [("", NESTED_TOO_DEEPLY)]
    return _errors("account", account)


def check_csv_row(head: dict, person: dict, role: str) -> list[tuple[str, str]]:
    """Check the account part and the person part of one CSV row against the same schema as JSON accounts."""
    try:
        if _fast_head(head) and _fast_person(person, role == "student"):
            return []
    except (KeyError, TypeError):
        pass
    return _errors("head", head) + _errors(role, person)


def check_records(db: sqlite3.Connection, problems: ProblemLog, csv_rows: bool) -> None:
    """Checks across records once the export is loaded: duplicates, and CSV rows of one account that disagree."""
    # Each query finds the few groups at fault on the index alone, then reads their records.
    for account_id, person_id, role, n, line, row in db.execute(
        "SELECT account_id, person_id, role, COUNT(*), MIN(line), MIN(row) FROM records"
        " WHERE (account_id, role, person_id) IN"
        " (SELECT account_id, role, person_id FROM records GROUP BY account_id, role, person_id HAVING COUNT(*) > 1)"
        " GROUP BY account_id, role, person_id"
    ):
        what = "account manager" if role == 0 else "student"
        problems.add(line, "person_id", f"person {person_id} is listed {n} times as {what} of account {account_id}", row)
    if not csv_rows:
        # A JSON account gives one account manager record, so an account on several lines has several of them.
        for account_id, lines in db.execute(
            "SELECT account_id, group_concat(DISTINCT line) FROM records"
            " WHERE account_id IN (SELECT account_id FROM records WHERE role = 0 GROUP BY account_id HAVING COUNT(*) > 1)"
            " GROUP BY account_id HAVING COUNT(DISTINCT line) > 1"
        ):
            first = int(lines.split(",")[0])
            problems.add(first, "account_id", f"account {account_id} appears on several lines ({lines.replace(',', ', ')})")
        return
    for account_id, statuses, updates, managers, line, row in db.execute(
        "SELECT account_id, COUNT(DISTINCT status), COUNT(DISTINCT updated_at),"
        " COUNT(DISTINCT CASE WHEN role = 0 THEN person_id END), MIN(line), MIN(row)"
        " FROM records GROUP BY account_id"
        " HAVING COUNT(DISTINCT status) > 1 OR COUNT(DISTINCT updated_at) > 1 OR COUNT(DISTINCT CASE WHEN role = 0 THEN person_id END) != 1"
    ):
        if managers == 0:
            problems.add(line, "role", f"account {account_id} has no account_manager row", row)
        elif managers > 1:
            problems.add(line, "role", f"account {account_id} has {managers} different account managers", row)
        if statuses > 1:
            problems.add(line, "account_status", f"the rows of account {account_id} disagree on account_status", row)
        if updates > 1:
            problems.add(line, "updated_at", f"the rows of account {account_id} disagree on updated_at", row)
