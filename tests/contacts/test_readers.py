"""The export formats, and the rejection of malformed exports with the problems listed by line and field."""

from __future__ import annotations

import json

import pytest

from opus1_integrations.contacts import Problem, audience, load_audience
from opus1_integrations.contacts.validation import MAX_DEPTH, NESTED_TOO_DEEPLY
from opus1_integrations.api import ExportRejected

from .conftest import CSV_HEADER, account, csv_rows, person, student, write_csv, write_jsonl

ACCOUNTS = [
    account(person("Maria", "Lopez", "maria@gmail.com", person_id="per_1"), [student(person("Leo", person_id="per_2"), programs=("Piano",))], account_id="acc_1"),
    account(person("Tom", "Berg", "tom@gmail.com", person_id="per_3"), [student(person("Tom", "Berg", person_id="per_3"), child=False)], account_id="acc_2"),
]
EXPECTED = {"accounts": 2, "people": 3, "contacts": 2, "skipped": {"child": 1}, "notes": {"duplicate_person": 1},
            "consent": {"granted": 0, "denied": 0, "unknown": 2}}


def rejected(path) -> ExportRejected:
    with pytest.raises(ExportRejected) as caught:
        load_audience(path)
    return caught.value


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".JSONL"])
def test_json_lines(tmp_path, suffix):
    with load_audience(write_jsonl(tmp_path / f"accounts{suffix}", ACCOUNTS)) as audience:
        assert audience.counts == EXPECTED


def test_json_lines_with_bom_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n\r\n".join(json.dumps(a).encode() for a in ACCOUNTS) + b"\r\n\r\n")
    with load_audience(path) as audience:
        assert audience.counts == EXPECTED


@pytest.mark.parametrize("indent", [None, 2])
def test_json_array_is_streamed_in_chunks(tmp_path, monkeypatch, indent):
    monkeypatch.setattr("opus1_integrations.contacts.readers._CHUNK", 7)
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(ACCOUNTS, indent=indent, ensure_ascii=False), encoding="utf-8")
    with load_audience(path) as audience:
        assert audience.counts == EXPECTED


