"""Due-based syncs of many businesses, in-process: the 24-hour boundary (with a controllable clock), ``--force``,
``sync --all`` with a bounded pool, one broken business among good ones, locks and ``--wait``, ``configure --every``,
``schedule show``, ``runs --since`` and migration m002.

The ``sync --all`` tests run twice: with the businesses in worker processes forked from this one (the default) and
in threads of this process (``--processes 0``); the throwaway plugins note their calls in a file, which both see.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlite_utils

from opus1_integrations import clock, locks, schedule, state
from opus1_integrations.services.fleet import Fleet
from opus1_integrations import settings as settings_store
from opus1_integrations.api import OperationFailed, SettingsInvalid, hookimpl

from .conftest import Recorder

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=timezone.utc)


class Syncing(Recorder):
    """Notes which business each sync was for and whether it was forced, in a file (worker processes write there
    too); fails for the businesses asked to."""

    def __init__(self, calls: Path, failures: dict[str, BaseException] | None = None, schema: dict | None = None):
        super().__init__(schema)
        self.failures = failures or {}
        self.log = calls

    @property
    def calls(self) -> list[tuple[str, bool]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [(business, force == "True") for business, force in (line.rsplit(" ", 1) for line in lines)]

    def clear(self) -> None:
        self.log.unlink(missing_ok=True)

    @hookimpl
    def sync(self, context, settings, audience, run, options):
        with open(self.log, "a") as log:
            log.write(f"{context.business} {options.force}\n")
        if context.business in self.failures:
            run.record("maria.lopez@gmail.com", "created")
            run.counts = {"created": 1}
            raise self.failures[context.business]
        return super().sync(context, settings, audience, run, options)

    def businesses(self) -> list[str]:
        return sorted(b for b, _ in self.calls)


@pytest.fixture
def syncing(add_plugin, tmp_path):
    plugin = Syncing(tmp_path / "calls")
    add_plugin(plugin, "thing")
    return plugin


@pytest.fixture(params=["processes", "threads"])
def mode(request) -> tuple[str, ...]:
    """How ``sync --all`` runs the businesses: in 2 worker processes, or in threads of this process."""
    return ("--processes", "2") if request.param == "processes" else ("--processes", "0")


def configure(cli, accounts, *businesses, extra=()):
    for business in businesses:
        result = cli("configure", "thing", "--business", business, "--contacts", accounts, *extra)
        assert result.code == 0, result.err


def set_last_ok(business: str, finished: datetime, integration: str = "thing") -> None:
    """The controllable clock: move a business's successful runs back in time."""
    db = state.open_db()
    db.execute("update runs set finished_at = ?, started_at = ? where business = ? and integration = ? and status = 'ok'",
               [clock.iso(finished), clock.iso(finished - timedelta(minutes=1)), business, integration])
    db.conn.commit()


def by_business(result) -> dict[str, dict]:
    return {o["business"]: o for o in result.json()}


def insert_run(db, business, *, status="ok", finished: datetime | None, dry_run=False, integration="thing"):
    db["runs"].insert({"business": business, "integration": integration, "status": status, "dry_run": int(dry_run),
                       "started_at": clock.iso((finished or NOW) - timedelta(minutes=5)),
                       "finished_at": clock.iso(finished), "counts": "{}", "pid": 0})


def insert_business(db, business, *, enabled=True, hours=None, integration="thing"):
    settings_store.save(db, business, integration, {}, enabled=enabled, contacts_path="/data/accounts.jsonl")
    if hours is not None:
        schedule.set_interval(db, business, integration, hours)


# -- the due rule, with a clock ----------------------------------------------------------------


@pytest.mark.parametrize(("age", "due"), [
    (timedelta(hours=23, minutes=59), False),
    (timedelta(hours=23, minutes=59, seconds=59), False),
    (timedelta(hours=24), True),
    (timedelta(hours=24, minutes=1), True),
    (timedelta(days=9), True),
], ids=["23h59m", "23h59m59s", "24h", "24h01m", "9d"])
def test_due_at_the_24_hour_boundary(age, due):
    db = state.open_db()
    insert_business(db, "studio")
    insert_run(db, "studio", finished=NOW - age)
    current = schedule.status(db, "studio", "thing", NOW)
    assert current.due is due
    assert current.last_ok == NOW - age
    assert current.due_at == NOW - age + timedelta(hours=24)


