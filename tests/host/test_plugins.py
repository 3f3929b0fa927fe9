"""Plugin loading: all, none, a list, a plugin whose import raises, a duplicate name, a misspelled hook."""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from opus1_integrations.api import hookimpl
from opus1_integrations.plugins import ENTRY_POINT_GROUP

from .conftest import Recorder, make_distribution, process_env, run_process

BROKEN_MODULE = """
raise RuntimeError("opus1_broken_plugin cannot start: its settings file is missing")
"""

COPY_MODULE = """
from opus1_integrations.api import hookimpl

@hookimpl
def settings_schema():
    return {"type": "object", "properties": {}}
"""


def installed() -> set[str]:
    return {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}


def test_plugins_json_lists_exactly_the_installed_plugins(run_cli):
    result = run_cli("plugins", "--json")
    assert result.code == 0
    rows = result.json()
    assert {row["name"] for row in rows} == installed()
    assert "csv" in installed()
    csv = next(row for row in rows if row["name"] == "csv")
    assert csv["distribution"] == "opus1-csv-export"
    assert csv["version"] == "0.1.0"
    assert csv["error"] is None
    assert {"settings_schema", "configure", "sync", "validate", "diagnose", "lookup", "verify"} <= set(csv["hooks"])


def test_empty_selection_loads_no_plugin(run_cli, monkeypatch):
    monkeypatch.setenv("OPUS1_INT_LOAD_PLUGINS", "")
    result = run_cli("plugins", "--json")
    assert result.code == 0
    assert result.json() == []


def test_selection_loads_only_the_listed_plugins(run_cli, monkeypatch):
    monkeypatch.setenv("OPUS1_INT_LOAD_PLUGINS", " csv , not-installed ")
    assert [row["name"] for row in run_cli("plugins", "--json").json()] == ["csv"]


def test_an_unselected_plugin_is_an_unknown_integration(run_cli, monkeypatch):
    monkeypatch.setenv("OPUS1_INT_LOAD_PLUGINS", "")
    result = run_cli("sync", "csv")
    assert result.code == 2
    assert "Error: unknown integration 'csv'" in result.err
    assert "Hint: installed integrations: none" in result.err


def test_plugin_whose_import_raises_is_listed_and_exits_4_while_csv_keeps_working(tmp_path):
    """A real process with a throwaway broken distribution on PYTHONPATH."""
    dist = make_distribution(tmp_path / "site", "opus1-broken", {"broken": "opus1_broken_plugin"},
                             {"opus1_broken_plugin": BROKEN_MODULE})
    env = process_env([dist], OPUS1_INT_LOAD_PLUGINS="broken,csv")

    listing = run_process("plugins", "--json", env=env)
    assert listing.code == 0, listing.err
    rows = {row["name"]: row for row in listing.json()}
    assert set(rows) == {"broken", "csv"}
    assert rows["broken"]["distribution"] == "opus1-broken"
    assert rows["broken"]["hooks"] == []
    assert "RuntimeError: opus1_broken_plugin cannot start: its settings file is missing" in rows["broken"]["error"]
    assert rows["csv"]["error"] is None

    used = run_process("sync", "broken", env=env)
    assert used.code == 4
    assert "Error: the 'broken' plugin is broken: RuntimeError" in used.err
    assert "Hint: reinstall or upgrade the plugin" in used.err

    out = tmp_path / "contacts.csv"
    working = run_process("configure", "csv", "--path", out, "--json", env=env)
    assert working.code == 0, working.err
    assert working.json()["settings"] == {"path": str(out)}


def test_configure_of_a_broken_plugin_exits_4(tmp_path, run_cli, monkeypatch):
    dist = make_distribution(tmp_path / "site", "opus1-broken2", {"broken2": "opus1_broken2_plugin"},
                             {"opus1_broken2_plugin": BROKEN_MODULE})
    monkeypatch.syspath_prepend(str(dist))
    monkeypatch.setenv("OPUS1_INT_LOAD_PLUGINS", "broken2,csv")
    result = run_cli("configure", "broken2")
    assert result.code == 4
    assert "Error: the 'broken2' plugin is broken" in result.err
    diagnosed = run_cli("diagnose", "--json")
    assert diagnosed.code == 1
    assert [(f["integration"], f["code"]) for f in diagnosed.json()["findings"]] == [("broken2", "plugin_broken")]


