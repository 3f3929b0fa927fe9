"""Fixtures for the hostile tests: a hostile fake Mailchimp on loopback (``hostile``), a second one to redirect to
(``elsewhere``), and the sandbox where a test needs a whole, honest Mailchimp around one hostile part."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hostile_server import Hostile

from opus1_mailchimp.client import Mailchimp

KEY = "0123456789abcdef0123456789abcdef-us6"
USER = "studio_owner"


def client(hostile, **options) -> Mailchimp:
    """A Mailchimp client of the hostile server, without retry pauses unless ``retry_seconds`` is given."""
    return Mailchimp(KEY, hostile.base_url, retry_seconds=options.pop("retry_seconds", 0), **options)


@pytest.fixture
def hostile():
    """A hostile fake Mailchimp on 127.0.0.1."""
    with Hostile() as server:
        yield server


@pytest.fixture
def elsewhere():
    """Another server (another port: another host as far as redirects go) that must never be reached."""
    with Hostile() as server:
        yield server


@pytest.fixture
def studio(run_cli, mailchimp_sandbox, tmp_path):
    """Configure mailchimp for business ``default`` against the sandbox with ``n`` accounts; returns the export path
    (rewrite it with ``studio.rename(first_name)`` to make the next sync send updates through /batches)."""

    class Studio:
        path = tmp_path / "accounts.jsonl"

        def write(self, n: int, first: str = "Maria") -> Path:
            self.path.write_text("".join(json.dumps(account(i, first)) + "\n" for i in range(1, n + 1)),
                                 encoding="utf-8")
            return self.path

        def configure(self, n: int, *extra: str) -> None:
            result = run_cli("configure", "mailchimp", "--user-id", USER, "--api-key", mailchimp_sandbox.api_key,
                             "--audience-id", mailchimp_sandbox.audience_id, "--api-url", mailchimp_sandbox.base_url,
                             "--contacts", self.write(n), *extra)
            assert result.code == 0, result.err

    return Studio()


def account(n: int, first: str) -> dict:
    """One account of the opus1 export with its manager ``per_<n>``."""
    return {"account_id": f"acc_{n}", "status": "active", "created_at": "2026-09-01T10:00:00Z",
            "updated_at": "2026-11-20T08:12:00Z",
            "account_manager": {"person_id": f"per_{n}", "first_name": first, "last_name": f"Family{n}",
                                "email": f"parent{n}@gmail.com", "phone": None},
            "students": []}


def run_log(home: Path) -> str:
    """The run log tables as text."""
    conn = sqlite3.connect(home / "opus1-integrations.db")
    try:
        return "\n".join(str(row) for t in ("runs", "run_items") for row in conn.execute(f"select * from {t}"))
    finally:
        conn.close()
