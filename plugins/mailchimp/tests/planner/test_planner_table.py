"""One small, named case per planner decision of docs/mailchimp.md ("What a sync does", the plan table, and the
table of its "Consent" section), with the exact action it gives: the outcome, the reason and its code, a new
member's status, the merge fields and tags sent, the old address, and what the ledger keeps (people, accounts and
managed tags).

Each case's name starts with the documented row it pins (``create``, ``skipped``, ``unsubscribe``, ``update``,
``email change``, ...); a test checks that every row has a case. The cases call the planner's pure functions
(``plan_contact``, ``earlier_member``, ``plan_withdrawal``, ``plan_leaver``); those that need the walk over a whole
audience (an address claimed twice, a returning leaver, an unsubscribe under an earlier address, a second run) run
``planner.plan`` over the sync's own scratch database (``simulated.known``).
(Over 300 lines: it is one table, a case per decision.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from simulated import POLICY, World, contact, member, synced

from opus1_mailchimp.planner import (ARCHIVED, CREATED, EMAIL_CHANGED, LEAVER_GONE, LEAVER_KEPT, LEAVER_TAGGED,
                                     LEFT_ALONE, SKIPPED, UNCHANGED, UNSUBSCRIBED, UPDATED, Action, Earlier, Policy,
                                     desired_fields, earlier_member, plan_contact, plan_leaver, plan_withdrawal)

#: docs/mailchimp.md, found upwards (``make mutation`` runs these tests from a copy of plugins/mailchimp).
DOCS = next(folder / "docs" / "mailchimp.md" for folder in Path(__file__).resolve().parents
            if (folder / "docs" / "mailchimp.md").exists())
OPUS1 = frozenset({"opus1"})
MARIA = contact("Maria.Lopez@gmail.com", "Maria", "Lopez", phone="+1 415 555 0101", people=("per_1",))
NEW = contact("New.Address@gmail.com", "Maria", "Lopez", people=("per_1", "per_2"))
ALL_FIELDS = {"FNAME": "Maria", "LNAME": "Lopez", "PHONE": "+1 415 555 0101"}


def act(c, action, reason: str, **more) -> Action:
    """The action expected for contact ``c`` (its key, address, people, accounts and, unless given, the default
    tags)."""
    return Action(**{"key": c.key, "email": c.email, "action": action, "reason": reason,
                     "person_ids": c.person_ids, "account_ids": c.account_ids, "managed_tags": OPUS1, **more})


def create(c, reason: str = "not in the audience yet", status: str = "subscribed", **more) -> Action:
    """The create expected for contact ``c``: the status consent allows (``subscribed`` unless given)."""
    return act(c, CREATED, reason, status=status, **more)


@dataclass(frozen=True)
class Case:
    rule: str
    contact: object
    member: object
    before: object
    expected: Action
    policy: Policy = POLICY
    earlier: Earlier | None = None


OLD_ROW = synced("Old.Address@gmail.com", people=("per_2",), tags={"opus1", "Program: Tap", "families"})
OLD_MEMBER = member("old.address@gmail.com", tags={"opus1", "Program: Tap", "vip"}, FNAME="Mary", LNAME="Lopez")
PROGRAMS = replace(POLICY, program_tags=True)
KID_PROGRAMS = replace(MARIA, programs=("Piano", "Violin"), teachers=("Ms. Kim",))

# -- consent (docs/mailchimp.md, "Consent"): one case per cell of its table ----------------------------------------

AGREED = replace(MARIA, email_consent="granted")
REFUSED = replace(MARIA, email_consent="denied")
REFUSED_NEW = replace(NEW, email_consent="denied")
PENDING_FIRST = replace(POLICY, initial_status="pending")
ASK_UNKNOWN = replace(POLICY, unknown_consent="pending")
SKIP_UNKNOWN = replace(POLICY, unknown_consent="skip")
TRANSACTIONAL = replace(POLICY, denied_consent="transactional")
#: Every setting that would let a contact in, at once: a refusal must still never be subscribed or pending.
LAX = replace(POLICY, initial_status="pending", unknown_consent="pending", denied_consent="transactional")
#: A subscribed member whose merge fields and tags all differ from the contact's: what an update would change.
STALE = member(MARIA.email, tags={"vip"}, FNAME="Mary", LNAME="Lopez-Diaz", PHONE="+1 206 555 0100")
AT_LIMIT = contact("a" * (254 - len("@gmail.com")) + "@gmail.com")
TOO_LONG = contact("a" * (255 - len("@gmail.com")) + "@gmail.com")
NOT_ADDED = "refused email news in opus1: not added"
TRANSACTIONAL_WHY = ("not in the audience yet; refused email news in opus1: added as a non-marketing (transactional) "
                     "contact, who gets no campaigns")
UNSUBSCRIBED_WHY = "refused email news in opus1 after being synced: unsubscribed in Mailchimp"
NOT_OURS_WHY = "refused email news in opus1; subscribed in Mailchimp, but not by opus1: left as it is"

#: Mailchimp's size limits (docs/mailchimp.md, "Size limits"): a name of 400 bytes, as Mailchimp clips it (127
#: two-byte characters), and a tag of 101 characters.
LONG_NAME = contact(MARIA.email, "Ö" * 200, "Lopez")
CLIPPED = "Ö" * 127
CUT = "FNAME cut to 254 bytes (it had 200 characters; Mailchimp keeps at most 255 bytes)"
LONG_TAG = replace(POLICY, merge_tags=frozenset({"FNAME", "LNAME"}), tags=frozenset({"opus1", "x" * 101}))
LEFT_OUT = f"tag {'x' * 40!r}… left out: 101 characters, at most 100 are sent"

CONSENT_CASES = [
    Case("create: a client who agreed is added with the initial status, subscribed by default",
         AGREED, None, None, create(MARIA, merge_fields=ALL_FIELDS, tags_add=OPUS1)),
    Case("create: a client who agreed is added pending under initial_status pending (double opt-in)",
         AGREED, None, None,
         create(MARIA, "not in the audience yet; added as pending: Mailchimp asks them to confirm (initial status)",
                "pending", merge_fields=ALL_FIELDS, tags_add=OPUS1), policy=PENDING_FIRST),
    Case("create: a client who agreed is added even when unknown consent is skipped",
         AGREED, None, None, create(MARIA, merge_fields=ALL_FIELDS, tags_add=OPUS1), policy=SKIP_UNKNOWN),
    Case("create: a client who agreed gets the initial status, not pending, when unknown consent is asked for",
         AGREED, None, None, create(MARIA, merge_fields=ALL_FIELDS, tags_add=OPUS1), policy=ASK_UNKNOWN),
    Case("create: consent unknown under unknown_consent subscribe gets the initial status, as without consent",
         MARIA, None, None,
         create(MARIA, "not in the audience yet; added as pending: Mailchimp asks them to confirm (initial status)",
                "pending", merge_fields=ALL_FIELDS, tags_add=OPUS1), policy=PENDING_FIRST),
    Case("create: consent unknown under unknown_consent pending is added pending, Mailchimp asks them to confirm",
         MARIA, None, None,
         create(MARIA, "not in the audience yet; email consent unknown: added as pending, Mailchimp asks them to "
                       "confirm", "pending", merge_fields=ALL_FIELDS, tags_add=OPUS1), policy=ASK_UNKNOWN),
    Case("create: a client who refused, under denied_consent transactional, is added as a non-marketing contact",
         REFUSED, None, None,
         create(MARIA, TRANSACTIONAL_WHY, "transactional", merge_fields=ALL_FIELDS, tags_add=OPUS1),
         policy=TRANSACTIONAL),
    Case("create: a client who refused is never added subscribed or pending, whatever the initial status",
         REFUSED, None, None,
         create(MARIA, TRANSACTIONAL_WHY, "transactional", merge_fields=ALL_FIELDS, tags_add=OPUS1), policy=LAX),
    Case("create: an address of 254 characters is sent",
         AT_LIMIT, None, None, create(AT_LIMIT, merge_fields={"FNAME": "Maria", "LNAME": "Lopez"}, tags_add=OPUS1)),
    Case("skipped: a client who refused is not added (denied_consent skip, the default)",
         REFUSED, None, None, act(MARIA, SKIPPED, NOT_ADDED, code="no_consent")),
    Case("skipped: a client who refused is not added, even when every other setting would add them",
         REFUSED, None, None, act(MARIA, SKIPPED, NOT_ADDED, code="no_consent"),
         policy=replace(LAX, denied_consent="skip")),
    Case("skipped: a refusal says when, where the export gives its time",
         replace(REFUSED, consent_at="2026-10-01T09:00:00Z"), None, None,
         act(MARIA, SKIPPED, "refused email news in opus1 on 2026-10-01: not added", code="no_consent")),
    Case("skipped: consent unknown under unknown_consent skip is not added (consent_unknown)",
         MARIA, None, None,
         act(MARIA, SKIPPED, "email consent unknown: not added (this studio adds only clients who agreed)",
             code="consent_unknown"), policy=SKIP_UNKNOWN),
    Case("skipped: a client who refused and whose subscribed member opus1 did not sync: never changed",
         REFUSED, STALE, None, act(MARIA, SKIPPED, NOT_OURS_WHY, code="no_consent")),
    Case("skipped: a member opus1 did not sync is not changed under denied_consent transactional either",
         REFUSED, STALE, None, act(MARIA, SKIPPED, NOT_OURS_WHY, code="no_consent"), policy=TRANSACTIONAL),
    Case("skipped: a client who refused and changed address is not added under the new address",
         REFUSED_NEW, None, None,
         act(NEW, SKIPPED, "refused email news in opus1: unsubscribed as Old.Address@gmail.com, not added under the "
                           "new address", code="no_consent"),
         policy=TRANSACTIONAL, earlier=Earlier(OLD_ROW, OLD_MEMBER)),
    Case("skipped: an address too long for Mailchimp is not sent (address_too_long), whatever the consent",
         replace(TOO_LONG, email_consent="granted"), None, None,
         act(TOO_LONG, SKIPPED, "not sent: the address is 255 characters long; at most 254 can be sent",
             code="address_too_long", managed_tags=frozenset())),
    Case("unsubscribe: a subscribed member opus1 synced whose client refused since; nothing else is sent",
         REFUSED, STALE, synced(MARIA.email), act(MARIA, UNSUBSCRIBED, UNSUBSCRIBED_WHY, code="no_consent")),
    Case("unsubscribe: also under denied_consent transactional (a member is never made transactional)",
         REFUSED, member(MARIA.email, **ALL_FIELDS), synced(MARIA.email),
         act(MARIA, UNSUBSCRIBED, UNSUBSCRIBED_WHY, code="no_consent"), policy=LAX),
    Case("unsubscribe: a member opus1 synced and handled as a leaver earlier, now a client who refused",
         replace(REFUSED, consent_at="2026-10-01T09:00:00Z"), member(MARIA.email, tags={"opus1", "opus1-left"}, **ALL_FIELDS),
         synced(MARIA.email, tags={"opus1", "opus1-left"}, left=True),
         act(MARIA, UNSUBSCRIBED, "refused email news in opus1 on 2026-10-01 after being synced: unsubscribed in "
                                  "Mailchimp", code="no_consent"),
         policy=replace(POLICY, leaver_policy="tag")),
    *(Case(f"left alone: {status} in Mailchimp and the client refused: never changed, never made transactional",
           REFUSED, member(MARIA.email, status, tags={"Program: Tap"}, FNAME="Mary"), synced(MARIA.email),
           act(MARIA, LEFT_ALONE, f"{status} in Mailchimp: never changed by opus1"), policy=TRANSACTIONAL)
      for status in ("unsubscribed", "cleaned", "pending", "archived", "transactional")),
    Case("left alone under the old address: a client who refused and unsubscribed there is not added either",
         REFUSED_NEW, None, None,
         act(NEW, LEFT_ALONE, "unsubscribed in Mailchimp as Old.Address@gmail.com: not added under the new address"),
         policy=TRANSACTIONAL, earlier=Earlier(OLD_ROW, OLD_MEMBER._replace(status="unsubscribed"))),
    *(Case(f"update: a subscribed member is kept up to date, consent {consent} under unknown_consent {choice}",
           replace(MARIA, email_consent=consent), STALE, synced(MARIA.email),
           act(MARIA, UPDATED, "FNAME changed, LNAME changed, PHONE changed, tag opus1 added",
               merge_fields=ALL_FIELDS, tags_add=OPUS1), policy=replace(POLICY, unknown_consent=choice))
      for consent in ("granted", "unknown") for choice in ("skip", "pending")),
    Case("update: a subscribed member opus1 did not sync is kept up to date when the client agreed",
         AGREED, STALE, None,
         act(MARIA, UPDATED, "FNAME changed, LNAME changed, PHONE changed, tag opus1 added",
             merge_fields=ALL_FIELDS, tags_add=OPUS1), policy=SKIP_UNKNOWN),
]

CONTACT_CASES = [
    Case("create: a new address gets every merge field, the initial status and our tags",
         MARIA, None, None,
         create(MARIA, merge_fields=ALL_FIELDS, tags_add=OPUS1)),
    Case("create: only the merge fields the audience has (PHONE only where it has one)",
         MARIA, None, None,
         create(MARIA, merge_fields={"FNAME": "Maria", "LNAME": "Lopez"},
             tags_add=OPUS1),
         policy=replace(POLICY, merge_tags=frozenset({"FNAME", "LNAME"}))),
    Case("create: no merge field at all for an audience without FNAME, LNAME and PHONE",
         MARIA, None, None, create(MARIA, tags_add=OPUS1),
         policy=replace(POLICY, merge_tags=frozenset({"BIRTHDAY"}))),
    Case("create: PHONE only when the contact has a phone; a missing name is sent empty",
         replace(MARIA, first_name=None, last_name=None, phone=None), None, None,
         create(MARIA, merge_fields={"FNAME": "", "LNAME": ""}, tags_add=OPUS1)),
    Case("create: every configured tag, no program tags unless opted in",
         KID_PROGRAMS, None, None,
         create(MARIA, merge_fields=ALL_FIELDS,
             tags_add=frozenset({"opus1", "families"}), managed_tags=frozenset({"opus1", "families"})),
         policy=replace(POLICY, tags=frozenset({"opus1", "families"}))),
    Case("create: with program tags, a Program tag per program and a Teacher tag per teacher",
         KID_PROGRAMS, None, None,
         create(MARIA, merge_fields=ALL_FIELDS,
             tags_add=frozenset({"opus1", "Program: Piano", "Program: Violin", "Teacher: Ms. Kim"}),
             managed_tags=frozenset({"opus1", "Program: Piano", "Program: Violin", "Teacher: Ms. Kim"})),
         policy=PROGRAMS),
    Case("update: only the merge fields that differ are sent",
         MARIA, member(MARIA.email, FNAME="Maria", LNAME="Lopez-Diaz", PHONE="+1 415 555 0101"), synced(MARIA.email),
         act(MARIA, UPDATED, "LNAME changed", merge_fields={"LNAME": "Lopez"})),
    Case("update: a change of case is a change",
         MARIA, member(MARIA.email, FNAME="maria", LNAME="LOPEZ", PHONE="+1 415 555 0101"), synced(MARIA.email),
         act(MARIA, UPDATED, "FNAME changed, LNAME changed", merge_fields={"FNAME": "Maria", "LNAME": "Lopez"})),
    Case("update: an empty merge field in Mailchimp differs from a name we have",
         MARIA, member(MARIA.email, FNAME="", PHONE="+1 415 555 0101"), synced(MARIA.email),
         act(MARIA, UPDATED, "FNAME changed, LNAME changed", merge_fields={"FNAME": "Maria", "LNAME": "Lopez"})),
    Case("update: our tags the member lacks are added, tags of others are kept",
         MARIA, member(MARIA.email, tags={"vip"}, **ALL_FIELDS), synced(MARIA.email),
         act(MARIA, UPDATED, "tag opus1 added", tags_add=OPUS1)),
    Case("update: a tag we added earlier and no longer want is removed",
         KID_PROGRAMS, member(MARIA.email, tags={"opus1", "Program: Tap", "Teacher: Ms. Kim", "vip"}, **ALL_FIELDS),
         synced(MARIA.email, tags={"opus1", "Program: Tap", "Teacher: Ms. Kim"}),
         act(MARIA, UPDATED, "tag Program: Piano added, tag Program: Violin added, tag Program: Tap removed",
             tags_add=frozenset({"Program: Piano", "Program: Violin"}), tags_remove=frozenset({"Program: Tap"}),
             managed_tags=frozenset({"opus1", "Program: Piano", "Program: Violin", "Teacher: Ms. Kim"})),
         policy=PROGRAMS),
    Case("update: merge fields, then tags added, then tags removed, in one change",
         KID_PROGRAMS, member(MARIA.email, tags={"Program: Tap"}, FNAME="Mary", LNAME="Lopez", PHONE="+1 206 555 0100"),
         synced(MARIA.email, tags={"opus1", "Program: Tap"}),
         act(MARIA, UPDATED, "FNAME changed, PHONE changed, tag Program: Piano added, tag Program: Violin added, "
                             "tag Teacher: Ms. Kim added, tag opus1 added, tag Program: Tap removed",
             merge_fields={"FNAME": "Maria", "PHONE": "+1 415 555 0101"},
             tags_add=frozenset({"opus1", "Program: Piano", "Program: Violin", "Teacher: Ms. Kim"}),
             tags_remove=frozenset({"Program: Tap"}),
             managed_tags=frozenset({"opus1", "Program: Piano", "Program: Violin", "Teacher: Ms. Kim"})),
         policy=PROGRAMS),
    Case("update: a returning leaver at the same address loses the leaver tag (a tag we added)",
         MARIA, member(MARIA.email, tags={"opus1", "opus1-left", "vip"}, **ALL_FIELDS),
         synced(MARIA.email, tags={"opus1", "opus1-left"}, left=True),
         act(MARIA, UPDATED, "tag opus1-left removed", tags_remove=frozenset({"opus1-left"})),
         policy=replace(POLICY, leaver_policy="tag")),
    Case("unchanged: merge fields and our tags as wanted",
         MARIA, member(MARIA.email, tags={"opus1", "vip"}, **ALL_FIELDS), synced(MARIA.email),
         act(MARIA, UNCHANGED, "already up to date")),
    Case("unchanged: a merge field Mailchimp does not hold is the same as an empty one",
         replace(MARIA, last_name=""), member(MARIA.email, FNAME="Maria", PHONE="+1 415 555 0101"), synced(MARIA.email),
         act(MARIA, UNCHANGED, "already up to date")),
    Case("unchanged: a phone we do not know is never blanked",
         replace(MARIA, phone=None), member(MARIA.email, **ALL_FIELDS), synced(MARIA.email),
         act(MARIA, UNCHANGED, "already up to date")),
    Case("unchanged: a tag we never added is never removed",
         MARIA, member(MARIA.email, tags={"opus1", "Program: Tap"}, **ALL_FIELDS), synced(MARIA.email),
         act(MARIA, UNCHANGED, "already up to date")),
    Case("unchanged: a tag we added and someone removed in Mailchimp is not removed again",
         MARIA, member(MARIA.email, **ALL_FIELDS), synced(MARIA.email, tags={"opus1", "families"}),
         act(MARIA, UNCHANGED, "already up to date")),
    Case("unchanged: a member first synced by another tool is taken over as it is",
         MARIA, member(MARIA.email, **ALL_FIELDS), None, act(MARIA, UNCHANGED, "already up to date")),
    *(Case(f"left alone: {status} in Mailchimp, whatever differs",
           MARIA, member(MARIA.email, status, tags={"Program: Tap"}, FNAME="Mary"),
           synced(MARIA.email, tags={"Program: Tap"}),
           act(MARIA, LEFT_ALONE, f"{status} in Mailchimp: never changed by opus1"))
      for status in ("unsubscribed", "cleaned", "pending", "archived", "transactional")),
    Case("email change: the member gets the new address and every merge field; our tags added, stale ones of ours "
         "removed",
         NEW, None, None,
         act(NEW, EMAIL_CHANGED, "email changed from Old.Address@gmail.com; the member's address is updated",
             old_key="old.address@gmail.com", merge_fields={"FNAME": "Maria", "LNAME": "Lopez"},
             tags_remove=frozenset({"Program: Tap"})),
         earlier=Earlier(OLD_ROW, OLD_MEMBER)),
    Case("email change: the merge fields are sent even where the old member has them already",
         NEW, None, None,
         act(NEW, EMAIL_CHANGED, "email changed from Old.Address@gmail.com; the member's address is updated",
             old_key="old.address@gmail.com", merge_fields={"FNAME": "Maria", "LNAME": "Lopez"}, tags_add=OPUS1),
         earlier=Earlier(synced("Old.Address@gmail.com", tags=()), member("old.address@gmail.com", tags=(),
                                                                            FNAME="Maria", LNAME="Lopez"))),
    Case("email change: a returning leaver at a new address, tagged a leaver under the old one, loses that tag",
         NEW, None, None,
         act(NEW, EMAIL_CHANGED, "email changed from Old.Address@gmail.com; the member's address is updated",
             old_key="old.address@gmail.com", merge_fields={"FNAME": "Maria", "LNAME": "Lopez"},
             tags_remove=frozenset({"opus1-left"})),
         policy=replace(POLICY, leaver_policy="tag"),
         earlier=Earlier(synced("Old.Address@gmail.com", tags={"opus1", "opus1-left"}, left=True),
                         member("old.address@gmail.com", tags={"opus1", "opus1-left"}))),
    Case("left alone under the old address: they unsubscribed there, so the new address is not added",
         NEW, None, None,
         act(NEW, LEFT_ALONE, "unsubscribed in Mailchimp as Old.Address@gmail.com: not added under the new address"),
         earlier=Earlier(OLD_ROW, OLD_MEMBER._replace(status="unsubscribed"))),
    Case("left alone: an unsubscribed member's own reason is told",
         MARIA, member(MARIA.email, "unsubscribed")._replace(unsubscribe_reason="Too many emails"), synced(MARIA.email),
         act(MARIA, LEFT_ALONE, "unsubscribed in Mailchimp: never changed by opus1; their reason: Too many emails")),
    Case("unchanged: a name Mailchimp clipped to 255 bytes compares equal, and the cut is told",
         LONG_NAME, member(MARIA.email, FNAME=CLIPPED, LNAME="Lopez"), synced(MARIA.email),
         act(MARIA, UNCHANGED, f"already up to date; {CUT}")),
    Case("create: a name over 255 bytes is cut as Mailchimp clips it, a tag over 100 characters left out; both told",
         LONG_NAME, None, None,
         create(MARIA, f"not in the audience yet; {CUT}; {LEFT_OUT}", merge_fields={"FNAME": CLIPPED, "LNAME": "Lopez"},
                tags_add=OPUS1), policy=LONG_TAG),
    Case("skipped: a client who refused is told what would have been cut",
         replace(LONG_NAME, email_consent="denied"), None, None,
         act(MARIA, SKIPPED, f"{NOT_ADDED}; {CUT}; {LEFT_OUT}", code="no_consent"), policy=LONG_TAG),
    *CONSENT_CASES,
]


@pytest.mark.parametrize("case", CONTACT_CASES, ids=lambda c: c.rule)
def test_plan_contact(case: Case):
    assert plan_contact(case.contact, case.member, case.before, case.earlier, case.policy) == case.expected


@dataclass(frozen=True)
class LeaverCase:
    rule: str
    before: object
    member: object
    policy: Policy
    action: object
    reason: str
    tags_add: frozenset = frozenset()


GONE = synced("Gone.Parent@gmail.com", people=("per_9",), tags={"opus1", "families"})
LEAVER_CASES = [
    LeaverCase("leaver: keep leaves the member as it is", GONE, member("gone.parent@gmail.com"), POLICY, LEAVER_KEPT,
               "no longer a client in opus1: kept (leaver policy)"),
    LeaverCase("leaver: tag adds the leaver tag", GONE, member("gone.parent@gmail.com"),
               replace(POLICY, leaver_policy="tag"), LEAVER_TAGGED,
               "no longer a client in opus1: tagged opus1-left (leaver policy)", frozenset({"opus1-left"})),
    LeaverCase("leaver: tag adds the configured leaver tag", GONE, member("gone.parent@gmail.com"),
               replace(POLICY, leaver_policy="tag", leaver_tag="Former client"), LEAVER_TAGGED,
               "no longer a client in opus1: tagged Former client (leaver policy)", frozenset({"Former client"})),
    LeaverCase("leaver: archive archives the member", GONE, member("gone.parent@gmail.com"),
               replace(POLICY, leaver_policy="archive"), ARCHIVED,
               "no longer a client in opus1: archived (leaver policy)"),
    *(LeaverCase(f"leaver left alone: handled by an earlier run, then the policy became {policy}",
                 GONE._replace(left=True), member("gone.parent@gmail.com"), replace(POLICY, leaver_policy=policy),
                 LEFT_ALONE, "left opus1 earlier; subscribed in Mailchimp")
      for policy in ("keep", "tag", "archive")),
    *(LeaverCase(f"leaver left alone: {status} in Mailchimp, under the {policy} policy",
                 GONE, member("gone.parent@gmail.com", status), replace(POLICY, leaver_policy=policy), LEFT_ALONE,
                 f"no contact has this address now; {status} in Mailchimp: never changed by opus1")
      for status in ("unsubscribed", "cleaned", "pending", "archived", "transactional")
      for policy in ("tag", "archive")),
    LeaverCase("leaver gone: no longer in the audience either", GONE, None, replace(POLICY, leaver_policy="archive"),
               LEAVER_GONE, "no longer in opus1 or Mailchimp"),
]


@pytest.mark.parametrize("case", LEAVER_CASES, ids=lambda c: c.rule)
def test_plan_leaver(case: LeaverCase):
    expected = Action(key="gone.parent@gmail.com", email="Gone.Parent@gmail.com", action=case.action,
                      reason=case.reason, tags_add=case.tags_add, person_ids=("per_9",), account_ids=("acc_1",),
                      managed_tags=frozenset({"opus1", "families"}))
    assert plan_leaver(case.before, case.member, case.policy) == expected


# -- which earlier member a contact new to the audience takes over: earlier_member ----------------------------------

ROW_1 = synced("first.old@gmail.com", people=("per_1",))
ROW_2 = synced("second.old@gmail.com", people=("per_2",))


def earlier(c, rows: dict, members: dict, moved: set = frozenset(), claimed: set = frozenset()) -> Earlier | None:
    """``earlier_member`` with the ledger's rows by person and the members by address given as dicts, the addresses
    an email change took and those contacts of the export have as sets."""
    return earlier_member(c, rows.get, members.get, moved.__contains__, claimed.__contains__)


def test_email_change_the_first_of_the_contacts_people_with_a_subscribed_old_member_decides():
    members = {ROW_1.key: member(ROW_1.email), ROW_2.key: member(ROW_2.email)}
    assert earlier(NEW, {"per_1": ROW_1, "per_2": ROW_2}, members) == Earlier(ROW_1, members[ROW_1.key])
    assert earlier(replace(NEW, person_ids=("per_2", "per_1")), {"per_1": ROW_1, "per_2": ROW_2}, members) == Earlier(
        ROW_2, members[ROW_2.key])


def test_left_alone_under_the_old_address_an_unsubscribed_old_member_is_found_too():
    members = {ROW_1.key: member(ROW_1.email, "unsubscribed")}
    assert earlier(NEW, {"per_1": ROW_1}, members) == Earlier(ROW_1, members[ROW_1.key])


@pytest.mark.parametrize("status", ["cleaned", "pending", "archived", "transactional", None])
def test_create_despite_an_old_address_whose_member_is_not_subscribed_or_unsubscribed(status):
    """The old member is passed over (None: deleted from the audience), and the next person's is taken."""
    members = {ROW_2.key: member(ROW_2.email)}
    if status:
        members[ROW_1.key] = member(ROW_1.email, status)
    assert earlier(NEW, {"per_1": ROW_1, "per_2": ROW_2}, members) == Earlier(ROW_2, members[ROW_2.key])
    assert earlier(NEW, {"per_1": ROW_1}, members) is None