def test_duplicate_entry_point_name_is_reported_and_one_plugin_serves(tmp_path, run_cli, monkeypatch):
    dist = make_distribution(tmp_path / "site", "opus1-csv-copy", {"csv": "opus1_csv_copy_plugin"},
                             {"opus1_csv_copy_plugin": COPY_MODULE})
    monkeypatch.syspath_prepend(str(dist))
    monkeypatch.setenv("OPUS1_INT_LOAD_PLUGINS", "csv")
    rows = run_cli("plugins", "--json").json()
    assert len(rows) == 2
    working = [row for row in rows if row["error"] is None]
    duplicate = [row for row in rows if row["error"] is not None]
    assert [row["name"] for row in working] == ["csv"]
    assert len(duplicate) == 1
    assert duplicate[0]["error"].startswith("duplicate integration name 'csv': already provided by ")
    assert {working[0]["distribution"], duplicate[0]["distribution"]} == {"opus1-csv-export", "opus1-csv-copy"}
    assert working[0]["distribution"] in duplicate[0]["error"]
    assert run_cli("configure", "csv", "--help").code == 0


def test_misspelled_hook_is_caught_at_registration(plugins, add_plugin, cli, accounts):
    class Misspelled:
        @hookimpl
        def synk(self, context, settings, audience, run, options):
            return {}

    good = Recorder()
    add_plugin(good, "good")
    record = add_plugin(Misspelled(), "typo")
    assert "unknown hook 'synk'" in record.error
    assert plugins.names() == ["good"]

    result = cli("sync", "typo")
    assert result.code == 4
    assert "unknown hook 'synk'" in result.err
    assert cli("configure", "good", "--contacts", accounts).code == 0
    assert cli("sync", "good").code == 0


def test_hook_with_an_argument_the_spec_lacks_is_broken(plugins, add_plugin):
    class ExtraArgument:
        @hookimpl
        def sync(self, context, settings, audience, run, options, colour):
            return {}

    record = add_plugin(ExtraArgument(), "extra")
    assert "colour" in record.error
    assert plugins.names() == []
    assert not plugins.pm.get_plugins()


def test_registering_one_plugin_under_a_second_name_leaves_the_first_working(plugins, add_plugin, cli, accounts):
    plugin = Recorder()
    add_plugin(plugin, "first")
    second = add_plugin(plugin, "second")
    assert "already registered" in second.error
    assert plugins.pm.is_registered(plugin)
    assert cli("configure", "first", "--contacts", accounts).code == 0
    assert cli("sync", "first").code == 0
    assert len(plugin.synced) == 1


def test_hooks_are_called_for_the_named_integration_only(plugins, add_plugin, cli, accounts):
    one, two = Recorder(), Recorder()
    add_plugin(one, "one")
    add_plugin(two, "two")
    assert cli("configure", "one", "--contacts", accounts).code == 0
    assert cli("sync", "one").code == 0
    assert len(one.synced) == 1 and two.synced == []
    assert one.configured and not two.configured


def test_plugin_schemas_are_routed_per_integration(add_plugin, cli):
    add_plugin(Recorder({"type": "object", "properties": {"colour": {"type": "string"}}}), "paint")
    add_plugin(Recorder({"type": "object", "properties": {"size": {"type": "integer"}}}), "shoes")
    paint = cli("configure", "paint", "--colour", "red", "--json")
    assert paint.code == 0, paint.err
    assert paint.json()["settings"] == {"colour": "red"}
    shoes = cli("configure", "shoes", "--size", "42", "--json")
    assert shoes.json()["settings"] == {"size": 42}
    assert cli("configure", "shoes", "--colour", "red").code == 2


def test_register_commands_adds_a_plugin_command(add_plugin, cli):
    class WithCommand(Recorder):
        @hookimpl
        def register_commands(self, cli):
            app = typer.Typer(help="Throwaway commands.")

            @app.command("hello")
            def hello(name: str) -> None:
                """Say hello."""
                print(f"hello {name}")

            cli.add_typer(app, name="greeter")

    add_plugin(WithCommand(), "greeter")
    result = cli("greeter", "hello", "studio")
    assert result.code == 0
    assert result.out == "hello studio\n"


def test_register_commands_that_raises_marks_only_that_plugin_broken(add_plugin, cli, plugins):
    class BadCommands(Recorder):
        @hookimpl
        def register_commands(self, cli):
            raise RuntimeError("no commands today")

    add_plugin(BadCommands(), "bad")
    add_plugin(Recorder(), "fine")
    listing = cli("plugins", "--json")
    assert listing.code == 0
    rows = {row["name"]: row for row in listing.json()}
    assert rows["bad"]["error"] == "register_commands failed: RuntimeError: no commands today"
    assert rows["fine"]["error"] is None
    assert cli("sync", "bad").code == 4
    assert cli("configure", "fine").code == 0
