"""Consent on the sandbox (issue 14): a client who refused email news never reaches Mailchimp as subscribed or
pending (checked on the bytes sent), unknown consent follows the studio's setting, and a consent withdrawn after a
sync unsubscribes exactly that member and nobody else."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import account, writes, written
from opus1_mailchimp.sender import subscriber_hash


def sent_members(sandbox) -> list[dict]:
    """Every member the sandbox was asked to create or change, as sent: batch-subscribe members, and the bodies of
    single-member writes and of ``/batches`` operations, each with the path it went to."""
    found = []
    for r in writes(sandbox):
        body = r.json() if r.body else {}
        if r.path.endswith("/batches"):
            found += [{"path": op["path"], **json.loads(op.get("body") or "{}")} for op in body["operations"]]
        else:
            found += [{"path": r.path, **m} for m in body.get("members", [])] or [{"path": r.path, **body}]
    return found


def statuses_sent(sandbox, email: str) -> list[str | None]:
    """The statuses sent for one address (``None`` for a write that sent no status)."""
    hashed = subscriber_hash(email)
    return [m.get("status") for m in sent_members(sandbox)
            if m.get("email_address", "").lower() == email or m["path"].split("/")[-1] == hashed
            or f"/{hashed}/" in m["path"]]


@pytest.mark.parametrize("denied", ["skip", "transactional"])
@pytest.mark.parametrize("unknown", ["subscribe", "pending", "skip"])
def test_a_client_who_refused_never_reaches_mailchimp_as_subscribed_or_pending(cli, connect, export, home,
                                                                               mailchimp_sandbox, denied, unknown):
    connect(export([account(1, consent="denied", consent_at="2026-10-01T09:00:00Z"), account(2, consent="granted"),
                    account(3)]), "--denied-consent", denied, "--unknown-consent", unknown, "--initial-status",
            "pending")
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    wire = written(mailchimp_sandbox)
    if denied == "skip":
        assert b"parent1@gmail.com" not in wire and subscriber_hash("parent1@gmail.com").encode() not in wire
        assert mailchimp_sandbox.member("parent1@gmail.com") is None
        assert result.json()["counts"]["skipped"] == 1 + (unknown == "skip")
    else:
        assert statuses_sent(mailchimp_sandbox, "parent1@gmail.com") == ["transactional"]
        assert mailchimp_sandbox.member("parent1@gmail.com")["status"] == "transactional"
    assert mailchimp_sandbox.member("parent2@gmail.com")["status"] == "pending"  # granted: the initial status
    for status in statuses_sent(mailchimp_sandbox, "parent1@gmail.com"):
        assert status not in ("subscribed", "pending")
    if denied == "skip":
        assert ("('parent1@gmail.com', 'skipped', 'no_consent', 'refused email news in opus1 on 2026-10-01: "
                "not added')") in items(home)


@pytest.mark.parametrize("unknown, initial, expected", [
    ("subscribe", "subscribed", "subscribed"), ("subscribe", "pending", "pending"),
    ("pending", "subscribed", "pending"), ("skip", "subscribed", None)])
def test_unknown_consent_follows_the_setting(cli, connect, export, mailchimp_sandbox, home, unknown, initial,
                                            expected):
    accounts = [account(1, consent="unknown"), account(2)]  # said unknown, and said nothing
    connect(export(accounts), "--unknown-consent", unknown, "--initial-status", initial)
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    for n in (1, 2):
        member = mailchimp_sandbox.member(f"parent{n}@gmail.com")
        assert (member["status"] if member else None) == expected
        assert statuses_sent(mailchimp_sandbox, f"parent{n}@gmail.com") == ([expected] if expected else [])
    if expected is None:
        assert result.json()["counts"]["skipped"] == 2
        assert "('parent1@gmail.com', 'skipped', 'consent_unknown'" in items(home)


def items(home) -> str:
    """The run log's items as text: (key, outcome, error code, message) per line."""
    conn = sqlite3.connect(home / "opus1-integrations.db")
    try:
        return "\n".join(str(row) for row in conn.execute("select key, outcome, error_code, message from run_items"))
    finally:
        conn.close()


def test_a_withdrawn_consent_unsubscribes_exactly_that_member_and_nobody_else(cli, connect, export,
                                                                              mailchimp_sandbox, home):
    accounts = [account(n, consent="granted") for n in range(1, 31)]
    mailchimp_sandbox.seed_member("not.from.opus1@gmail.com", tags=("newsletter",))
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    before = {m["email_address"]: m for m in mailchimp_sandbox.members()}
    accounts[4]["account_manager"].update(email_consent="denied", consent_at="2026-11-25T10:00:00Z")
    export(accounts)
    mailchimp_sandbox.clear_requests()
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    assert result.json()["counts"]["unsubscribed"] == 1
    assert sent_members(mailchimp_sandbox) == [
        {"path": f"/lists/{mailchimp_sandbox.audience_id}/members/{subscriber_hash('parent5@gmail.com')}",
         "status": "unsubscribed"}]
    after = {m["email_address"]: m for m in mailchimp_sandbox.members()}
    changed = {email for email in before if before[email]["status"] != after[email]["status"]}
    assert changed == {"parent5@gmail.com"} and after["parent5@gmail.com"]["status"] == "unsubscribed"
    assert "('parent5@gmail.com', 'unsubscribed', 'no_consent', 'refused email news in opus1 on 2026-11-25 after " \
           "being synced: unsubscribed in Mailchimp')" in items(home)
    mailchimp_sandbox.clear_requests()
    again = cli("sync", "mailchimp", "--json").json()["counts"]
    assert writes(mailchimp_sandbox) == [] and again["left_alone"] == 1 and again["unsubscribed"] == 0
    assert cli("leavers", "mailchimp").out.startswith("nobody left")  # opus1's own unsubscribe is no news to opus1


