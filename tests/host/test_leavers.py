"""``opus1-int leavers``: who left in the service, from the integration's ``leavers`` hook, as lines of at most 80
columns, JSON or CSV; a missing hook is exit 2 and a hook that breaks its contract is exit 4."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from opus1_integrations.api import hookimpl

from .conftest import Recorder

PEOPLE = [
    {"person_id": "per_1", "account_ids": ["acc_1001", "acc_1002"], "email": "maria.lopez@gmail.com",
     "status": "unsubscribed", "reason": "I no longer want to receive these emails", "left_at":
     "2026-11-29T21:47:03+00:00"},
    {"person_id": "per_3", "account_ids": ["acc_1003"], "email": "=HYPERLINK(\"https://evil.example\")@gmail.com",
     "status": "cleaned", "reason": None, "left_at": "2026-11-28T08:00:00+00:00"},
    {"person_id": "per_9", "account_ids": ["acc_1009"],
     "email": "a.very.long.address.that.does.not.fit.on.one.line.at.all@a-long-domain-name.example.org",
     "status": "archived", "reason": None, "left_at": "2026-11-27T08:00:00+00:00"},
]


class Leaving(Recorder):
    """A throwaway integration whose ``leavers`` hook returns ``people`` and records the ``since`` it was given."""

    def __init__(self, people):
        super().__init__()
        self.people = people
        self.since: list[datetime] = []

    @hookimpl
    def leavers(self, context, settings, since):
        self.since.append(since)
        return self.people


@pytest.fixture
def leaving(add_plugin, cli, accounts):
    """Configure a ``thing`` integration whose leavers are ``PEOPLE``; returns the plugin."""
    plugin = Leaving(PEOPLE)
    add_plugin(plugin, "thing")
    assert cli("configure", "thing", "--contacts", accounts).code == 0
    return plugin


def test_leavers_prints_one_line_per_person_within_80_columns(leaving, cli):
    result = cli("leavers", "thing")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 1 + len(PEOPLE) + 1  # a header, one line per person, a summary
    assert all(len(line) <= 80 for line in lines)
    assert lines[1].split()[:6] == ["2026-11-29", "21:47", "unsubscribed", "per_1", "acc_1001", "+1"]
    assert "maria.lopez@gmail.com" in lines[1] and lines[3].endswith("…")
    assert lines[-1].startswith("3 people left in thing since")
    since = leaving.since[0]
    assert since.tzinfo is not None
    assert abs(datetime.now(timezone.utc) - timedelta(days=7) - since) < timedelta(minutes=1)


def test_leavers_takes_an_age_or_a_time_and_refuses_anything_else(leaving, cli):
    assert cli("leavers", "thing", "--since", "24h").code == 0
    assert cli("leavers", "thing", "--since", "2026-11-20").code == 0
    assert leaving.since[-1] == datetime(2026, 11, 20, tzinfo=timezone.utc)
    refused = cli("leavers", "thing", "--since", "last week")
    assert refused.code == 2 and "--since" in refused.err


def test_leavers_json_and_csv(leaving, cli):
    data = cli("leavers", "thing", "--json").json()
    assert data["business"] == "default" and data["integration"] == "thing"
    assert data["leavers"] == PEOPLE
    rows = list(csv.reader(io.StringIO(cli("leavers", "thing", "--csv").out)))
    assert rows[0] == ["person_id", "account_ids", "email", "status", "reason", "left_at"]
    assert rows[1] == ["per_1", "acc_1001;acc_1002", "maria.lopez@gmail.com", "unsubscribed",
                       "I no longer want to receive these emails", "2026-11-29T21:47:03+00:00"]
    assert rows[2][2].startswith("'=HYPERLINK")  # a spreadsheet shows it as text, not as a formula
    both = cli("leavers", "thing", "--json", "--csv")
    assert both.code == 2 and "cannot be combined" in both.err


def test_nobody_left_says_so(add_plugin, cli, accounts):
    add_plugin(Leaving([]), "thing")
    assert cli("configure", "thing", "--contacts", accounts).code == 0
    result = cli("leavers", "thing")
    assert result.code == 0 and result.out.startswith("nobody left in thing since")


def test_an_integration_without_the_hook_cannot_list_leavers(add_plugin, cli, accounts):
    add_plugin(Recorder(), "thing")
    assert cli("configure", "thing", "--contacts", accounts).code == 0
    result = cli("leavers", "thing")
    assert result.code == 2
    assert "cannot list the people who left in the service" in result.err


def test_an_unconfigured_business_is_a_settings_error(leaving, cli):
    result = cli("leavers", "thing", "--business", "nobody")
    assert result.code == 3 and "not configured" in result.err


@pytest.mark.parametrize("entry", [{"person_id": "per_1"}, {**PEOPLE[0], "left_at": "yesterday"},
                                   {**PEOPLE[0], "account_ids": "acc_1001"}, {**PEOPLE[0], "reason": 5}, "per_1"])
def test_a_hook_returning_something_else_is_a_broken_plugin(add_plugin, cli, accounts, entry):
    add_plugin(Leaving([entry]), "thing")
    assert cli("configure", "thing", "--contacts", accounts).code == 0
    result = cli("leavers", "thing")
    assert result.code == 4 and "leavers" in result.err
