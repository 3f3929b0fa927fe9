"""Mailchimp's unsubscribes and bounces come back (issue 14): a member opus1 synced that is unsubscribed, cleaned
or archived in Mailchimp is noticed by the next sync in the members it reads anyway, listed by `leavers` with the
opus1 person and accounts behind it, and still left alone by every later sync."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from conftest import account, writes, written

REASON = "I no longer want to receive these emails"


def studio() -> list[dict]:
    """Ten families; the first one shares its address with an adult student on another account."""
    accounts = [account(n, consent="granted") for n in range(1, 11)]
    accounts[1]["students"] = [{"person_id": "per_2s", "first_name": "Ana", "last_name": "Family2",
                                "is_child": False, "email": "PARENT1@gmail.com"}]
    return accounts


def leave_in_mailchimp(sandbox) -> None:
    """An unsubscribe with the contact's reason, a bounce and an archive, made in Mailchimp."""
    sandbox.seed_member("parent1@gmail.com", status="unsubscribed", unsubscribed_by="contact",
                        unsubscribe_reason=REASON, tags=("opus1",))
    sandbox.seed_member("parent3@gmail.com", status="cleaned", tags=("opus1",))
    sandbox.seed_member("parent4@gmail.com", status="archived", tags=("opus1",))


def stored(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(timezone.utc).isoformat()


def test_an_unsubscribe_a_bounce_and_an_archive_in_mailchimp_appear_in_leavers_with_the_opus1_person(
        cli, connect, export, mailchimp_sandbox):
    connect(export(studio()))
    assert cli("sync", "mailchimp").code == 0
    leave_in_mailchimp(mailchimp_sandbox)
    mailchimp_sandbox.clear_requests()
    noticed = cli("sync", "mailchimp", "--json")
    assert noticed.code == 0, noticed.err
    assert noticed.json()["counts"]["left_alone"] == 3 and writes(mailchimp_sandbox) == []
    listed = [r for r in mailchimp_sandbox.requests if "/members" in r.path]
    assert all(r.path.endswith("/members") for r in listed)  # the listings only: no member is asked for alone

    mailchimp_sandbox.clear_requests()
    result = cli("mailchimp", "leavers", "--json")
    assert result.code == 0, result.err
    assert mailchimp_sandbox.requests == []  # the list needs no call to Mailchimp
    people = {p["person_id"]: p for p in result.json()["leavers"]}
    assert set(people) == {"per_1", "per_2s", "per_3", "per_4"}  # the shared address is one line per person
    assert people["per_1"] == {"person_id": "per_1", "account_ids": ["acc_1", "acc_2"], "email": "parent1@gmail.com",
                               "status": "unsubscribed", "reason": REASON,
                               "left_at": stored(mailchimp_sandbox.member("parent1@gmail.com")["last_changed"])}
    assert people["per_2s"]["account_ids"] == ["acc_1", "acc_2"]
    assert (people["per_3"]["status"], people["per_3"]["reason"]) == ("cleaned", None)
    assert (people["per_4"]["status"], people["per_4"]["account_ids"]) == ("archived", ["acc_4"])

    lines = cli("mailchimp", "leavers").out.splitlines()
    assert len(lines) == 1 + 4 + 1 and all(len(line) <= 80 for line in lines)
    assert any(line.split()[2:5] == ["unsubscribed", "per_1", "acc_1"] for line in lines)


def test_the_next_sync_still_leaves_those_members_alone_and_records_them_once(cli, connect, export,
                                                                             mailchimp_sandbox):
    accounts = studio()
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    leave_in_mailchimp(mailchimp_sandbox)
    assert cli("sync", "mailchimp").code == 0
    before = {m["email_address"]: m for m in mailchimp_sandbox.members()}
    for a in accounts:  # the export changes: a full sync compares every member again
        a["account_manager"]["last_name"] += "-Renamed"
    export(accounts)
    mailchimp_sandbox.clear_requests()
    again = cli("sync", "mailchimp", "--json")
    assert again.code == 0, again.err
    assert again.json()["counts"]["left_alone"] == 3 and again.json()["counts"]["updated"] == 7
    touched = written(mailchimp_sandbox)
    for n in (1, 3, 4):
        assert f"parent{n}@gmail.com".encode() not in touched
        assert mailchimp_sandbox.member(f"parent{n}@gmail.com") == before[f"parent{n}@gmail.com"]
    assert len(cli("mailchimp", "leavers", "--json").json()["leavers"]) == 4  # recorded once


def test_leavers_since_a_time(cli, connect, export, mailchimp_sandbox):
    connect(export(studio()))
    assert cli("sync", "mailchimp").code == 0
    leave_in_mailchimp(mailchimp_sandbox)
    assert cli("sync", "mailchimp").code == 0
    assert len(cli("leavers", "mailchimp", "--since", "1h", "--json").json()["leavers"]) == 4
    later = cli("leavers", "mailchimp", "--since", "2099-01-01", "--json")
    assert later.code == 0 and later.json()["leavers"] == []
    csv = cli("mailchimp", "leavers", "--csv").out.splitlines()
    assert csv[0] == "person_id,account_ids,email,status,reason,left_at" and len(csv) == 5


def test_what_opus1_did_itself_is_no_leaver(cli, connect, export, mailchimp_sandbox):
    accounts = [account(n, consent="granted") for n in range(1, 21)]
    connect(export(accounts), "--leaver-policy", "archive")
    assert cli("sync", "mailchimp").code == 0
    accounts[0]["status"] = "archived"  # left the studio: archived by the leaver policy
    accounts[1]["account_manager"]["email_consent"] = "denied"  # refused: unsubscribed by opus1
    export(accounts)
    counts = cli("sync", "mailchimp", "--json").json()["counts"]
    assert counts["archived"] == 1 and counts["unsubscribed"] == 1
    assert cli("sync", "mailchimp", "--force").code == 0
    assert cli("mailchimp", "leavers", "--json").json()["leavers"] == []


def test_a_member_who_comes_back_and_leaves_again_is_listed_again(cli, connect, export, mailchimp_sandbox):
    connect(export([account(n) for n in range(1, 11)]))
    assert cli("sync", "mailchimp").code == 0
    mailchimp_sandbox.seed_member("parent1@gmail.com", status="unsubscribed", unsubscribed_by="contact")
    assert cli("sync", "mailchimp").code == 0
    mailchimp_sandbox.seed_member("parent1@gmail.com", status="subscribed", tags=("opus1",))  # signed up again
    assert cli("sync", "mailchimp").code == 0
    mailchimp_sandbox.seed_member("parent1@gmail.com", status="cleaned")
    assert cli("sync", "mailchimp").code == 0
    statuses = [p["status"] for p in cli("leavers", "mailchimp", "--json").json()["leavers"]]
    assert sorted(statuses) == ["cleaned", "unsubscribed"]


def test_members_synced_before_statuses_were_kept(cli, connect, export, mailchimp_sandbox, home):
    """A ledger row of an earlier version has no status: a member still in opus1 counts as subscribed then, one
    that left opus1 may have been archived by the leaver policy and is not listed."""
    accounts = [account(n) for n in range(1, 21)]
    connect(export(accounts), "--leaver-policy", "archive")
    assert cli("sync", "mailchimp").code == 0
    export(accounts[1:])
    assert cli("sync", "mailchimp").code == 0  # parent1 archived by the policy
    conn = sqlite3.connect(home / "opus1-integrations.db")
    with conn:
        conn.execute("UPDATE mailchimp_synced SET status = NULL, account_ids = NULL")
    conn.close()
    mailchimp_sandbox.seed_member("parent2@gmail.com", status="unsubscribed", unsubscribed_by="contact")
    assert cli("sync", "mailchimp").code == 0
    people = cli("leavers", "mailchimp", "--json").json()["leavers"]
    assert [(p["person_id"], p["status"], p["account_ids"]) for p in people] == [("per_2", "unsubscribed", [])]
