"""Text from an export or a service is printed as written (issue 12): rich markup is not interpreted, terminal
control sequences never reach the terminal, and nothing crashes on it."""

from __future__ import annotations

import json

import pytest

from opus1_integrations.api import hookimpl

from .conftest import ACCOUNTS, Recorder

NAMES = ["[/]", "[link=https://evil.example/]click[/link]", "\x1b]0;pwned\x07Eve\x1b[2J", "[bold red]Loud[/]"]


class Echoing(Recorder):
    """Records and looks up contacts with messages that carry the names, as a service's error texts could."""

    @hookimpl
    def sync(self, context, settings, audience, run, options):
        for contact in audience.contacts():
            run.record(contact.key, "failed", message=f"refused {contact.first_name}", hint=contact.last_name)
        return {"failed": audience.counts["contacts"]}

    @hookimpl
    def lookup(self, context, settings, keys):
        return {key: {"status": "subscribed", "note": NAMES[1]} for key in keys}


@pytest.fixture
def poisoned(add_plugin, cli, tmp_path):
    accounts = json.loads(json.dumps(ACCOUNTS))
    manager = accounts[0]["account_manager"]
    manager["first_name"], manager["last_name"] = NAMES[0] + NAMES[2], NAMES[1] + NAMES[3]
    path = tmp_path / "accounts.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in accounts), encoding="utf-8")
    add_plugin(Echoing(), "thing")
    assert cli("configure", "thing", "--contacts", path).code == 0
    return cli


@pytest.mark.parametrize("argv", [["sync", "thing"], ["sync", "thing", "--dry-run"], ["diagnose", "thing"],
                                  ["runs", "show", "1"], ["check", "thing", "maria.lopez@gmail.com"]])
def test_markup_and_terminal_escapes_from_outside_are_printed_as_written(poisoned, argv):
    poisoned("sync", "thing")
    result = poisoned(*argv)
    assert result.code in (0, 1, 6), result.err
    shown = result.out + result.err
    assert "this is a bug" not in shown and "\x1b" not in shown and "\x07" not in shown
    if argv[0] in ("runs", "check", "diagnose"):
        assert "[/]" in shown and "[link=https://evil.example/]click[/link]" in shown
