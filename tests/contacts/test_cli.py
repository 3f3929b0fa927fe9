"""``contacts check``: the counts and the records to fix, as tables on stderr or JSON on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opus1_integrations.contacts.cli import SHOWN_PER_KIND, contacts_app
from opus1_integrations.api import ExportRejected

from .conftest import account, person, student, write_jsonl

STUDIO = Path(__file__).resolve().parents[2] / "examples" / "studio" / "accounts.jsonl"


def invoke(*args):
    return CliRunner().invoke(contacts_app, list(args))


def test_check_prints_counts_and_records_to_fix_on_stderr():
    result = invoke("check", str(STUDIO))
    assert result.exit_code == 0 and result.stdout == ""
    for text in ("accounts", "eligible contacts", "skipped: invalid_email", "Invalid email addresses",
                 "Children holding an email", "One email on several accounts", "kevin.obrien@gmail"):
        assert text in result.stderr


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
    assert result.exit_code == 0 and "Nothing to fix in opus1." in result.stderr


def test_check_long_lists_are_cut_in_tables_but_not_in_json(tmp_path):
    accounts = [account(person(email=f"bad{i}@gmail")) for i in range(SHOWN_PER_KIND + 5)]
    path = write_jsonl(tmp_path / "a.jsonl", accounts)
    assert "... and 5 more; use --json for the full list." in invoke("check", str(path)).stderr
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
