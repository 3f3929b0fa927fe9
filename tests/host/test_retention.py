"""The run log's retention: items for 30 days and runs for 400 by default, failed items kept until their contact is
recorded again, each business's latest run kept, the space given back, automatic pruning at most once an hour, and
``runs prune`` / ``runs retention``. Runs of past days are recorded through ``runlog.running`` with a clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opus1_integrations import clock, retention, runlog, state
from opus1_integrations.retention import Retention

from .conftest import Recorder

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=timezone.utc)


def record_run(db, business: str, days_ago: float, items: dict[str, str], *, dry_run: bool = False,
               integration: str = "thing") -> int:
    """A run of ``days_ago`` days before NOW, recording ``items`` (key -> outcome), through the run log's code."""
    at = NOW - timedelta(days=days_ago)
    with runlog.running(db, business, integration, dry_run, clock=lambda: at) as run:
        for key, outcome in items.items():
            run.record(key, outcome, message="the service refused it" if outcome == "failed" else None)
    return run.id


def item_keys(db, run_id: int) -> list[str]:
    return sorted(i["key"] for i in runlog.items(db, run_id))


def run_ids(db) -> list[int]:
    return [r[0] for r in db.execute("select id from runs order by id").fetchall()]


def test_retention_defaults_are_30_days_of_items_and_400_days_of_runs(cli):
    db = state.open_db()
    assert retention.load(db) == Retention(items_days=30, runs_days=400)
    result = cli("runs", "retention", "--json")
    assert result.code == 0, result.err
    assert result.json() == {"items_days": 30, "runs_days": 400, "pruned_at": None}


def test_items_older_than_the_retention_are_pruned_and_younger_ones_kept():
    db = state.open_db()
    old = record_run(db, "a", 31, {"x": "created", "y": "unchanged"})
    young = record_run(db, "a", 29, {"x": "unchanged", "y": "updated"})
    pruned = retention.prune(db, now=NOW)
    assert (pruned.items, pruned.runs) == (2, 0)
    assert item_keys(db, old) == [] and item_keys(db, young) == ["x", "y"]
    assert run_ids(db) == [old, young]  # the runs themselves stay for 400 days


def test_runs_older_than_the_retention_are_pruned_but_each_business_keeps_its_latest():
    db = state.open_db()
    b_only = record_run(db, "b", 500, {"z": "created"})
    other = record_run(db, "a", 450, {}, integration="other")
    a_old = record_run(db, "a", 401, {"x": "created"})
    a_new = record_run(db, "a", 10, {"x": "unchanged"})
    pruned = retention.prune(db, now=NOW)
    assert pruned.runs == 1
    assert run_ids(db) == [b_only, other, a_new]
    assert a_old not in run_ids(db)
    assert item_keys(db, b_only) == []  # its items went after 30 days all the same


def test_a_failed_item_is_kept_until_its_contact_is_recorded_again():
    db = state.open_db()
    first = record_run(db, "a", 60, {"alone": "failed", "fixed": "failed", "dry": "failed", "other": "failed",
                                     "ok": "created"})
    record_run(db, "a", 50, {"fixed": "created"})  # succeeded since
    record_run(db, "a", 40, {"dry": "created"}, dry_run=True)  # a dry run does not count
    record_run(db, "b", 45, {"other": "created"})  # another business does not count
    pruned = retention.prune(db, now=NOW)
    assert item_keys(db, first) == ["alone", "dry", "other"]
    assert pruned.failed_items_kept == 3
    assert runlog.last_item(db, "a", "thing", "alone")["outcome"] == "failed"  # `check` still says why

    later = record_run(db, "a", 1, {"alone": "created", "dry": "failed"})
    retention.prune(db, now=NOW + timedelta(hours=2))
    assert item_keys(db, first) == ["other"]  # looked at again: alone succeeded, dry failed anew (its latest word)
    assert item_keys(db, later) == ["alone", "dry"]


def test_a_dry_run_of_prune_counts_exactly_and_deletes_nothing():
    db = state.open_db()
    record_run(db, "a", 500, {"x": "failed"})
    record_run(db, "a", 40, {"x": "created", "y": "created"})
    record_run(db, "a", 1, {"x": "unchanged"})
    before = db.execute("select count(*) from run_items").fetchone()[0]
    dry = retention.prune(db, now=NOW, dry_run=True)
    assert db.execute("select count(*) from run_items").fetchone()[0] == before
    assert run_ids(db) == [1, 2, 3]
    real = retention.prune(db, now=NOW)
    assert (dry.items, dry.runs, dry.failed_items_kept) == (real.items, real.runs, real.failed_items_kept) == (3, 1, 0)


def test_pruning_gives_the_space_back():
    db = state.open_db()
    for day in range(40, 60):
        record_run(db, "a", day, {f"contact-{i}@example.com": "unchanged" for i in range(500)})
    before = retention.size(db)
    pruned = retention.prune(db, now=NOW)
    assert pruned.items == 20 * 500
    assert pruned.bytes_after < before / 4
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0


def test_a_database_made_before_incremental_vacuum_is_converted_once_by_runs_prune(cli, opus1_home):
    opus1_home.mkdir(parents=True, exist_ok=True)
    old = sqlite_utils.Database(opus1_home / state.DB_NAME)  # as older versions made it: no auto-vacuum
    state.migrations.apply(old)
    old.conn.close()
    db = state.open_db()
    assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    record_run(db, "a", 40, {"x": "created"})
    assert retention.prune_if_due(db, now=NOW).converted is False  # automatic pruning never converts
    first = cli("runs", "prune", "--json")
    assert first.code == 0, first.err
    assert first.json()["converted"] is True
    assert state.open_db().execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    assert cli("runs", "prune", "--json").json()["converted"] is False


