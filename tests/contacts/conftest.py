"""Builders of small opus1 exports for the contacts tests."""

from __future__ import annotations

import csv
import json
from itertools import count
from pathlib import Path

import pytest

from opus1_integrations.contacts import load_audience

_ids = count(1)


def person(first: str = "Maria", last: str = "Lopez", email: str | None = None, **extra) -> dict:
    """A person with a fresh person_id (override with person_id=...)."""
    return {"person_id": f"per_{next(_ids)}", "first_name": first, "last_name": last, "email": email, **extra}


def student(base: dict | None = None, child: bool = True, programs: tuple = (), teacher: str | None = None, **extra) -> dict:
    """A student record: a child by default, with one enrolment per program."""
    record = {**(base or person(**extra)), "is_child": child}
    record["enrollments"] = [{"program": p, "teacher": teacher} for p in programs]
    return record


def account(manager: dict, students: list | None = None, status: str = "active",
            updated: str = "2026-11-20T08:12:00Z", account_id: str | None = None) -> dict:
    """An account; the id defaults to acc_<manager's person number>."""
    return {
        "account_id": account_id or f"acc_{manager['person_id'].split('_')[-1]}",
        "status": status, "created_at": "2026-09-01T10:00:00Z", "updated_at": updated,
        "account_manager": manager, "students": students or [],
    }


def write_jsonl(path: Path, accounts: list[dict]) -> Path:
    """Write accounts as JSON Lines."""
    path.write_text("".join(json.dumps(a) + "\n" for a in accounts), encoding="utf-8")
    return path


CSV_HEADER = ["account_id", "account_status", "person_id", "role", "first_name", "last_name", "email", "phone",
              "birth_date", "is_child", "created_at", "updated_at", "programs"]


def csv_rows(accounts: list[dict]) -> list[list[str]]:
    """The CSV rows of accounts, one per person, in account order."""
    rows = []
    for a in accounts:
        head, times = [a["account_id"], a["status"]], [a["created_at"], a["updated_at"]]
        m = a["account_manager"]
        rows.append(head + [m["person_id"], "account_manager", m["first_name"], m["last_name"], m.get("email") or "",
                            m.get("phone") or "", "", "", *times, ""])
        for s in a["students"]:
            rows.append(head + [s["person_id"], "student", s["first_name"], s["last_name"], s.get("email") or "",
                                s.get("phone") or "", s.get("birth_date") or "", str(s["is_child"]).lower(), *times,
                                ";".join(e["program"] for e in s.get("enrollments") or [])])
    return rows


def write_csv(path: Path, rows: list[list[str]], header: list[str] = CSV_HEADER, bom: bool = True, newline: str = "\r\n") -> Path:
    """Write CSV rows as a spreadsheet would (BOM, CRLF by default)."""
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def audience_of(tmp_path):
    """Load accounts (as JSON Lines) and return the audience; closed after the test."""
    opened = []

    def load(accounts: list[dict]):
        audience = load_audience(write_jsonl(tmp_path / f"export{len(opened)}.jsonl", accounts))
        opened.append(audience)
        return audience

    yield load
    for audience in opened:
        audience.close()


def decision_of(audience, person_id: str):
    """The one decision of a person."""
    (found,) = audience.find(person_id)
    return found
