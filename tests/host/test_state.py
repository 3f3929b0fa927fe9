"""The state database: migrations from blank, idempotent re-opening, plugin migration sets, file mode 0600."""

from __future__ import annotations

import os
import stat

import sqlite_utils

from opus1_integrations import state
from opus1_integrations.api import hookimpl

from .conftest import Recorder


def test_migrations_build_the_schema_from_a_blank_database(tmp_path):
    path = tmp_path / "blank.db"
    db = state.open_db(path)
    assert {"integrations", "runs", "run_items", "run_log_retention", "_sqlite_migrations"} <= set(db.table_names())
    assert set(db["integrations"].columns_dict) == {
        "business", "integration", "enabled", "settings", "contacts_path", "updated_at", "interval_hours"}
    assert db["integrations"].pks == ["business", "integration"]
    assert set(db["runs"].columns_dict) == {
        "id", "business", "integration", "started_at", "finished_at", "status", "dry_run", "counts", "error", "pid",
        "export_fingerprint"}
    assert set(db["run_items"].columns_dict) == {"run_id", "key", "outcome", "error_code", "message", "hint"}
    assert [fk.other_table for fk in db["run_items"].foreign_keys] == ["runs"]
    assert [m.name for m in state.migrations.applied(db)] == [
        "m001_integrations_and_runs", "m002_interval_hours", "m003_export_fingerprint", "m004_run_log_filters",
        "m005_retention", "m006_run_items_by_outcome"]
    assert state.migrations.pending(db) == []
    assert {tuple(i.columns) for i in db["runs"].indexes} >= {("status",), ("started_at",)}
    assert db.execute("select items_days, runs_days from run_log_retention").fetchall() == [(30.0, 400.0)]
    assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental: pruning shrinks the file


def test_reopening_applies_nothing_twice_and_keeps_data(tmp_path):
    path = tmp_path / "again.db"
    db = state.open_db(path)
    db["integrations"].insert({"business": "b", "integration": "i", "enabled": 1, "settings": "{}"})
    again = state.open_db(path)
    assert again["integrations"].count == 1
    assert again["_sqlite_migrations"].count == 6
    assert again["integrations"].get(("b", "i"))["interval_hours"] == 24.0


def test_the_database_lives_under_opus1_int_home_with_mode_0600(opus1_home, add_plugin, cli):
    add_plugin(Recorder(), "thing")
    assert cli("configure", "thing").code == 0
    path = opus1_home / state.DB_NAME
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(opus1_home.stat().st_mode) == 0o700
    for companion in opus1_home.glob(state.DB_NAME + "-*"):  # the WAL files
        assert stat.S_IMODE(companion.stat().st_mode) == 0o600


def test_the_mode_does_not_depend_on_the_umask(tmp_path):
    old = os.umask(0)
    try:
        state.open_db(tmp_path / "umask.db")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "umask.db").stat().st_mode) == 0o600


def test_plugin_migrations_are_their_own_set_applied_once(opus1_home, add_plugin, cli, accounts):
    migrations = sqlite_utils.Migrations("opus1_thing")
    applied = []

    @migrations()
    def m001_ledger(db):
        applied.append("m001")
        db["thing_ledger"].create({"key": str, "hash": str}, pk="key")

    class WithState(Recorder):
        @hookimpl
        def migrations(self):
            return migrations

    add_plugin(WithState(), "thing")
    assert cli("configure", "thing", "--contacts", accounts).code == 0
    assert cli("sync", "thing").code == 0
    assert cli("sync", "thing").code == 0
    assert applied == ["m001"]
    db = state.open_db()
    assert "thing_ledger" in db.table_names()
    sets = [(row["migration_set"], row["name"]) for row in db["_sqlite_migrations"].rows]
    assert sets == [("opus1_integrations", "m001_integrations_and_runs"), ("opus1_integrations", "m002_interval_hours"),
                    ("opus1_integrations", "m003_export_fingerprint"), ("opus1_integrations", "m004_run_log_filters"),
                    ("opus1_integrations", "m005_retention"), ("opus1_integrations", "m006_run_items_by_outcome"),
                    ("opus1_thing", "m001_ledger")]