def test_syncs_prune_the_run_log_at_most_once_an_hour(add_plugin, cli, accounts):
    add_plugin(Recorder(), "thing")
    assert cli("configure", "thing", "--contacts", accounts).code == 0
    db = state.open_db()
    now = datetime.now(timezone.utc)
    days_before_now = (NOW - now) / timedelta(days=1)
    old = record_run(db, "default", days_before_now + 40, {"x": "created"})
    soon_old = record_run(db, "default", days_before_now + 30 - 1 / 48, {"y": "created"})  # 30 days in 30 minutes
    assert cli("sync", "thing").code == 0
    assert item_keys(db, old) == [] and item_keys(db, soon_old) == ["y"]
    pruned_at = retention.last_pruned(db)
    assert pruned_at >= now

    assert cli("sync", "thing", "--all", "--force", "--processes", "0").code == 0
    assert retention.last_pruned(db) == pruned_at  # less than an hour ago: not again
    assert retention.prune_if_due(db, now=now + timedelta(minutes=59)) is None
    assert retention.prune_if_due(db, now=now + timedelta(minutes=70)).items == 1
    assert item_keys(db, soon_old) == []


def test_runs_prune_takes_ages_and_counts_in_json(cli):
    db = state.open_db()
    ago = (NOW - datetime.now(timezone.utc)).total_seconds() / 86400
    record_run(db, "a", ago + 3, {"x": "created", "y": "failed"})
    record_run(db, "a", ago + 0.5, {"x": "unchanged"})
    dry = cli("runs", "prune", "--older-than", "2d", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert dry.json() | {"bytes_before": 0, "bytes_after": 0} == {
        "dry_run": True, "items_days": 2, "runs_days": 400, "runs": 0, "items": 1, "failed_items_kept": 1,
        "bytes_before": 0, "bytes_after": 0, "converted": False}
    assert db.execute("select count(*) from run_items").fetchone()[0] == 3
    shown = cli("runs", "prune", "--older-than", "12h")
    assert shown.code == 0 and shown.err == ""
    assert "deleted 2 contact results older than 0.5 days and 0 runs older than 400 days" in shown.out
    assert "kept 1 older refused contact: none has synced since" in shown.out
    assert db.execute("select count(*) from run_items").fetchone()[0] == 1  # y: failed, its latest word


@pytest.mark.parametrize("argv", [["runs", "prune", "--older-than", "soon"], ["runs", "prune", "--older-than", "0d"],
                                  ["runs", "retention", "--items", "-3d"], ["runs", "prune", "--runs-older-than", "1y"]])
def test_a_bad_age_is_a_usage_error(cli, argv):
    result = cli(*argv)
    assert result.code == 2, result.err
    assert "is not an age like 30d" in result.err


def test_runs_retention_saves_the_ages_automatic_pruning_uses(cli):
    result = cli("runs", "retention", "--items", "7d", "--runs", "90d", "--json")
    assert result.code == 0, result.err
    assert result.json()["items_days"] == 7 and result.json()["runs_days"] == 90
    db = state.open_db()
    gone = record_run(db, "a", 8, {"x": "created"})
    record_run(db, "a", 91, {})
    record_run(db, "a", 1, {})
    pruned = retention.prune_if_due(db, now=NOW)
    assert (pruned.items, pruned.runs) == (1, 1)
    assert item_keys(db, gone) == []
    assert "contact results are kept 7 days, runs 90 days" in cli("runs", "retention").out


# -- the invariant, on random histories -----------------------------------------------------------------------------

history = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.floats(0, 450), st.booleans(),
              st.dictionaries(st.sampled_from(["k1", "k2", "k3", "k4"]),
                              st.sampled_from(["created", "unchanged", "failed"]), max_size=4)),
    max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=history, items_days=st.sampled_from([1, 30, 100]), runs_days=st.sampled_from([30, 400]))
def test_pruning_keeps_exactly_the_young_items_the_unanswered_failures_and_the_latest_runs(tmp_path_factory, runs,
                                                                                           items_days, runs_days):
    db = state.open_db(tmp_path_factory.mktemp("db") / "run-log.db")
    # Runs are recorded in time order, as they happen.
    for business, days_ago, dry_run, items in sorted(runs, key=lambda r: -r[1]):
        record_run(db, business, days_ago, items, dry_run=dry_run)
    rows = db.execute("select i.rowid, i.run_id, i.key, i.outcome, r.business, r.dry_run, r.started_at "
                      "from run_items i join runs r on r.id = i.run_id").fetchall()
    all_runs = db.execute("select id, business, started_at from runs").fetchall()
    item_cutoff, run_cutoff = clock.iso(NOW - timedelta(days=items_days)), clock.iso(NOW - timedelta(days=runs_days))
    latest_run = {b: max(i for i, bb, _ in all_runs if bb == b) for _, b, _ in all_runs}
    kept_runs = {i for i, b, started in all_runs if started >= run_cutoff or latest_run[b] == i}

    def latest_word(business, key):
        return max(run for _, run, k, _, b, dry, _ in rows if k == key and b == business and not dry)

    expected = {rowid for rowid, run, key, outcome, business, dry, started in rows if run in kept_runs and (
        started >= item_cutoff or (outcome == "failed" and not dry and latest_word(business, key) == run))}

    retention.prune(db, Retention(items_days, runs_days), now=NOW)
    assert {r[0] for r in db.execute("select rowid from run_items")} == expected
    assert set(run_ids(db)) == kept_runs