def test_create_despite_an_old_address_that_another_email_change_took_in_this_run():
    members = {ROW_1.key: member(ROW_1.email), ROW_2.key: member(ROW_2.email)}
    rows = {"per_1": ROW_1, "per_2": ROW_2}
    assert earlier(NEW, rows, members, {ROW_1.key}) == Earlier(ROW_2, members[ROW_2.key])
    assert earlier(NEW, rows, members, {ROW_1.key, ROW_2.key}) is None


def test_create_a_contact_whose_own_address_was_synced_and_deleted_is_no_email_change():
    """The ledger's row of the contact's own address is no earlier address, whatever its member."""
    own = synced(NEW.email, people=("per_1",))
    assert earlier(NEW, {"per_1": own}, {own.key: member(own.email)}) is None
    assert earlier(NEW, {"per_1": own, "per_2": ROW_2}, {ROW_2.key: member(ROW_2.email)}) == Earlier(
        ROW_2, member(ROW_2.email))


def test_create_people_never_synced_have_no_earlier_address():
    assert earlier(NEW, {}, {ROW_1.key: member(ROW_1.email)}) is None


# -- the unsubscribe of the member a client who refused had under an earlier address: plan_withdrawal --------------

#: The ledger's row of the old address, on an account the contact no longer has: the unsubscribe keeps the row's.
OLD_OURS = OLD_ROW._replace(account_ids=("acc_7",))


