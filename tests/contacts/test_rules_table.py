"""One small, named export per rule of docs/contacts.md, with every contact and every decision it gives, exactly.

Each case's id names the documented rule it pins (the reason code, note or contact field first). The exports use
fixed ids so that the expected results read as plain data. (Over 300 lines: it is one table, a case per rule.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from opus1_integrations.contacts import NOTES, REASONS, Contact, load_audience

from .conftest import csv_rows, write_csv, write_jsonl

OLD, MID, NEW = "2025-03-01T10:00:00Z", "2026-01-15T10:00:00Z", "2026-11-20T08:12:00Z"


def p(pid: str, first: str, last: str, email: str | None = None, phone: str | None = None) -> dict:
    """A person with a fixed id."""
    return {"person_id": pid, "first_name": first, "last_name": last, "email": email, "phone": phone}


def kid(person: dict, *programs: str, teacher: str | None = None) -> dict:
    """``person`` as a child student enrolled in ``programs``."""
    return {**person, "is_child": True, "enrollments": [{"program": x, "teacher": teacher} for x in programs]}


def grown(person: dict, *programs: str, teacher: str | None = None) -> dict:
    """``person`` as an adult student enrolled in ``programs``."""
    return {**kid(person, *programs, teacher=teacher), "is_child": False}


def acc(aid: str, manager: dict, *students: dict, status: str = "active", updated: str = NEW) -> dict:
    """An account."""
    return {"account_id": aid, "status": status, "created_at": OLD, "updated_at": updated,
            "account_manager": manager, "students": list(students)}


def C(key: str, email: str, first: str, last: str, phone: str | None, accounts: tuple, people: tuple,
      status: str = "active", programs: tuple = (), teachers: tuple = ()) -> Contact:
    """The expected contact (consent unknown: the consent rules have test_consent.py)."""
    return Contact(key, email, first, last, phone, accounts, people, status, programs, teachers)


@dataclass(frozen=True)
class D:
    """The expected decision of one person."""

    person_id: str
    reason: str
    first_name: str
    last_name: str
    email: str | None = None
    contact_key: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    rule: str
    accounts: list
    contacts: list
    decisions: list


MARIA, LEO = p("per_1", "Maria", "Lopez", "Maria.Lopez@gmail.com", "+1 415 555 0101"), p("per_2", "Leo", "Lopez")
CASES = [
    Case(
        "eligible: an adult of an active or inactive account with a valid email names their contact",
        [acc("acc_1", MARIA, kid(LEO, "Piano", teacher="Ms. Kim"), status="inactive")],
        [C("maria.lopez@gmail.com", "Maria.Lopez@gmail.com", "Maria", "Lopez", "+1 415 555 0101", ("acc_1",), ("per_1",),
           "inactive", ("Piano",), ("Ms. Kim",))],
        [D("per_1", "eligible", "Maria", "Lopez", "Maria.Lopez@gmail.com", "maria.lopez@gmail.com"),
         D("per_2", "child", "Leo", "Lopez", None, "maria.lopez@gmail.com")],
    ),
    Case(
        "shared_email: one address, whatever its case and spaces, is one contact",
        [acc("acc_1", p("per_1", "Wei", "Chen", "chen.family@outlook.com", "+1 650 555 0182"), updated=OLD),
         acc("acc_2", p("per_2", "Lin", "Chen", " Chen.Family@Outlook.com "), updated=NEW)],
        [C("chen.family@outlook.com", "Chen.Family@Outlook.com", "Lin", "Chen", "+1 650 555 0182", ("acc_1", "acc_2"),
           ("per_1", "per_2"))],
        [D("per_1", "shared_email", "Wei", "Chen", "chen.family@outlook.com", "chen.family@outlook.com"),
         D("per_2", "eligible", "Lin", "Chen", "Chen.Family@Outlook.com", "chen.family@outlook.com")],
    ),
    Case(
        "shared_email: named after an account manager before a student",
        [acc("acc_1", p("per_1", "Priya", "Singh", "priya@gmail.com"), updated=OLD),
         acc("acc_2", p("per_2", "Ahmed", "Haddad"), grown(p("per_3", "Sami", "Haddad", "PRIYA@gmail.com", "+1 206 555 0100"), "Voice"),
             updated=NEW)],
        [C("priya@gmail.com", "priya@gmail.com", "Priya", "Singh", "+1 206 555 0100", ("acc_1", "acc_2"), ("per_1", "per_3"),
           programs=("Voice",))],
        [D("per_1", "eligible", "Priya", "Singh", "priya@gmail.com", "priya@gmail.com"),
         D("per_2", "no_email", "Ahmed", "Haddad"),
         D("per_3", "shared_email", "Sami", "Haddad", "PRIYA@gmail.com", "priya@gmail.com")],
    ),
    Case(
        "shared_email: then the person on the most recently updated account",
        [acc("acc_1", p("per_1", "Wei", "Chen", "chen@outlook.com"), updated=MID),
         acc("acc_2", p("per_2", "Lin", "Chen", "CHEN@outlook.com"), updated=NEW),
         acc("acc_3", p("per_3", "Ann", "Chen", "chen@Outlook.com"), updated=OLD)],
        [C("chen@outlook.com", "CHEN@outlook.com", "Lin", "Chen", None, ("acc_1", "acc_2", "acc_3"), ("per_1", "per_2", "per_3"))],
        [D("per_1", "shared_email", "Wei", "Chen", "chen@outlook.com", "chen@outlook.com"),
         D("per_2", "eligible", "Lin", "Chen", "CHEN@outlook.com", "chen@outlook.com"),
         D("per_3", "shared_email", "Ann", "Chen", "chen@Outlook.com", "chen@outlook.com")],
    ),
    Case(
        "shared_email: then the lowest person id, shorter ids first",
        [acc("acc_1", p("per_10", "Rob", "Miller", "Robert.Miller@comcast.net")),
         acc("acc_2", p("per_9", "Robert", "Miller", "robert.miller@comcast.net")),
         acc("acc_3", p("per_11", "Bob", "Miller", "robert.miller@comcast.net"))],
        [C("robert.miller@comcast.net", "robert.miller@comcast.net", "Robert", "Miller", None, ("acc_1", "acc_2", "acc_3"),
           ("per_10", "per_11", "per_9"))],
        [D("per_10", "shared_email", "Rob", "Miller", "Robert.Miller@comcast.net", "robert.miller@comcast.net"),
         D("per_11", "shared_email", "Bob", "Miller", "robert.miller@comcast.net", "robert.miller@comcast.net"),
         D("per_9", "eligible", "Robert", "Miller", "robert.miller@comcast.net", "robert.miller@comcast.net")],
    ),
    Case(
        "shared_email: an archived person sharing a current address is merged but names nothing",
        [acc("acc_1", p("per_1", "Rachel", "Green", "rachel@gmail.com", "+1 212 555 0101"), kid(p("per_2", "Ben", "Green"), "Violin"),
             status="archived", updated=NEW),
         acc("acc_2", p("per_3", "Joey", "Tribbiani"), grown(p("per_4", "Rae", "Green", "Rachel@gmail.com"), "Cello"), updated=OLD)],
        [C("rachel@gmail.com", "Rachel@gmail.com", "Rae", "Green", "+1 212 555 0101", ("acc_1", "acc_2"), ("per_1", "per_4"),
           programs=("Cello",))],
        [D("per_1", "shared_email", "Rachel", "Green", "rachel@gmail.com", "rachel@gmail.com"),
         D("per_2", "child", "Ben", "Green", None, "rachel@gmail.com"),
         D("per_3", "no_email", "Joey", "Tribbiani"),
         D("per_4", "eligible", "Rae", "Green", "Rachel@gmail.com", "rachel@gmail.com")],
    ),
    Case(
        "child: never a contact, even holding an email, and reached through the account manager",
        [acc("acc_1", p("per_1", "Anna", "Martin", "anna@gmail.com"),
             kid(p("per_2", "Ava", "Martin", "ava.martin@gmail.com", "+1 415 555 0199"), "Piano"),
             kid(p("per_3", "Max", "Martin", "anna@gmail.com"), "Drums"))],
        [C("anna@gmail.com", "anna@gmail.com", "Anna", "Martin", None, ("acc_1",), ("per_1",), programs=("Drums", "Piano"))],
        [D("per_1", "eligible", "Anna", "Martin", "anna@gmail.com", "anna@gmail.com"),
         D("per_2", "child", "Ava", "Martin", "ava.martin@gmail.com", "anna@gmail.com", ("child_has_email",)),
         D("per_3", "child", "Max", "Martin", "anna@gmail.com", "anna@gmail.com", ("child_has_email",))],
    ),
    Case(
        "account_archived: all accounts archived comes before no_email and invalid_email",
        [acc("acc_1", p("per_1", "Olga", "Ivanova", "olga@yandex.com"), status="archived"),
         acc("acc_2", p("per_2", "Ivan", "Petrov"), status="archived"),
         acc("acc_3", p("per_3", "Oleg", "Sidorov", "oleg@@yandex.com"), status="archived")],
        [],
        [D("per_1", "account_archived", "Olga", "Ivanova", "olga@yandex.com"),
         D("per_2", "account_archived", "Ivan", "Petrov"),
         D("per_3", "account_archived", "Oleg", "Sidorov", "oleg@@yandex.com")],
    ),
    Case(
        "account_archived: an address shared by archived people only has no contact",
        [acc("acc_1", p("per_1", "Dan", "Kim", "kim@gmail.com"), status="archived"),
         acc("acc_2", p("per_2", "Sue", "Kim", "KIM@gmail.com"), status="archived")],
        [],
        [D("per_1", "account_archived", "Dan", "Kim", "kim@gmail.com"),
         D("per_2", "account_archived", "Sue", "Kim", "KIM@gmail.com")],
    ),
    Case(
        "account_archived: a person with a current and an archived account is a contact of the current one",
        [acc("acc_1", p("per_1", "Dan", "Kim", "kim@gmail.com"), status="archived", updated=NEW),
         acc("acc_2", p("per_1", "Dan", "Kim", "kim@gmail.com"), status="inactive", updated=OLD)],
        [C("kim@gmail.com", "kim@gmail.com", "Dan", "Kim", None, ("acc_1", "acc_2"), ("per_1",), "inactive")],
        [D("per_1", "eligible", "Dan", "Kim", "kim@gmail.com", "kim@gmail.com", ("duplicate_person",))],
    ),
    Case(
        "no_email: no address, so the family is not reached",
        [acc("acc_1", p("per_1", "Brian", "Taylor", "   "), kid(p("per_2", "Mia", "Taylor"), "Ballet"))],
        [],
        [D("per_1", "no_email", "Brian", "Taylor"),
         D("per_2", "child", "Mia", "Taylor", None, None, ("not_reached",))],
    ),
    Case(
        "invalid_email: an invalid address, shared or not, is never a contact",
        [acc("acc_1", p("per_1", "Kevin", "OBrien", "kevin@gmail")),
         acc("acc_2", p("per_2", "Kate", "OBrien", "Kevin@gmail")),
         acc("acc_3", p("per_3", "Ken", "Doe", "ken@example.com"), kid(p("per_4", "Kid", "Doe")))],
        [],
        [D("per_1", "invalid_email", "Kevin", "OBrien", "kevin@gmail"),
         D("per_2", "invalid_email", "Kate", "OBrien", "Kevin@gmail"),
         D("per_3", "invalid_email", "Ken", "Doe", "ken@example.com"),
         D("per_4", "child", "Kid", "Doe", None, None, ("not_reached",))],
    ),
    Case(
        "duplicate_person: an adult who manages their own account and studies is one person",
        [acc("acc_1", p("per_1", "David", "Okafor", "david@gmail.com"),
             grown(p("per_1", "David", "Okafor", None, "+1 303 555 0144"), "Piano", teacher="Ms. Kim"))],
        [C("david@gmail.com", "david@gmail.com", "David", "Okafor", "+1 303 555 0144", ("acc_1",), ("per_1",),
           programs=("Piano",), teachers=("Ms. Kim",))],
        [D("per_1", "eligible", "David", "Okafor", "david@gmail.com", "david@gmail.com", ("duplicate_person",))],
    ),
    Case(
        "duplicate_person: a parent managing two accounts is one person and one contact",
        [acc("acc_a", p("per_1", "Jen", "Walsh", "jen@yahoo.com"), kid(p("per_2", "Tim", "Walsh"), "Tap")),
         acc("acc_b", p("per_1", "Jen", "Walsh", "jen@yahoo.com"), kid(p("per_3", "Amy", "Walsh"), "Voice", teacher="Ms. Rossi"))],
        [C("jen@yahoo.com", "jen@yahoo.com", "Jen", "Walsh", None, ("acc_a", "acc_b"), ("per_1",),
           programs=("Tap", "Voice"), teachers=("Ms. Rossi",))],
        [D("per_1", "eligible", "Jen", "Walsh", "jen@yahoo.com", "jen@yahoo.com", ("duplicate_person",)),
         D("per_2", "child", "Tim", "Walsh", None, "jen@yahoo.com"),
         D("per_3", "child", "Amy", "Walsh", None, "jen@yahoo.com")],
    ),
    Case(
        "conflicting_records: the record on a current account is preferred",
        [acc("acc_1", p("per_1", "Hannah", "Schmitt", "old@gmail.com", "+1 111 555 0101"), status="archived", updated=NEW),
         acc("acc_2", p("per_1", "Hannah", "Schmidt", "hannah@gmail.com"), updated=OLD)],
        [C("hannah@gmail.com", "hannah@gmail.com", "Hannah", "Schmidt", "+1 111 555 0101", ("acc_1", "acc_2"), ("per_1",))],
        [D("per_1", "eligible", "Hannah", "Schmidt", "hannah@gmail.com", "hannah@gmail.com", ("duplicate_person", "conflicting_records"))],
    ),
    Case(
        "conflicting_records: then the account manager's record",
        [acc("acc_1", p("per_9", "Other", "Parent"), grown(p("per_1", "Bob", "Stone", "bob@gmail.com"), "Guitar"), updated=NEW),
         acc("acc_2", p("per_1", "Robert", "Stone", "robert@gmail.com"), updated=OLD)],
        [C("robert@gmail.com", "robert@gmail.com", "Robert", "Stone", None, ("acc_1", "acc_2"), ("per_1",), programs=("Guitar",))],
        [D("per_1", "eligible", "Robert", "Stone", "robert@gmail.com", "robert@gmail.com", ("duplicate_person", "conflicting_records")),
         D("per_9", "no_email", "Other", "Parent")],
    ),
    Case(
        "conflicting_records: then the most recently updated account",
        [acc("acc_1", p("per_1", "Sam", "Hill", "sam@gmail.com"), updated=OLD),
         acc("acc_2", p("per_1", "Samuel", "Hill", "sam@gmail.com"), updated=NEW),
         acc("acc_3", p("per_1", "Sammy", "Hill", "sam@gmail.com"), updated=MID)],
        [C("sam@gmail.com", "sam@gmail.com", "Samuel", "Hill", None, ("acc_1", "acc_2", "acc_3"), ("per_1",))],
        [D("per_1", "eligible", "Samuel", "Hill", "sam@gmail.com", "sam@gmail.com", ("duplicate_person", "conflicting_records"))],
    ),
    Case(
        "conflicting_records: then the first in the file",
        [acc("acc_2", p("per_1", "Sam", "Hill", "sam@gmail.com")),
         acc("acc_1", p("per_1", "Samuel", "Hill", "sam@gmail.com"))],
        [C("sam@gmail.com", "sam@gmail.com", "Sam", "Hill", None, ("acc_1", "acc_2"), ("per_1",))],
        [D("per_1", "eligible", "Sam", "Hill", "sam@gmail.com", "sam@gmail.com", ("duplicate_person", "conflicting_records"))],
    ),
    Case(
        "conflicting_records: a differing email alone is a conflict",
        [acc("acc_1", p("per_1", "Sam", "Hill", "sam@gmail.com"), updated=NEW),
         acc("acc_2", p("per_1", "Sam", "Hill", "sam.hill@gmail.com"), updated=OLD)],
        [C("sam@gmail.com", "sam@gmail.com", "Sam", "Hill", None, ("acc_1", "acc_2"), ("per_1",))],
        [D("per_1", "eligible", "Sam", "Hill", "sam@gmail.com", "sam@gmail.com", ("duplicate_person", "conflicting_records"))],
    ),
    Case(
        "conflicting_records: a differing last name alone is a conflict",
        [acc("acc_1", p("per_1", "Sam", "Hill", "sam@gmail.com"), updated=NEW),
         acc("acc_2", p("per_1", "Sam", "Hall", "sam@gmail.com"), updated=OLD)],
        [C("sam@gmail.com", "sam@gmail.com", "Sam", "Hill", None, ("acc_1", "acc_2"), ("per_1",))],
        [D("per_1", "eligible", "Sam", "Hill", "sam@gmail.com", "sam@gmail.com", ("duplicate_person", "conflicting_records"))],
    ),
    Case(
        "conflicting_records: a differing child flag alone is a conflict, and the preferred record decides it",
        [acc("acc_1", p("per_1", "Ada", "Byron", "ada@gmail.com"), updated=OLD),
         acc("acc_2", p("per_2", "Anne", "Byron", "anne@gmail.com"), kid(p("per_1", "Ada", "Byron", "ada@gmail.com"), "Piano"),
             updated=NEW)],
        [C("ada@gmail.com", "ada@gmail.com", "Ada", "Byron", None, ("acc_1", "acc_2"), ("per_1",)),
         C("anne@gmail.com", "anne@gmail.com", "Anne", "Byron", None, ("acc_2",), ("per_2",), programs=("Piano",))],
        [D("per_1", "eligible", "Ada", "Byron", "ada@gmail.com", "ada@gmail.com", ("duplicate_person", "conflicting_records")),
         D("per_2", "eligible", "Anne", "Byron", "anne@gmail.com", "anne@gmail.com")],
    ),
    Case(
        "email: a missing email is taken from the person's next preferred record that has one",
        [acc("acc_1", p("per_1", "Emily", "Wright"), updated=NEW),
         acc("acc_2", p("per_1", "Emily", "Wright", "emily@gmail.com"), updated=MID),
         acc("acc_3", p("per_1", "Emily", "Wright", "emily.old@gmail.com"), updated=OLD)],
        [C("emily@gmail.com", "emily@gmail.com", "Emily", "Wright", None, ("acc_1", "acc_2", "acc_3"), ("per_1",))],
        [D("per_1", "eligible", "Emily", "Wright", "emily@gmail.com", "emily@gmail.com", ("duplicate_person", "conflicting_records"))],
    ),
    Case(
        "phone: a missing phone is taken from the person's next preferred record that has one",
        [acc("acc_1", p("per_1", "Emily", "Wright", "emily@gmail.com"), updated=NEW),
         acc("acc_2", p("per_1", "Emily", "Wright", "emily@gmail.com", "+1 202 555 0102"), updated=MID),
         acc("acc_3", p("per_1", "Emily", "Wright", "emily@gmail.com", "+1 202 555 0103"), updated=OLD)],
        [C("emily@gmail.com", "emily@gmail.com", "Emily", "Wright", "+1 202 555 0102", ("acc_1", "acc_2", "acc_3"), ("per_1",))],
        [D("per_1", "eligible", "Emily", "Wright", "emily@gmail.com", "emily@gmail.com", ("duplicate_person",))],
    ),
    Case(
        "phone: the naming person's, else another merged person's",
        [acc("acc_1", p("per_1", "Ann", "Lee", "lee@gmail.com"), updated=NEW),
         acc("acc_2", p("per_2", "Bob", "Lee", "lee@gmail.com", "+1 206 555 0100"), updated=OLD)],
        [C("lee@gmail.com", "lee@gmail.com", "Ann", "Lee", "+1 206 555 0100", ("acc_1", "acc_2"), ("per_1", "per_2"))],
        [D("per_1", "eligible", "Ann", "Lee", "lee@gmail.com", "lee@gmail.com"),
         D("per_2", "shared_email", "Bob", "Lee", "lee@gmail.com", "lee@gmail.com")],
    ),
    Case(
        "account_status: active when any of the contact's accounts is active",
        [acc("acc_1", p("per_1", "Ann", "Lee", "lee@gmail.com"), status="inactive", updated=NEW),
         acc("acc_2", p("per_2", "Bob", "Lee", "lee@gmail.com"), status="active", updated=OLD),
         acc("acc_3", p("per_3", "Cy", "Lee", "cy@gmail.com"), status="inactive")],
        [C("cy@gmail.com", "cy@gmail.com", "Cy", "Lee", None, ("acc_3",), ("per_3",), "inactive"),
         C("lee@gmail.com", "lee@gmail.com", "Ann", "Lee", None, ("acc_1", "acc_2"), ("per_1", "per_2"), "active")],
        [D("per_1", "eligible", "Ann", "Lee", "lee@gmail.com", "lee@gmail.com"),
         D("per_2", "shared_email", "Bob", "Lee", "lee@gmail.com", "lee@gmail.com"),
         D("per_3", "eligible", "Cy", "Lee", "cy@gmail.com", "cy@gmail.com")],
    ),
    Case(
        "programs, teachers: of the children on the current accounts its people manage, and its adults' own",
        [acc("acc_1", p("per_1", "Pat", "Nguyen", "pat@gmail.com"),
             grown(p("per_2", "Tom", "Nguyen", "tom@gmail.com"), "Guitar", teacher="Mr. Alvarez"),
             grown(p("per_3", "Kim", "Nguyen", "PAT@gmail.com"), "Voice", teacher="Ms. Rossi"),
             kid(p("per_4", "Lily", "Nguyen"), "Piano", teacher="Ms. Kim")),
         acc("acc_2", p("per_1", "Pat", "Nguyen", "pat@gmail.com"), kid(p("per_5", "Old", "Nguyen"), "Tap", teacher="Ms. Hall"),
             status="archived")],
        [C("pat@gmail.com", "pat@gmail.com", "Pat", "Nguyen", None, ("acc_1", "acc_2"), ("per_1", "per_3"),
           programs=("Piano", "Voice"), teachers=("Ms. Kim", "Ms. Rossi")),
         C("tom@gmail.com", "tom@gmail.com", "Tom", "Nguyen", None, ("acc_1",), ("per_2",), programs=("Guitar",), teachers=("Mr. Alvarez",))],
        [D("per_1", "eligible", "Pat", "Nguyen", "pat@gmail.com", "pat@gmail.com", ("duplicate_person",)),
         D("per_2", "eligible", "Tom", "Nguyen", "tom@gmail.com", "tom@gmail.com"),
         D("per_3", "shared_email", "Kim", "Nguyen", "PAT@gmail.com", "pat@gmail.com"),
         D("per_4", "child", "Lily", "Nguyen", None, "pat@gmail.com"),
         D("per_5", "child", "Old", "Nguyen", None, "pat@gmail.com")],
    ),
    Case(
        "contacts: one per address, in the order of their keys",
        [acc("acc_1", p("per_1", "Zed", "Z", "zed@gmail.com")), acc("acc_2", p("per_2", "Amy", "A", "b@gmail.com")),
         acc("acc_3", p("per_3", "Abe", "A", "B@gmail.com")), acc("acc_4", p("per_4", "Al", "A", "a@gmail.com"))],
        [C("a@gmail.com", "a@gmail.com", "Al", "A", None, ("acc_4",), ("per_4",)),
         C("b@gmail.com", "b@gmail.com", "Amy", "A", None, ("acc_2", "acc_3"), ("per_2", "per_3")),
         C("zed@gmail.com", "zed@gmail.com", "Zed", "Z", None, ("acc_1",), ("per_1",))],
        [D("per_1", "eligible", "Zed", "Z", "zed@gmail.com", "zed@gmail.com"),
         D("per_2", "eligible", "Amy", "A", "b@gmail.com", "b@gmail.com"),
         D("per_3", "shared_email", "Abe", "A", "B@gmail.com", "b@gmail.com"),
         D("per_4", "eligible", "Al", "A", "a@gmail.com", "a@gmail.com")],
    ),
]


def _decided(audience) -> list[D]:
    return [D(d.person_id, d.reason, d.first_name, d.last_name, d.email, d.contact_key, d.notes) for d in audience.decisions()]


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
def test_documented_rule(tmp_path, case):
    with load_audience(write_jsonl(tmp_path / "a.jsonl", case.accounts)) as audience:
        assert list(audience.contacts()) == case.contacts
        assert _decided(audience) == sorted(case.decisions, key=lambda d: d.person_id)
        assert (audience.counts["contacts"], audience.counts["people"]) == (len(case.contacts), len(case.decisions))


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
def test_documented_rule_from_csv(tmp_path, case):
    """The same from CSV, where the rules (not the reader) merge a person's rows and move children's programs."""
    rows = csv_rows(case.accounts)
    rows = [row for row in rows if row[3] == "account_manager"] + [row for row in rows if row[3] == "student"]  # apart
    with load_audience(write_csv(tmp_path / "a.csv", rows)) as audience:
        assert list(audience.contacts()) == [replace(contact, teachers=()) for contact in case.contacts]  # CSV has no teachers
        assert _decided(audience) == sorted(case.decisions, key=lambda d: d.person_id)


def test_every_reason_and_note_has_a_named_case():
    assert set(REASONS) <= {case.rule.split(":")[0] for case in CASES}
    assert set(NOTES) <= {note for case in CASES for decision in case.decisions for note in decision.notes}
