"""The run log's queries: filters in SQL on an index (the running -> interrupted view looks at running rows only),
times with microseconds that sort as text (old whole-second rows included), and an exact due rule."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opus1_integrations import clock, locks, runlog, schedule, state
from opus1_integrations import settings as settings_store

from .conftest import Recorder

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=timezone.utc)
STATUSES = ["running", "ok", "partial", "failed", "interrupted"]


def insert_run(db, business: str, status: str, *, integration: str = "thing", started: datetime = NOW,
               started_text: str | None = None) -> int:
    with db.atomic():
        return db.conn.execute(
            "insert into runs (business, integration, started_at, finished_at, status, dry_run, counts, pid) "
            "values (?, ?, ?, ?, ?, 0, '{}', 0)",
            [business, integration, started_text or clock.iso(started),
             None if status == "running" else clock.iso(started + timedelta(minutes=1)), status]).lastrowid


def plans(db, call) -> list[str]:
    """The query plans of the SQL ``call`` runs on ``db``."""
    statements = []
    db.conn.set_trace_callback(statements.append)
    try:
        call()
    finally:
        db.conn.set_trace_callback(None)
    found = []
    for sql in statements:
        if sql.lstrip().lower().startswith("select"):
            args = [None] * sql.count("?")
            found += [row[3] for row in db.execute("explain query plan " + sql, args).fetchall()]
    return found


def test_runs_status_filters_in_sql_on_the_status_index():
    db = state.open_db()
    for i in range(50):
        insert_run(db, f"b{i % 5}", STATUSES[i % len(STATUSES)])
    for status in ("failed", "ok", "interrupted"):
        steps = plans(db, lambda: runlog.list_runs(db, status=status))
        assert any(re.search(r"USING (COVERING )?INDEX idx_runs_status\b", step) for step in steps), steps
        assert not any(re.fullmatch(r"SCAN runs", step) for step in steps), steps


def test_running_runs_show_as_interrupted_once_their_process_is_gone():
    db = state.open_db()
    ok = insert_run(db, "a", "ok")
    gone = insert_run(db, "b", "running")
    held = insert_run(db, "c", "running")
    marked = insert_run(db, "d", "interrupted")
    with locks.business_lock("c", "thing"):  # c's process is still at work
        assert [r["id"] for r in runlog.list_runs(db, status="running")] == [held]
        assert [r["id"] for r in runlog.list_runs(db, status="interrupted")] == [marked, gone]
        shown = {r["id"]: r["status"] for r in runlog.list_runs(db)}
    assert shown == {ok: "ok", gone: "interrupted", held: "running", marked: "interrupted"}
    assert db.execute("select status from runs where id = ?", [gone]).fetchone()[0] == "running"  # a view only
    assert [r["id"] for r in runlog.list_runs(db, status="running")] == []


run_rows = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["thing", "other"]),
                              st.sampled_from(STATUSES), st.integers(0, 10)), max_size=30)
filters = st.fixed_dictionaries({
    "business": st.none() | st.sampled_from(["a", "b"]), "integration": st.none() | st.just("thing"),
    "status": st.none() | st.sampled_from(STATUSES), "since_days": st.none() | st.integers(0, 10),
    "limit": st.integers(1, 40)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=run_rows, query=filters, busy=st.sets(st.sampled_from(["a", "b", "c"])))
def test_the_sql_filters_give_what_filtering_every_row_would(tmp_path_factory, monkeypatch, rows, query, busy):
    monkeypatch.setenv(state.HOME_ENV, str(tmp_path_factory.mktemp("home")))  # the locks live there
    db = state.open_db()
    for business, integration, status, days_ago in rows:
        insert_run(db, business, status, integration=integration, started=NOW - timedelta(days=days_ago))
    since = clock.iso(NOW - timedelta(days=query["since_days"])) if query["since_days"] is not None else None
    held = [locks.business_lock(b, "thing") for b in busy]
    for lock in held:
        lock.__enter__()
    try:
        got = runlog.list_runs(db, business=query["business"], integration=query["integration"],
                               status=query["status"], since=since, limit=query["limit"])
        expected = []
        for run in sorted(db["runs"].rows, key=lambda r: -r["id"]):
            if run["status"] == "running" and locks.lock_is_free(run["business"], run["integration"]):
                run["status"] = "interrupted"
            if all([query["business"] in (None, run["business"]), query["integration"] in (None, run["integration"]),
                    query["status"] in (None, run["status"]), since is None or run["started_at"] >= since]):
                expected.append((run["id"], run["status"]))
    finally:
        for lock in held:
            lock.__exit__(None, None, None)
    assert [(r["id"], r["status"]) for r in got] == expected[:query["limit"]]


# -- times ----------------------------------------------------------------------------------------------------------


def test_runs_are_stamped_with_microseconds(add_plugin, cli, accounts):
    add_plugin(Recorder(), "thing")
    assert cli("configure", "thing", "--contacts", accounts).code == 0
    assert cli("sync", "thing").code == 0
    [run] = cli("runs", "--json").json()
    for stamp in (run["started_at"], run["finished_at"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00", stamp), stamp
    assert clock.parse(run["finished_at"]) >= clock.parse(run["started_at"])


def test_rows_stamped_to_the_second_still_read_and_sort_among_new_ones():
    db = state.open_db()
    settings_store.save(db, "a", "thing", {}, enabled=True, contacts_path=None)
    old = insert_run(db, "a", "ok", started_text="2026-11-20T12:00:00+00:00")
    db.execute("update runs set finished_at = ? where id = ?", ["2026-11-20T12:00:01+00:00", old])
    db.conn.commit()
    new = insert_run(db, "a", "failed", started=NOW + timedelta(microseconds=250_000))
    assert [r["id"] for r in runlog.list_runs(db, since=clock.iso(NOW))] == [new, old]
    assert [r["id"] for r in runlog.list_runs(db, since="2026-11-20T12:00:00.000001+00:00")] == [new]
    assert schedule.status(db, "a", "thing", NOW).last_ok == NOW + timedelta(seconds=1)


def test_the_due_rule_is_exact_to_the_microsecond():
    db = state.open_db()
    settings_store.save(db, "a", "thing", {}, enabled=True, contacts_path=None)
    finished = NOW + timedelta(microseconds=123_456)
    run = insert_run(db, "a", "ok", started=finished - timedelta(minutes=1))
    db.execute("update runs set finished_at = ? where id = ?", [clock.iso(finished), run])
    db.conn.commit()
    assert not schedule.status(db, "a", "thing", finished + timedelta(hours=24, microseconds=-1)).due
    assert schedule.status(db, "a", "thing", finished + timedelta(hours=24)).due


moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc))


@given(a=moments, b=moments)
def test_stored_times_sort_as_text_in_time_order(a, b):
    assert (clock.iso(a) < clock.iso(b)) == (a < b)
    assert clock.parse(clock.iso(a)) == a
    whole = a.replace(microsecond=0)  # as rows were stored before fractions: 2026-11-20T12:00:00+00:00
    old_text = whole.isoformat(timespec="seconds")
    assert (old_text < clock.iso(b)) == (whole < b)
    assert (old_text <= clock.iso(b)) == (whole <= b)
    assert (clock.iso(b) < old_text) == (b < whole)