def test_a_business_never_synced_is_due_now():
    db = state.open_db()
    insert_business(db, "studio")
    current = schedule.status(db, "studio", "thing", NOW)
    assert (current.due, current.due_at, current.last_ok) == (True, None, None)
    assert schedule.status(db, "nobody", "thing", NOW) is None


@pytest.mark.parametrize("status", ["failed", "interrupted", "running"])
def test_a_failed_or_interrupted_last_run_does_not_count_so_the_business_stays_due(status):
    db = state.open_db()
    insert_business(db, "studio")
    insert_run(db, "studio", finished=NOW - timedelta(hours=25))
    insert_run(db, "studio", status=status, finished=NOW - timedelta(minutes=3) if status != "running" else None)
    assert schedule.status(db, "studio", "thing", NOW).due
    insert_business(db, "fresh")  # never successful: due, whatever failed
    insert_run(db, "fresh", status=status, finished=NOW - timedelta(minutes=1))
    assert schedule.status(db, "fresh", "thing", NOW).due


def test_a_dry_run_does_not_count_as_a_sync():
    db = state.open_db()
    insert_business(db, "studio")
    insert_run(db, "studio", finished=NOW - timedelta(minutes=1), dry_run=True)
    assert schedule.status(db, "studio", "thing", NOW).due


def test_the_interval_is_per_business_and_may_be_fractional():
    db = state.open_db()
    insert_business(db, "hourly", hours=1.5)
    insert_business(db, "daily")
    for business in ("hourly", "daily"):
        insert_run(db, business, finished=NOW - timedelta(hours=1, minutes=31))
    assert schedule.status(db, "hourly", "thing", NOW).due
    assert schedule.status(db, "hourly", "thing", NOW - timedelta(minutes=2)).due is False
    assert not schedule.status(db, "daily", "thing", NOW).due
    assert schedule.interval_hours(db, "daily", "thing") == state.DEFAULT_INTERVAL_HOURS
    with pytest.raises(ValueError):
        schedule.set_interval(db, "daily", "thing", 0)


def test_disabled_businesses_are_not_listed():
    db = state.open_db()
    insert_business(db, "b-on")
    insert_business(db, "a-off", enabled=False)
    insert_business(db, "c-on", integration="other")
    assert schedule.configured(db, "thing") == [("b-on", "thing")]
    assert schedule.configured(db) == [("c-on", "other"), ("b-on", "thing")]
    assert schedule.configured(db, "thing", enabled_only=False) == [("a-off", "thing"), ("b-on", "thing")]


# -- sync --all ----------------------------------------------------------------------------------


def test_sync_all_syncs_the_due_businesses_and_skips_the_others_with_their_due_time(syncing, cli, accounts, mode):
    configure(cli, accounts, "a", "b", "c", "d")
    first = cli("sync", "thing", "--all", "--json", *mode)
    assert first.code == 0, first.err
    assert {b: o["outcome"] for b, o in by_business(first).items()} == dict.fromkeys("abcd", "ok")
    assert syncing.businesses() == ["a", "b", "c", "d"]

    now = datetime.now(timezone.utc).replace(microsecond=0)
    set_last_ok("a", now - timedelta(hours=23, minutes=59))
    set_last_ok("b", now - timedelta(hours=24, minutes=1))
    assert cli("configure", "thing", "--business", "d", "--disable").code == 0
    configure(cli, accounts, "e")  # never synced
    syncing.clear()

    result = cli("sync", "thing", "--all", "--json", *mode)
    assert result.code == 0, result.err
    outcomes = by_business(result)
    assert sorted(outcomes) == ["a", "b", "c", "e"]  # d is disabled
    assert outcomes["a"]["outcome"] == "skipped_not_due"
    assert outcomes["a"]["due_at"] == clock.iso(now + timedelta(minutes=1))
    assert outcomes["a"]["run_id"] is None
    assert outcomes["b"]["outcome"] == "ok" and outcomes["b"]["counts"] == {"created": 2}
    assert outcomes["c"]["outcome"] == "skipped_not_due"
    assert outcomes["e"]["outcome"] == "ok"
    assert syncing.businesses() == ["b", "e"]

    table = cli("sync", "thing", "--all", *mode)
    assert table.err == "" and table.code == 0
    lines = table.out.splitlines()  # one line per business as each finishes, then the tally
    assert f"· a: not due until {(now + timedelta(minutes=1)).strftime('%Y-%m-%d %H:%M')} UTC" in lines
    assert lines[-1] == "4 skipped not due" and len(lines) == 5


