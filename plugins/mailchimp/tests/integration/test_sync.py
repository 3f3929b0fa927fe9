"""The Mailchimp sync driven through the CLI against the sandbox, asserted on what the sandbox received."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest
import sqlite_utils

from conftest import account, child, sync_planned, writes, written
from opus1_mailchimp.client import Mailchimp
from opus1_mailchimp.ledger import Ledger, migrations
from opus1_mailchimp.sync import _stamp


def family_export(export):
    """A studio exercising every audience rule."""
    return export([
        account(1, email="Maria.Lopez@gmail.com", first="Maria", last="Lopez",
                students=[child("per_1c", "Leo", "Lopez", email="leo.lopez.kid@gmail.com"),
                          child("per_1d", "Ana", "Lopez")]),
        account(2, email="maria.lopez@gmail.com ", first="Mary", last="Lopez",
                students=[child("per_2c", "Tom", "Lopez", program="Violin", teacher="Mr. Berg")],
                updated="2026-10-01T00:00:00Z"),
        account(3, email=None, first="Noel", last="Nomail"),
        account(4, email="not-an-address", first="Ines", last="Invalid"),
        account(5, email="archie.archived@gmail.com", status="archived", first="Archie", last="Old"),
        account(6, email="sam.self@outlook.com", first="Sam", last="Self",
                students=[{"person_id": "per_6", "first_name": "Sam", "last_name": "Self", "is_child": False,
                           "email": "sam.self@outlook.com", "enrollments": [{"program": "Voice", "teacher": "Ms. Ray",
                                                                            "term": "Fall 2026"}]}]),
        account(7, email="olga.parent@yahoo.com", first="Olga", last="Petrova",
                students=[{"person_id": "per_7s", "first_name": "Ivan", "last_name": "Petrov", "is_child": False,
                           "email": "ivan.petrov@yahoo.com"}]),
    ])


def test_only_eligible_contacts_reach_mailchimp_and_no_child_data_goes_over_the_wire(cli, connect, export, mailchimp_sandbox):
    connect(family_export(export))
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    summary = result.json()
    members = {m["email_address"].lower(): m for m in mailchimp_sandbox.members()}
    assert set(members) == {"maria.lopez@gmail.com", "sam.self@outlook.com", "olga.parent@yahoo.com",
                            "ivan.petrov@yahoo.com"}
    assert members["maria.lopez@gmail.com"]["merge_fields"]["FNAME"] == "Maria"  # the newer account's manager
    assert summary["counts"]["created"] == 4 and summary["counts"]["failed"] == 0 and summary["status"] == "ok"
    wire = b"".join(r.body or b"" for r in mailchimp_sandbox.requests) + "".join(
        r.path + json.dumps(r.query) for r in mailchimp_sandbox.requests).encode()
    for secret in (b"Leo", b"leo.lopez.kid", b"Ana", b"Tom", b"2016-04-02", b"Archie", b"not-an-address"):
        assert secret not in wire


def test_members_who_unsubscribed_bounced_or_were_archived_are_never_touched(cli, connect, export, mailchimp_sandbox):
    path = export([account(n) for n in range(1, 6)])
    mailchimp_sandbox.seed_member("parent1@gmail.com", status="unsubscribed", unsubscribed_by="contact")
    mailchimp_sandbox.seed_member("parent2@gmail.com", status="cleaned")
    mailchimp_sandbox.seed_member("parent3@gmail.com", status="archived")
    mailchimp_sandbox.seed_member("parent4@gmail.com", status="pending")
    before = {m["email_address"]: m for m in mailchimp_sandbox.members()}
    connect(path)
    mailchimp_sandbox.clear_requests()
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    assert result.json()["counts"]["left_alone"] == 4 and result.json()["counts"]["created"] == 1
    touched = written(mailchimp_sandbox)
    for n in range(1, 5):
        assert f"parent{n}@gmail.com".encode() not in touched
    after = {m["email_address"]: m for m in mailchimp_sandbox.members()}
    for email, member in before.items():
        assert after[email]["status"] == member["status"]
        assert after[email]["merge_fields"] == member["merge_fields"]


def test_a_second_run_with_nothing_changed_sends_no_writes(cli, connect, export, mailchimp_sandbox):
    """Planned again (the no-change shortcut has its own test below), every member is found in line."""
    accounts = [account(n) for n in range(1, 30)]
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    mailchimp_sandbox.clear_requests()
    counts = sync_planned(cli, export, accounts)
    assert writes(mailchimp_sandbox) == []
    assert any(r.path.endswith("/members") for r in mailchimp_sandbox.requests)  # the audience was read
    assert (counts["unchanged"], counts["created"], counts["updated"], counts["writes"]) == (29, 0, 0, 0)


def test_a_changed_name_is_sent_as_a_merge_field_patch_without_status(cli, connect, export, mailchimp_sandbox):
    accounts = [account(n) for n in range(1, 4)]
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    accounts[1]["account_manager"]["first_name"] = "Marta"
    export(accounts)
    mailchimp_sandbox.clear_requests()
    result = cli("sync", "mailchimp", "--json")
    assert result.json()["counts"]["updated"] == 1
    assert mailchimp_sandbox.member("parent2@gmail.com")["merge_fields"]["FNAME"] == "Marta"
    sent = [r for r in mailchimp_sandbox.requests if r.method in ("PATCH", "PUT", "POST") and "/_sandbox" not in r.path]
    assert sent and all(b'"status"' not in (r.body or b"") for r in sent)


def test_an_email_change_keeps_one_member(cli, connect, export, mailchimp_sandbox):
    accounts = [account(1, email="old.address@gmail.com"), account(2)]
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    accounts[0]["account_manager"]["email"] = "new.address@gmail.com"
    export(accounts)
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    emails = sorted(m["email_address"] for m in mailchimp_sandbox.members())
    assert emails == ["new.address@gmail.com", "parent2@gmail.com"]
    assert result.json()["counts"]["email_changed"] == 1 and result.json()["counts"]["created"] == 0
    again = sync_planned(cli, export, accounts)
    assert (again["writes"], again["unchanged"], again["email_changed"], again["created"]) == (0, 2, 0, 0)


def test_an_email_change_to_an_existing_member_does_not_merge_them(cli, connect, export, mailchimp_sandbox):
    accounts = [account(1, email="old.address@gmail.com"), account(2)]
    mailchimp_sandbox.seed_member("taken.address@gmail.com", status="subscribed")
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    accounts[0]["account_manager"]["email"] = "taken.address@gmail.com"
    export(accounts)
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    emails = sorted(m["email_address"] for m in mailchimp_sandbox.members())
    assert emails == ["old.address@gmail.com", "parent2@gmail.com", "taken.address@gmail.com"]
    assert result.json()["counts"]["email_changed"] == 0 and result.json()["counts"]["leaver_kept"] == 1


def test_configured_tags_and_opt_in_program_tags_never_remove_other_tags(cli, connect, export, mailchimp_sandbox):
    accounts = [account(1, students=[child("per_1c", "Leo", "Lopez", program="Piano", teacher="Ms. Kim")])]
    mailchimp_sandbox.seed_member("parent1@gmail.com", status="subscribed", tags=("vip",))
    connect(export(accounts), "--program-tags", "--tags", "opus1", "--tags", "families")
    assert cli("sync", "mailchimp").code == 0
    tags = {t["name"] for t in mailchimp_sandbox.member("parent1@gmail.com")["tags"]}
    assert tags == {"vip", "opus1", "families", "Program: Piano", "Teacher: Ms. Kim"}
    accounts[0]["students"][0]["enrollments"] = [{"program": "Cello", "teacher": "Ms. Kim", "term": "Fall 2026"}]
    export(accounts)
    assert cli("sync", "mailchimp").code == 0
    tags = {t["name"] for t in mailchimp_sandbox.member("parent1@gmail.com")["tags"]}
    assert tags == {"vip", "opus1", "families", "Program: Cello", "Teacher: Ms. Kim"}


def test_new_members_get_the_configured_initial_status(cli, connect, export, mailchimp_sandbox):
    connect(export([account(1)]), "--initial-status", "pending")
    assert cli("sync", "mailchimp").code == 0
    assert mailchimp_sandbox.member("parent1@gmail.com")["status"] == "pending"


def test_dry_run_sends_no_writes_and_writes_the_plan(cli, connect, export, mailchimp_sandbox, tmp_path):
    connect(export([account(1), account(2)]))
    mailchimp_sandbox.seed_member("parent2@gmail.com", status="unsubscribed", unsubscribed_by="contact")
    mailchimp_sandbox.clear_requests()
    plan_json, plan_csv = tmp_path / "plan.json", tmp_path / "plan.csv"
    result = cli("sync", "mailchimp", "--dry-run", "--plan", plan_json, "--json")
    assert result.code == 0, result.err
    assert writes(mailchimp_sandbox) == []
    rows = {r["email"]: r for r in json.loads(plan_json.read_text())}
    assert rows["parent1@gmail.com"]["action"] == "created"
    assert rows["parent2@gmail.com"]["action"] == "left_alone"
    assert "unsubscribed" in rows["parent2@gmail.com"]["reason"]
    assert result.err == ""  # the plugin prints no plan of its own: the host shows it from the run log
    shown = cli("sync", "mailchimp", "--dry-run", "--plan", plan_csv)
    assert shown.code == 0, shown.err
    assert shown.out.count("parent1@gmail.com") == 1 and "would be added" in shown.out
    assert "parent1@gmail.com" not in shown.err
    assert plan_csv.read_text().splitlines()[0].startswith("email,action,reason")


def test_a_rejected_export_sends_nothing(cli, connect, export, mailchimp_sandbox, tmp_path):
    connect(export([account(1)]))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"account_id": "acc_1", "status": "active"}\n{not json\n', encoding="utf-8")
    mailchimp_sandbox.clear_requests()
    result = cli("sync", "mailchimp", "--contacts", bad)
    assert result.code == 5
    assert "Error:" in result.err and "line 2" in result.err
    assert writes(mailchimp_sandbox) == []  # the audience may have been read while the export loaded; nothing more


def test_someone_who_unsubscribed_is_not_added_again_under_a_new_address(cli, connect, export, mailchimp_sandbox):
    accounts = [account(1, email="old.address@gmail.com"), account(2)]
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    mailchimp_sandbox.seed_member("old.address@gmail.com", status="unsubscribed", unsubscribed_by="contact")
    accounts[0]["account_manager"]["email"] = "new.address@gmail.com"
    export(accounts)
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    assert mailchimp_sandbox.member("new.address@gmail.com") is None
    assert mailchimp_sandbox.member("old.address@gmail.com")["status"] == "unsubscribed"
    assert result.json()["counts"]["left_alone"] == 2 and result.json()["counts"]["writes"] == 0


def test_when_export_settings_and_audience_are_unchanged_a_run_asks_two_questions(cli, connect, export, mailchimp_sandbox):
    accounts = [account(n) for n in range(1, 11)]
    connect(export(accounts))
    assert cli("sync", "mailchimp", "--json").json()["counts"]["created"] == 10
    mailchimp_sandbox.clear_requests()
    quiet = cli("sync", "mailchimp", "--json")  # right after our own writes: they do not count as changes
    assert quiet.code == 0, quiet.err
    assert quiet.json()["counts"]["nothing_changed"] is True and quiet.json()["counts"]["unchanged"] == 10
    audience = f"/3.0/lists/{mailchimp_sandbox.audience_id}"
    assert sorted((r.method, r.path, "since_last_changed" in r.query) for r in mailchimp_sandbox.requests) == [
        ("GET", audience, False), ("GET", audience + "/members", True)]

    time.sleep(1.01 - time.time() % 1)  # a change in the very second of our last write would be taken for ours
    mailchimp_sandbox.seed_member("parent3@gmail.com", status="unsubscribed", unsubscribed_by="contact")
    after_unsubscribe = cli("sync", "mailchimp", "--json").json()["counts"]
    assert "nothing_changed" not in after_unsubscribe and after_unsubscribe["left_alone"] == 1

    accounts[0]["account_manager"]["first_name"] = "Renamed"
    export(accounts)
    renamed = cli("sync", "mailchimp", "--json").json()["counts"]
    assert renamed["updated"] == 1

    assert cli("configure", "mailchimp", "--tags", "opus1", "--tags", "students").code == 0
    retagged = cli("sync", "mailchimp", "--json").json()["counts"]
    assert "nothing_changed" not in retagged and retagged["updated"] == 9


@pytest.mark.parametrize("loss", ["archived", "deleted", "emptied"])
def test_an_audience_that_lost_members_in_mailchimp_is_never_taken_for_unchanged(cli, connect, export,
                                                                                 mailchimp_sandbox, loss):
    connect(export([account(n) for n in range(1, 6)]))
    assert cli("sync", "mailchimp").code == 0
    assert cli("sync", "mailchimp", "--json").json()["counts"]["nothing_changed"] is True
    if loss == "archived":  # the listing of changes leaves archived members out
        for n in (1, 2):
            mailchimp_sandbox.seed_member(f"parent{n}@gmail.com", status="archived")
    elif loss == "deleted":  # gone for good: not in any listing
        mailchimp_sandbox.seed_member("parent1@gmail.com", forgotten=True)
    else:
        mailchimp_sandbox.reset()
    dry = cli("sync", "mailchimp", "--dry-run", "--json").json()["counts"]
    synced = cli("sync", "mailchimp", "--json").json()["counts"]
    assert "nothing_changed" not in synced
    tried = {"created": synced["created"] + synced["failed"], "left_alone": synced["left_alone"],
             "unchanged": synced["unchanged"]}  # a permanently deleted address is refused when it is sent
    assert tried == {name: dry[name] for name in tried}  # the dry run and the sync agree
    expected = {"archived": {"left_alone": 2, "unchanged": 3}, "deleted": {"created": 1, "unchanged": 4},
                "emptied": {"created": 5}}[loss]
    assert {k: v for k, v in tried.items() if v} == expected


def test_force_always_compares_every_member(cli, connect, export, mailchimp_sandbox):
    connect(export([account(n) for n in range(1, 4)]))
    assert cli("sync", "mailchimp").code == 0
    forced = cli("sync", "mailchimp", "--force", "--json").json()["counts"]
    assert "nothing_changed" not in forced and forced["unchanged"] == 3
    assert any(r.path.endswith("/members") and r.query.get("count") == "1000" for r in mailchimp_sandbox.requests)


def test_plan_files_are_private_and_safe_to_open_in_a_spreadsheet(cli, connect, export, tmp_path):
    hostile = "=cmd|'/Ccalc'!A0@gmail.com"
    connect(export([account(1, email=hostile), account(2, email="-2+3@gmail.com"), account(3, email=None,
                                                                                        first="@SUM(A1)")]))
    plan = tmp_path / "plan.csv"
    plan.write_text("an older plan, readable by anyone\n")
    plan.chmod(0o644)
    assert cli("sync", "mailchimp", "--dry-run", "--plan", plan).code == 0
    assert plan.stat().st_mode & 0o777 == 0o600
    rows = list(csv.DictReader(io.StringIO(plan.read_text())))
    assert [r["email"] for r in rows[:2]] == ["'-2+3@gmail.com", "'" + hostile]
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())
    assert rows[2]["action"] == "not_synced" and "@SUM(A1)" in rows[2]["reason"]
    fresh = tmp_path / "fresh.json"
    assert cli("sync", "mailchimp", "--dry-run", "--plan", fresh).code == 0
    assert fresh.stat().st_mode & 0o777 == 0o600
    assert json.loads(fresh.read_text())[1]["email"] == hostile  # JSON is no spreadsheet: written as it is
    nowhere = cli("sync", "mailchimp", "--dry-run", "--plan", tmp_path / "no" / "such" / "folder" / "plan.csv")
    assert nowhere.code == 2 and "cannot write it" in nowhere.err


def test_a_sync_whose_last_question_fails_keeps_its_work_and_the_next_run_compares_again(mailchimp_sandbox):
    db = sqlite_utils.Database(memory=True)
    migrations.apply(db)
    ledger = Ledger(db, "studio", mailchimp_sandbox.audience_id)
    settings = {"audience_id": mailchimp_sandbox.audience_id, "api_key": mailchimp_sandbox.api_key}
    mc = Mailchimp(mailchimp_sandbox.api_key, mailchimp_sandbox.base_url, retry_seconds=0)
    audience = type("Export", (), {"fingerprint": "f" * 64})()
    try:
        mailchimp_sandbox.inject("503", methods=["GET"])
        _stamp(mc, ledger, audience, settings, {"created": 1})  # no exception: the sync's work stands
        assert ledger.last_sync() is None  # so the next run is a full sync
        mailchimp_sandbox.clear_faults()
        _stamp(mc, ledger, audience, settings, {"created": 1})
        assert ledger.last_sync().audience_counts == {"member_count": 0, "unsubscribe_count": 0, "cleaned_count": 0,
                                                      "total_contacts": 0}
    finally:
        mc.close()


def test_runs_show_lists_a_refused_contact_first_with_mailchimps_words_and_the_fix(cli, connect, export,
                                                                                   mailchimp_sandbox):
    mailchimp_sandbox.seed_member("parent1@gmail.com", forgotten=True)  # permanently deleted: refused when sent
    connect(export([account(1), account(2)]))
    assert cli("sync", "mailchimp").code == 6
    shown = cli("runs", "show", "1").out.split("\n\n")[1].splitlines()
    assert shown[0] == "1 refused:"
    assert shown[1].startswith("  parent1@gmail.com: ") and "permanently deleted" in shown[1]
    assert shown[2].startswith("    fix: ") and "signup form" in shown[2]


def test_runs_show_gives_the_outcomes_in_words_then_the_plugins_own_counts(cli, connect, export):
    connect(export([account(1), account(2)]))
    assert cli("sync", "mailchimp").code == 0
    counts = [line for line in cli("runs", "show", "1").out.splitlines() if line.startswith("  counts:")]
    assert len(counts) == 1 and re.fullmatch(r"  counts:   2 added; \d+ requests, 1 write", counts[0]), counts
