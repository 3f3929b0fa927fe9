"""Streaming readers of the opus1 accounts export (JSON Lines, JSON array, CSV) into flat person records.

A record is one person on one account, as a tuple in the column order of ``store.RECORD_COLUMNS``. Readers never
hold more than one account (JSON) or one row (CSV) at a time; malformed input goes to the ``ProblemLog``. In JSON, an
account manager who is also listed as a student of the same account becomes one record (``listed`` 2) when the two
listings agree; otherwise (and in CSV, where the rows may be far apart) the rules merge the records. Email
addresses are checked (``emails``) as they are read. (Over 300 lines: the three formats stay together because
they build the same records and must agree, which test_properties checks for CSV against JSON Lines.)
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from json.encoder import encode_basestring
from typing import BinaryIO

from opus1_integrations.errors import ExportRejected

from .emails import EmailChecker
from .store import CONSENT_RANKS
from .validation import NESTED_TOO_DEEPLY, ProblemLog, check_account, check_csv_row, timestamp

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
CSV_COLUMNS = (
    "account_id", "account_status", "person_id", "role", "first_name", "last_name", "email", "phone",
    "birth_date", "is_child", "created_at", "updated_at", "programs",
)
#: Columns a CSV export may leave out: the consent (an export without it has every consent unknown).
CSV_OPTIONAL_COLUMNS = ("email_consent", "consent_at")
_CONSENT_RANK = {consent: rank for rank, consent in enumerate(CONSENT_RANKS)}
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_CHUNK = 1 << 20
_LARGEST_ACCOUNT = 64 << 20
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


def export_format(path: Path) -> str:
    """The format of an export file (``jsonl``, ``json`` or ``csv``) by its extension; rejects anything unreadable."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ExportRejected(
            f"{path.name}: unknown export format {path.suffix or '(no extension)'!r}",
            hint="Name the export .jsonl or .ndjson (JSON Lines), .json (a JSON array) or .csv.",
        )
    if not path.is_file():
        raise ExportRejected(f"{path}: no such file", hint="Check the path of the opus1 accounts export.")
    if path.stat().st_size == 0:
        raise ExportRejected(f"{path.name} is empty", hint="Export the accounts from opus1 again; the file has no data.")
    return fmt


def read_records(path: Path, fmt: str, problems: ProblemLog, part: tuple[int, int | None] = (0, None)) -> Iterator[tuple]:
    """Stream the person records of an export of format ``fmt``, reporting malformed input to ``problems``.

    ``part`` limits a JSON Lines export to the lines that start from one byte offset up to another (or the end),
    numbered from 1 there: ``parallel`` reads the two parts of a large export so.
    """
    checker = EmailChecker()
    with open(path, "rb") as file:
        if fmt == "csv":
            yield from _csv_records(file, problems, checker)
            return
        if fmt == "jsonl":
            items = _jsonl_items(_part(file, *part), problems, first=part[0] == 0)
        else:
            items = _JsonArray(file, problems).items()
        yield from _account_records(items, problems, checker)


def _part(file: BinaryIO, start: int, end: int | None) -> Iterator[bytes]:
    """The lines of ``file`` that start from byte ``start`` up to ``end``."""
    file.seek(start)
    for raw in file:
        yield raw
        start += len(raw)
        if end is not None and start >= end:
            return


def _text(value: str | None) -> str | None:
    value = value.strip() if value else value
    return value or None


def _address(email: str | None, checker: EmailChecker) -> tuple[str | None, str | None, str | None]:
    """The ``email``, ``email_key`` and ``email_problem`` columns of a trimmed address."""
    return (email, email.lower(), checker.problem(email)) if email else (None, None, None)


def _json_list(values: set[str]) -> str | None:
    return f"[{','.join(map(encode_basestring, sorted(values)))}]" if values else None


def _consent(person: dict) -> tuple[int, str | None]:
    """The rank of a (schema-valid) person's ``email_consent`` in ``CONSENT_RANKS`` and its ``consent_at``."""
    return _CONSENT_RANK[person.get("email_consent") or "unknown"], person.get("consent_at")


def _person(person: dict) -> tuple:
    """The person_id, names, email, phone and consent (``_consent``) of a JSON person, text trimmed."""
    return (person["person_id"], person["first_name"].strip(), person["last_name"].strip(),
            _text(person.get("email")), _text(person.get("phone")), _consent(person))


def _same_adult(student: tuple, manager: tuple) -> bool:
    """An adult student (``_person``) who repeats the account manager with nothing that disagrees."""
    person_id, first, last, email, phone, consent = student
    return (
        (person_id, first, last) == manager[:3]
        and (not email or not manager[3] or email.lower() == manager[3].lower())
        and (not phone or not manager[4] or phone == manager[4])
        and (consent == (0, None) or manager[5] == (0, None) or consent == manager[5])
    )


