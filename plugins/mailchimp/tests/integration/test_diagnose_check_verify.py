"""What a studio owner asks: what is wrong (diagnose), is this client in Mailchimp (check), is Mailchimp right (verify)."""

from __future__ import annotations

from conftest import account, child


def test_check_explains_a_child_through_the_account_manager(cli, connect, export, mailchimp_sandbox):
    connect(export([account(1, first="Maria", last="Lopez", students=[child("per_1c", "Leo", "Lopez")])]))
    assert cli("sync", "mailchimp").code == 0
    result = cli("check", "mailchimp", "per_1c", "--json")
    assert result.code == 0, result.err
    answer = result.json()
    assert answer["people"][0]["reason"] == "child"
    assert answer["contacts"]["parent1@gmail.com"]["live"]["status"] == "subscribed"
    assert answer["contacts"]["parent1@gmail.com"]["last_run"]["outcome"] == "created"
    people_text = cli("check", "mailchimp", "per_1c").out
    assert "Maria" in people_text and "subscribed" in people_text


def test_check_shows_an_unsubscribed_client_as_left_alone(cli, connect, export, mailchimp_sandbox):
    mailchimp_sandbox.seed_member("parent1@gmail.com", status="unsubscribed", unsubscribed_by="contact")
    connect(export([account(1)]))
    assert cli("sync", "mailchimp").code == 0
    answer = cli("check", "mailchimp", "PARENT1@gmail.com", "--json").json()
    facts = answer["contacts"]["parent1@gmail.com"]
    assert facts["live"]["status"] == "unsubscribed" and facts["last_run"]["outcome"] == "left_alone"


def test_diagnose_lists_per_contact_errors_in_mailchimps_words(cli, connect, export, mailchimp_sandbox):
    connect(export([account(1), account(2, email="someone@mailinator.com")]))
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 6 and result.json()["status"] == "partial" and result.json()["counts"]["failed"] == 1
    diagnosis = cli("diagnose", "mailchimp", "--json")
    assert diagnosis.code == 1
    messages = " ".join(f["message"] + " " + (f["hint"] or "") for f in diagnosis.json()["findings"])
    assert "looks fake" in messages and "someone@mailinator.com" in messages


def test_diagnose_is_clean_after_a_good_sync_and_reports_an_unreachable_mailchimp(cli, connect, export, mailchimp_sandbox):
    connect(export([account(1)]))
    assert cli("sync", "mailchimp").code == 0
    clean = cli("diagnose", "mailchimp", "--json")
    assert clean.code == 0, clean.out
    mailchimp_sandbox.stop()
    diagnosis = cli("diagnose", "mailchimp", "--json")
    assert diagnosis.code == 1
    [down] = [f for f in diagnosis.json()["findings"] if f["code"] == "connection"]
    assert "Mailchimp is unavailable" in down["message"] and "/3.0/ping" in down["message"]
    assert "nothing to change on your side" in down["hint"]


def test_verify_finds_a_member_changed_in_mailchimp(cli, connect, export, mailchimp_sandbox):
    connect(export([account(i) for i in range(1, 6)]))
    assert cli("sync", "mailchimp").code == 0
    ok = cli("verify", "mailchimp", "--sample", "5", "--json")
    assert ok.code == 0 and ok.json()["differ"] == 0 and ok.json()["checked"] == 5
    mailchimp_sandbox.seed_member("parent3@gmail.com", status="subscribed", merge_fields={"FNAME": "Changed"})
    bad = cli("verify", "mailchimp", "--sample", "5", "--json")
    assert bad.code == 1 and bad.json()["differ"] == 1


def test_validate_counts_one_subscribed_member_in_the_singular(cli, connect, export, mailchimp_sandbox):
    mailchimp_sandbox.seed_member("someone@gmail.com")
    connect(export([account(1)]))
    assert "(1 subscribed member)" in cli("validate", "mailchimp").out
    mailchimp_sandbox.seed_member("someone.else@gmail.com")
    assert "(2 subscribed members)" in cli("validate", "mailchimp").out
