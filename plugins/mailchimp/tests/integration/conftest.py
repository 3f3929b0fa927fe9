"""Fixtures for driving ``opus1-int`` against the sandbox over HTTP, with exports written per test."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from opus1_integrations.testing import Result

USER = "studio_owner"


@pytest.fixture
def home(opus1_home) -> Path:
    """The test's OPUS1_INT_HOME."""
    return opus1_home


@pytest.fixture
def cli(run_cli):
    """Run ``opus1-int`` in-process with the installed plugins; returns a Result."""
    return run_cli


def account(n: int, *, email: str | None = ..., status: str = "active", first="Maria", last=None,
            students=(), updated="2026-11-20T08:12:00Z", consent: str | None = None,
            consent_at: str | None = None) -> dict:
    """One account of the opus1 export, with its manager ``per_<n>`` (whose ``email_consent`` is ``consent``, or
    not given)."""
    manager = {"person_id": f"per_{n}", "first_name": first, "last_name": last or f"Family{n}",
               "email": f"parent{n}@gmail.com" if email is ... else email, "phone": None}
    if consent is not None:
        manager.update(email_consent=consent, consent_at=consent_at)
    return {
        "account_id": f"acc_{n}",
        "status": status,
        "created_at": "2026-09-01T10:00:00Z",
        "updated_at": updated,
        "account_manager": manager,
        "students": list(students),
    }


def child(pid: str, first: str, last: str, *, email=None, program="Piano", teacher="Ms. Kim") -> dict:
    """A child student with one enrolment."""
    return {"person_id": pid, "first_name": first, "last_name": last, "birth_date": "2016-04-02", "is_child": True,
            "email": email, "enrollments": [{"program": program, "teacher": teacher, "term": "Fall 2026"}]}


@pytest.fixture
def export(tmp_path):
    """Write accounts as a JSON Lines export; returns its path (rewrites the same file on each call)."""
    path = tmp_path / "accounts.jsonl"

    def write(accounts: list[dict]) -> Path:
        path.write_text("".join(json.dumps(a) + "\n" for a in accounts), encoding="utf-8")
        return path

    return write


@pytest.fixture
def connect(cli, mailchimp_sandbox):
    """Configure the mailchimp integration of business ``default`` against the sandbox."""

    def run(contacts: Path, *extra: str) -> Result:
        result = cli("configure", "mailchimp", "--user-id", USER, "--api-key", mailchimp_sandbox.api_key,
                     "--audience-id", mailchimp_sandbox.audience_id, "--api-url", mailchimp_sandbox.base_url,
                     "--contacts", contacts, *extra)
        assert result.code == 0, result.err
        return result

    return run


def writes(sandbox) -> list:
    """The write requests the sandbox received (everything but GET)."""
    return [r for r in sandbox.requests if r.method != "GET" and "/_sandbox" not in r.path]


def written(sandbox) -> bytes:
    """Everything the write requests carried, bodies and paths (``writes``) run together, to search for a value."""
    return b"".join((r.body or b"") + r.path.encode() for r in writes(sandbox))


def sync_planned(cli, export, accounts: list[dict]) -> dict:
    """Run a sync that goes through the planner although the contacts are the same: the export is rewritten with
    one more account, without an email (so no contact), which defeats the no-change shortcut. Its counts."""
    export(accounts + [account(999, email=None, first="Noel", last="Nomail")])
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    counts = result.json()["counts"]
    assert "nothing_changed" not in counts and counts["requests"] > 1, "the run took the no-change shortcut"
    return counts


def db_text(home: Path, tables=("runs", "run_items")) -> str:
    """The run log tables dumped as text."""
    conn = sqlite3.connect(home / "opus1-integrations.db")
    try:
        return "\n".join(str(row) for t in tables for row in conn.execute(f"select * from {t}"))
    finally:
        conn.close()