def test_unsubscribe_the_member_a_client_who_refused_had_under_an_earlier_address():
    """Its status alone, under the old address, with what the ledger holds of it (people, tags, accounts)."""
    assert plan_withdrawal(REFUSED_NEW, Earlier(OLD_OURS, OLD_MEMBER)) == Action(
        key="old.address@gmail.com", email="Old.Address@gmail.com", action=UNSUBSCRIBED, code="no_consent",
        reason="refused email news in opus1 after being synced (now as New.Address@gmail.com): unsubscribed in "
               "Mailchimp",
        person_ids=("per_2",), managed_tags=frozenset({"opus1", "Program: Tap", "families"}), account_ids=("acc_7",))


@pytest.mark.parametrize("consent", ["granted", "unknown"])
def test_unsubscribe_under_an_earlier_address_only_when_the_client_refused(consent):
    assert plan_withdrawal(replace(NEW, email_consent=consent), Earlier(OLD_OURS, OLD_MEMBER)) is None


@pytest.mark.parametrize("status", ["unsubscribed", "cleaned", "pending", "archived", "transactional"])
def test_unsubscribe_under_an_earlier_address_only_a_subscribed_member(status):
    assert plan_withdrawal(REFUSED_NEW, Earlier(OLD_OURS, OLD_MEMBER._replace(status=status))) is None