def test_force_syncs_every_business_but_never_past_a_safety_stop(syncing, cli, accounts, mode):
    configure(cli, accounts, "a", "b")
    assert cli("sync", "thing", "--all", *mode).code == 0
    syncing.clear()
    result = cli("sync", "thing", "--all", "--force", "--json", *mode)
    assert result.code == 0, result.err
    assert [o["outcome"] for o in result.json()] == ["ok", "ok"]
    assert syncing.calls and all(force is False for _, force in syncing.calls)  # the plugin never sees it
    syncing.clear()
    assert cli("sync", "thing", "--business", "a", "--force").code == 0
    assert syncing.calls == [("a", True)]  # one business at a time it does


def test_sync_of_one_business_runs_now_whether_or_not_it_is_due(syncing, cli, accounts):
    configure(cli, accounts, "a")
    assert cli("sync", "thing", "--business", "a").code == 0
    assert cli("sync", "thing", "--business", "a").code == 0
    assert cli("sync", "thing", "--all", "--json").json()[0]["outcome"] == "skipped_not_due"
    assert [r["status"] for r in cli("runs", "--json").json()] == ["ok", "ok"]


def test_a_dry_run_with_all_leaves_every_business_due(syncing, cli, accounts):
    configure(cli, accounts, "a", "b")
    assert [o["outcome"] for o in cli("sync", "thing", "--all", "--dry-run", "--json").json()] == ["ok", "ok"]
    assert all(r["dry_run"] for r in cli("runs", "--json").json())
    assert [o["outcome"] for o in cli("sync", "thing", "--all", "--json").json()] == ["ok", "ok"]


def test_one_broken_business_does_not_stop_the_others(add_plugin, cli, accounts, mode, tmp_path):
    plugin = Syncing(tmp_path / "calls", {
        "b-rejected": SettingsInvalid("the service rejected the API key", hint="make a new key"),
        "c-down": OperationFailed("cannot reach the service", hint="the next run retries"),
        "d-bug": ValueError("list index out of range"),
    })
    add_plugin(plugin, "thing")
    configure(cli, accounts, "a", "b-rejected", "c-down", "d-bug", "e")
    result = cli("sync", "thing", "--all", "--jobs", "2", "--json", *mode)
    assert result.code == 1, result.err
    outcomes = by_business(result)
    assert {b: o["outcome"] for b, o in outcomes.items()} == {
        "a": "ok", "b-rejected": "failed", "c-down": "failed", "d-bug": "failed", "e": "ok"}
    assert plugin.businesses() == ["a", "b-rejected", "c-down", "d-bug", "e"]
    rejected = outcomes["b-rejected"]
    assert rejected["error"] == "the service rejected the API key" and rejected["hint"] == "make a new key"
    assert rejected["exit_code"] == 3 and rejected["counts"] == {"created": 1}
    assert outcomes["c-down"]["exit_code"] == 1
    assert outcomes["d-bug"]["exit_code"] == 4
    assert "ValueError: list index out of range" in outcomes["d-bug"]["error"]
    runs = {r["id"]: r for r in cli("runs", "--json").json()}
    for name in ("b-rejected", "c-down", "d-bug"):
        assert runs[outcomes[name]["run_id"]]["status"] == "failed"
        assert runs[outcomes[name]["run_id"]]["business"] == name
    assert sorted(r["business"] for r in cli("runs", "--status", "failed", "--json").json()) == [
        "b-rejected", "c-down", "d-bug"]

    table = cli("sync", "thing", "--all", *mode)  # the failed ones are still due: they are retried
    assert table.code == 1
    assert "✗ b-rejected: failed (run " in table.out and "fix: make a new key" in table.out
    assert table.out.splitlines()[-1] == "3 failed, 2 skipped not due" and table.err == ""