def test_empty_json_array_is_rejected(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(" [ ] ")
    assert [p.message for p in rejected(path).problems] == ["the export holds no accounts"]


@pytest.mark.parametrize("text, line, message", [
    ('{"a": 1}', 1, "one JSON array of accounts"),
    ("[\n" + json.dumps(ACCOUNTS[0]) + ",\n{oops}\n]", 3, "invalid JSON"),
    ("[\n" + json.dumps(ACCOUNTS[0]) + "\n" + json.dumps(ACCOUNTS[1]) + "]", 3, "expected ',' or ']'"),
    ("[\n" + json.dumps(ACCOUNTS[0]) + ",\n", 3, "invalid JSON"),
    ("[\n" + json.dumps(ACCOUNTS[0]), 2, "not closed"),
    ("[" + json.dumps(ACCOUNTS[0]) + "]\nextra", 2, "unexpected content after the array"),
])
def test_malformed_json_array(tmp_path, text, line, message):
    path = tmp_path / "a.json"
    path.write_text(text)
    (problem,) = rejected(path).problems
    assert problem.line == line and message in problem.message


def test_csv_with_bom_crlf_stray_spaces_and_non_adjacent_rows(tmp_path):
    manager1, child1, manager2, self2 = csv_rows(ACCOUNTS)
    rows = [manager1, manager2, self2, child1]  # acc_1's student row comes last
    rows = [[f" {value} " if value else value for value in row] for row in rows]
    child1[9] = " TRUE "
    header = [f" {name.upper()} " for name in CSV_HEADER]
    with load_audience(write_csv(tmp_path / "accounts.csv", rows, header=header)) as audience:
        assert audience.counts == EXPECTED
        assert audience.contact("maria@gmail.com").programs == ("Piano",)
        assert audience.contact("tom@gmail.com").first_name == "Tom"


def test_csv_without_bom_and_with_lf_and_extra_columns(tmp_path):
    rows = [row + ["ignored"] for row in csv_rows(ACCOUNTS)]
    with load_audience(write_csv(tmp_path / "a.csv", rows, header=CSV_HEADER + ["notes"], bom=False, newline="\n")) as audience:
        assert audience.counts == EXPECTED


def test_csv_quoted_newline_keeps_line_and_row_numbers_apart(tmp_path):
    rows = csv_rows(ACCOUNTS)
    rows[0][4] = "Maria\nJosé"
    rows[2][1] = "closed"
    problem, = rejected(write_csv(tmp_path / "a.csv", rows)).problems
    assert (problem.line, problem.row, problem.path) == (5, 4, "account_status")
    assert str(problem).startswith("line 5, row 4, account_status: 'closed' is not one of")


@pytest.mark.parametrize("column, value, message", [
    ("role", "teacher", "expected account_manager or student"),
    ("is_child", "maybe", "expected true or false"),
    ("is_child", "", "expected true or false"),
    ("account_status", "closed", "is not one of"),
    ("updated_at", "20/11/2026", "is not a 'date-time'"),
    ("person_id", "", "should be non-empty"),
])
def test_csv_row_problems_name_the_column(tmp_path, column, value, message):
    rows = csv_rows(ACCOUNTS)
    rows[1][CSV_HEADER.index(column)] = value
    problems = rejected(write_csv(tmp_path / "a.csv", rows)).problems
    assert (problems[0].line, problems[0].row, problems[0].path) == (3, 3, column)
    assert message in problems[0].message


@pytest.mark.parametrize("change, message", [
    (lambda rows: rows[0].__setitem__(9, "true"), "an account manager is an adult"),
    (lambda rows: rows[0].__setitem__(12, "Piano"), "student row"),
    (lambda rows: rows.pop(0), "has no account_manager"),
    (lambda rows: rows.append(rows[0][:2] + ["per_9"] + rows[0][3:]), "2 different account managers"),
    (lambda rows: rows.append(list(rows[1])), "listed 2 times as student"),
    (lambda rows: rows[1].__setitem__(1, "inactive"), "disagree on account_status"),
    (lambda rows: rows[1].__setitem__(11, "2026-01-01T00:00:00Z"), "disagree on updated_at"),
    (lambda rows: rows[1].append("x"), "expected 13 fields, found 14"),
])
def test_csv_account_problems(tmp_path, change, message):
    rows = csv_rows(ACCOUNTS)
    change(rows)
    problems = rejected(write_csv(tmp_path / "a.csv", rows)).problems
    assert any(message in p.message for p in problems), problems


def test_csv_missing_columns(tmp_path):
    header = [c for c in CSV_HEADER if c not in ("email", "programs")]
    (problem,) = rejected(write_csv(tmp_path / "a.csv", [], header=header)).problems
    assert problem.line == 1 and "email, programs" in problem.message


def test_csv_with_only_a_header_holds_no_accounts(tmp_path):
    assert rejected(write_csv(tmp_path / "a.csv", [])).problems[0].message == "the export holds no accounts"


def test_unreadable_csv(tmp_path):
    rows = csv_rows(ACCOUNTS)
    rows[1][4] = "x" * 200_000  # over the csv module's field size limit
    (problem,) = rejected(write_csv(tmp_path / "a.csv", rows)).problems
    assert "unreadable CSV" in problem.message and problem.row == 3


@pytest.mark.parametrize("mutate, path, message", [
    (lambda a: a.pop("account_id"), "", "'account_id' is a required property"),
    (lambda a: a.update(status="closed"), "status", "'closed' is not one of ['active', 'inactive', 'archived']"),
    (lambda a: a.update(updated_at="2026-02-30T10:00:00Z"), "updated_at", "is not a 'date-time'"),
    (lambda a: a.update(created_at="2026-11-20 08:12"), "created_at", "is not a 'date-time'"),
    (lambda a: a["account_manager"].update(email=42), "account_manager.email", "42 is not of type 'string', 'null'"),
    (lambda a: a["students"][0].update(is_child="yes"), "students[0].is_child", "'yes' is not of type 'boolean'"),
    (lambda a: a["students"][0].pop("is_child"), "students[0]", "'is_child' is a required property"),
    (lambda a: a["students"][0]["enrollments"][0].update(program=""), "students[0].enrollments[0].program", "should be non-empty"),
    (lambda a: a.update(students={}), "students", "{} is not of type 'array'"),
    (lambda a: a["account_manager"].update(person_id=""), "account_manager.person_id", "should be non-empty"),
])
def test_schema_problems_name_line_and_field(tmp_path, mutate, path, message):
    accounts = json.loads(json.dumps(ACCOUNTS))
    mutate(accounts[1 if "students" not in path else 0])
    problems = rejected(write_jsonl(tmp_path / "a.jsonl", accounts)).problems
    assert [(p.line, p.path) for p in problems][:1] == [(2 if "students" not in path else 1, path)]
    assert message in problems[0].message


def test_non_object_lines_bad_json_and_invalid_utf8_are_reported_by_line(tmp_path):
    path = tmp_path / "a.jsonl"
    good = json.dumps(ACCOUNTS[0]).encode()
    path.write_bytes(b"\n".join([good, b"[1, 2]", b'{"account_id": "acc_9",', b'{"x": "caf\xe9"}', b"42"]) + b"\n")
    error = rejected(path)
    found = [(p.line, p.message) for p in error.problems]
    assert found[:3] == [
        (2, "[1, 2] is not of type 'object'"),
        (3, "invalid JSON: Expecting property name enclosed in double quotes (column 24)"),
        (4, "not valid UTF-8 (byte 11 of the line); save the export as UTF-8"),
    ]
    assert found[-1] == (5, "42 is not of type 'object'") and error.total == len(found)


def test_invalid_utf8_in_a_json_array(tmp_path):
    path = tmp_path / "a.json"
    path.write_bytes(b"[\n" + json.dumps(ACCOUNTS[0]).encode() + b',\n{"a": "\xff"}]')
    (problem,) = rejected(path).problems
    assert problem.line == 3 and "UTF-8" in problem.message


def test_duplicate_account_lines_and_duplicate_students(tmp_path):
    doubled = json.loads(json.dumps(ACCOUNTS[0]))
    doubled["students"].append(doubled["students"][0])
    problems = rejected(write_jsonl(tmp_path / "a.jsonl", [doubled, ACCOUNTS[1], ACCOUNTS[0]])).problems
    messages = [str(p) for p in problems]
    assert any("line 1, person_id: person per_2 is listed 3 times as student of account acc_1" in m for m in messages)
    assert any("account acc_1 appears on several lines (1, 3)" in m for m in messages)


def test_self_managed_adult_listed_twice_as_student_is_a_problem(tmp_path):
    tom = ACCOUNTS[1]["account_manager"]
    doubled = account(tom, [student(dict(tom), child=False), student(dict(tom), child=False)], account_id="acc_2")
    (problem,) = rejected(write_jsonl(tmp_path / "a.jsonl", [doubled])).problems
    assert problem.message == "person per_3 is listed 2 times as student of account acc_2"


def test_only_the_first_20_problems_are_kept_with_the_total(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(["{bad"] * 57) + "\n")
    error = rejected(path)
    assert len(error.problems) == 20 and error.total == 57
    assert [p.line for p in error.problems] == list(range(1, 21))
    assert all(isinstance(p, Problem) for p in error.problems)
    assert "57 problems" in error.message and error.hint and error.exit_code == 5


@pytest.mark.parametrize("name, content, message", [
    ("accounts.xlsx", b"PK", "unknown export format '.xlsx'"),
    ("accounts", b"{}", "unknown export format '(no extension)'"),
    ("empty.jsonl", b"", "empty.jsonl is empty"),
    ("missing.jsonl", None, "no such file"),
])
def test_unreadable_files(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    error = rejected(path)
    assert message in error.message and error.hint


def test_blank_jsonl_holds_no_accounts(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("\n  \n")
    assert rejected(path).problems[0].message == "the export holds no accounts"


def test_rejection_removes_the_temporary_database(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(audience, "MEMORY_BYTES", 0)  # every export in a file
    path = tmp_path / "a.jsonl"
    path.write_text("{bad\n")
    rejected(path)
    assert not list(tmp_path.glob("opus1-contacts-*"))
    with load_audience(write_jsonl(tmp_path / "b.jsonl", ACCOUNTS)):
        assert len(list(tmp_path.glob("opus1-contacts-*"))) == 1
    assert not list(tmp_path.glob("opus1-contacts-*"))


def test_a_small_export_is_kept_in_memory_and_a_large_one_in_a_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    small = write_jsonl(tmp_path / "small.jsonl", ACCOUNTS)
    monkeypatch.setattr(audience, "MEMORY_BYTES", small.stat().st_size + 1)
    with load_audience(small) as loaded:
        assert not list(tmp_path.glob("opus1-contacts-*")) and loaded.counts == EXPECTED
    monkeypatch.setattr(audience, "MEMORY_BYTES", small.stat().st_size)
    with load_audience(small) as loaded:
        assert len(list(tmp_path.glob("opus1-contacts-*"))) == 1 and loaded.counts == EXPECTED


NESTED = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("where", ["students", "unknown field"])
@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_deeply_nested_json_is_an_export_rejection_with_its_line(tmp_path, run_cli, where, suffix):
    good, bad = (json.dumps(a) for a in ACCOUNTS)
    bad = bad.replace('"students": [', f'"students": [{NESTED}, ') if where == "students" else bad[:-1] + f', "x": {NESTED}}}'
    path = tmp_path / f"a{suffix}"
    path.write_text(f"{good}\n{bad}\n" if suffix == ".jsonl" else f"[{good},\n{bad}]")
    (problem,) = rejected(path).problems
    assert (problem.line, problem.message) == (2, "the JSON is nested too deeply (arrays or objects inside each other) to be an account")
    result = run_cli("contacts", "check", path)
    result.assert_failed(5)
    assert "line 2: the JSON is nested too deeply" in result.err


@pytest.mark.parametrize("depth, rejected_as", [(MAX_DEPTH, None), (MAX_DEPTH + 1, NESTED_TOO_DEEPLY), (900, NESTED_TOO_DEEPLY)])
def test_an_invalid_account_nested_deeper_than_the_parser_stops_is_refused_before_the_schema_checks(tmp_path, depth, rejected_as):
    # The account is the first level of ``depth``, and the arrays in "x" the others.
    value = json.loads("[" * (depth - 1) + "]" * (depth - 1))
    account = {**ACCOUNTS[0], "account_id": 7, "x": value}
    (problem,) = rejected(write_jsonl(tmp_path / "a.jsonl", [account])).problems
    if rejected_as:
        assert (problem.line, problem.path, problem.message) == (1, "", rejected_as)
    else:
        assert (problem.line, problem.path, problem.message) == (1, "account_id", "7 is not of type 'string'")


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_an_integer_of_more_than_4300_digits_is_an_export_rejection_with_its_line(tmp_path, run_cli, suffix):
    good, bad = (json.dumps(a) for a in ACCOUNTS)
    bad = bad.replace('"tom@gmail.com"', "1" * 5000)
    path = tmp_path / f"a{suffix}"
    path.write_text(f"{good}\n{bad}\n" if suffix == ".jsonl" else f"[{good},\n{bad}]")
    (problem,) = rejected(path).problems
    assert (problem.line, problem.message) == (2, "a number has more than 4,300 digits")
    result = run_cli("contacts", "check", path)
    result.assert_failed(5)
    assert "line 2: a number has more than 4,300 digits" in result.err
