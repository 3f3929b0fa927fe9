"""The audience rules: every reason code, note, tie-break and contact field."""

from __future__ import annotations

import pytest

from opus1_integrations.contacts import NOTES, REASONS, Contact, Decision

from .conftest import account, decision_of, person, student


def test_family_manager_is_the_contact_and_children_are_reached_through_them(audience_of):
    maria = person("Maria", "Lopez", "Maria.Lopez@gmail.com", phone="+1 415 555 0101")
    leo = student(person("Leo", "Lopez"), programs=("Piano",), teacher="Ms. Kim")
    audience = audience_of([account(maria, [leo])])

    (contact,) = audience.contacts()
    assert contact == Contact(
        key="maria.lopez@gmail.com", email="Maria.Lopez@gmail.com", first_name="Maria", last_name="Lopez",
        phone="+1 415 555 0101", account_ids=(f"acc_{maria['person_id'][4:]}",), person_ids=(maria["person_id"],),
        account_status="active", programs=("Piano",), teachers=("Ms. Kim",),
    )
    assert decision_of(audience, maria["person_id"]).reason == "eligible"
    child = decision_of(audience, leo["person_id"])
    assert (child.reason, child.contact_key, child.is_child, child.role) == ("child", "maria.lopez@gmail.com", True, "student")
    assert child.detail == "Leo Lopez is a child; reached through account manager Maria Lopez <maria.lopez@gmail.com>."


def test_child_holding_an_email_is_never_synced(audience_of):
    parent = person(email="parent@gmail.com")
    teen = student(person("Ava", "Martin", "ava.martin2009@gmail.com"))
    audience = audience_of([account(parent, [teen])])
    decision = decision_of(audience, teen["person_id"])
    assert (decision.reason, decision.notes, decision.contact_key) == ("child", ("child_has_email",), "parent@gmail.com")
    assert audience.contact("ava.martin2009@gmail.com") is None
    assert audience.counts["notes"] == {"child_has_email": 1}
    (issue,) = [i for i in audience.quality() if i.code == "child_has_email"]
    assert issue.person_ids == (teen["person_id"],) and "parent@gmail.com" in issue.fix


@pytest.mark.parametrize("email", [None, "", "   ", ...])
def test_no_email(audience_of, email):
    manager = person()
    if email is ...:
        del manager["email"]
    else:
        manager["email"] = email
    kid = student()
    audience = audience_of([account(manager, [kid])])
    assert decision_of(audience, manager["person_id"]).reason == "no_email"
    child = decision_of(audience, kid["person_id"])
    assert child.contact_key is None and "not_reached" in child.notes
    assert child.detail.endswith("is not reached: account manager Maria Lopez has no email.")


@pytest.mark.parametrize("email, explanation", [
    ("kevin.obrien@gmail", "It should have a period"),
    ("anna@@yahoo.com", "invalid characters"),
    ("josé.silva@gmail.com", "Internationalized characters before the @-sign are not supported"),
    ("mark.davis@gmail,com", "invalid characters"),
    ("someone@example.com", "reserved for examples"),
    ("student@school.invalid", "special-use or reserved name"),
])
def test_invalid_email_keeps_email_validators_explanation(audience_of, email, explanation):
    manager = person(email=email)
    audience = audience_of([account(manager)])
    decision = decision_of(audience, manager["person_id"])
    assert decision.reason == "invalid_email" and explanation in decision.detail and decision.email == email
    (issue,) = audience.quality()
    assert issue.code == "invalid_email" and explanation in issue.message
    assert audience.counts["contacts"] == 0


def test_adult_student_with_own_address_is_a_contact_with_own_programs(audience_of):
    parent = person("Patricia", "Nguyen", "patricia.nguyen@icloud.com")
    tom = student(person("Tom", "Nguyen", "tom.nguyen.music@gmail.com"), child=False, programs=("Guitar",))
    lily = student(person("Lily", "Nguyen"), programs=("Piano",))
    audience = audience_of([account(parent, [tom, lily])])
    assert [c.key for c in audience.contacts()] == ["patricia.nguyen@icloud.com", "tom.nguyen.music@gmail.com"]
    assert audience.contact("patricia.nguyen@icloud.com").programs == ("Piano",)
    assert audience.contact("tom.nguyen.music@gmail.com").programs == ("Guitar",)
    assert decision_of(audience, tom["person_id"]).reason == "eligible"


def test_adult_student_using_the_parents_address_is_merged_and_the_manager_names_it(audience_of):
    susan = person("Susan", "Park", "susan.park@gmail.com")
    grace = student(person("Grace", "Park", "Susan.Park@gmail.com"), child=False, programs=("Voice",))
    audience = audience_of([account(susan, [grace])])
    (contact,) = audience.contacts()
    assert (contact.first_name, contact.person_ids) == ("Susan", tuple(sorted([susan["person_id"], grace["person_id"]])))
    assert contact.programs == ("Voice",)
    merged = decision_of(audience, grace["person_id"])
    assert (merged.reason, merged.contact_key) == ("shared_email", "susan.park@gmail.com")
    assert "Susan Park, who names the one contact" in merged.detail


