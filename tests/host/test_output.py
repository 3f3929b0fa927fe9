"""Machines read stdout (``--json``); people read stderr (messages, tables, errors)."""

from __future__ import annotations


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


JSON_SHAPES = {  # the first keys each command's --json holds (a list: the keys of its items)
    "plugins": ["name", "distribution", "version", "hooks", "error"],
    "configure thing": ["business", "integration", "enabled", "interval_hours", "contacts_path", "settings"],
    "validate thing": ["name", "ok", "message", "hint"],
    "sync thing": ["business", "integration", "run_id", "status", "dry_run", "counts"],
    "diagnose": ["business", "errors", "findings"],
    "diagnose thing": ["business", "errors", "findings"],
    "runs": ["id", "business", "integration", "started_at", "finished_at", "status", "dry_run", "counts"],
    "check thing maria.lopez@gmail.com": ["business", "integration", "query", "people", "contacts"],
    "verify thing": ["business", "integration", "checked", "differ", "results"],
}


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_json_goes_to_stdout_only_and_names_things_the_same_way_everywhere(synced, cli, argv):
    result = cli(*argv, "--json")
    assert result.code == 0, result.err
    data = result.json()
    first = data[0] if isinstance(data, list) else data
    assert list(first)[: len(JSON_SHAPES[" ".join(argv)])] == JSON_SHAPES[" ".join(argv)]
    assert result.err == ""


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_results_go_to_stdout_and_leave_stderr_empty(synced, cli, argv):
    result = cli(*argv)
    assert result.code == 0, result.err
    assert result.out.strip() and result.err == ""


@pytest.mark.parametrize("argv", [["runs"], ["plugins"], ["schedule", "show"], ["sync", "thing", "--all", "--force"]])
def test_listings_fit_80_columns_with_whole_names(add_plugin, cli, accounts, argv):
    add_plugin(Complete(), "thing")
    business = "riverside-music-and-dance-academy"  # 33 characters, never cut
    assert cli("configure", "thing", "--business", business, "--contacts", accounts).code == 0
    assert cli("sync", "thing", "--business", business).code == 0
    result = cli(*argv)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines and all(len(line) <= 80 for line in lines), lines
    if argv[0] != "plugins":
        assert any(business in line for line in lines)


def test_check_explains_the_rules_decision_and_the_live_state(synced, cli):
    result = cli("check", "thing", "maria.lopez@gmail.com", "--json")
    answer = result.json()
    assert answer["query"] == "maria.lopez@gmail.com"
    assert "per_1" in [p["person_id"] for p in answer["people"]]
    assert answer["contacts"]["maria.lopez@gmail.com"]["live"] == {"status": "subscribed"}
    assert answer["contacts"]["maria.lopez@gmail.com"]["last_run"]["outcome"] == "created"
    shown = cli("check", "thing", "maria.lopez@gmail.com").out
    assert "Maria Lopez (per_1): eligible" in shown
    last, live = shown.split("maria.lopez@gmail.com\n", 1)[1].splitlines()[:2]
    assert last.startswith("  last sync that touched it: run 1 on ") and last.endswith(" UTC: added")
    assert live == "  in thing now: status subscribed"


def test_check_of_someone_who_is_not_a_client_says_so_and_exits_1(synced, cli):
    result = cli("check", "thing", "nobody@example.org")
    assert result.code == 1
    assert "nobody@example.org is not a client in the opus1 export of business default" in result.out