def test_unsubscribe_under_an_earlier_address_needs_an_earlier_member():
    assert plan_withdrawal(REFUSED_NEW, None) is None


@pytest.mark.parametrize("policy", [replace(POLICY, initial_status=i, unknown_consent=u, denied_consent=d)
                                    for i in ("subscribed", "pending") for u in ("subscribe", "pending", "skip")
                                    for d in ("skip", "transactional")], ids=repr)
def test_a_client_who_refused_is_never_subscribed(policy):
    """Under every setting, whatever Mailchimp and the ledger hold: a refusal is never added as subscribed or
    pending, never kept up to date and never moved to a new address (only skipped, unsubscribed, left alone, or
    added as transactional)."""
    audiences = [(None, None, None), (STALE, None, None), (STALE, synced(MARIA.email), None),
                 (None, None, Earlier(OLD_ROW, OLD_MEMBER)), (None, None, Earlier(OLD_ROW, member(OLD_ROW.email)))]
    audiences += [(member(MARIA.email, status), synced(MARIA.email), None)
                  for status in ("unsubscribed", "cleaned", "pending", "archived", "transactional")]
    for now, before, old in audiences:
        a = plan_contact(REFUSED, now, before, old, policy)
        assert a.status in (None, "transactional")
        assert a.action in (SKIPPED, UNSUBSCRIBED, LEFT_ALONE, CREATED) and not a.tags_remove and a.old_key is None
        if a.action != CREATED:
            assert a.merge_fields == {} and not a.tags_add


