"""The state database and its folder are checked before use (issue 12): never silently recreated, permissions
tightened, a full disk and a wrong OPUS1_INT_HOME reported with the path and what to do."""

from __future__ import annotations

import os
import stat

import pytest

from opus1_integrations.api import hookimpl
from opus1_integrations.state import DB_NAME, MARKER

from .conftest import Recorder


@pytest.fixture
def thing(add_plugin, cli, accounts):
    add_plugin(Recorder(), "thing")
    assert cli("configure", "thing", "--contacts", accounts).code == 0
    return cli


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated", "missing"])
def test_a_damaged_or_missing_database_is_refused_with_its_path_never_recreated(thing, opus1_home, damage):
    db = opus1_home / DB_NAME
    for extra in ("-wal", "-shm"):
        (opus1_home / (DB_NAME + extra)).unlink(missing_ok=True)
    if damage == "empty":
        db.write_bytes(b"")
    elif damage == "garbage":
        db.write_bytes(b"this is not a database\n" * 100)
    elif damage == "truncated":
        db.write_bytes(db.read_bytes()[:1000])
    else:
        db.unlink()
    for argv in (["sync", "thing", "--all"], ["diagnose"], ["runs"]):
        result = thing(*argv)
        assert result.code == 1, (argv, result.out, result.err)
        assert f"the state database {db}" in result.err and "Hint: restore the file from your backup" in result.err
        assert "no problems found" not in result.out and "this is a bug" not in result.err
    assert (opus1_home / MARKER).exists()
    assert damage != "missing" or not db.exists()  # nothing was recreated


def test_a_new_home_is_created_on_first_use_and_says_so_once(add_plugin, run_cli, plugins, tmp_path, monkeypatch,
                                                             accounts):
    add_plugin(Recorder(), "thing")
    monkeypatch.setenv("OPUS1_INT_HOME", str(tmp_path / "new-home"))
    first = run_cli("configure", "thing", "--contacts", accounts, plugins=plugins)
    assert first.code == 0
    assert first.err.count(f"opus1-int: created a new state folder {tmp_path / 'new-home'} (first use") == 1
    assert run_cli("runs", plugins=plugins).err == ""


def test_sync_all_in_a_home_with_no_business_at_all_is_a_warning_and_exit_1(add_plugin, cli, opus1_home):
    add_plugin(Recorder(), "thing")
    assert cli("runs").code == 0  # the home is in use
    result = cli("sync", "thing", "--all")
    assert result.code == 1
    assert f"the state folder {opus1_home} has no business at all: is OPUS1_INT_HOME right" in result.err


def test_loose_permissions_of_the_home_and_database_are_tightened(thing, opus1_home):
    os.chmod(opus1_home, 0o777)
    os.chmod(opus1_home / DB_NAME, 0o644)
    assert thing("runs").code == 0
    assert stat.S_IMODE(opus1_home.stat().st_mode) == 0o700
    for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"):
        if (opus1_home / name).exists():
            assert stat.S_IMODE((opus1_home / name).stat().st_mode) == 0o600, name


def test_a_home_that_is_not_a_folder_is_refused_with_its_path(add_plugin, run_cli, plugins, tmp_path, monkeypatch):
    add_plugin(Recorder(), "thing")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("OPUS1_INT_HOME", str(blocker / "home"))
    result = run_cli("runs", plugins=plugins)
    assert result.code == 1
    assert f"Error: cannot create the state folder {blocker / 'home'}" in result.err


def test_a_full_database_fails_the_run_with_the_path_and_the_next_run_recovers(add_plugin, cli, accounts,
                                                                               opus1_home):
    class Filling(Recorder):
        full = True

        @hookimpl
        def sync(self, context, settings, audience, run, options):
            keys = [c.key for c in audience.contacts()]
            if self.full:  # the disk fills up while the run records its items
                pages = context.db.execute("PRAGMA page_count").fetchone()[0]
                context.db.execute(f"PRAGMA max_page_count = {pages}")
                for i in range(5000):
                    run.record(f"{i}@example.org", "created", message="x" * 200)
            for key in keys:
                run.record(key, "created")
            return {"created": len(keys)}

    plugin = Filling()
    add_plugin(plugin, "thing")
    assert cli("configure", "thing", "--contacts", accounts).code == 0
    result = cli("sync", "thing")
    assert result.code == 1
    assert f"Error: no space left for the state database {opus1_home / DB_NAME}" in result.err
    assert "this is a bug" not in result.err
    plugin.full = False
    again = cli("sync", "thing", "--json")
    assert again.code == 0, again.err
    statuses = [r["status"] for r in cli("runs", "--json").json()]
    assert statuses[0] == "ok" and statuses[1] in ("failed", "interrupted")


@pytest.mark.parametrize("business", ["", " ", "x" * 65, "a/b", "-dash", "new\nline", "[/]"])
def test_a_business_id_that_is_not_valid_is_refused_before_anything_is_saved(thing, business):
    for argv in (["configure", "thing", "--business", business], ["sync", "thing", "--business", business],
                 ["diagnose", "--business", business], ["runs", "--business", business]):
        result = thing(*argv)
        assert result.code == 2, (argv, result.err)
        assert "is not a business id: use 1 to 64 letters, digits, dots, dashes or underscores" in result.err
    assert [r["business"] for r in thing("schedule", "show", "--json").json()] == ["default"]


def test_a_secret_given_on_the_command_line_warns_and_points_to_the_environment(add_plugin, cli, accounts):
    add_plugin(Recorder({"type": "object", "properties": {"api_key": {"type": "string", "writeOnly": True}}}),
               "keyed")
    result = cli("configure", "keyed", "--api-key", "s3cret-value-123", "--contacts", accounts)
    assert result.code == 0
    assert "warning: a secret given as --api-key VALUE is visible to other users" in result.err
    assert "--api-key-env VAR keeps it in an environment variable instead" in result.err
    assert "s3cret-value-123" not in result.out + result.err
