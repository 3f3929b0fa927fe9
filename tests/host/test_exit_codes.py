"""Every documented exit code, with ``Error:`` and ``Hint:`` lines on stderr."""

from __future__ import annotations

import json

import pytest

from opus1_integrations import __version__, runlog
from opus1_integrations.api import Check, OperationFailed, SettingsInvalid, hookimpl
from opus1_integrations.state import open_db

from .conftest import ACCOUNTS, Recorder, process_env, run_process


class Failing(Recorder):
    """Its sync raises whatever it was given."""

    def __init__(self, exc: BaseException):
        super().__init__()
        self.exc = exc

    @hookimpl
    def sync(self, context, settings, audience, run, options):
        run.record("maria.lopez@gmail.com", "created")
        raise self.exc


def configured(add_plugin, cli, plugin, accounts, name="thing"):
    add_plugin(plugin, name)
    result = cli("configure", name, "--contacts", accounts)
    assert result.code == 0, result.err
    return plugin


def last_run(name="thing") -> dict:
    return runlog.list_runs(open_db(), integration=name, limit=1)[0]


# -- 0 ----------------------------------------------------------------------------------------


def test_version_exits_0(run_cli):
    result = run_cli("--version")
    assert (result.code, result.out) == (0, f"opus1-int {__version__}\n")


def test_help_exits_0_and_no_arguments_is_a_usage_error(cli):
    assert cli("--help").code == 0
    bare = cli()
    assert bare.code == 2
    assert "Usage: opus1-int" in bare.out + bare.err


def test_successful_sync_exits_0(add_plugin, cli, accounts):
    plugin = configured(add_plugin, cli, Recorder(), accounts)
    result = cli("sync", "thing")
    assert result.code == 0, result.err
    assert "✓ Sync of thing for default (run 1): 2 added." in result.out
    assert len(plugin.synced) == 1


# -- 1 ----------------------------------------------------------------------------------------


def test_operation_failed_exits_1_and_the_run_is_failed(add_plugin, cli, accounts):
    configured(add_plugin, cli, Failing(OperationFailed("the service is down", hint="try again later")), accounts)
    result = cli("sync", "thing")
    assert result.code == 1
    assert "Error: the service is down\n" in result.err
    assert "Hint: try again later\n" in result.err
    run = last_run()
    assert (run["status"], run["error"]) == ("failed", "the service is down")
    assert [i["key"] for i in runlog.items(open_db(), run["id"])] == ["maria.lopez@gmail.com"]


class Verifying(Recorder):
    @hookimpl
    def verify(self, context, settings, contacts):
        return [{"key": c.key, "ok": True, "problems": []} for c in contacts]


def test_verify_with_nothing_synced_exits_1(add_plugin, cli, accounts):
    configured(add_plugin, cli, Verifying(), accounts)
    result = cli("verify", "thing")
    assert result.code == 1
    assert "Error: nothing to verify: thing has no finished sync for business 'default'" in result.err
    assert "Hint: run `opus1-int sync thing --business default` first" in result.err


def test_diagnose_exits_1_when_it_finds_an_error(add_plugin, cli, accounts):
    configured(add_plugin, cli, Failing(OperationFailed("the service is down")), accounts)
    assert cli("diagnose", "thing").code == 0  # never synced is a warning
    cli("sync", "thing")
    result = cli("diagnose", "thing", "--json")
    assert result.code == 1
    codes = [f["code"] for f in result.json()["findings"] if f["severity"] == "error"]
    assert codes == ["last_run_failed"]


def test_diagnose_reports_the_exports_problems(add_plugin, cli, tmp_path):
    add_plugin(Recorder(), "thing")
    child_with_email = json.loads(json.dumps(ACCOUNTS))
    child_with_email[0]["students"][0]["email"] = "leo@example.org"
    export = tmp_path / "child.jsonl"
    export.write_text("".join(json.dumps(a) + "\n" for a in child_with_email))
    cli("configure", "thing", "--contacts", export)
    findings = cli("diagnose", "thing", "--json").json()["findings"]
    [quality] = [f for f in findings if f["code"] == "child_has_email"]
    assert quality["severity"] == "warning" and "Leo Lopez" in quality["message"] and quality["hint"]

    export.write_text("{broken\n")
    result = cli("diagnose", "thing", "--json")
    assert result.code == 1
    assert [f["code"] for f in result.json()["findings"] if f["severity"] == "error"] == ["export_rejected"]


# -- 2 ----------------------------------------------------------------------------------------


def test_sync_nosuch_exits_2_as_a_real_process(tmp_path):
    result = run_process("sync", "nosuch", env=process_env(OPUS1_INT_LOAD_PLUGINS="csv"))
    assert result.code == 2
    assert result.err == (
        "Error: unknown integration 'nosuch'\n"
        "Hint: installed integrations: csv; run `opus1-int plugins` to list them\n"
    )
    assert result.out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["nosuch-command"],
        ["sync"],
        ["sync", "thing", "--no-such-option"],
        ["runs", "--limit", "many"],
        ["configure", "nosuch"],
        ["configure", "thing", "--no-such-option"],
        ["sync", "nosuch"],
        ["validate", "nosuch"],
        ["diagnose", "nosuch"],
        ["check", "nosuch", "someone@example.org"],
        ["verify", "nosuch"],
    ],
    ids=" ".join,
)
def test_usage_errors_exit_2(add_plugin, cli, argv):
    add_plugin(Recorder(), "thing")
    result = cli(*argv)
    assert result.code == 2, result.err
    assert "Error: " in result.err
    assert result.out == ""


