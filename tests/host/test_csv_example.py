"""The example third-party plugin (examples/csv_export), installed from its entry point, end to end through the CLI."""

from __future__ import annotations

import csv

import pytest

from opus1_integrations.contacts import load_audience

from .conftest import STUDIO_EXPORT, process_env, run_process


@pytest.fixture
def studio_keys() -> set[str]:
    with load_audience(STUDIO_EXPORT) as audience:
        return {contact.key for contact in audience.contacts()}


@pytest.fixture
def csv_only(monkeypatch):
    monkeypatch.setenv("OPUS1_INT_LOAD_PLUGINS", "csv")


def read(path) -> dict[str, dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return {row["email"].lower(): row for row in csv.DictReader(f)}


def test_csv_plugin_end_to_end(csv_only, run_cli, tmp_path, studio_keys):
    out = tmp_path / "export" / "contacts.csv"
    out.parent.mkdir()

    configured = run_cli("configure", "csv", "--path", out, "--contacts", STUDIO_EXPORT, "--json")
    assert configured.code == 0, configured.err
    assert configured.json() == {"business": "default", "integration": "csv", "enabled": True,
                                 "interval_hours": 24.0, "contacts_path": str(STUDIO_EXPORT),
                                 "settings": {"path": str(out)}}
    assert run_cli("validate", "csv").code == 0

    diagnosed = run_cli("diagnose", "csv", "--json")
    assert {f["code"] for f in diagnosed.json()["findings"]} >= {"no_file", "never_synced"}

    dry = run_cli("sync", "csv", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert dry.json()["counts"]["created"] == len(studio_keys)
    assert not out.exists()

    synced = run_cli("sync", "csv", "--json")
    assert synced.code == 0, synced.err
    summary = synced.json()
    assert (summary["status"], summary["counts"]["created"], summary["counts"]["updated"]) == (
        "ok", len(studio_keys), 0)
    rows = read(out)
    assert set(rows) == studio_keys

    again = run_cli("sync", "csv", "--json").json()["counts"]
    assert (again["created"], again["unchanged"]) == (0, len(studio_keys))

    runs = run_cli("runs", "--json").json()
    assert [(r["status"], r["dry_run"]) for r in runs] == [("ok", False), ("ok", False), ("ok", True)]

    key = sorted(studio_keys)[0]
    checked = run_cli("check", "csv", key, "--json")
    assert checked.code == 0, checked.err
    facts = checked.json()["contacts"][key]
    assert facts["live"]["email"].lower() == key
    assert facts["last_run"]["outcome"] == "unchanged"
    assert checked.json()["people"]

    verified = run_cli("verify", "csv", "--sample", "5", "--seed", "1", "--json")
    assert verified.code == 0, verified.err
    assert (verified.json()["checked"], verified.json()["differ"]) == (min(5, len(studio_keys)), 0)

    diagnosed = run_cli("diagnose", "csv", "--json")
    assert diagnosed.code == 0, diagnosed.err
    assert diagnosed.json()["errors"] == 0

    out.unlink()
    missing = run_cli("verify", "csv", "--json")
    assert missing.code == 1
    assert {tuple(r["problems"]) for r in missing.json()["results"]} == {("missing from the file",)}


def test_csv_plugin_refuses_a_folder_that_does_not_exist(csv_only, run_cli, tmp_path):
    result = run_cli("configure", "csv", "--path", tmp_path / "nowhere" / "contacts.csv")
    assert result.code == 3
    assert f"Error: cannot write to folder {tmp_path / 'nowhere'}" in result.err
    assert "Hint: create it, or choose another --path" in result.err


def test_csv_plugin_syncs_through_the_installed_console_script(tmp_path, studio_keys):
    out = tmp_path / "contacts.csv"
    env = process_env(OPUS1_INT_LOAD_PLUGINS="csv")
    assert run_process("configure", "csv", "--path", out, env=env).code == 0
    result = run_process("sync", "csv", "--contacts", STUDIO_EXPORT, "--json", env=env)
    assert result.code == 0, result.err
    assert result.json()["counts"]["created"] == len(studio_keys)
    assert set(read(out)) == studio_keys
    assert "Sync of csv" not in result.err  # --json: the summary is on stdout only