def test_self_managed_adult_is_one_decision_not_two(audience_of):
    david = person("David", "Okafor", "david.okafor@gmail.com")
    audience = audience_of([account(david, [student(dict(david), child=False, programs=("Piano", "Music Theory"))])])
    (decision,) = audience.decisions()
    assert (decision.reason, decision.role, decision.notes) == ("eligible", "account_manager", ("duplicate_person",))
    assert audience.counts["people"] == 1 and audience.counts["notes"] == {"duplicate_person": 1}
    assert audience.contact("david.okafor@gmail.com").programs == ("Music Theory", "Piano")


def test_self_managed_adult_whose_records_disagree_is_flagged(audience_of):
    hannah = person("Hannah", "Schmidt", "hannah.schmidt@gmail.com")
    audience = audience_of([account(hannah, [student({**hannah, "last_name": "Schmitt"}, child=False)])])
    (decision,) = audience.decisions()
    assert decision.last_name == "Schmidt" and "conflicting_records" in decision.notes
    assert [i.code for i in audience.quality()] == ["conflicting_records"]


def test_the_json_reader_merges_the_two_listings_of_a_self_managed_adult_email_from_either(audience_of):
    # One account: the reader makes one record of the two listings (the rules' fallback is not involved).
    emily = person("Emily", "Wright", None)
    audience = audience_of([account(emily, [student({**emily, "email": "emily.wright@gmail.com"}, child=False)])])
    assert [c.key for c in audience.contacts()] == ["emily.wright@gmail.com"]
    assert decision_of(audience, emily["person_id"]).notes == ("duplicate_person",)


def test_missing_email_on_the_preferred_record_is_taken_from_the_same_persons_record_on_another_account(audience_of):
    # Two accounts: two records, and the rules take the email from the one that has it.
    emily = person("Emily", "Wright", None, phone="+1 202 555 0101")
    audience = audience_of([
        account(emily, account_id="acc_new", updated="2026-11-20T08:12:00Z"),
        account(person("Ann", "Other"), [student({**emily, "email": "Emily.Wright@gmail.com", "phone": None}, child=False)],
                account_id="acc_old", updated="2025-01-01T00:00:00Z"),
    ])
    (contact,) = audience.contacts()
    assert (contact.email, contact.first_name, contact.phone, contact.account_ids) == (
        "Emily.Wright@gmail.com", "Emily", "+1 202 555 0101", ("acc_new", "acc_old"))
    decision = decision_of(audience, emily["person_id"])
    assert (decision.reason, decision.role, decision.email, decision.notes) == (
        "eligible", "account_manager", "Emily.Wright@gmail.com", ("duplicate_person",))


def test_spouses_on_two_accounts_share_one_contact_named_by_the_most_recently_updated(audience_of):
    wei = person("Wei", "Chen", "chen.family@outlook.com", phone="+1 650 555 0182")
    lin = person("Lin", "Chen", " Chen.Family@Outlook.com ", phone=None)
    audience = audience_of([
        account(wei, [student(programs=("Piano",))], updated="2026-10-02T17:45:00Z"),
        account(lin, [student(programs=("Cello",))], updated="2026-11-05T09:30:00+01:00"),
    ])
    (contact,) = audience.contacts()
    assert (contact.first_name, contact.email, contact.phone) == ("Lin", "Chen.Family@Outlook.com", "+1 650 555 0182")
    assert contact.programs == ("Cello", "Piano") and len(contact.account_ids) == 2
    assert decision_of(audience, wei["person_id"]).reason == "shared_email"
    (issue,) = audience.quality()
    assert issue.code == "email_on_several_accounts" and issue.account_ids == contact.account_ids


def test_same_update_time_lowest_person_id_names_the_contact_shorter_ids_first(audience_of):
    rob9 = person("Robert", "Miller", "robert.miller73@comcast.net", person_id="per_9")
    rob10 = person("Rob", "Miller", "Robert.Miller73@comcast.net", person_id="per_10")
    audience = audience_of([account(rob10), account(rob9)])
    assert audience.contact("robert.miller73@comcast.net").first_name == "Robert"
    assert decision_of(audience, "per_10").reason == "shared_email"


def test_account_manager_names_the_contact_before_a_more_recently_updated_student(audience_of):
    priya = person("Priya", "Singh", "priya.singh@gmail.com")
    ahmed = person("Ahmed", "Haddad", None)
    audience = audience_of([
        account(priya, updated="2026-01-01T00:00:00Z"),
        account(ahmed, [student(person("Sami", "Haddad", "PRIYA.SINGH@GMAIL.COM"), child=False)], updated="2026-11-25T09:00:00Z"),
    ])
    assert audience.contact("priya.singh@gmail.com").first_name == "Priya"


