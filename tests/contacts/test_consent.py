"""Email consent (docs/contacts.md, "Email consent"): read from every format, merged per address, shown per person."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from opus1_integrations.api import ExportRejected
from opus1_integrations.contacts import Contact, load_audience
from opus1_integrations.cli.contacts import contacts_app

from .conftest import account, csv_rows, decision_of, person, student, write_csv, write_jsonl, CSV_HEADER

EARLY, LATE = "2025-01-10T09:00:00Z", "2026-06-01T12:30:00+02:00"


def consent(value: str | None, at: str | None = None) -> dict:
    """The consent fields of a person (none at all for ``value`` None)."""
    return {} if value is None else {"email_consent": value, "consent_at": at}


def shared_contact(audience_of, *consents: dict) -> tuple:
    """One address shared by people with the given consents, each on an account of their own; the contact and them."""
    people = [person(f"P{i}", "Shared", "family@gmail.com", **c) for i, c in enumerate(consents)]
    audience = audience_of([account(p) for p in people])
    (contact,) = audience.contacts()
    return contact, audience, people


def test_consent_absent_means_unknown(audience_of):
    maria = person(email="maria@gmail.com")
    audience = audience_of([account(maria)])
    assert (audience.contact("maria@gmail.com").email_consent, audience.contact("maria@gmail.com").consent_at) == ("unknown", None)
    assert audience.counts["consent"] == {"granted": 0, "denied": 0, "unknown": 1}
    assert decision_of(audience, maria["person_id"]).email_consent == "unknown"


@pytest.mark.parametrize("value, at", [("granted", EARLY), ("denied", LATE), ("unknown", None), ("unknown", EARLY), (None, None)])
def test_a_persons_own_consent_is_on_their_contact_and_decision(audience_of, value, at):
    maria = person(email="maria@gmail.com", email_consent=value, consent_at=at)
    audience = audience_of([account(maria)])
    expected = (value or "unknown", at)
    contact = audience.contact("maria@gmail.com")
    assert (contact.email_consent, contact.consent_at) == expected
    decision = decision_of(audience, maria["person_id"])
    assert (decision.email_consent, decision.consent_at) == expected
    assert audience.counts["consent"] == {name: int(name == expected[0]) for name in ("granted", "denied", "unknown")}


def test_rule_consent_denied_by_anyone_behind_the_address_wins(audience_of):
    # The refusal is an older one, from the person who does not name the contact: it still decides.
    contact, audience, (granted, denied) = shared_contact(audience_of, consent("granted", LATE), consent("denied", EARLY))
    assert (contact.email_consent, contact.consent_at) == ("denied", EARLY)
    assert decision_of(audience, granted["person_id"]).email_consent == "granted"
    assert decision_of(audience, denied["person_id"]).email_consent == "denied"
    assert audience.counts["consent"] == {"granted": 0, "denied": 1, "unknown": 0}


def test_rule_consent_granted_by_anyone_when_nobody_denied(audience_of):
    contact, *_ = shared_contact(audience_of, consent(None), consent("granted", EARLY), consent("unknown", LATE))
    assert (contact.email_consent, contact.consent_at) == ("granted", EARLY)


def test_rule_consent_unknown_when_nobody_granted_or_denied(audience_of):
    contact, *_ = shared_contact(audience_of, consent(None), consent("unknown", EARLY))
    assert (contact.email_consent, contact.consent_at) == ("unknown", EARLY)


@pytest.mark.parametrize("value", ["granted", "denied"])
def test_rule_consent_at_is_the_latest_of_the_deciding_consents(audience_of, value):
    contact, *_ = shared_contact(audience_of, consent(value, EARLY), consent(value, LATE), consent(value, None))
    assert (contact.email_consent, contact.consent_at) == (value, LATE)


def test_rule_consent_of_an_archived_person_sharing_a_current_address_counts(audience_of):
    old = person("Rachel", "Green", "rachel@gmail.com", **consent("denied", EARLY))
    new = person("Rae", "Green", "rachel@gmail.com", **consent("granted", LATE))
    audience = audience_of([account(old, status="archived"), account(new)])
    contact = audience.contact("rachel@gmail.com")
    assert (contact.first_name, contact.email_consent, contact.consent_at) == ("Rae", "denied", EARLY)


def test_rule_consent_of_a_child_never_counts(audience_of):
    parent = person(email="parent@gmail.com", **consent("granted", EARLY))
    kid = student(person("Ava", email="parent@gmail.com", **consent("denied", LATE)))
    audience = audience_of([account(parent, [kid])])
    assert (audience.contact("parent@gmail.com").email_consent, audience.contact("parent@gmail.com").consent_at) == ("granted", EARLY)
    assert decision_of(audience, kid["person_id"]).email_consent == "denied"


def test_rule_consent_of_a_person_with_disagreeing_records_is_the_denial(audience_of):
    jen = person("Jennifer", "Walsh", "jen@gmail.com", **consent("granted", LATE))
    audience = audience_of([account(jen, account_id="acc_a"), account({**jen, **consent("denied", EARLY)}, account_id="acc_b")])
    decision = decision_of(audience, jen["person_id"])
    assert (decision.email_consent, decision.consent_at) == ("denied", EARLY)
    assert decision.notes == ("duplicate_person", "conflicting_records")
    assert audience.contact("jen@gmail.com").email_consent == "denied"


@pytest.mark.parametrize("value", ["granted", "denied"])
def test_rule_consent_of_a_person_listed_twice_is_the_latest_of_the_same(audience_of, value):
    jen = person("Jennifer", "Walsh", "jen@gmail.com", **consent(value, EARLY))
    audience = audience_of([account(jen, account_id="acc_a"), account({**jen, **consent(value, LATE)}, account_id="acc_b"),
                            account({**jen, **consent(value)}, account_id="acc_c")])
    decision = decision_of(audience, jen["person_id"])
    assert (decision.email_consent, decision.consent_at, decision.notes) == (value, LATE, ("duplicate_person",))


def test_consent_on_one_record_of_a_person_is_not_a_conflict(audience_of):
    jen = person("Jennifer", "Walsh", "jen@gmail.com")
    audience = audience_of([account(jen, account_id="acc_a"), account({**jen, **consent("granted", EARLY)}, account_id="acc_b")])
    decision = decision_of(audience, jen["person_id"])
    assert (decision.email_consent, decision.consent_at, decision.notes) == ("granted", EARLY, ("duplicate_person",))


@pytest.mark.parametrize("on_manager, on_student, expected", [
    (consent(None), consent("denied", EARLY), ("denied", EARLY)),
    (consent("granted", EARLY), consent(None), ("granted", EARLY)),
    (consent("granted", EARLY), consent("granted", EARLY), ("granted", EARLY)),
])
def test_self_managed_adult_carries_consent_on_either_listing(audience_of, on_manager, on_student, expected):
    david = person("David", "Okafor", "david@gmail.com")
    audience = audience_of([account({**david, **on_manager}, [student({**david, **on_student}, child=False)])])
    (decision,) = audience.decisions()
    assert (decision.email_consent, decision.consent_at, decision.notes) == (*expected, ("duplicate_person",))


def test_self_managed_adult_whose_listings_disagree_on_consent_is_denied_and_flagged(audience_of):
    david = person("David", "Okafor", "david@gmail.com")
    listings = [{**david, **consent("granted", LATE)}, {**david, **consent("denied", EARLY)}]
    audience = audience_of([account(listings[0], [student(listings[1], child=False)])])
    (decision,) = audience.decisions()
    assert (decision.email_consent, decision.consent_at) == ("denied", EARLY)
    assert "conflicting_records" in decision.notes


def _consent_csv(tmp_path, accounts, values: dict[str, tuple[str, str]], header_case=str.lower):
    rows = csv_rows(accounts)
    for row in rows:
        row.extend(values.get(row[2], ("", "")))
    return write_csv(tmp_path / "a.csv", rows, header=CSV_HEADER + [header_case("email_consent"), header_case("consent_at")])


def test_csv_consent_columns_any_case_give_the_same_as_json(tmp_path):
    ana = person("Ana", email="ana@gmail.com", person_id="per_1")
    bo = person("Bo", email="ana@gmail.com", person_id="per_2")
    cy = person("Cy", email="cy@gmail.com", person_id="per_3")
    accounts = [account(ana), account(bo), account(cy, [student(person("Kid", person_id="per_4"))])]
    path = _consent_csv(tmp_path, accounts, {"per_1": (" Granted ", EARLY), "per_2": ("DENIED", LATE), "per_3": ("", "")},
                        header_case=str.upper)
    jsonl = write_jsonl(tmp_path / "a.jsonl", [
        account({**ana, **consent("granted", EARLY)}), account({**bo, **consent("denied", LATE)}), accounts[2]])
    with load_audience(path) as from_csv, load_audience(jsonl) as from_json:
        assert list(from_csv.contacts()) == list(from_json.contacts())
        assert list(from_csv.decisions()) == list(from_json.decisions())
        assert [(c.email_consent, c.consent_at) for c in from_csv.contacts()] == [("denied", LATE), ("unknown", None)]


@pytest.mark.parametrize("field, value, message", [
    ("email_consent", "yes", "is not one of"),
    ("email_consent", True, "is not one of"),
    ("consent_at", "2026-11-20", "is not a 'date-time'"),
    ("consent_at", 1700000000, "is not of type"),
])
def test_malformed_consent_in_json_is_rejected_with_line_and_field(tmp_path, field, value, message):
    good = account(person(email="a@gmail.com"))
    bad = account(person(email="b@gmail.com", **{field: value}))
    with pytest.raises(ExportRejected) as caught:
        load_audience(write_jsonl(tmp_path / "a.jsonl", [good, bad]))
    (problem,) = caught.value.problems
    assert (problem.line, problem.path) == (2, f"account_manager.{field}") and message in problem.message


@pytest.mark.parametrize("column, value", [("email_consent", "maybe"), ("consent_at", "yesterday")])
def test_malformed_consent_in_csv_is_rejected_with_row_and_column(tmp_path, column, value):
    accounts = [account(person(email="a@gmail.com", person_id="per_1"))]
    values = {"email_consent": (value, EARLY), "consent_at": ("granted", value)}[column]
    with pytest.raises(ExportRejected) as caught:
        load_audience(_consent_csv(tmp_path, accounts, {"per_1": values}))
    (problem,) = caught.value.problems
    assert (problem.row, problem.path) == (2, column)


def test_contact_to_dict_is_plain_json_ready_data(audience_of):
    maria = person("Maria", "Lopez", "Maria@gmail.com", phone="+1 415 555 0101", **consent("granted", EARLY))
    audience = audience_of([account(maria, [student(programs=("Piano",), teacher="Ms. Kim")], account_id="acc_1")])
    (contact,) = audience.contacts()
    assert contact.to_dict() == {
        "key": "maria@gmail.com", "email": "Maria@gmail.com", "first_name": "Maria", "last_name": "Lopez",
        "phone": "+1 415 555 0101", "account_ids": ["acc_1"], "person_ids": [maria["person_id"]],
        "account_status": "active", "programs": ["Piano"], "teachers": ["Ms. Kim"],
        "email_consent": "granted", "consent_at": EARLY,
    }
    assert Contact(**{k: tuple(v) if isinstance(v, list) else v for k, v in contact.to_dict().items()}) == contact
    assert json.loads(json.dumps(contact.to_dict())) == contact.to_dict()


def test_contacts_check_counts_contacts_by_consent(tmp_path):
    people = [person(email=f"p{i}@gmail.com", **c) for i, c in enumerate(
        [consent("granted", EARLY), consent("granted"), consent("denied", LATE), consent(None)])]
    path = write_jsonl(tmp_path / "a.jsonl", [account(p) for p in people])
    runner = CliRunner()
    document = json.loads(runner.invoke(contacts_app, ["check", str(path), "--json"]).stdout)
    assert document["counts"]["consent"] == {"granted": 2, "denied": 1, "unknown": 1}
    shown = runner.invoke(contacts_app, ["check", str(path)]).stdout
    assert "Contacts by email consent: 2 granted, 1 denied, 1 unknown." in shown.splitlines()


def test_an_eligible_person_who_refused_is_told_so_not_called_synced(audience_of):
    maria = person(email="maria@gmail.com", email_consent="denied", consent_at=LATE)
    ana = person("Ana", email="ana@gmail.com", email_consent="granted", consent_at=EARLY)
    audience = audience_of([account(maria), account(ana)])
    refused = decision_of(audience, maria["person_id"]).detail
    assert "is reached at maria@gmail.com" in refused
    assert "refused email news on 2026-06-01: an integration does not subscribe them" in refused
    agreed = decision_of(audience, ana["person_id"]).detail
    assert agreed.endswith("is reached at ana@gmail.com.") and "refused" not in agreed
