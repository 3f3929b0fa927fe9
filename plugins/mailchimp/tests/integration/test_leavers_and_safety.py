"""Leavers (synced before, no longer eligible): keep, tag or archive, behind a safety stop."""

from __future__ import annotations

import pytest

from conftest import account, sync_planned


@pytest.mark.parametrize("policy, status, tagged", [("keep", "subscribed", False), ("tag", "subscribed", True),
                                                     ("archive", "archived", False)])
def test_leaver_policies(cli, connect, export, mailchimp_sandbox, policy, status, tagged):
    accounts = [account(n) for n in range(1, 21)]
    connect(export(accounts), "--leaver-policy", policy)
    assert cli("sync", "mailchimp").code == 0
    accounts[0]["status"] = "archived"
    export(accounts)
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    member = mailchimp_sandbox.member("parent1@gmail.com")
    assert member["status"] == status
    assert ("opus1-left" in {t["name"] for t in member["tags"]}) == tagged
    counts = result.json()["counts"]
    assert counts["archived"] == (policy == "archive")
    assert counts["leaver_tagged"] == (policy == "tag")
    assert counts["leaver_kept"] == (policy == "keep")
    again = sync_planned(cli, export, accounts)  # the leaver was handled: left alone from now on, never again
    assert (again["writes"], again["left_alone"], again["unchanged"]) == (0, 1, 19)
    assert again["leaver_tagged"] == again["leaver_kept"] == again["archived"] == 0


def test_a_leaver_who_returns_loses_the_leaver_tag(cli, connect, export, mailchimp_sandbox):
    accounts = [account(n) for n in range(1, 21)]
    connect(export(accounts), "--leaver-policy", "tag")
    assert cli("sync", "mailchimp").code == 0
    export(accounts[1:])
    assert cli("sync", "mailchimp").code == 0
    export(accounts)
    assert cli("sync", "mailchimp").code == 0
    assert {t["name"] for t in mailchimp_sandbox.member("parent1@gmail.com")["tags"]} == {"opus1"}


def test_the_safety_stop_refuses_a_mass_archive_unless_forced(cli, connect, export, mailchimp_sandbox):
    accounts = [account(n) for n in range(1, 21)]
    connect(export(accounts), "--leaver-policy", "archive")
    assert cli("sync", "mailchimp").code == 0
    export(accounts[:10])  # half the studio "left": a truncated export, most likely
    mailchimp_sandbox.clear_requests()
    refused = cli("sync", "mailchimp")
    assert refused.code == 1
    assert "safety stop" in refused.err and "--force" in refused.err
    assert [r for r in mailchimp_sandbox.requests if r.method != "GET"] == []
    assert cli("runs", "--json").json()[0]["status"] == "failed"
    forced = cli("sync", "mailchimp", "--force", "--json")
    assert forced.code == 0, forced.err
    assert forced.json()["counts"]["archived"] == 10
    assert sum(m["status"] == "archived" for m in mailchimp_sandbox.members()) == 10


def test_the_threshold_is_a_setting(cli, connect, export, mailchimp_sandbox):
    accounts = [account(n) for n in range(1, 11)]
    connect(export(accounts), "--leaver-policy", "tag", "--safety-threshold", "0.5")
    assert cli("sync", "mailchimp").code == 0
    export(accounts[:6])
    assert cli("sync", "mailchimp").code == 0