# -- decisions over a whole audience: planner.plan over the sync's scratch database ----------------------------------

def rows(planned) -> list[tuple]:
    """Each action as (address, outcome, old address, merge fields, tags added, tags removed)."""
    return [(a.email, a.action.value, a.old_key, a.merge_fields, sorted(a.tags_add), sorted(a.tags_remove))
            for a, _ in planned]


def test_email_change_an_old_address_moves_to_one_contact_at_most():
    """A shared address split in two: the first contact (in key order) takes the member, the other is created, and
    the old address is no leaver."""
    world = World.of([member("chen.family@outlook.com", FNAME="Wei", LNAME="Chen")],
                     [synced("chen.family@outlook.com", people=("per_1", "per_2"))])
    lin = contact("lin.chen@gmail.com", "Lin", "Chen", people=("per_2",))
    wei = contact("wei.chen@gmail.com", "Wei", "Chen", people=("per_1",))
    assert rows(world.plan([lin, wei], replace(POLICY, leaver_policy="archive"))) == [
        ("lin.chen@gmail.com", "email_changed", "chen.family@outlook.com", {"FNAME": "Lin", "LNAME": "Chen"}, [], []),
        ("wei.chen@gmail.com", "created", None, {"FNAME": "Wei", "LNAME": "Chen"}, ["opus1"], []),
    ]


