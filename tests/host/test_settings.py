"""Settings: validated by field path before plugin code runs, secrets never echoed, ``$env`` references."""

from __future__ import annotations

import json
import secrets

import pytest

from opus1_integrations import runlog
from opus1_integrations.api import OperationFailed, SettingsInvalid, hookimpl
from opus1_integrations.settings import check_settings
from opus1_integrations.state import open_db

from .conftest import Recorder

KEY_SCHEMA = {
    "type": "object",
    "properties": {
        "api_key": {"type": "string", "writeOnly": True, "pattern": "^[0-9a-f]{32}-us[0-9]{1,2}$",
                    "x-format-hint": "32 hex characters, a dash and the datacenter"},
        "list_id": {"type": "string", "pattern": "^[a-z0-9]{4,}$",
                    "x-format-hint": "4 or more lowercase letters or digits"},
        "batch": {"type": "integer", "minimum": 1},
        "tags": {"type": "array", "items": {"type": "string", "minLength": 1}},
    },
    "required": ["api_key", "list_id"],
    "additionalProperties": False,
}


def good_key() -> str:
    """A valid key never seen before in this process (the host scrubs keys it has seen)."""
    return secrets.token_hex(16) + "-us6"


def bad_key() -> str:
    return "NOT-A-KEY-" + secrets.token_urlsafe(12)


def state_bytes(home) -> bytes:
    """Every byte the host wrote under OPUS1_INT_HOME: the database, its WAL files, the locks."""
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


@pytest.fixture
def keyed(add_plugin):
    plugin = Recorder(KEY_SCHEMA)
    add_plugin(plugin, "keyed")
    return plugin


def test_errors_are_reported_by_setting_in_words_before_any_plugin_code_runs(keyed, cli):
    result = cli("configure", "keyed", "--api-key", good_key(), "--list-id", "X!", "--batch", "0",
                 "--tags", "ok", "--tags", "")
    assert result.code == 3
    assert "batch: 0 is less than the minimum of 1" in result.err
    assert "list_id: is not valid: expected 4 or more lowercase letters or digits" in result.err
    assert "^[a-z0-9]" not in result.err  # the schema's words, never its regular expression
    assert "tags.1: '' should be non-empty" in result.err
    assert "Hint: fix the settings named above with `opus1-int configure keyed --business default`" in result.err
    assert keyed.configured == []
    assert open_db()["integrations"].count == 0


def test_check_settings_names_nested_paths_and_missing_fields():
    schema = {"type": "object", "properties": {"retry": {"type": "object", "properties": {"times": {
        "type": "integer"}}, "required": ["times"]}}, "required": ["name"]}
    with pytest.raises(SettingsInvalid) as caught:
        check_settings(schema, {"retry": {}})
    assert caught.value.message == "settings are invalid: name: is required; retry.times: is required"
    assert caught.value.fields == {"name": "is required", "retry.times": "is required"}
    check_settings(schema, {"name": "x", "retry": {"times": 3}})


def test_a_missing_required_setting_without_a_terminal_says_which_option(keyed, cli):
    result = cli("configure", "keyed", "--list-id", "abcd")
    assert result.code == 3
    assert "Error: setting 'api_key' is required" in result.err
    assert "Hint: pass --api-key or --api-key-env VAR" in result.err


def test_an_invalid_key_is_echoed_nowhere(keyed, cli, opus1_home):
    key = bad_key()
    for extra in ([], ["--json"]):
        result = cli("configure", "keyed", "--api-key", key, "--list-id", "abcd", *extra)
        assert result.code == 3
        assert "api_key: is not valid: expected 32 hex characters, a dash and the datacenter" in result.err
        assert key not in result.out + result.err
    assert cli("runs", "--json").code == 0
    assert key.encode() not in state_bytes(opus1_home)


@pytest.mark.parametrize(
    "schema",
    [
        {"maxProperties": 1},
        {"not": {"required": ["list_id"]}},
        {"anyOf": [{"required": ["token"]}, {"required": ["password"]}]},
    ],
    ids=["maxProperties", "not", "anyOf"],
)
def test_root_level_errors_do_not_quote_a_secret(schema):
    key = bad_key()
    with pytest.raises(SettingsInvalid) as caught:
        check_settings({**KEY_SCHEMA, **schema}, {"api_key": key, "list_id": "abcd"})
    assert key not in caught.value.message
    assert caught.value.message.startswith("settings are invalid: settings: are not valid together")


def test_check_settings_does_not_quote_an_invalid_secret():
    key = bad_key()
    with pytest.raises(SettingsInvalid) as caught:
        check_settings(KEY_SCHEMA, {"api_key": key, "list_id": "abcd"})
    assert key not in caught.value.message
    assert "api_key: is not valid: expected 32 hex characters" in caught.value.message


def test_secrets_are_scrubbed_from_the_run_log_and_from_errors(add_plugin, cli, accounts, monkeypatch):
    class Leaky(Recorder):
        @hookimpl
        def sync(self, context, settings, audience, run, options):
            run.record("maria.lopez@gmail.com", "failed", error_code="auth",
                       message=f"sent key {settings['api_key']}", hint=f"check {settings['api_key']}")
            raise OperationFailed(f"the service refused {settings['api_key']}", hint=f"rotate {settings['api_key']}")

    add_plugin(Leaky(KEY_SCHEMA), "leaky")
    key = good_key()
    assert cli("configure", "leaky", "--api-key", key, "--list-id", "abcd", "--contacts", accounts).code == 0
    monkeypatch.setenv("OPUS1_INT_DEBUG", "1")
    result = cli("sync", "leaky")
    assert result.code == 1
    assert "Error: the service refused ********" in result.err
    assert "Hint: rotate ********" in result.err
    assert key not in result.out + result.err
    db = open_db()
    [run] = runlog.list_runs(db)
    assert run["error"] == "the service refused ********"
    [item] = runlog.items(db, run["id"])
    assert (item["message"], item["hint"]) == ("sent key ********", "check ********")
    for table in ("runs", "run_items"):
        assert key not in json.dumps(list(db[table].rows))