def test_a_refusal_never_changes_a_member_opus1_did_not_sync(cli, connect, export, mailchimp_sandbox, home):
    mailchimp_sandbox.seed_member("parent1@gmail.com", tags=("newsletter",))
    connect(export([account(1, consent="denied"), account(2)]))
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    assert statuses_sent(mailchimp_sandbox, "parent1@gmail.com") == []
    assert mailchimp_sandbox.member("parent1@gmail.com")["status"] == "subscribed"
    assert result.json()["counts"]["skipped"] == 1 and result.json()["counts"]["unsubscribed"] == 0
    assert "but not by opus1: left as it is" in items(home)


def test_a_refusal_with_a_new_address_unsubscribes_the_old_member_and_adds_nobody(cli, connect, export,
                                                                                  mailchimp_sandbox):
    accounts = [account(1, email="old.address@gmail.com", consent="granted")]
    accounts += [account(n, consent="granted") for n in range(2, 21)]
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    accounts[0]["account_manager"].update(email="new.address@gmail.com", email_consent="denied")
    export(accounts)
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    counts = result.json()["counts"]
    assert counts["unsubscribed"] == 1 and counts["skipped"] == 1 and counts["email_changed"] == 0
    assert mailchimp_sandbox.member("old.address@gmail.com")["status"] == "unsubscribed"
    assert mailchimp_sandbox.member("new.address@gmail.com") is None
    assert mailchimp_sandbox.member("parent2@gmail.com")["status"] == "subscribed"
    assert cli("sync", "mailchimp", "--json").json()["counts"]["writes"] == 0


def test_a_refusal_with_a_new_address_already_in_the_audience_unsubscribes_the_old_member_and_leaves_the_new(
        cli, connect, export, mailchimp_sandbox):
    accounts = [account(1, email="old.address@gmail.com", consent="granted")]
    accounts += [account(n, consent="granted") for n in range(2, 21)]
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    mailchimp_sandbox.seed_member("new.address@gmail.com", tags=("newsletter",))  # signed up there themselves
    accounts[0]["account_manager"].update(email="new.address@gmail.com", email_consent="denied")
    export(accounts)
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    counts = result.json()["counts"]
    assert (counts["unsubscribed"], counts["skipped"], counts["email_changed"]) == (1, 1, 0)
    assert mailchimp_sandbox.member("old.address@gmail.com")["status"] == "unsubscribed"
    assert mailchimp_sandbox.member("new.address@gmail.com")["status"] == "subscribed"  # not opus1's to change
    assert statuses_sent(mailchimp_sandbox, "new.address@gmail.com") == []
    assert mailchimp_sandbox.member("parent2@gmail.com")["status"] == "subscribed"
    assert cli("sync", "mailchimp", "--json").json()["counts"]["writes"] == 0


def test_the_dry_run_the_plan_and_check_explain_each_consent_decision(cli, connect, export, mailchimp_sandbox,
                                                                      tmp_path):
    accounts = [account(1, consent="granted"), account(2, consent="granted"), account(3, consent="unknown")]
    connect(export(accounts), "--unknown-consent", "skip", "--safety-threshold", "1")
    assert cli("sync", "mailchimp").code == 0
    accounts[0]["account_manager"]["email_consent"] = "denied"
    accounts.append(account(4, consent="denied", consent_at="2026-11-02T08:00:00Z"))
    export(accounts)
    mailchimp_sandbox.clear_requests()
    plan = tmp_path / "plan.csv"
    dry = cli("sync", "mailchimp", "--dry-run", "--plan", plan)
    assert dry.code == 0, dry.err
    assert "1 would be unsubscribed" in dry.out and "2 would not be sent" in dry.out
    assert "parent1@gmail.com: refused email news in opus1 after being synced: unsubscribed" in dry.out
    assert "parent3@gmail.com: email consent unknown: not added" in dry.out
    assert "parent4@gmail.com: refused email news in opus1 on 2026-11-02: not added" in dry.out
    rows = {line.split(",")[0]: line for line in plan.read_text().splitlines()}
    assert rows["parent1@gmail.com"].startswith("parent1@gmail.com,unsubscribed,refused email news")
    assert rows["parent4@gmail.com"].startswith("parent4@gmail.com,skipped,refused email news")
    assert writes(mailchimp_sandbox) == []
    assert cli("sync", "mailchimp").code == 0
    check = cli("check", "mailchimp", "parent4@gmail.com")
    assert "not sent (refused email news in opus1 on 2026-11-02: not added)" in check.out
    assert "not there" in check.out


def test_the_safety_stop_counts_unsubscribes(cli, connect, export, mailchimp_sandbox):
    accounts = [account(n, consent="granted") for n in range(1, 11)]
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    for a in accounts[:5]:  # half the studio refused at once: a wrong export, most likely
        a["account_manager"]["email_consent"] = "denied"
    export(accounts)
    mailchimp_sandbox.clear_requests()
    refused = cli("sync", "mailchimp")
    assert refused.code == 1 and "would unsubscribe 5 of 10 synced members" in refused.err
    assert writes(mailchimp_sandbox) == []
    forced = cli("sync", "mailchimp", "--force", "--json")
    assert forced.json()["counts"]["unsubscribed"] == 5
