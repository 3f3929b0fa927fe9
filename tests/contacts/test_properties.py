"""Invariants of the audience rules on generated exports (Hypothesis): they hold for every export, however odd.

The exports are small and drawn from small pools of people, addresses, names and times, so that shared
addresses, people listed on several accounts, conflicting records, archived accounts and ties are common.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from opus1_integrations.contacts import REASONS, load_audience
from opus1_integrations.contacts.emails import EmailChecker
from opus1_integrations.contacts.store import CONSENT_RANKS
from opus1_integrations.contacts.validation import timestamp

from .conftest import csv_rows, write_csv, write_jsonl, CSV_HEADER

# Fast enough for the normal suite (each example loads an export: ~13 s for all four tests); no deadline, since a
# loaded machine is slow. OPUS1_PROPERTY_EXAMPLES=2000 searches harder (docs/testing.md).
PROPERTY = settings(max_examples=int(os.environ.get("OPUS1_PROPERTY_EXAMPLES", "80")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

PEOPLE = [f"per_{n}" for n in range(1, 9)]
EMAILS = [None, "a@gmail.com", " A@Gmail.com ", "b@yahoo.com", "c@outlook.com", "bad@", "x@example.com", "   "]
TIMES = ["2025-01-01T00:00:00Z", "2026-06-01T12:00:00+02:00", "2026-06-01T10:00:00Z"]  # the last two are one instant
CONSENTS = [{}, {"email_consent": "granted"}, {"email_consent": "denied"}, {"email_consent": "unknown"}, {"email_consent": None}]


@st.composite
def listing(draw, person_id: str | None = None) -> dict:
    """One listing of a person: any of the pooled values, so that the listings of one person may disagree."""
    consent = dict(draw(st.sampled_from(CONSENTS)))
    if consent.get("email_consent") in ("granted", "denied"):
        consent["consent_at"] = draw(st.sampled_from([None, *TIMES]))
    return {
        "person_id": person_id or draw(st.sampled_from(PEOPLE)),
        "first_name": draw(st.sampled_from(["Ann", "Bo", "Cy"])),
        "last_name": draw(st.sampled_from(["Lee", "Kim"])),
        "email": draw(st.sampled_from(EMAILS)),
        "phone": draw(st.sampled_from([None, "+1 206 555 0100", "+1 206 555 0101"])),
        **consent,
    }


@st.composite
def student(draw) -> dict:
    return {**draw(listing()), "is_child": draw(st.booleans()),
            "enrollments": [{"program": p, "teacher": draw(st.sampled_from([None, "Ms. Kim"]))}
                            for p in draw(st.lists(st.sampled_from(["Piano", "Tap", "Voice"]), max_size=2, unique=True))]}


@st.composite
def export(draw) -> list[dict]:
    """1-6 accounts; a person is listed at most once per role on an account (the export's own rule)."""
    accounts = []
    for number in range(draw(st.integers(1, 6))):
        manager = draw(listing())
        students = draw(st.lists(student(), max_size=3, unique_by=lambda s: s["person_id"]))
        accounts.append({
            "account_id": f"acc_{number}", "status": draw(st.sampled_from(["active", "inactive", "archived"])),
            "created_at": TIMES[0], "updated_at": draw(st.sampled_from(TIMES)),
            "account_manager": manager, "students": students,
        })
    return accounts


def _listings(accounts: list[dict]) -> dict[str, list[dict]]:
    found = defaultdict(list)
    for account in accounts:
        for person in [account["account_manager"], *account["students"]]:
            found[person["person_id"]].append(person)
    return found


def _rank(consent: str | None) -> int:
    return CONSENT_RANKS.index(consent or "unknown")


def _loaded(accounts: list[dict], fmt: str = "jsonl"):
    """The contacts, decisions and counts of ``accounts`` written as ``fmt``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"a.{fmt}"
        if fmt == "jsonl":
            write_jsonl(path, accounts)
        else:
            rows = csv_rows(accounts)
            people = [p for a in accounts for p in [a["account_manager"], *a["students"]]]
            for row, person in zip(rows, people):
                row += [person.get("email_consent") or "", person.get("consent_at") or ""]
            write_csv(path, rows, header=CSV_HEADER + ["email_consent", "consent_at"])
        with load_audience(path) as audience:
            return list(audience.contacts()), list(audience.decisions()), audience.counts


@PROPERTY
@given(export())
def test_every_person_gets_exactly_one_reason_and_the_counts_add_up(accounts):
    contacts, decisions, counts = _loaded(accounts)
    assert sorted(d.person_id for d in decisions) == sorted(_listings(accounts))
    assert all(d.reason in REASONS for d in decisions)
    assert counts["people"] == len(decisions) == counts["contacts"] + sum(counts["skipped"].values())
    assert counts["contacts"] == len(contacts) == sum(counts["consent"].values())
    for d in decisions:
        assert (d.reason == "child") == d.is_child
        assert (d.contact_key is not None) == (d.reason in ("eligible", "shared_email") or (d.is_child and "not_reached" not in d.notes))


@PROPERTY
@given(export())
def test_one_contact_per_normalised_email_named_by_one_adult_and_no_child_in_it(accounts):
    contacts, decisions, _ = _loaded(accounts)
    keys = [c.key for c in contacts]
    assert keys == sorted(set(keys))
    by_person = {d.person_id: d for d in decisions}
    children = {d.person_id for d in decisions if d.is_child}
    listings = _listings(accounts)
    live = {a["account_id"] for a in accounts if a["status"] != "archived"}
    for contact in contacts:
        assert contact.key == contact.email.strip().lower() and EmailChecker().problem(contact.email) is None
        assert live & set(contact.account_ids)
        merged = [d for d in decisions if d.contact_key == contact.key and d.reason in ("eligible", "shared_email")]
        (named_by,) = [d for d in merged if d.reason == "eligible"]
        assert live & set(named_by.account_ids)  # archived people never name a contact
        assert sorted(contact.person_ids) == sorted(d.person_id for d in merged) and not children & set(contact.person_ids)
        assert (contact.first_name, contact.last_name, contact.email) == (named_by.first_name, named_by.last_name, named_by.email)
        assert all(by_person[p].email.strip().lower() == contact.key for p in contact.person_ids)
        assert contact.phone in {None} | {x["phone"] for p in contact.person_ids for x in listings[p]}
    # A child's address reaches no contact unless an adult merged into that contact holds it too.
    assert not {c.key for c in contacts} & {d.email.strip().lower() for d in decisions if d.is_child and d.email} - {
        d.contact_key for d in decisions if not d.is_child and d.reason in ("eligible", "shared_email")}


@PROPERTY
@given(export())
def test_consent_a_denial_behind_an_address_always_makes_the_contact_denied(accounts):
    contacts, decisions, _ = _loaded(accounts)
    by_person = {d.person_id: d for d in decisions}
    for person_id, listed in _listings(accounts).items():
        decision = by_person[person_id]
        assert _rank(decision.email_consent) == max(_rank(x.get("email_consent")) for x in listed)
        assert decision.consent_at in {x.get("consent_at") for x in listed if _rank(x.get("email_consent")) == _rank(decision.email_consent)}
    for contact in contacts:
        people = [by_person[p] for p in contact.person_ids]
        assert _rank(contact.email_consent) == max(_rank(d.email_consent) for d in people)
        if any(d.email_consent == "denied" for d in people):
            assert contact.email_consent == "denied"
        deciding = [d.consent_at for d in people if d.email_consent == contact.email_consent]
        latest = max((timestamp(at) for at in deciding if at), default=None)
        assert (timestamp(contact.consent_at) if contact.consent_at else None) == latest


@PROPERTY
@given(export())
def test_csv_gives_what_json_lines_give(accounts):
    contacts, decisions, counts = _loaded(accounts)
    from_csv = _loaded(accounts, "csv")
    assert from_csv[1:] == (decisions, counts)
    assert from_csv[0] == [c.__class__(**{**c.to_dict(), "account_ids": c.account_ids, "person_ids": c.person_ids,
                                          "programs": c.programs, "teachers": ()}) for c in contacts]