# -- 3 ----------------------------------------------------------------------------------------


def test_sync_of_an_unconfigured_integration_exits_3(add_plugin, cli):
    add_plugin(Recorder(), "thing")
    result = cli("sync", "thing", "--business", "studio-7")
    assert result.code == 3
    assert "Error: thing is not configured for business 'studio-7'" in result.err
    assert "Hint: run `opus1-int configure thing --business studio-7`" in result.err


def test_sync_of_a_disabled_integration_exits_3(add_plugin, cli, accounts):
    plugin = Recorder()
    add_plugin(plugin, "thing")
    assert cli("configure", "thing", "--contacts", accounts, "--disable").code == 0
    assert plugin.configured == []  # a disabled integration is not checked live
    result = cli("sync", "thing")
    assert result.code == 3
    assert "Error: thing is disabled for business 'default'" in result.err
    assert plugin.synced == []


def test_sync_without_an_export_exits_3(add_plugin, cli):
    add_plugin(Recorder(), "thing")
    assert cli("configure", "thing").code == 0
    result = cli("sync", "thing")
    assert result.code == 3
    assert "Hint: save one with `opus1-int configure thing --business default --contacts PATH`" in result.err


def test_failed_live_check_exits_3(add_plugin, cli):
    class Checked(Recorder):
        @hookimpl
        def validate(self, context, settings):
            return [Check("reach", True, "reached"), Check("key", False, "the key was revoked", "make a new key")]

    add_plugin(Checked(), "thing")
    cli("configure", "thing")
    result = cli("validate", "thing")
    assert result.code == 3
    assert "✓ reach: reached" in result.out
    assert "✗ key: the key was revoked" in result.out
    assert "fix: make a new key" in result.out
    assert "✗ export: no opus1 accounts export is set for thing in business 'default'" in result.out
    as_json = cli("validate", "thing", "--json")
    assert as_json.code == 3
    assert [(c["name"], c["ok"]) for c in as_json.json()] == [("reach", True), ("key", False), ("export", False)]


def test_settings_rejected_by_the_service_exit_3_and_are_not_saved(add_plugin, cli):
    class Rejecting(Recorder):
        @hookimpl
        def configure(self, context, settings):
            raise SettingsInvalid("the service rejected the key", hint="check the key")

    add_plugin(Rejecting(), "thing")
    result = cli("configure", "thing")
    assert result.code == 3
    assert "Error: the service rejected the key\nHint: check the key\n" in result.err
    assert open_db()["integrations"].count == 0


# -- 4 ----------------------------------------------------------------------------------------


def test_plugin_raising_an_unexpected_error_exits_4(add_plugin, cli, accounts):
    configured(add_plugin, cli, Failing(ValueError("list index out of range")), accounts)
    result = cli("sync", "thing")
    assert result.code == 4
    assert "Error: the 'thing' plugin failed in sync: ValueError: list index out of range" in result.err
    assert "Hint: report it to the plugin's authors; OPUS1_INT_DEBUG=1 shows the traceback" in result.err
    assert "Traceback" not in result.err
    assert last_run()["status"] == "failed"


def test_debug_shows_the_traceback_but_no_local_variables(add_plugin, cli, accounts, monkeypatch):
    class Crashing(Recorder):
        @hookimpl
        def sync(self, context, settings, audience, run, options):
            password = "local-value-4242"
            if password:
                raise ValueError("boom")

    configured(add_plugin, cli, Crashing(), accounts)
    monkeypatch.setenv("OPUS1_INT_DEBUG", "1")
    result = cli("sync", "thing")
    assert result.code == 4
    assert "Traceback (most recent call last):" in result.err
    assert 'raise ValueError("boom")' in result.err
    assert "Error: the 'thing' plugin failed in sync: ValueError: boom" in result.err
    assert "local-value-4242" not in result.err + result.out


def test_debug_shows_the_traceback_of_domain_errors_too(cli, monkeypatch):
    monkeypatch.setenv("OPUS1_INT_DEBUG", "1")
    result = cli("sync", "nosuch")
    assert result.code == 2
    assert "Traceback (most recent call last):" in result.err
    assert "Error: unknown integration 'nosuch'" in result.err


# -- 5 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b'{"account_id": "acc_1", "status": "active"\n', b"", b'{"account_id": "acc_\xc3\x28"}\n'],
    ids=["bad-json", "empty", "not-utf8"],
)
def test_rejected_export_exits_5_before_the_plugin_sees_a_contact(add_plugin, cli, accounts, tmp_path, content):
    plugin = configured(add_plugin, cli, Recorder(), accounts)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    result = cli("sync", "thing", "--contacts", bad)
    assert result.code == 5, result.err
    assert "Error: " in result.err and "Hint: " in result.err
    assert plugin.synced == []
    run = last_run()
    assert run["status"] == "failed"
    assert runlog.items(open_db(), run["id"]) == []


def test_missing_export_file_exits_5(add_plugin, cli, accounts, tmp_path):
    configured(add_plugin, cli, Recorder(), accounts)
    result = cli("sync", "thing", "--contacts", tmp_path / "nowhere.jsonl")
    assert result.code == 5, result.err


# -- 130 --------------------------------------------------------------------------------------


def test_interrupt_in_process_exits_130_and_the_run_is_interrupted(add_plugin, cli, accounts):
    configured(add_plugin, cli, Failing(KeyboardInterrupt()), accounts)
    result = cli("sync", "thing")
    assert result.code == 130
    assert "Interrupted" in result.err
    run = last_run()
    assert run["status"] == "interrupted"
    assert open_db()["runs"].get(run["id"])["status"] == "interrupted"