def test_settings_that_fail_before_the_plugin_runs_fail_that_business_and_are_recorded(add_plugin, cli, accounts,
                                                                                       monkeypatch, tmp_path):
    schema = {"type": "object", "properties": {"api_key": {"type": "string", "writeOnly": True}}}
    add_plugin(Syncing(tmp_path / "calls", schema=schema), "thing")
    monkeypatch.setenv("OPUS1_TEST_KEY_A", "key-a")
    monkeypatch.setenv("OPUS1_TEST_KEY_B", "key-b")
    configure(cli, accounts, "a", extra=("--api-key-env", "OPUS1_TEST_KEY_A"))
    configure(cli, accounts, "b", extra=("--api-key-env", "OPUS1_TEST_KEY_B"))
    monkeypatch.delenv("OPUS1_TEST_KEY_B")
    result = cli("sync", "thing", "--all", "--json")
    assert result.code == 1
    outcomes = by_business(result)
    assert outcomes["a"]["outcome"] == "ok"
    assert outcomes["b"]["outcome"] == "failed" and outcomes["b"]["exit_code"] == 3
    assert "OPUS1_TEST_KEY_B" in outcomes["b"]["error"]
    [failed] = cli("runs", "--status", "failed", "--json").json()
    assert failed["business"] == "b" and "OPUS1_TEST_KEY_B" in failed["error"]


