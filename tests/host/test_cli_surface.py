"""The CLI as a studio owner and an operator meet it (issue 11): saved paths that work from cron, honest answers,
results on stdout, summaries in words, hints that work when pasted, help that reads the same everywhere."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from opus1_integrations.api import hookimpl
from opus1_integrations.state import open_db

from .conftest import OPUS1_INT, STUDIO_EXPORT, Recorder, process_env


@pytest.fixture
def thing(add_plugin):
    plugin = Recorder()
    add_plugin(plugin, "thing")
    return plugin


def test_configure_saves_the_export_as_an_absolute_resolved_path(thing, cli, accounts, monkeypatch):
    monkeypatch.chdir(accounts.parent)
    result = cli("configure", "thing", "--contacts", "./sub/../accounts.jsonl", "--json")
    assert result.code == 0, result.err
    assert result.json()["contacts_path"] == str(accounts.resolve())
    monkeypatch.chdir("/")  # cron runs elsewhere
    assert cli("sync", "thing").code == 0


def test_configure_says_where_the_export_is(thing, cli, accounts):
    shown = cli("configure", "thing", "--contacts", accounts).out
    assert f"export: {accounts.resolve()} (absolute, so a scheduled sync finds it)" in shown


@pytest.mark.parametrize("case", ["missing", "malformed"])
def test_configure_refuses_an_export_it_cannot_read_and_saves_nothing(thing, cli, tmp_path, case):
    path = tmp_path / "accounts.jsonl"
    if case == "malformed":
        path.write_text('{"account_id": "acc_1", "status": "active"}\nnot json\n', encoding="utf-8")
    result = cli("configure", "thing", "--contacts", path)
    assert result.code == 5
    assert result.err.startswith("Error: ") and "Hint: " in result.err
    if case == "malformed":
        assert "  - line 2" in result.err  # the same line/field report as `contacts check`
    assert open_db()["integrations"].count == 0


def test_an_integration_without_an_export_is_saved_but_not_enabled(thing, cli):
    result = cli("configure", "thing", "--json")
    assert result.code == 0 and result.json()["enabled"] is False
    shown = cli("configure", "thing").out
    assert "saved, not enabled yet: no opus1 accounts export is set" in shown
    assert "`opus1-int configure thing --business default --contacts PATH`" in shown
    assert cli("schedule", "show", "--json").json()[0]["enabled"] is False
    assert cli("sync", "thing", "--all", "--json").json() == []


def test_validate_checks_the_export_and_counts_its_contacts(thing, cli, accounts):
    assert cli("configure", "thing", "--contacts", accounts).code == 0
    result = cli("validate", "thing")
    assert result.code == 0
    assert f"✓ export: {accounts.resolve()}: 2 contacts" in result.out
    accounts.write_text("not json\n", encoding="utf-8")  # broken after it was saved
    broken = cli("validate", "thing")
    assert broken.code == 3
    assert "✗ export: " in broken.out and f"`opus1-int contacts check {accounts.resolve()}`" in broken.out


def test_diagnose_of_a_business_with_no_integration_is_a_settings_error(thing, cli):
    result = cli("diagnose", "-b", "nobody")
    assert result.code == 3
    assert "Error: business 'nobody' has no integration configured" in result.err
    assert "`opus1-int configure thing --business nobody`" in result.err
    assert cli("diagnose", "thing", "-b", "nobody").code == 3


def test_runs_refuses_an_unknown_status_and_lists_the_allowed_ones(thing, cli):
    result = cli("runs", "--status", "bad")
    assert result.code == 2
    assert "use one of: running, ok, partial, failed, interrupted" in result.err


def test_a_sync_summary_says_what_happened_in_words_leaving_zeros_out(thing, cli, accounts):
    cli("configure", "thing", "--contacts", accounts)
    shown = cli("sync", "thing").out.splitlines()
    assert shown[0] == "✓ Sync of thing for default (run 1): 2 added."
    assert shown[1].startswith("1 person not synced by opus1's rules (1 child): `opus1-int contacts check ")


def test_a_dry_run_shows_the_first_contacts_of_each_kind_and_points_to_the_plan(add_plugin, cli, tmp_path):
    class Many(Recorder):
        @hookimpl
        def sync(self, context, settings, audience, run, options):
            for i in range(25):
                run.record(f"person{i}@example.org", "created", message="not in the service yet")
            return {"created": 25}

    add_plugin(Many(), "thing")
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_text(STUDIO_EXPORT.read_text(encoding="utf-8"), encoding="utf-8")
    cli("configure", "thing", "--contacts", accounts)
    shown = cli("sync", "thing", "--dry-run").out
    assert "\n25 would be added:\n  person0@example.org: not in the service yet\n" in shown
    assert "  ... and 15 more (`--plan FILE.csv` lists every contact)" in shown
    assert "Nothing was sent: this was a dry run." in shown


def test_hints_carry_the_business_and_the_real_integration_name(thing, cli, accounts):
    hints = [cli("sync", "thing", "-b", "studio-7").err, cli("validate", "thing", "-b", "studio-7").err,
             cli("diagnose", "-b", "studio-7").err, cli("check", "thing", "x@y.org", "-b", "studio-7").err]
    for err in hints:
        hint = err.split("Hint: ", 1)[1]
        assert "--business studio-7" in hint and "opus1-int configure thing" in hint, err
        assert "INTEGRATION" not in hint


def test_help_lists_commands_in_the_order_people_use_them_without_type_noise(thing, cli):
    shown = cli("--help").out
    commands = [line.split()[0] for line in shown.split("Commands:", 1)[1].strip().splitlines()]
    assert commands[:10] == ["configure", "validate", "sync", "diagnose", "check", "verify", "runs", "schedule",
                             "contacts", "plugins"]
    for argv in (["sync", "--help"], ["configure", "thing", "--help"], ["runs", "--help"]):
        text = cli(*argv).out
        assert "<bool>" not in text and "╭" not in text  # one plain format for every command
        assert "Options:" in text


def test_json_of_a_dry_run_uses_the_same_names_as_a_sync(thing, cli, accounts):
    cli("configure", "thing", "--contacts", accounts)
    dry = cli("sync", "thing", "--dry-run", "--json").json()
    real = cli("sync", "thing", "--json").json()
    assert set(dry) == set(real) and set(dry["counts"]) == set(real["counts"]) == {"created"}
    assert json.loads(json.dumps(dry))["dry_run"] is True


def test_a_closed_pipe_is_not_an_error():
    proc = subprocess.run(f"{OPUS1_INT} contacts check {STUDIO_EXPORT} | head -3", shell=True,
                          capture_output=True, text=True, env=process_env(), timeout=60,
                          executable="/bin/bash")
    assert len(proc.stdout.splitlines()) == 3
    assert "Error" not in proc.stderr and "Traceback" not in proc.stderr
    status = subprocess.run(f"set -o pipefail; {OPUS1_INT} contacts check {STUDIO_EXPORT} | head -1 > /dev/null",
                            shell=True, env=process_env(), timeout=60, executable="/bin/bash")
    assert status.returncode == 0


def test_runs_show_gives_times_to_the_second_and_counts_in_words(thing, cli, accounts):
    cli("configure", "thing", "--contacts", accounts)
    cli("sync", "thing")
    shown = cli("runs", "show", "1").out.splitlines()
    assert re.fullmatch(r"  started:  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", shown[2]), shown[2]
    assert re.fullmatch(r"  finished: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+\.\ds\)", shown[3]), shown[3]
    assert shown[4] == "  counts:   2 added"
    assert all(len(line) <= 80 for line in shown)
