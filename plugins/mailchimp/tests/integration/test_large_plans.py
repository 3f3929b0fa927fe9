"""Plans too large to hold at once: changes go out in ``/batches`` jobs of bounded size, the dry run's table lists
the first changes only, and the plan file is written row by row in the same format as before."""

from __future__ import annotations

import json

from conftest import account
from opus1_mailchimp import sender, sync


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


def test_the_dry_run_lists_the_first_changes_and_says_how_many_more(cli, connect, export, monkeypatch):
    monkeypatch.setattr(sync, "SHOWN", 2)
    connect(export([account(n) for n in range(1, 6)]))
    result = cli("sync", "mailchimp", "--dry-run", "--json")
    assert result.code == 0, result.err
    assert result.json()["counts"]["created"] == 5
    listed = [n for n in range(1, 6) if f"parent{n}@gmail.com" in result.err]
    assert listed == [1, 2]
    assert "3 more changes are not shown" in result.err


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
                       "merge_fields": {"FNAME": "Maria", "LNAME": "Family1"}, "tags_add": ["opus1"],
                       "tags_remove": [], "old_email": None}
    empty = tmp_path / "empty.json"
    connect(export([account(1, email=None)]))
    assert cli("sync", "mailchimp", "--dry-run", "--plan", empty).code == 0
    assert json.loads(empty.read_text(encoding="utf-8")) == []