def test_create_despite_an_old_address_deleted_from_the_audience_and_the_old_address_is_a_leaver_gone():
    world = World.of([], [synced("old.address@gmail.com", people=("per_1",))])
    assert rows(world.plan([contact("new.address@gmail.com", people=("per_1",))])) == [
        ("new.address@gmail.com", "created", None, {"FNAME": "Maria", "LNAME": "Lopez"}, ["opus1"], []),
        ("old.address@gmail.com", "leaver_gone", None, {}, [], []),
    ]


@pytest.mark.parametrize("status", ["cleaned", "pending", "archived"])
def test_create_despite_an_old_address_not_subscribed_and_the_old_member_is_a_leaver_left_alone(status):
    world = World.of([member("old.address@gmail.com", status)], [synced("old.address@gmail.com", people=("per_1",))])
    planned = world.plan([contact("new.address@gmail.com", people=("per_1",))], replace(POLICY, leaver_policy="tag"))
    assert [(a.email, a.action, a.reason) for a, _ in planned] == [
        ("new.address@gmail.com", CREATED, "not in the audience yet"),
        ("old.address@gmail.com", LEFT_ALONE, f"no contact has this address now; {status} in Mailchimp: never changed by opus1"),
    ]


def test_leaver_only_members_synced_before_that_no_contact_has_each_with_its_ledger_row():
    stays, leaves = synced("stays@gmail.com", people=("per_1",)), synced("leaves@gmail.com", people=("per_2",))
    world = World.of([member("stays@gmail.com", FNAME="Maria", LNAME="Lopez"), member("leaves@gmail.com"),
                      member("stranger@gmail.com")], [stays, leaves])
    planned = world.plan([contact("stays@gmail.com")], replace(POLICY, leaver_policy="tag"))
    assert [(a.email, a.action, before) for a, before in planned] == [
        ("stays@gmail.com", UNCHANGED, stays), ("leaves@gmail.com", LEAVER_TAGGED, leaves)]


