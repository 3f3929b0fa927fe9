"""Machines read stdout (``--json``); people read stderr (messages, tables, errors)."""

from __future__ import annotations

import json

import pytest

from opus1_integrations.api import Check, Finding, hookimpl

from .conftest import Recorder


class Complete(Recorder):
    """Implements every hook the host calls for one integration."""

    @hookimpl
    def validate(self, context, settings):
        return [Check("reach", True, "reached")]

    @hookimpl
    def diagnose(self, context, settings):
        return [Finding("info", "note", "all quiet")]

    @hookimpl
    def lookup(self, context, settings, keys):
        return {key: {"status": "subscribed"} for key in keys}

    @hookimpl
    def verify(self, context, settings, contacts):
        return [{"key": c.key, "ok": True, "problems": []} for c in contacts]


COMMANDS = [
    ["plugins"],
    ["configure", "thing"],
    ["validate", "thing"],
    ["sync", "thing"],
    ["diagnose"],
    ["diagnose", "thing"],
    ["runs"],
    ["check", "thing", "maria.lopez@gmail.com"],
    ["verify", "thing"],
]


@pytest.fixture
def synced(add_plugin, cli, accounts):
    add_plugin(Complete(), "thing")
    assert cli("configure", "thing", "--contacts", accounts).code == 0
    assert cli("sync", "thing").code == 0


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_json_goes_to_stdout_only(synced, cli, argv):
    result = cli(*argv, "--json")
    assert result.code == 0, result.err
    json.loads(result.out)
    assert result.err == ""


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_people_output_goes_to_stderr_only(synced, cli, argv):
    result = cli(*argv)
    assert result.code == 0, result.err
    assert result.out == ""
    assert result.err.strip()


def test_check_explains_the_rules_decision_and_the_live_state(synced, cli):
    result = cli("check", "thing", "maria.lopez@gmail.com", "--json")
    answer = result.json()
    assert answer["query"] == "maria.lopez@gmail.com"
    assert "per_1" in [p["person_id"] for p in answer["people"]]
    assert answer["contacts"]["maria.lopez@gmail.com"]["live"] == {"status": "subscribed"}
    assert answer["contacts"]["maria.lopez@gmail.com"]["last_run"]["outcome"] == "created"
    people = cli("check", "thing", "maria.lopez@gmail.com").err
    assert "Maria Lopez (per_1)" in people
    assert "maria.lopez@gmail.com\n  last sync: run 1" in people and "in thing now: status subscribed" in people
