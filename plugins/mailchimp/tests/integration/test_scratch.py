"""The scratch database a sync keeps on disk: private while the sync runs, gone when it ends, however it ends."""

from __future__ import annotations

import os
import stat
import tempfile
import threading

import pytest

from conftest import account


@pytest.fixture
def temp_folder(tmp_path, monkeypatch):
    """A private temporary folder for this test (``tempfile`` puts everything there)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def watch(folder, stop: threading.Event, seen: dict) -> None:
    """Note the mode of every scratch folder and file that shows up in ``folder`` until ``stop``."""
    while not stop.wait(0.002):
        for entry in folder.glob("opus1-mailchimp-*"):
            try:
                seen[entry.name] = stat.S_IMODE(os.stat(entry).st_mode)
                for file in entry.iterdir():
                    seen[f"{entry.name}/{file.name}"] = stat.S_IMODE(os.stat(file).st_mode)
            except FileNotFoundError:
                pass


def test_the_scratch_database_is_readable_by_its_owner_only_and_removed_after_the_sync(
        cli, connect, export, mailchimp_sandbox, temp_folder):
    connect(export([account(n) for n in range(1, 1201)]))
    mailchimp_sandbox.set_latency(20, 0)
    seen: dict[str, int] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(temp_folder, stop, seen))
    watcher.start()
    try:
        result = cli("sync", "mailchimp", "--json")
    finally:
        stop.set()
        watcher.join()
    assert result.code == 0, result.err
    folders = {name: mode for name, mode in seen.items() if "/" not in name}
    files = {name: mode for name, mode in seen.items() if "/" in name}
    assert folders and set(folders.values()) == {0o700}
    assert {name.split("/")[1] for name in files} >= {"sync.sqlite", "members.sqlite"}
    assert set(files.values()) == {0o600}
    assert list(temp_folder.glob("opus1-mailchimp-*")) == []


def test_the_scratch_database_is_removed_when_the_sync_fails(cli, connect, export, mailchimp_sandbox, temp_folder):
    connect(export([account(n) for n in range(1, 11)]), "--retry-seconds", "1")
    mailchimp_sandbox.inject("500", rate=1.0)
    assert cli("sync", "mailchimp").code == 1
    bad = temp_folder.parent / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    mailchimp_sandbox.clear_faults()
    assert cli("sync", "mailchimp", "--contacts", bad).code == 5
    assert list(temp_folder.glob("opus1-mailchimp-*")) == []