def _enrolments(student: dict) -> tuple[set[str], set[str]]:
    """The programs and teachers of a student's enrolments, trimmed, blanks left out."""
    programs, teachers = set(), set()
    for enrollment in student.get("enrollments") or ():
        if program := enrollment["program"].strip():
            programs.add(program)
        if teacher := _text(enrollment.get("teacher")):
            teachers.add(teacher)
    return programs, teachers


def _account_records(items: Iterable[tuple[int, object]], problems: ProblemLog, checker: EmailChecker) -> Iterator[tuple]:
    for line, account in items:
        errors = check_account(account)
        for path, message in errors:
            problems.add(line, path, message)
        if errors:
            continue
        head = (line, None, account["account_id"], account["status"], timestamp(account["updated_at"]))
        manager, listed, students = _person(account["account_manager"]), 1, []
        programs, teachers = set(), set()  # the manager record's: the children's, and the manager's own as a student
        repeated = len(account["students"]) > 1 and sum(s["person_id"] == manager[0] for s in account["students"]) > 1
        for student in account["students"]:
            person, (own_programs, own_teachers) = _person(student), _enrolments(student)
            if student["is_child"]:
                programs |= own_programs
                teachers |= own_teachers
                students.append(_record(head, 1, person, 1, None, None, 1, checker))
            elif not repeated and _same_adult(person, manager):
                # The account manager who also studies: one record, as ``store.RECORD_COLUMNS`` describes.
                listed = 2
                consent = person[5] if manager[5] == (0, None) else manager[5]
                manager = (*manager[:3], manager[3] or person[3], manager[4] or person[4], consent)
                if own_programs:  # an adult's teachers count only with a program
                    programs |= own_programs
                    teachers |= own_teachers
            elif own_programs:
                students.append(_record(head, 1, person, 0, _json_list(own_programs), _json_list(own_teachers), 1, checker))
            else:
                students.append(_record(head, 1, person, 0, None, None, 1, checker))
        yield _record(head, 0, manager, 0, _json_list(programs), _json_list(teachers), listed, checker)
        yield from students


def _record(head: tuple, role: int, person: tuple, is_child: int, programs: str | None, teachers: str | None,
            listed: int, checker: EmailChecker) -> tuple:
    """A record (``store.RECORD_COLUMNS``) of a ``_person`` on the account of ``head``."""
    person_id, first, last, email, phone, (consent, consent_at) = person
    return (*head, role, person_id, first, last, *_address(email, checker), phone, is_child, programs, teachers, listed,
            consent, consent_at, timestamp(consent_at) if consent_at else None)


def _lines(file: Iterable[bytes], problems: ProblemLog, first: bool = True) -> Iterator[str]:
    """The lines of a file or of a part of it (``first``: its start, which may hold a byte order mark), decoded."""
    for number, raw in enumerate(file, 1):
        if number == 1 and first and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as error:
            problems.add(number, "", f"not valid UTF-8 (byte {error.start + 1} of the line); save the export as UTF-8")
            yield raw.decode("utf-8", "replace")


def _unreadable(error: RecursionError | ValueError) -> str:
    """Why valid JSON syntax could not be read: Python's limits, which a real export never reaches."""
    if isinstance(error, RecursionError):
        return NESTED_TOO_DEEPLY
    if "integer string conversion" in str(error):
        return f"a number has more than {sys.get_int_max_str_digits():,} digits"
    return f"unreadable JSON: {error}"


def _jsonl_items(file: Iterable[bytes], problems: ProblemLog, first: bool) -> Iterator[tuple[int, object]]:
    for number, text in enumerate(_lines(file, problems, first), 1):
        if not text.strip():
            continue
        try:
            item = json.loads(text)
        except json.JSONDecodeError as error:
            column = min(error.pos, len(text.rstrip("\r\n"))) + 1
            problems.add(number, "", f"invalid JSON: {error.msg} (column {column})")
        except (RecursionError, ValueError) as error:
            problems.add(number, "", _unreadable(error))
        else:
            yield number, item


class _Stop(Exception):
    """The JSON array cannot be read further."""


