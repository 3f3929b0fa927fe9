"""The run log: running -> ok / failed / interrupted, killed processes, and the business lock."""

from __future__ import annotations

import os
import signal

import pytest

from opus1_integrations import runlog
from opus1_integrations.api import hookimpl
from opus1_integrations.state import open_db

from .conftest import CONTACT_KEYS, Recorder, make_distribution, process_env, start_process, wait_for

SLOW_MODULE = """
import os
import time
from pathlib import Path

from opus1_integrations.api import hookimpl


@hookimpl
def sync(context, settings, audience, run, options):
    run.record("maria.lopez@gmail.com", "created")
    run.flush()
    Path(os.environ["OPUS1_TEST_MARKER"]).write_text("syncing")
    time.sleep(60)
    return {"created": 1}
"""


@pytest.fixture
def slow(tmp_path, add_plugin, cli, accounts):
    """A throwaway ``slow`` distribution whose sync waits, configured for business ``default``."""
    add_plugin(Recorder(), "slow")  # in this process, a fast plugin of the same name
    assert cli("configure", "slow", "--contacts", accounts).code == 0
    site = make_distribution(tmp_path / "site", "opus1-slow", {"slow": "opus1_slow_plugin"},
                             {"opus1_slow_plugin": SLOW_MODULE})
    marker = tmp_path / "syncing"
    env = process_env([site], OPUS1_INT_LOAD_PLUGINS="slow", OPUS1_TEST_MARKER=str(marker))
    return env, marker


def test_a_run_is_running_during_the_sync_and_ok_after(add_plugin, cli, accounts):
    class Watching(Recorder):
        status_during = None

        @hookimpl
        def sync(self, context, settings, audience, run, options):
            self.status_during = context.db["runs"].get(run.id)["status"]
            return super().sync(context, settings, audience, run, options)

    plugin = Watching()
    add_plugin(plugin, "thing")
    cli("configure", "thing", "--contacts", accounts)
    result = cli("sync", "thing", "--json")
    assert result.code == 0, result.err
    summary = result.json()
    assert summary == {"business": "default", "integration": "thing", "run_id": 1, "status": "ok",
                       "dry_run": False, "counts": {"created": 2}, "not_synced": {"child": 1}, "error": None,
                       "hint": None, "exit_code": 0}
    assert plugin.status_during == "running"
    row = open_db()["runs"].get(1)
    assert row["status"] == "ok" and row["error"] is None
    assert row["finished_at"] >= row["started_at"]
    assert row["pid"] == os.getpid()
    assert {i["key"] for i in runlog.items(open_db(), 1, outcome="created")} == CONTACT_KEYS


def test_dry_run_is_recorded_as_such(add_plugin, cli, accounts):
    add_plugin(Recorder(), "thing")
    cli("configure", "thing", "--contacts", accounts)
    result = cli("sync", "thing", "--dry-run", "--json")
    assert result.json()["dry_run"] is True
    assert cli("runs", "--json").json()[0]["dry_run"] is True
    shown = cli("sync", "thing", "--dry-run").out
    assert "Dry run of thing for default (run 2): 2 would be added." in shown
    assert "\n2 would be added:\n  " in shown and "Nothing was sent: this was a dry run." in shown


def test_runs_filters_and_orders_newest_first(add_plugin, cli, accounts):
    add_plugin(Recorder(), "thing")
    for business in ("a", "b", "a"):
        cli("configure", "thing", "--contacts", accounts, "--business", business)
        assert cli("sync", "thing", "--business", business).code == 0
    assert [r["id"] for r in cli("runs", "--json").json()] == [3, 2, 1]
    assert [r["id"] for r in cli("runs", "--business", "a", "--json").json()] == [3, 1]
    assert [r["id"] for r in cli("runs", "--limit", "1", "--json").json()] == [3]
    assert cli("runs", "--status", "failed", "--json").json() == []
    assert cli("runs", "--integration", "other", "--json").json() == []
    table = cli("runs")
    assert table.err == ""
    assert [line.split()[:3] for line in table.out.splitlines()] == [
        ["run", "business", "status"], ["3", "a", "ok"], ["2", "b", "ok"], ["1", "a", "ok"]]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_exits_130_and_the_run_is_interrupted(slow, cli, signum):
    env, marker = slow
    proc = start_process("sync", "slow", env=env)
    wait_for(marker, proc)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Interrupted" in err
    [run] = cli("runs", "--json").json()
    assert run["status"] == "interrupted"
    row = open_db()["runs"].get(run["id"])
    assert (row["status"], row["error"]) == ("interrupted", "interrupted")
    assert row["finished_at"] is not None
    assert [i["key"] for i in runlog.items(open_db(), run["id"])] == ["maria.lopez@gmail.com"]


def test_a_killed_run_shows_interrupted_and_the_lock_refuses_a_second_run(slow, cli, accounts):
    env, marker = slow
    proc = start_process("sync", "slow", env=env)
    try:
        wait_for(marker, proc)
        [running] = cli("runs", "--json").json()
        assert running["status"] == "running"

        second = cli("sync", "slow")
        assert second.code == 1
        assert "Error: another slow run for business 'default' is in progress" in second.err
        assert "Hint: wait for it to finish; `opus1-int runs` shows it" in second.err
        assert [r["id"] for r in cli("runs", "--json").json()] == [running["id"]]

        cli("configure", "slow", "--contacts", accounts, "--business", "other")
        assert cli("sync", "slow", "--business", "other").code == 0  # the lock is per business
    finally:
        proc.kill()
        proc.communicate(timeout=30)

    assert open_db()["runs"].get(running["id"])["status"] == "running"  # nobody closed it ...
    shown = {r["id"]: r for r in cli("runs", "--json").json()}
    assert shown[running["id"]]["status"] == "interrupted"  # ... but it shows as interrupted
    assert [r["id"] for r in cli("runs", "--status", "interrupted", "--json").json()] == [running["id"]]
    assert cli("runs", "--status", "running", "--json").json() == []

    assert cli("sync", "slow").code == 0  # the next run marks it
    row = open_db()["runs"].get(running["id"])
    assert (row["status"], row["error"]) == ("interrupted", "the process stopped before the run finished")
    assert row["finished_at"] is not None