def test_email_change_a_returning_leaver_at_a_new_address_is_the_same_member_not_a_new_one():
    world = World.of([member("old.address@gmail.com", tags={"opus1", "opus1-left"}, FNAME="Maria", LNAME="Lopez")],
                     [synced("old.address@gmail.com", people=("per_1",), tags={"opus1", "opus1-left"}, left=True)])
    planned = world.plan([contact("new.address@gmail.com", people=("per_1",))], replace(POLICY, leaver_policy="tag"))
    assert rows(planned) == [("new.address@gmail.com", "email_changed", "old.address@gmail.com",
                              {"FNAME": "Maria", "LNAME": "Lopez"}, [], ["opus1-left"])]


def test_plan_one_action_per_contact_in_key_order_then_the_leavers():
    world = World.of([member("b@gmail.com", FNAME="Maria", LNAME="Lopez"), member("z@gmail.com")],
                     [synced("b@gmail.com", people=("per_2",)), synced("z@gmail.com", people=("per_26",))])
    planned = world.plan([contact("c@gmail.com", people=("per_3",)), contact("a@gmail.com"),
                          contact("b@gmail.com", people=("per_2",))])
    assert [(a.email, a.action) for a, _ in planned] == [
        ("a@gmail.com", CREATED), ("b@gmail.com", UNCHANGED), ("c@gmail.com", CREATED), ("z@gmail.com", LEAVER_KEPT)]


def test_unsubscribe_under_an_earlier_address_first_then_the_new_address_is_skipped_and_the_old_is_no_leaver():
    """A client who refused and changed address: their member under the old address is unsubscribed (before the
    contact's own action, with its ledger row), the new address is not added, and the next run leaves both alone
    (the old address is then a leaver no longer subscribed)."""
    old = synced("old.address@gmail.com", people=("per_1",))
    world = World.of([member("old.address@gmail.com", FNAME="Maria", LNAME="Lopez")], [old])
    refused = contact("new.address@gmail.com", people=("per_1",), email_consent="denied")
    policy = replace(POLICY, leaver_policy="archive", denied_consent="transactional")
    planned = world.plan([refused], policy)
    assert [(a.email, a.action, a.code, before) for a, before in planned] == [
        ("old.address@gmail.com", UNSUBSCRIBED, "no_consent", old),
        ("new.address@gmail.com", SKIPPED, "no_consent", None)]
    world.apply(planned)
    assert world.members["old.address@gmail.com"].status == "unsubscribed"
    assert world.ledger["old.address@gmail.com"] == old._replace(status="unsubscribed")
    assert [(a.email, a.action, a.reason) for a, _ in world.plan([refused], policy)] == [
        ("new.address@gmail.com", LEFT_ALONE,
         "unsubscribed in Mailchimp as old.address@gmail.com: not added under the new address"),
        ("old.address@gmail.com", LEFT_ALONE,
         "no contact has this address now; unsubscribed in Mailchimp: never changed by opus1")]


@pytest.mark.parametrize("status", ["subscribed", "pending"])
def test_unsubscribe_under_an_earlier_address_also_when_the_new_address_is_in_the_audience(status):
    """A client who refused whose new address is in the audience already (they signed up there themselves): the
    member opus1 synced under their old address is still theirs, and must be unsubscribed, not kept as a leaver."""
    world = World.of([member("new@gmail.com", status), member("old@gmail.com", FNAME="Maria", LNAME="Lopez")],
                     [synced("old@gmail.com")])
    planned = world.plan([contact("new@gmail.com", email_consent="denied")])
    new_address = (SKIPPED, "refused email news in opus1; subscribed in Mailchimp, but not by opus1: left as it is") \
        if status == "subscribed" else (LEFT_ALONE, "pending in Mailchimp: never changed by opus1")
    assert [(a.email, a.action, a.reason) for a, _ in planned] == [
        ("old@gmail.com", UNSUBSCRIBED,
         "refused email news in opus1 after being synced (now as new@gmail.com): unsubscribed in Mailchimp"),
        ("new@gmail.com", *new_address)]