class _JsonArray:
    """The items of one top-level JSON array, read in chunks, each with the line it starts on."""

    def __init__(self, file: BinaryIO, problems: ProblemLog):
        self.file, self.problems = file, problems
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.text, self.pos, self.line, self.eof = "", 0, 1, False

    def items(self) -> Iterator[tuple[int, object]]:
        """Yield ``(line, item)`` for each item; a syntax error is reported and ends the stream."""
        try:
            if self._next_char() != "[":
                raise self._fail(self.pos, "a .json export must be one JSON array of accounts (starting with '[')")
            self._advance(self.pos + 1)
            if self._next_char() == "]":
                self._advance(self.pos + 1)
            else:
                while True:
                    self._next_char()
                    line = self.line
                    yield line, self._value()
                    char = self._next_char()
                    if char not in (",", "]"):
                        raise self._fail(self.pos, "expected ',' or ']' after an account" if char else "the array is not closed with ']'")
                    self._advance(self.pos + 1)
                    if char == "]":
                        break
            if self._next_char():
                raise self._fail(self.pos, "unexpected content after the array")
        except _Stop:
            return

    def _fail(self, pos: int, message: str) -> _Stop:
        self.problems.add(self.line + self.text.count("\n", self.pos, pos), "", message)
        return _Stop()

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.file.read(_CHUNK)
        self.eof = not chunk
        try:
            decoded = self.decoder.decode(chunk, final=self.eof)
        except UnicodeDecodeError as error:
            line = self.line + self.text.count("\n", self.pos) + chunk[: max(error.start, 0)].count(b"\n")
            self.problems.add(line, "", "not valid UTF-8; save the export as UTF-8")
            raise _Stop() from error
        self.text, self.pos = self.text[self.pos:] + decoded, 0
        return True

    def _advance(self, end: int) -> None:
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def _next_char(self) -> str:
        while True:
            self._advance(_WHITESPACE.match(self.text, self.pos).end())
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._more():
                return ""

    def _value(self) -> object:
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                # An account cut by the end of the chunk read so far: read on, up to a sane size for one account.
                cut = error.msg.startswith("Unterminated string") or len(self.text) - error.pos <= 8
                if cut and len(self.text) - self.pos < _LARGEST_ACCOUNT and self._more():
                    continue
                raise self._fail(error.pos, f"invalid JSON: {error.msg}") from error
            except (RecursionError, ValueError) as error:
                raise self._fail(self.pos, _unreadable(error)) from error
            if end == len(self.text) and self._more():
                continue
            self._advance(end)
            return value


def _csv_records(file: BinaryIO, problems: ProblemLog, checker: EmailChecker) -> Iterator[tuple]:
    reader = csv.reader(_lines(file, problems))
    header = next(reader, None)
    names = [name.strip().lower() for name in header or ()]
    missing = [column for column in CSV_COLUMNS if column not in names]
    if missing:
        problems.add(1, "", f"the header misses the column(s) {', '.join(missing)}", row=1)
        return
    columns = CSV_COLUMNS + tuple(column for column in CSV_OPTIONAL_COLUMNS if column in names)
    index = [names.index(column) for column in columns]
    start, row = reader.line_num + 1, 1
    try:
        for fields in reader:
            line, start, row = start, reader.line_num + 1, row + 1
            if not any(field.strip() for field in fields):
                continue
            if len(fields) != len(names):
                problems.add(line, "", f"expected {len(names)} fields, found {len(fields)}", row=row)
                continue
            record = _csv_record(dict(zip(columns, (fields[i].strip() for i in index))), line, row, problems, checker)
            if record:
                yield record
    except csv.Error as error:
        problems.add(start, "", f"unreadable CSV: {error}", row=row + 1)


def _csv_record(values: dict[str, str], line: int, row: int, problems: ProblemLog, checker: EmailChecker) -> tuple | None:
    role, flag = values["role"], values["is_child"].lower()
    is_child = True if flag in _TRUE else False if flag in _FALSE else None
    programs = [p.strip() for p in values["programs"].split(";") if p.strip()]
    errors = []
    if role not in ("account_manager", "student"):
        errors.append(("role", f"expected account_manager or student, found {role!r}"))
    elif role == "student" and is_child is None:
        errors.append(("is_child", f"expected true or false for a student, found {values['is_child']!r}"))
    elif role == "account_manager" and (is_child or (flag and is_child is None)):
        errors.append(("is_child", "an account manager is an adult: leave is_child empty or false"))
    elif role == "account_manager" and programs:
        errors.append(("programs", "list the programs on the person's student row, not on the account_manager row"))
    if not errors:
        head = {key: values[column] for key, column in
                (("account_id", "account_id"), ("status", "account_status"), ("created_at", "created_at"), ("updated_at", "updated_at"))}
        person = {key: values[key] for key in ("person_id", "first_name", "last_name")}
        person |= {"email": values["email"] or None, "phone": values["phone"] or None,
                   "email_consent": values.get("email_consent", "").lower() or None, "consent_at": values.get("consent_at") or None}
        if role == "student":
            person |= {"is_child": is_child, "birth_date": values["birth_date"] or None, "enrollments": [{"program": p} for p in programs]}
        errors = [(_csv_column(path), message) for path, message in check_csv_row(head, person, role)]
    for column, message in errors:
        problems.add(line, column, message, row=row)
    if errors:
        return None
    consent, consent_at = _consent(person)
    return (
        line, row, values["account_id"], values["account_status"], timestamp(values["updated_at"]),
        0 if role == "account_manager" else 1, values["person_id"], values["first_name"], values["last_name"],
        *_address(values["email"] or None, checker), values["phone"] or None, int(bool(is_child)), _json_list(set(programs)), None, 1,
        consent, consent_at, timestamp(consent_at) if consent_at else None,
    )


def _csv_column(path: str) -> str:
    if path == "status":
        return "account_status"
    return "programs" if path.startswith("enrollments") else path
