"""Email changes and returning leavers through the CLI and the sandbox: the planner's decisions that hinge on what
an earlier address's member is now (docs/mailchimp.md, "email change", "create despite an old address"), asserted
on what the sandbox holds and received, each followed by a planned run that must write nothing."""

from __future__ import annotations

import json

import pytest
from conftest import account, sync_planned, writes


def addresses(sandbox) -> dict[str, tuple]:
    """Every member as (status, FNAME, tags) by address."""
    return {m["email_address"]: (m["status"], m["merge_fields"].get("FNAME"), sorted(t["name"] for t in m["tags"]))
            for m in sandbox.members()}


def test_email_change_sends_the_new_address_and_every_merge_field_and_removes_only_stale_tags_of_ours(
        cli, connect, export, mailchimp_sandbox):
    accounts = [account(1, email="old.address@gmail.com", first="Maria", last="Lopez")]
    connect(export(accounts), "--program-tags")
    accounts[0]["students"] = [{"person_id": "per_1c", "first_name": "Leo", "last_name": "Lopez", "is_child": True,
                                "enrollments": [{"program": "Tap", "teacher": "Ms. Kim"}]}]
    export(accounts)
    assert cli("sync", "mailchimp").code == 0
    mailchimp_sandbox.seed_member("old.address@gmail.com", merge_fields={"FNAME": "Mary", "LNAME": "Lopez"},
                                  tags=("opus1", "Program: Tap", "Teacher: Ms. Kim", "vip"))
    accounts[0]["account_manager"]["email"] = "new.address@gmail.com"
    accounts[0]["students"][0]["enrollments"] = [{"program": "Piano", "teacher": "Ms. Kim"}]
    export(accounts)
    mailchimp_sandbox.clear_requests()
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    assert result.json()["counts"]["email_changed"] == 1 and result.json()["counts"]["created"] == 0
    [patch] = [r for r in writes(mailchimp_sandbox) if r.method == "PATCH"]
    assert json.loads(patch.body) == {"email_address": "new.address@gmail.com",
                                      "merge_fields": {"FNAME": "Maria", "LNAME": "Lopez"}}
    assert addresses(mailchimp_sandbox) == {
        "new.address@gmail.com": ("subscribed", "Maria", ["Program: Piano", "Teacher: Ms. Kim", "opus1", "vip"])}
    assert sync_planned(cli, export, accounts)["writes"] == 0


@pytest.mark.parametrize("status", ["cleaned", "pending", "archived", "forgotten"])
def test_create_despite_an_old_address_whose_member_is_not_subscribed_or_is_gone(
        cli, connect, export, mailchimp_sandbox, status):
    """The sync neither fails nor touches the old member; the old address is a leaver left alone (or gone)."""
    accounts = [account(1, email="old.address@gmail.com"), account(2)]
    connect(export(accounts), "--leaver-policy", "archive", "--safety-threshold", "1")
    assert cli("sync", "mailchimp").code == 0
    if status == "forgotten":
        mailchimp_sandbox.seed_member("old.address@gmail.com", forgotten=True)
    else:
        mailchimp_sandbox.seed_member("old.address@gmail.com", status, merge_fields={"FNAME": "Mary"})
    before = addresses(mailchimp_sandbox)
    accounts[0]["account_manager"]["email"] = "new.address@gmail.com"
    export(accounts)
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    counts = result.json()["counts"]
    assert (counts["created"], counts["email_changed"], counts["archived"], counts["failed"]) == (1, 0, 0, 0)
    assert counts["left_alone"] == (status != "forgotten")
    after = addresses(mailchimp_sandbox)
    assert after.pop("new.address@gmail.com") == ("subscribed", "Maria", ["opus1"])
    assert after == before
    assert sync_planned(cli, export, accounts)["writes"] == 0


def test_email_change_a_shared_address_split_in_two_moves_to_the_first_contact_and_the_other_is_created(
        cli, connect, export, mailchimp_sandbox):
    accounts = [account(1, email="chen.family@outlook.com", first="Wei", last="Chen"),
                account(2, email="chen.family@outlook.com", first="Lin", last="Chen", updated="2026-01-01T00:00:00Z")]
    connect(export(accounts), "--leaver-policy", "archive", "--safety-threshold", "1")
    assert cli("sync", "mailchimp").code == 0
    accounts[0]["account_manager"]["email"] = "wei.chen@gmail.com"
    accounts[1]["account_manager"]["email"] = "lin.chen@gmail.com"
    export(accounts)
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    counts = result.json()["counts"]
    assert (counts["email_changed"], counts["created"], counts["archived"]) == (1, 1, 0)
    assert addresses(mailchimp_sandbox) == {"lin.chen@gmail.com": ("subscribed", "Lin", ["opus1"]),
                                            "wei.chen@gmail.com": ("subscribed", "Wei", ["opus1"])}
    assert sync_planned(cli, export, accounts)["writes"] == 0


def test_email_change_never_takes_an_address_another_contact_still_has(cli, connect, export, mailchimp_sandbox):
    """A family's shared address, one of whom gets an address of their own: the other keeps the member."""
    accounts = [account(1, email="chen.family@outlook.com", first="Wei", last="Chen"),
                account(2, email="chen.family@outlook.com", first="Lin", last="Chen", updated="2026-01-01T00:00:00Z")]
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    accounts[1]["account_manager"]["email"] = "lin.chen@gmail.com"
    export(accounts)
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    assert addresses(mailchimp_sandbox) == {"chen.family@outlook.com": ("subscribed", "Wei", ["opus1"]),
                                            "lin.chen@gmail.com": ("subscribed", "Lin", ["opus1"])}
    assert sync_planned(cli, export, accounts)["writes"] == 0


def test_email_change_a_returning_leaver_at_a_new_address_is_the_same_member_without_the_leaver_tag(
        cli, connect, export, mailchimp_sandbox):
    accounts = [account(n) for n in range(1, 11)]
    connect(export(accounts), "--leaver-policy", "tag", "--safety-threshold", "1")
    assert cli("sync", "mailchimp").code == 0
    export(accounts[1:])
    assert cli("sync", "mailchimp", "--json").json()["counts"]["leaver_tagged"] == 1
    assert addresses(mailchimp_sandbox)["parent1@gmail.com"] == ("subscribed", "Maria", ["opus1", "opus1-left"])
    accounts[0]["account_manager"]["email"] = "maria.returns@gmail.com"
    export(accounts)
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    assert (result.json()["counts"]["email_changed"], result.json()["counts"]["created"]) == (1, 0)
    members = addresses(mailchimp_sandbox)
    assert "parent1@gmail.com" not in members and len(members) == 10
    assert members["maria.returns@gmail.com"] == ("subscribed", "Maria", ["opus1"])
    assert sync_planned(cli, export, accounts)["writes"] == 0


def test_left_alone_under_the_old_address_a_person_who_unsubscribed_is_not_added_under_a_new_one(
        cli, connect, export, mailchimp_sandbox):
    accounts = [account(1, email="old.address@gmail.com"), account(2)]
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    mailchimp_sandbox.seed_member("old.address@gmail.com", "unsubscribed", unsubscribed_by="contact")
    accounts[0]["account_manager"]["email"] = "new.address@gmail.com"
    export(accounts)
    mailchimp_sandbox.clear_requests()
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    assert writes(mailchimp_sandbox) == [] and result.json()["counts"]["left_alone"] == 2
    assert set(addresses(mailchimp_sandbox)) == {"old.address@gmail.com", "parent2@gmail.com"}
