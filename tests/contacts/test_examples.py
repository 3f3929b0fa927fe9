"""The example studio export (JSONL and CSV agree and cover every rule) and the synthetic export generator."""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest

from opus1_integrations.contacts import NOTES, QUALITY_CODES, REASONS, load_audience

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STUDIO = EXAMPLES / "studio"
#: The example studio's whole result, reviewed by a person: rewrite it with OPUS1_UPDATE_GOLDEN=1, then review
#: the diff (git diff) line by line before committing it.
GOLDEN = Path(__file__).with_name("studio_golden.json")


def _generator():
    spec = importlib.util.spec_from_file_location("generate_export", EXAMPLES / "generate_export.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _summary(path: Path):
    with load_audience(path) as audience:
        contacts = [(c.key, c.email, c.first_name, c.last_name, c.phone, c.account_ids, c.person_ids, c.account_status, c.programs,
                     c.email_consent, c.consent_at) for c in audience.contacts()]
        decisions = [(d.person_id, d.reason, d.contact_key, d.notes, d.detail, d.email_consent, d.consent_at)
                     for d in audience.decisions()]
        issues = [(i.code, i.person_ids, i.account_ids) for i in audience.quality()]
        return audience.counts, contacts, decisions, issues


@pytest.fixture(scope="module")
def studio():
    return _summary(STUDIO / "accounts.jsonl")


def _document(path: Path) -> dict:
    """Everything the rules give for an export: counts, contacts, decisions (with their wording) and issues."""
    with load_audience(path) as audience:
        return json.loads(json.dumps({
            "counts": audience.counts,
            "contacts": [contact.to_dict() for contact in audience.contacts()],
            "decisions": [asdict(decision) for decision in audience.decisions()],
            "issues": [asdict(issue) for issue in audience.quality()],
        }))


def _write_golden(document: dict) -> None:
    """One line per contact, decision and issue, so that a change reads as a diff of the people it touches."""
    parts = []
    for name, value in document.items():
        if isinstance(value, list):
            items = ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in value)
            parts.append(f'"{name}": [\n{items}\n]')
        else:
            parts.append(f'"{name}": {json.dumps(value, ensure_ascii=False)}')
    GOLDEN.write_text("{\n" + ",\n".join(parts) + "\n}\n", encoding="utf-8")


def test_studio_gives_the_reviewed_result_from_jsonl_and_from_csv():
    document = _document(STUDIO / "accounts.jsonl")
    if os.environ.get("OPUS1_UPDATE_GOLDEN"):
        _write_golden(document)
        pytest.skip(f"rewrote {GOLDEN.name}: review its diff before committing it")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert document == golden
    for contact in golden["contacts"]:
        contact["teachers"] = []  # CSV has no teachers
    assert _document(STUDIO / "accounts.csv") == golden


def test_studio_csv_gives_the_same_result_as_jsonl(studio):
    raw = (STUDIO / "accounts.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert _summary(STUDIO / "accounts.csv") == studio


def test_studio_exercises_every_rule(studio):
    counts, contacts, decisions, issues = studio
    assert 100 <= counts["accounts"] <= 200
    assert set(counts["skipped"]) == set(REASONS) - {"eligible"}
    assert set(counts["notes"]) == set(NOTES)
    assert all(counts["consent"].values()) and counts["consent"]["granted"] > counts["contacts"] / 2
    assert {code for code, *_ in issues} == set(QUALITY_CODES)
    assert counts["people"] == counts["contacts"] + sum(counts["skipped"].values())
    assert not any("example.com" in c[0] or c[0].endswith(".test") for c in contacts)


def test_studio_named_cases(studio):
    _, contacts, decisions, _ = studio
    by_key = {c[0]: c for c in contacts}
    assert by_key["chen.family@outlook.com"][2] == "Lin"  # spouse whose account was updated last
    assert by_key["robert.miller73@comcast.net"][2] == "Robert"  # same update time: the lowest person_id
    assert by_key["susan.park@gmail.com"][2] == "Susan"  # the manager before her adult daughter
    assert by_key["rachel.green@gmail.com"][5] == ("acc_1023", "acc_1024")  # archived account merged in
    reasons = {d[0]: d[1] for d in decisions}
    assert reasons["per_1"] == "eligible" and reasons["per_2"] == "child"
    consents = {c[0]: c[9:] for c in contacts}
    assert consents["susan.park@gmail.com"] == ("denied", "2026-11-25T13:58:00Z")  # her daughter Grace refused
    assert consents["rachel.green@gmail.com"] == ("granted", "2026-09-03T11:00:00+02:00")  # the later of two grants


def test_generator_is_deterministic_and_both_formats_agree(tmp_path):
    generate = _generator().generate
    generate(tmp_path / "a.jsonl", 600, seed=5)
    generate(tmp_path / "b.jsonl", 600, seed=5, fmt="jsonl")
    generate(tmp_path / "c.csv", 600, seed=5)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    generate(tmp_path / "d.jsonl", 600, seed=6)
    assert (tmp_path / "a.jsonl").read_bytes() != (tmp_path / "d.jsonl").read_bytes()
    jsonl, csv = _summary(tmp_path / "a.jsonl"), _summary(tmp_path / "c.csv")
    assert jsonl[0] == csv[0] and jsonl[1] == csv[1]
    counts = jsonl[0]
    assert 1.3 < counts["people"] / counts["accounts"] < 1.8
    assert set(counts["skipped"]) == set(REASONS) - {"eligible"}


def test_generated_csv_has_rows_of_one_account_apart(tmp_path):
    _generator().generate(tmp_path / "a.csv", 300, seed=1)
    accounts = [line.split(b",")[0] for line in (tmp_path / "a.csv").read_bytes().split(b"\r\n")[1:] if line]
    seen, apart = set(), 0
    for previous, current in zip(accounts, accounts[1:]):
        apart += current != previous and current in seen
        seen.add(previous)
    assert apart > 0
