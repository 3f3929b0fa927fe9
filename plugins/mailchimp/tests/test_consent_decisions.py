"""Every consent decision of the planner, case by case, on its pure functions (``consent.admission``,
``planner.plan_contact``, ``planner.plan_withdrawal``, ``leavers.left_in_mailchimp``), with a property test of the
rule that matters most: a client who refused is never added as subscribed or pending."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opus1_integrations.api import Contact, ItemOutcome
from opus1_mailchimp.consent import DENIED_CHOICES, NEW_STATUSES, UNKNOWN_CHOICES, admission
from opus1_mailchimp.leavers import left_in_mailchimp, stored_time
from opus1_mailchimp.ledger import Synced
from opus1_mailchimp.members import Member
from opus1_mailchimp.planner import Earlier, Policy, plan_contact, plan_withdrawal

TAGS = frozenset({"opus1"})


def contact(consent: str = "unknown", email: str = "maria@gmail.com", consent_at: str | None = None) -> Contact:
    return Contact(key=email.lower(), email=email, first_name="Maria", last_name="Lopez", phone=None,
                   account_ids=("acc_1",), person_ids=("per_1",), account_status="active", programs=(), teachers=(),
                   email_consent=consent, consent_at=consent_at)


def policy(initial="subscribed", unknown="subscribe", denied="skip") -> Policy:
    return Policy(TAGS, False, "keep", "opus1-left", frozenset({"FNAME", "LNAME"}), initial, unknown, denied)


def member(status: str = "subscribed", email: str = "maria@gmail.com") -> Member:
    return Member(email.lower(), email, status, {"FNAME": "Maria", "LNAME": "Lopez"}, TAGS)


def synced(email: str = "maria@gmail.com", status: str | None = "subscribed", left: bool = False) -> Synced:
    return Synced(email.lower(), email, ("per_1",), TAGS, left, ("acc_1",), status)


@pytest.mark.parametrize("consent, initial, unknown, denied, status, code", [
    ("granted", "subscribed", "skip", "skip", "subscribed", None),
    ("granted", "pending", "subscribe", "skip", "pending", None),
    ("unknown", "subscribed", "subscribe", "skip", "subscribed", None),
    ("unknown", "pending", "subscribe", "skip", "pending", None),
    ("unknown", "subscribed", "pending", "skip", "pending", None),
    ("unknown", "subscribed", "skip", "transactional", None, "consent_unknown"),
    ("denied", "subscribed", "subscribe", "skip", None, "no_consent"),
    ("denied", "pending", "pending", "skip", None, "no_consent"),
    ("denied", "subscribed", "subscribe", "transactional", "transactional", None),
])
def test_a_new_contact_is_added_as_its_consent_and_the_settings_allow(consent, initial, unknown, denied, status,
                                                                       code):
    action = plan_contact(contact(consent), None, None, None, policy(initial, unknown, denied))
    if status is None:
        assert (action.action, action.code, action.status) == (ItemOutcome.SKIPPED, code, None)
        assert action.reason and not action.merge_fields
    else:
        assert (action.action, action.status, action.code) == (ItemOutcome.CREATED, status, None)
        assert action.reason.startswith("not in the audience yet")


def test_an_export_without_consent_plans_as_before():
    action = plan_contact(contact(), None, None, None, Policy(TAGS, False, "keep", "opus1-left",
                                                              frozenset({"FNAME", "LNAME"})))
    assert (action.action, action.status, action.reason) == (ItemOutcome.CREATED, "subscribed",
                                                             "not in the audience yet")


def test_a_refusal_says_when():
    action = plan_contact(contact("denied", consent_at="2026-10-01T09:00:00Z"), None, None, None, policy())
    assert action.reason == "refused email news in opus1 on 2026-10-01: not added"


@pytest.mark.parametrize("ours", [True, False])
def test_a_subscribed_member_whose_client_refused_is_unsubscribed_only_when_opus1_synced_it(ours):
    before = synced() if ours else None
    action = plan_contact(contact("denied"), member(), before, None, policy(denied="transactional"))
    assert action.code == "no_consent"
    assert action.action == (ItemOutcome.UNSUBSCRIBED if ours else ItemOutcome.SKIPPED)
    assert not action.merge_fields and not action.tags_add and not action.tags_remove


@pytest.mark.parametrize("status", ["unsubscribed", "cleaned", "pending", "transactional", "archived"])
@pytest.mark.parametrize("consent", ["granted", "denied", "unknown"])
def test_a_member_that_is_not_subscribed_is_never_changed_whatever_the_consent(status, consent):
    action = plan_contact(contact(consent), member(status), synced(), None, policy(unknown="skip"))
    assert action.action == ItemOutcome.LEFT_ALONE and f"{status} in Mailchimp" in action.reason


@pytest.mark.parametrize("consent", ["granted", "unknown"])
def test_unknown_consent_set_to_skip_does_not_touch_members_already_subscribed(consent):
    action = plan_contact(contact(consent), member(), synced(), None, policy(unknown="skip"))
    assert action.action == ItemOutcome.UNCHANGED


def test_a_refusal_under_a_new_address_unsubscribes_the_old_member_and_adds_nobody():
    earlier = Earlier(synced("old@gmail.com"), member(email="old@gmail.com"))
    new = contact("denied", email="new@gmail.com")
    action = plan_contact(new, None, None, earlier, policy(denied="transactional"))
    assert (action.action, action.code) == (ItemOutcome.SKIPPED, "no_consent")
    withdrawal = plan_withdrawal(new, earlier)
    assert (withdrawal.key, withdrawal.action, withdrawal.code) == ("old@gmail.com", ItemOutcome.UNSUBSCRIBED,
                                                                    "no_consent")
    assert plan_withdrawal(contact("granted", email="new@gmail.com"), earlier) is None
    assert plan_withdrawal(new, Earlier(synced("old@gmail.com"), member("unsubscribed", "old@gmail.com"))) is None
    assert plan_withdrawal(new, None) is None


def test_an_address_too_long_for_mailchimp_is_not_sent_and_says_why():
    action = plan_contact(contact(email="a" * 250 + "@gmail.com"), None, None, None, policy())
    assert (action.action, action.code) == (ItemOutcome.SKIPPED, "address_too_long")
    assert "characters long" in action.reason


def test_a_value_mailchimp_clipped_compares_equal_and_the_cut_is_told():
    long_name = "Ö" * 200  # 400 bytes: Mailchimp keeps the first 255 (127 characters)
    clipped = Member("maria@gmail.com", "maria@gmail.com", "subscribed", {"FNAME": "Ö" * 127, "LNAME": "Lopez"},
                     TAGS)
    c = Contact(key="maria@gmail.com", email="maria@gmail.com", first_name=long_name, last_name="Lopez",
                phone=None, account_ids=("acc_1",), person_ids=("per_1",), account_status="active", programs=(),
                teachers=())
    action = plan_contact(c, clipped, synced(), None, policy())
    assert action.action == ItemOutcome.UNCHANGED
    assert "FNAME cut to 254 bytes" in action.reason


@given(consent=st.sampled_from(["granted", "denied", "unknown"]), initial=st.sampled_from(["subscribed", "pending"]),
       unknown=st.sampled_from(UNKNOWN_CHOICES), denied=st.sampled_from(DENIED_CHOICES),
       at=st.one_of(st.none(), st.just("2026-11-02T08:00:00Z")))
def test_a_refusal_is_never_added_as_subscribed_or_pending(consent, initial, unknown, denied, at):
    c = contact(consent, consent_at=at)
    admit = admission(c, initial, unknown, denied)
    assert admit.status is None or admit.status in NEW_STATUSES
    assert (admit.status is None) == (admit.code is not None)
    if consent == "denied":
        assert admit.status in (None, "transactional")
    action = plan_contact(c, None, None, None, policy(initial, unknown, denied))
    assert action.status == admit.status


@pytest.mark.parametrize("before, now, left", [
    (synced(status="subscribed"), "unsubscribed", True),
    (synced(status="pending"), "cleaned", True),
    (synced(status="transactional"), "archived", True),
    (synced(status="subscribed"), "subscribed", False),
    (synced(status="unsubscribed"), "archived", False),  # already gone: recorded when it first left
    (synced(status="unsubscribed"), "subscribed", False),  # came back: not a leaver
    (synced(status=None), "unsubscribed", True),  # a row of an earlier version: taken as subscribed
    (synced(status=None, left=True), "archived", False),  # ... unless it left opus1 (the policy may have archived it)
])
def test_who_left_in_mailchimp(before, now, left):
    assert left_in_mailchimp(before, member(now)) is left


@pytest.mark.parametrize("text, stored", [
    ("2026-06-03T21:30:56+00:00", "2026-06-03T21:30:56+00:00"),
    ("2026-06-03T23:30:56+02:00", "2026-06-03T21:30:56+00:00"),
    ("2026-06-03T21:30:56", "2026-06-03T21:30:56+00:00"),
    ("", None), (None, None), ("yesterday", None), ("2026-06-03T21:30:56+00:00" + "9" * 15, None)])
def test_mailchimps_time_of_a_leave_is_stored_as_the_host_stores_times_or_not_at_all(text, stored):
    assert stored_time(text) == stored