class AtOnce(Recorder):
    """Counts the syncs running at once, in any process: each holds a marker file while it runs, and waits (up to
    2 s) until ``target`` markers exist before it notes how many there are."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    def expect(self, target: int) -> None:
        (self.folder / "target").write_text(str(target))
        (self.folder / "seen").unlink(missing_ok=True)

    @property
    def most(self) -> int:
        return max(map(int, (self.folder / "seen").read_text().split()))

    @hookimpl
    def sync(self, context, settings, audience, run, options):
        marker = self.folder / f"{context.business}.running"
        marker.touch()
        target, deadline = int((self.folder / "target").read_text()), time.monotonic() + 2
        while len(list(self.folder.glob("*.running"))) < target and time.monotonic() < deadline:
            time.sleep(0.01)
        with open(self.folder / "seen", "a") as seen:
            seen.write(f"{len(list(self.folder.glob('*.running')))}\n")
        time.sleep(0.05)
        marker.unlink()
        return super().sync(context, settings, audience, run, options)


def test_jobs_bounds_how_many_businesses_sync_at_once(add_plugin, cli, accounts, mode, tmp_path):
    plugin = AtOnce(tmp_path)
    add_plugin(plugin, "thing")
    configure(cli, accounts, *"abcdefgh")
    plugin.expect(3)
    assert cli("sync", "thing", "--all", "--jobs", "3", *mode).code == 0
    assert plugin.most == 3
    plugin.expect(8)
    result = cli("sync", "thing", "--all", "--force", "--json", *mode)  # default: 16 per process (or CPU)
    assert result.code == 0
    assert plugin.most == 8
    assert len(result.json()) == 8


def test_a_business_locked_by_another_process_is_skipped(syncing, cli, accounts, mode):
    configure(cli, accounts, "a", "b")
    with locks.business_lock("a", "thing"):  # another open file description: as another process's lock
        result = cli("sync", "thing", "--all", "--json", *mode)
    assert result.code == 0, result.err
    outcomes = by_business(result)
    assert outcomes["a"]["outcome"] == "skipped_locked"
    assert "in progress elsewhere" in outcomes["a"]["error"]
    assert outcomes["b"]["outcome"] == "ok"
    assert syncing.businesses() == ["b"]
    assert cli("sync", "thing", "--all", "--json", *mode).json()[0]["outcome"] == "ok"  # free again: still due


class Watched(threading.Event):
    """A stop event that is never set, and says when a sync starts polling for a business lock."""

    def __init__(self):
        super().__init__()
        self.polling = threading.Event()

    def wait(self, timeout=None):
        self.polling.set()
        return super().wait(timeout)


@pytest.mark.parametrize("other_run", ["ok", "failed"])
def test_wait_rechecks_that_the_business_is_due_once_it_holds_the_lock(syncing, plugins, cli, accounts, other_run):
    configure(cli, accounts, "a")
    outcome = {}
    stop = Watched()
    with locks.business_lock("a", "thing"):
        worker = threading.Thread(target=lambda: outcome.update(
            result=Fleet(plugins, stop=stop).sync_business("thing", "a", wait=True)))
        worker.start()
        assert stop.polling.wait(10), "the sync never waited for the lock"
        db = state.open_db()  # meanwhile the lock's holder finishes its run of the business
        insert_run(db, "a", status=other_run, finished=datetime.now(timezone.utc))
    worker.join(10)
    if other_run == "ok":
        assert outcome["result"].outcome == "skipped_not_due"
        assert syncing.calls == []
    else:  # still due: it syncs once the lock is free
        assert outcome["result"].outcome == "ok"
        assert syncing.businesses() == ["a"]


def test_wait_for_one_business(syncing, cli, accounts):
    configure(cli, accounts, "a")
    held = threading.Event()
    release = threading.Event()

    def holder():
        with locks.business_lock("a", "thing"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    assert cli("sync", "thing", "--business", "a").code == 1  # without --wait: fails at once
    threading.Timer(0.2, release.set).start()
    assert cli("sync", "thing", "--business", "a", "--wait").code == 0
    thread.join(10)


@pytest.mark.parametrize("argv", [
    ["--all", "--business", "a"],
    ["--all", "--contacts", "x.jsonl"],
    ["--all", "--plan", "plan.csv"],
    ["--jobs", "2"],
    ["--all", "--jobs", "0"],
])
def test_options_that_do_not_go_with_all_are_usage_errors(syncing, cli, argv):
    result = cli("sync", "thing", *argv)
    assert result.code == 2, result.err
    assert "Error:" in result.err


def test_all_with_nothing_configured_in_a_new_home_exits_0_and_says_so(syncing, cli):
    result = cli("sync", "thing", "--all", "--json")  # the home's first use
    assert (result.code, result.json()) == (0, [])
    assert "no enabled business has thing configured" in result.err


def test_all_with_other_businesses_but_none_of_this_integration_exits_0(syncing, cli, accounts):
    configure(cli, accounts, "a", extra=("--disable",))
    result = cli("sync", "thing", "--all")
    assert result.code == 0 and "no enabled business has thing configured" in result.err


def test_all_with_an_unknown_integration_exits_2(cli):
    assert cli("sync", "nosuch", "--all").code == 2


# -- configure --every, schedule show ------------------------------------------------------------


def test_configure_every_saves_the_interval_and_keeps_it(syncing, cli, accounts):
    result = cli("configure", "thing", "--contacts", accounts, "--json")
    assert result.json()["interval_hours"] == 24.0
    assert cli("configure", "thing", "--every", "1.5", "--json").json()["interval_hours"] == 1.5
    assert cli("configure", "thing", "--json").json()["interval_hours"] == 1.5  # not given: kept
    assert cli("configure", "thing", "--disable", "--every", "6", "--json").json()["interval_hours"] == 6
    for bad in ("0", "-1", "soon"):
        assert cli("configure", "thing", "--every", bad).code == 2
    assert "every 6 hours" in cli("configure", "thing").out


def test_schedule_show_lists_every_business_with_its_due_time(syncing, cli, accounts):
    configure(cli, accounts, "a")
    configure(cli, accounts, "b", extra=("--every", "2"))
    configure(cli, accounts, "c", extra=("--disable",))
    assert cli("sync", "thing", "--business", "a").code == 0
    shown = {r["business"]: r for r in cli("schedule", "show", "--json").json()}
    assert sorted(shown) == ["a", "b", "c"]
    assert shown["a"]["due"] is False and shown["a"]["last_ok"] is not None
    assert clock.parse(shown["a"]["due_at"]) - clock.parse(shown["a"]["last_ok"]) == timedelta(hours=24)
    assert (shown["b"]["due"], shown["b"]["due_at"], shown["b"]["interval_hours"]) == (True, None, 2.0)
    assert shown["c"]["enabled"] is False
    assert [r["business"] for r in cli("schedule", "show", "--business", "b", "--json").json()] == ["b"]
    assert cli("schedule", "show", "--integration", "other", "--json").json() == []
    table = cli("schedule", "show")
    assert table.err == ""
    rows = [line.split("  ")[0] for line in table.out.splitlines()]
    assert rows == ["business", "a", "b", "c"]
    assert "(in 24 h)" in table.out.splitlines()[1] and "disabled" in table.out.splitlines()[3]


def test_diagnose_stale_follows_a_long_interval(syncing, cli, accounts):
    configure(cli, accounts, "weekly", extra=("--every", "168"))
    configure(cli, accounts, "daily")
    for business in ("weekly", "daily"):
        assert cli("sync", "thing", "--business", business).code == 0
        set_last_ok(business, datetime.now(timezone.utc) - timedelta(hours=50))
    assert "stale" not in {f["code"] for f in cli("diagnose", "thing", "-b", "weekly", "--json").json()["findings"]}
    assert "stale" in {f["code"] for f in cli("diagnose", "thing", "-b", "daily", "--json").json()["findings"]}


# -- runs --since ----------------------------------------------------------------------------------


def test_runs_since_an_age_or_a_time(syncing, cli, accounts):
    configure(cli, accounts, "a", "b")
    assert cli("sync", "thing", "--all").code == 0
    set_last_ok("a", datetime.now(timezone.utc) - timedelta(hours=30))
    assert [r["business"] for r in cli("runs", "--since", "24h", "--json").json()] == ["b"]
    assert sorted(r["business"] for r in cli("runs", "--since", "2d", "--json").json()) == ["a", "b"]
    assert len(cli("runs", "--since", "90m", "--business", "a", "--json").json()) == 0
    today = datetime.now(timezone.utc) - timedelta(hours=29)
    assert [r["business"] for r in cli("runs", "--since", today.isoformat(), "--json").json()] == ["b"]
    assert sorted(r["business"] for r in cli("runs", "--since", "2000-01-01", "--json").json()) == ["a", "b"]
    bad = cli("runs", "--since", "yesterday")
    assert bad.code == 2 and "--since" in bad.err


# -- the state database --------------------------------------------------------------------------


def test_m002_upgrades_a_database_with_businesses_to_24_hours(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    state.migrations.apply(db, stop_before="m002_interval_hours")
    db["integrations"].insert({"business": "b", "integration": "i", "enabled": 1, "settings": "{}"})
    db.conn.close()
    upgraded = state.open_db(path)
    assert upgraded["integrations"].get(("b", "i"))["interval_hours"] == 24.0
    assert state.migrations.pending(upgraded) == []


def test_many_threads_opening_a_new_database_apply_each_migration_once(tmp_path):
    path = tmp_path / "new.db"
    start = threading.Barrier(8)
    errors = []

    def open_it():
        start.wait()
        try:
            state.open_db(path).conn.close()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert [m.name for m in state.migrations.applied(state.open_db(path))] == [
        "m001_integrations_and_runs", "m002_interval_hours", "m003_export_fingerprint", "m004_run_log_filters",
        "m005_retention", "m006_run_items_by_outcome"]
