"""Plans too large to hold at once: changes go out in ``/batches`` jobs of bounded size, the dry run shows the
first contacts of each kind only, and the plan file is written row by row."""

from __future__ import annotations

import json

from conftest import account
from opus1_mailchimp import sender


def test_changes_go_out_in_batches_jobs_of_at_most_the_operation_limit(cli, connect, export, mailchimp_sandbox,
                                                                          monkeypatch):
    monkeypatch.setattr(sender, "BATCH_OPERATIONS", 3)
    accounts = [account(n) for n in range(1, 11)]
    connect(export(accounts))
    assert cli("sync", "mailchimp").code == 0
    for a in accounts[:7]:
        a["account_manager"]["first_name"] = "Renamed"
    export(accounts)
    mailchimp_sandbox.clear_requests()
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    assert result.json()["counts"]["updated"] == 7 and result.json()["counts"]["failed"] == 0
    jobs = [r for r in mailchimp_sandbox.requests if r.method == "POST" and r.path.endswith("/batches")]
    assert [len(json.loads(r.body)["operations"]) for r in jobs] == [3, 3, 1]
    for n in range(1, 8):
        assert mailchimp_sandbox.member(f"parent{n}@gmail.com")["merge_fields"]["FNAME"] == "Renamed"


def test_the_dry_run_is_shown_once_by_the_host_with_the_first_contacts_of_each_kind(cli, connect, export):
    connect(export([account(n) for n in range(1, 16)]))
    result = cli("sync", "mailchimp", "--dry-run")
    assert result.code == 0, result.err
    keys = sorted(f"parent{n}@gmail.com" for n in range(1, 16))  # the contacts come in key order
    assert [key for key in keys if key in result.out] == keys[:10]  # the host lists the first 10 of each kind
    assert result.out.count("parent1@gmail.com") == 1 and "... and 5 more" in result.out
    assert "parent1@gmail.com" not in result.err  # the plugin prints no table of its own


def test_the_plan_file_is_the_json_of_the_whole_plan(cli, connect, export, mailchimp_sandbox, tmp_path):
    connect(export([account(n) for n in range(1, 4)]))
    mailchimp_sandbox.seed_member("parent2@gmail.com", status="unsubscribed", unsubscribed_by="contact")
    path = tmp_path / "plan.json"
    assert cli("sync", "mailchimp", "--dry-run", "--plan", path).code == 0
    text = path.read_text(encoding="utf-8")
    rows = json.loads(text)
    assert text == json.dumps(rows, indent=2, ensure_ascii=False)
    assert [(r["email"], r["action"]) for r in rows] == [
        ("parent1@gmail.com", "created"), ("parent2@gmail.com", "left_alone"), ("parent3@gmail.com", "created")]
    assert rows[0] == {"email": "parent1@gmail.com", "action": "created", "reason": "not in the audience yet",
                       "status": "subscribed", "merge_fields": {"FNAME": "Maria", "LNAME": "Family1"},
                       "tags_add": ["opus1"], "tags_remove": [], "old_email": None, "person_ids": ["per_1"]}
    nobody = tmp_path / "nobody.json"
    connect(export([account(1, email=None)]))
    assert cli("sync", "mailchimp", "--dry-run", "--plan", nobody).code == 0
    assert json.loads(nobody.read_text(encoding="utf-8")) == [{
        "email": "", "action": "not_synced", "reason": "no_email: Maria Family1 has no email address in opus1.",
        "status": None, "merge_fields": {}, "tags_add": [], "tags_remove": [], "old_email": None,
        "person_ids": ["per_1"]}]