def test_parent_with_two_accounts_is_one_person_and_one_contact(audience_of):
    jen = person("Jennifer", "Walsh", "jwalsh.home@yahoo.com")
    audience = audience_of([account(jen, [student()], account_id="acc_a"), account(dict(jen), [student()], account_id="acc_b")])
    decision = decision_of(audience, jen["person_id"])
    assert decision.account_ids == ("acc_a", "acc_b") and decision.notes == ("duplicate_person",)
    (contact,) = audience.contacts()
    assert contact.account_ids == ("acc_a", "acc_b") and contact.person_ids == (jen["person_id"],)
    assert audience.counts["people"] == 3


def test_archived_account_people_are_not_eligible(audience_of):
    olga = person("Olga", "Ivanova", "olga.ivanova@yandex.com")
    kid = student(programs=("Piano",))
    audience = audience_of([account(olga, [kid], status="archived")])
    decision = decision_of(audience, olga["person_id"])
    assert decision.reason == "account_archived" and decision.detail.endswith("(acc_%s) is archived." % olga["person_id"][4:])
    assert decision_of(audience, kid["person_id"]).reason == "child"
    assert audience.counts["contacts"] == 0 and list(audience.quality()) == []


def test_archived_person_sharing_an_active_email_is_merged_but_names_nothing(audience_of):
    old = person("Rachel", "Green", "rachel.green@gmail.com")
    new = person("Rae", "Green", "Rachel.Green@gmail.com")
    audience = audience_of([
        account(old, [student(programs=("Violin",))], status="archived", updated="2026-11-30T00:00:00Z"),
        account(new, [student(programs=("Cello",))], updated="2025-01-01T00:00:00Z"),
    ])
    (contact,) = audience.contacts()
    assert contact.first_name == "Rae" and len(contact.account_ids) == 2 and contact.programs == ("Cello",)
    merged = decision_of(audience, old["person_id"])
    assert merged.reason == "shared_email" and "archived" in merged.detail
    assert [i.code for i in audience.quality()] == []


def test_account_status_is_active_when_any_account_is(audience_of):
    a = person(email="a@gmail.com")
    b = person(email="b@gmail.com")
    audience = audience_of([
        account(a, status="inactive"), account(dict(a), status="active", account_id="acc_x"),
        account(b, status="inactive"),
    ])
    assert audience.contact("a@gmail.com").account_status == "active"
    assert audience.contact("b@gmail.com").account_status == "inactive"
    assert decision_of(audience, b["person_id"]).reason == "eligible"


def test_programs_come_from_children_on_managed_accounts_not_from_siblings_of_an_adult_student(audience_of):
    parent = person(email="parent@gmail.com")
    grown = student(person("Sam", email="sam@gmail.com"), child=False, programs=("Drums",), teacher="Mr. Walker")
    kid = student(programs=("Piano", "Violin"), teacher="Ms. Kim")
    audience = audience_of([account(parent, [grown, kid])])
    assert audience.contact("parent@gmail.com").programs == ("Piano", "Violin")
    assert audience.contact("sam@gmail.com").teachers == ("Mr. Walker",)


def test_contact_phone_falls_back_to_another_merged_person(audience_of):
    named = person("Ann", email="shared@gmail.com", phone=None)
    other = person("Bob", email="shared@gmail.com", phone="+1 206 555 0100")
    audience = audience_of([account(named, updated="2026-11-01T00:00:00Z"), account(other, updated="2026-01-01T00:00:00Z")])
    contact = audience.contact("shared@gmail.com")
    assert (contact.first_name, contact.phone) == ("Ann", "+1 206 555 0100")


def test_lookup_and_find_ignore_case_and_spaces(audience_of):
    maria = person(email="Maria.Lopez@gmail.com")
    leo = student()
    audience = audience_of([account(maria, [leo])])
    assert audience.contact("  MARIA.lopez@GMAIL.com ").key == "maria.lopez@gmail.com"
    assert [d.person_id for d in audience.find(" Maria.LOPEZ@gmail.com")] == [maria["person_id"], leo["person_id"]]
    assert audience.find("nobody@gmail.com") == [] and audience.find("per_unknown") == []
    assert audience.contact("nobody@gmail.com") is None


def test_counts_add_up_and_every_code_is_documented(audience_of):
    people = [person(email=e) for e in ("a@gmail.com", "A@gmail.com", None, "bad@", "z@gmail.com")]
    accounts = [account(p, [student()]) for p in people]
    accounts[-1]["status"] = "archived"
    audience = audience_of(accounts)
    counts = audience.counts
    assert counts["people"] == counts["contacts"] + sum(counts["skipped"].values()) == 10
    assert counts["skipped"] == {"shared_email": 1, "child": 5, "account_archived": 1, "no_email": 1, "invalid_email": 1}
    decisions = list(audience.decisions())
    assert all(isinstance(d, Decision) and d.reason in REASONS for d in decisions)
    assert all(note in NOTES for d in decisions for note in d.notes)
    assert [c.key for c in audience.contacts()] == sorted(c.key for c in audience.contacts())


def test_values_are_frozen(audience_of):
    audience = audience_of([account(person(email="a@gmail.com"))])
    (contact,) = audience.contacts()
    with pytest.raises(AttributeError):
        contact.email = "b@gmail.com"
