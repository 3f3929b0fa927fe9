"""``contacts check``: the counts with what each means, the people left out by name, the records to fix; on stdout."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opus1_integrations.cli.contacts import SHOWN_PER_KIND, contacts_app
from opus1_integrations.api import ExportRejected
from opus1_integrations.contacts import NOTES, REASONS

from .conftest import account, person, student, write_jsonl

STUDIO = Path(__file__).resolve().parents[2] / "examples" / "studio" / "accounts.jsonl"


def invoke(*args):
    return CliRunner().invoke(contacts_app, list(args))


def test_check_prints_counts_and_records_to_fix_on_stdout():
    result = invoke("check", str(STUDIO))
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "accounts.jsonl: 160 accounts, 289 people, 135 contacts to sync (one per email address)."
    for text in ("Invalid email addresses (5):", "Children holding an email (2):", "One email on several accounts",
                 "kevin.obrien@gmail"):
        assert text in result.stdout


def test_every_count_comes_with_what_it_means():
    shown = invoke("check", str(STUDIO)).stdout
    for reason, meaning in REASONS.items():
        if reason != "eligible":
            assert re.search(rf"^ +\d+  {reason}: {re.escape(meaning)}$", shown, re.M), reason
    for note, meaning in NOTES.items():
        assert re.search(rf"^ +\d+  {note}: {re.escape(meaning)}$", shown, re.M), note


def test_the_people_without_an_email_and_those_not_reached_are_named():
    shown = invoke("check", str(STUDIO)).stdout
    named = shown.split("People without an email (11):\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(named) == 11 and "  Aaron Thomas (per_132, account acc_1073)" in named
    reached = shown.split("Children whose family is not reached (14):\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(reached) == 14 and "  Owen Brooks (per_108, account acc_1059)" in reached
    document = json.loads(invoke("check", str(STUDIO), "--json").stdout)
    assert len(document["people"]["no_email"]) == 11 and len(document["people"]["not_reached"]) == 14


def test_check_json_on_stdout():
    result = invoke("check", str(STUDIO), "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["counts"]["accounts"] == 160
    codes = {issue["code"] for issue in document["issues"]}
    assert codes == {"invalid_email", "child_has_email", "email_on_several_accounts", "conflicting_records"}
    assert all(issue["fix"] and issue["person_ids"] and issue["account_ids"] for issue in document["issues"])


def test_check_a_clean_export(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [account(person(email="ok@gmail.com"), [student()])])
    result = invoke("check", str(path))
    assert result.exit_code == 0 and "Nothing to fix in opus1." in result.stdout


def test_check_long_lists_are_cut_in_tables_but_not_in_json(tmp_path):
    accounts = [account(person(email=f"bad{i}@gmail")) for i in range(SHOWN_PER_KIND + 5)]
    path = write_jsonl(tmp_path / "a.jsonl", accounts)
    assert "  ... and 5 more; use --json for the full list." in invoke("check", str(path)).stdout
    assert len(json.loads(invoke("check", str(path), "--json").stdout)["issues"]) == SHOWN_PER_KIND + 5


def test_check_rejected_export_raises_with_problems(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"account_id": 1}\n')
    result = invoke("check", str(path))
    assert isinstance(result.exception, ExportRejected)
    assert result.exception.total == 6 and result.exception.problems[0].line == 1


def test_check_needs_a_file():
    assert invoke("check").exit_code == 2


@pytest.mark.parametrize("args", [[], ["--help"]])
def test_help_lists_the_check_command_with_its_summary(args):
    result = invoke(*args)
    assert result.exit_code == (0 if args else 2)
    assert "Usage: " in result.output and "[OPTIONS] COMMAND [ARGS]..." in result.output
    (row,) = [line for line in result.output.splitlines() if " check " in line]
    assert "Count accounts, people and contacts" in row