def test_email_change_never_takes_an_address_a_contact_of_the_export_still_has():
    """A family's shared address, one of whom took an address of their own: the member stays with the address."""
    shared = synced("chen.family@outlook.com", people=("per_1", "per_2"))
    assert earlier(contact("lin.chen@gmail.com", people=("per_2",)), {"per_2": shared},
                   {shared.key: member(shared.email)}, claimed={shared.key}) is None
    world = World.of([member("chen.family@outlook.com", FNAME="Wei", LNAME="Chen")], [shared])
    planned = world.plan([contact("chen.family@outlook.com", "Wei", "Chen", people=("per_1",)),
                          contact("lin.chen@gmail.com", "Lin", "Chen", people=("per_2",))])
    assert [(a.email, a.action, a.old_key) for a, _ in planned] == [
        ("chen.family@outlook.com", UNCHANGED, None), ("lin.chen@gmail.com", CREATED, None)]


def test_unsubscribe_once_then_left_alone_even_when_consent_comes_back():
    """opus1 never re-subscribes anyone: the unsubscribed member is left alone whatever the client says later."""
    world = World.of([member("maria@gmail.com", FNAME="Maria", LNAME="Lopez")], [synced("maria@gmail.com")])
    refused = contact("maria@gmail.com", email_consent="denied")
    planned = world.plan([refused])
    assert [(a.action, a.code) for a, _ in planned] == [(UNSUBSCRIBED, "no_consent")]
    world.apply(planned)
    for consent in ("denied", "granted", "unknown"):
        assert [(a.action, a.reason) for a, _ in world.plan([replace(refused, email_consent=consent)])] == [
            (LEFT_ALONE, "unsubscribed in Mailchimp: never changed by opus1")]


def test_skipped_a_subscribed_member_opus1_did_not_sync_stays_as_it_is_run_after_run():
    stale = member("maria@gmail.com", tags={"vip"}, FNAME="Mary")
    world = World.of([stale], [])
    refused = contact("maria@gmail.com", email_consent="denied")
    for _ in range(2):
        planned = world.plan([refused])
        assert [(a.action, a.code) for a, _ in planned] == [(SKIPPED, "no_consent")]
        world.apply(planned)
        assert world == World.of([stale], [])


def test_create_despite_an_old_address_a_refused_client_took_first_when_both_shared_it():
    """A shared address split in two, one client refused: the first contact (in key order) decides what happens to
    the old member; the other is added by its own consent."""
    world = World.of([member("chen.family@outlook.com", FNAME="Wei", LNAME="Chen")],
                     [synced("chen.family@outlook.com", people=("per_1", "per_2"))])
    lin = contact("lin.chen@gmail.com", "Lin", "Chen", people=("per_2",), email_consent="denied")
    wei = contact("wei.chen@gmail.com", "Wei", "Chen", people=("per_1",), email_consent="granted")
    assert [(a.email, a.action.value, a.status) for a, _ in world.plan([lin, wei])] == [
        ("chen.family@outlook.com", "unsubscribed", None), ("lin.chen@gmail.com", "skipped", None),
        ("wei.chen@gmail.com", "created", "subscribed")]


# -- what the policy and a plan file hold --------------------------------------------------------------------------

SETTINGS = {"tags": ["opus1", "families"], "program_tags": True, "leaver_policy": "tag", "leaver_tag": "gone"}


def test_the_policy_of_the_settings():
    settings = {**SETTINGS, "initial_status": "pending", "unknown_consent": "skip", "denied_consent": "transactional"}
    assert Policy.from_settings(settings, frozenset({"FNAME"})) == Policy(
        frozenset({"opus1", "families"}), True, "tag", "gone", frozenset({"FNAME"}), initial_status="pending",
        unknown_consent="skip", denied_consent="transactional")


def test_the_policy_of_settings_without_consent_choices_has_the_schemas_defaults():
    """Settings saved before the consent settings existed plan as before: subscribe, and never add a refusal."""
    assert Policy.from_settings({**SETTINGS, "unknown_consent": "pending"}, frozenset({"FNAME"})) == Policy(
        frozenset({"opus1", "families"}), True, "tag", "gone", frozenset({"FNAME"}), initial_status="subscribed",
        unknown_consent="pending", denied_consent="skip")


def test_desired_fields_are_the_contacts_own():
    assert desired_fields(MARIA, POLICY) == ALL_FIELDS


def test_a_plan_file_row_holds_the_action_its_fields_tags_and_old_address():
    a = act(NEW, EMAIL_CHANGED, "email changed", old_key="old@gmail.com", merge_fields={"FNAME": "Maria"},
            tags_add=frozenset({"b", "a"}), tags_remove=frozenset({"x"}))
    assert a.as_row() == {"email": "New.Address@gmail.com", "action": "email_changed", "reason": "email changed",
                          "status": None, "merge_fields": {"FNAME": "Maria"}, "tags_add": ["a", "b"],
                          "tags_remove": ["x"], "old_email": "old@gmail.com", "person_ids": ["per_1", "per_2"]}


def test_a_plan_file_row_holds_a_new_members_status():
    assert create(MARIA, status="pending").as_row()["status"] == "pending"


# -- every documented decision has a case ---------------------------------------------------------------------------

def documented_plans() -> list[str]:
    """The first column of the plan table in docs/mailchimp.md."""
    text = DOCS.read_text()
    table = text[text.index("| plan | when | what is sent |"):]
    table = table[:table.index("\n\n")]
    return [line.split("|")[1].strip() for line in table.splitlines()[2:]]


def test_every_documented_decision_has_a_case():
    named = [c.rule for c in CONTACT_CASES + LEAVER_CASES] + [
        name[len("test_"):].replace("_", " ") for name in globals() if name.startswith("test_")]
    plans = documented_plans()
    assert plans, "the plan table of docs/mailchimp.md was not found"
    for plan_name in plans:
        assert any(re.match(re.escape(plan_name) + r"[: ]", rule) for rule in named), f"no case for {plan_name!r}"