def test_a_crashing_plugin_does_not_leak_the_key_even_with_debug(add_plugin, cli, accounts, monkeypatch):
    class Crashing(Recorder):
        @hookimpl
        def sync(self, context, settings, audience, run, options):
            raise ValueError(f"bad header {settings['api_key']}")

    add_plugin(Crashing(KEY_SCHEMA), "crashing")
    key = good_key()
    cli("configure", "crashing", "--api-key", key, "--list-id", "abcd", "--contacts", accounts)
    monkeypatch.setenv("OPUS1_INT_DEBUG", "1")
    result = cli("sync", "crashing")
    assert result.code == 4
    assert "ValueError: bad header ********" in result.err
    assert key not in result.out + result.err
    assert key not in json.dumps(list(open_db()["runs"].rows))


def test_configure_json_redacts_the_key(keyed, cli):
    key = good_key()
    result = cli("configure", "keyed", "--api-key", key, "--list-id", "abcd", "--json")
    assert result.code == 0, result.err
    assert result.json() == {"business": "default", "integration": "keyed", "enabled": False,  # no export yet
                             "interval_hours": 24.0, "contacts_path": None,
                             "settings": {"api_key": "********", "list_id": "abcd"}}
    assert keyed.configured == [{"api_key": key, "list_id": "abcd"}]  # the plugin sees the real key
    again = cli("configure", "keyed", "--batch", "5", "--json")  # merged with the saved settings
    assert again.json()["settings"] == {"api_key": "********", "list_id": "abcd", "batch": 5}
    assert key not in result.out + result.err + again.out + again.err


def test_env_reference_is_stored_as_the_reference_and_resolved_at_use(keyed, cli, accounts, monkeypatch, opus1_home):
    first, second = good_key(), good_key()
    monkeypatch.setenv("OPUS1_TEST_API_KEY", first)
    result = cli("configure", "keyed", "--api-key-env", "OPUS1_TEST_API_KEY", "--list-id", "abcd",
                 "--contacts", accounts, "--json")
    assert result.code == 0, result.err
    assert result.json()["settings"]["api_key"] == {"$env": "OPUS1_TEST_API_KEY"}
    assert keyed.configured[-1]["api_key"] == first
    stored = json.loads(open_db()["integrations"].get(("default", "keyed"))["settings"])
    assert stored == {"api_key": {"$env": "OPUS1_TEST_API_KEY"}, "list_id": "abcd"}

    monkeypatch.setenv("OPUS1_TEST_API_KEY", second)
    assert cli("sync", "keyed").code == 0
    assert keyed.synced[-1]["api_key"] == second
    assert first.encode() not in state_bytes(opus1_home)
    assert second.encode() not in state_bytes(opus1_home)


def test_env_reference_to_an_unset_variable_exits_3(keyed, cli, accounts, monkeypatch):
    monkeypatch.setenv("OPUS1_TEST_API_KEY", good_key())
    cli("configure", "keyed", "--api-key-env", "OPUS1_TEST_API_KEY", "--list-id", "abcd", "--contacts", accounts)
    monkeypatch.delenv("OPUS1_TEST_API_KEY")
    for command in (["sync", "keyed"], ["validate", "keyed"]):
        result = cli(*command)
        assert result.code == 3
        assert ("Error: setting 'api_key' refers to environment variable OPUS1_TEST_API_KEY, which is not set"
                in result.err)
        assert "Hint: export OPUS1_TEST_API_KEY=... in the environment that runs opus1-int" in result.err
    assert keyed.synced == []


def test_env_variable_holding_an_invalid_key_is_rejected_without_echo(keyed, cli, accounts, monkeypatch):
    monkeypatch.setenv("OPUS1_TEST_API_KEY", good_key())
    cli("configure", "keyed", "--api-key-env", "OPUS1_TEST_API_KEY", "--list-id", "abcd", "--contacts", accounts)
    key = bad_key()
    monkeypatch.setenv("OPUS1_TEST_API_KEY", key)
    result = cli("sync", "keyed")
    assert result.code == 3
    assert "api_key: is not valid: expected 32 hex characters" in result.err
    assert key not in result.out + result.err
    assert keyed.synced == []


def test_a_plugin_normalising_settings_cannot_replace_the_reference(add_plugin, cli, monkeypatch):
    class Normalising(Recorder):
        @hookimpl
        def configure(self, context, settings):
            return {**settings, "list_id": settings["list_id"].lower()}

    add_plugin(Normalising(KEY_SCHEMA | {"properties": {**KEY_SCHEMA["properties"], "list_id": {"type": "string"}}}),
               "norm")
    key = good_key()
    monkeypatch.setenv("OPUS1_TEST_API_KEY", key)
    assert cli("configure", "norm", "--api-key-env", "OPUS1_TEST_API_KEY", "--list-id", "ABCD").code == 0
    stored = json.loads(open_db()["integrations"].get(("default", "norm"))["settings"])
    assert stored == {"api_key": {"$env": "OPUS1_TEST_API_KEY"}, "list_id": "abcd"}
