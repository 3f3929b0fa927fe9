"""Invariants of the planner on generated contacts, audiences and ledgers (Hypothesis): they hold for every input.

The inputs are drawn from small pools of addresses, people, names, tags, statuses, consents and consent settings,
so that shared people, old addresses, members in every status, tags of ours and of others, leavers handled or not,
names differing only in case, and clients who refused email news (at their address or under an old one) are
common. Each example plans with ``planner.plan`` over the sync's own scratch database
(``simulated.known``); ``World.apply`` then sends and records the plan as a sync does, so it can be planned again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings, strategies as st
from simulated import World, contact, member, synced

from opus1_mailchimp.planner import (ARCHIVED, CREATED, EMAIL_CHANGED, LEAVER_GONE, LEAVER_KEPT, LEAVER_TAGGED,
                                     LEFT_ALONE, SKIPPED, UNCHANGED, UNSUBSCRIBED, UPDATED, WRITES, Policy,
                                     desired_fields)

# Fast enough for the normal suite (each example plans over a scratch database of its own, some 10 ms: about 10 s
# for all eight tests); no deadline, since a loaded machine is slow. OPUS1_PROPERTY_EXAMPLES=2000 searches harder
# (docs/testing.md).
PROPERTY = settings(max_examples=int(os.environ.get("OPUS1_PROPERTY_EXAMPLES", "50")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

ADDRESSES = ["ann@gmail.com", "Bo.Lee@Yahoo.com", "cy@outlook.com", "di@gmail.com", "ed@aol.com"]
PEOPLE = [f"per_{n}" for n in range(1, 7)]
#: A child's name and address: never in a contact (the host's rules see to that), but in the audience, where a
#: parent may have typed them into a signup form. Nothing the planner sends may carry them.
CHILD_NAME, CHILD_ADDRESS = "Leo", "leo.kid@gmail.com"
STRANGER = "stranger@gmail.com"
NAMES = ["Ann", "ann", "Lee", "", None]
PHONES = [None, "+1 206 555 0100", "+1 206 555 0101"]
TAGS = ["opus1", "families", "vip", "opus1-left", "Program: Piano", "Teacher: Ms. Kim", "Program: Tap", CHILD_NAME]
STATUSES = ["subscribed", "subscribed", "subscribed", "unsubscribed", "cleaned", "pending", "archived",
            "transactional"]
CONSENTS = ["granted", "unknown", "denied"]


@dataclass
class Example:
    contacts: list
    world: World
    policy: Policy

    def sent(self):
        """The plan of this example as a list of (action, ledger row)."""
        return self.world.plan(self.contacts, self.policy)


def spelled(address: str):
    """An address as some record spells it (the key is the trimmed, lower-cased address)."""
    return st.sampled_from([address, address.lower(), address.upper()])


@st.composite
def contacts(draw) -> list:
    """Contacts with distinct addresses; each person behind one contact at most (the host's rules)."""
    addresses = draw(st.lists(st.sampled_from(ADDRESSES), max_size=len(ADDRESSES), unique_by=str.lower))
    people = draw(st.permutations(PEOPLE))
    found = []
    for address in addresses:
        n = draw(st.integers(1, 2))
        mine, people = tuple(sorted(people[:n])), people[n:]
        if not mine:
            break
        found.append(contact(draw(spelled(address)), draw(st.sampled_from(NAMES)), draw(st.sampled_from(NAMES)),
                             phone=draw(st.sampled_from(PHONES)), people=mine,
                             programs=tuple(draw(st.lists(st.sampled_from(["Piano", "Tap"]), unique=True))),
                             teachers=tuple(draw(st.lists(st.sampled_from(["Ms. Kim"]), unique=True))),
                             email_consent=draw(st.sampled_from(CONSENTS)),
                             consent_at=draw(st.sampled_from([None, "2026-10-01T09:00:00Z"]))))
    return found


@st.composite
def members(draw) -> list:
    """The audience: any of the pooled addresses (a child's and a stranger's too) in any status, with any fields."""
    found = []
    for address in ADDRESSES + [CHILD_ADDRESS, STRANGER]:
        if draw(st.booleans()):
            fields = draw(st.dictionaries(st.sampled_from(["FNAME", "LNAME", "PHONE"]),
                                          st.sampled_from(["Ann", "ann", "Lee", "", CHILD_NAME, "+1 206 555 0100"])))
            found.append(member(draw(spelled(address)), draw(st.sampled_from(STATUSES)),
                                draw(st.frozensets(st.sampled_from(TAGS))), **fields))
    return found


@st.composite
def ledgers(draw) -> list:
    """What this integration synced before: any of the pooled addresses, with any people (an old address may hold
    people who have another address now, also one that a contact still has: a shared address split in two), the
    tags it added then, handled as a leaver or not."""
    found = []
    for address in ADDRESSES:
        if draw(st.booleans()):
            people = tuple(draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=2, unique=True)))
            found.append(synced(draw(spelled(address)), people=people,
                                tags=draw(st.frozensets(st.sampled_from(TAGS[:7]))), left=draw(st.booleans())))
    return found


@st.composite
def examples(draw) -> Example:
    policy = Policy(tags=draw(st.sampled_from([frozenset({"opus1"}), frozenset({"opus1", "families"})])),
                    program_tags=draw(st.booleans()), leaver_policy=draw(st.sampled_from(["keep", "tag", "archive"])),
                    leaver_tag=draw(st.sampled_from(["opus1-left", "Former client"])),
                    merge_tags=draw(st.sampled_from([frozenset({"FNAME", "LNAME"}),
                                                     frozenset({"FNAME", "LNAME", "PHONE"})])),
                    initial_status=draw(st.sampled_from(["subscribed", "pending"])),
                    unknown_consent=draw(st.sampled_from(["subscribe", "pending", "skip"])),
                    denied_consent=draw(st.sampled_from(["skip", "transactional"])))
    found = draw(contacts())
    ledger = draw(ledgers())
    return Example(found, World.of(draw(members()), ledger), policy)


def applied(example: Example, planned) -> World:
    """The world once the plan was sent and recorded."""
    after = example.world.copy()
    after.apply(planned)
    return after


@PROPERTY
@given(examples())
def test_everything_sent_is_the_contacts_own_or_the_settings(example: Example):
    """No child's address or name, nor anything else read from Mailchimp, is ever sent: a contact's action carries
    its own address and fields and our tags; a leaver's only the leaver tag; a tag is removed only if we added it."""
    by_key = {c.key: c for c in example.contacts}
    for a, before in example.sent():
        if a.key in by_key:
            c = by_key[a.key]
            assert a.email == c.email
            assert a.merge_fields.items() <= desired_fields(c, example.policy).items()
            assert a.tags_add <= example.policy.tags_for(c)
            ours = example.world.ledger[a.old_key] if a.old_key else before
            assert a.tags_remove <= (ours.managed_tags if ours else set())
        else:
            assert a.email == before.email and a.merge_fields == {} and not a.tags_remove
            assert a.tags_add <= {example.policy.leaver_tag}
        wire = json.dumps([a.email, a.merge_fields, sorted(a.tags_add), sorted(a.tags_remove)])
        assert CHILD_NAME not in wire and CHILD_ADDRESS not in wire.lower() and STRANGER not in wire.lower()


def withdrawals(example: Example, planned) -> dict[str, str]:
    """The unsubscribes of members under an earlier address (``plan_withdrawal``: an unsubscribe of an address no
    contact has), each with the key of the action right after it."""
    contact_keys = {c.key for c in example.contacts}
    return {a.key: (planned[n + 1][0].key if n + 1 < len(planned) else None) for n, (a, _) in enumerate(planned)
            if a.action == UNSUBSCRIBED and a.key not in contact_keys}


@PROPERTY
@given(examples())
def test_exactly_one_action_per_contact_then_one_per_leaver(example: Example):
    """Each contact's action in key order, the unsubscribe of its member under an earlier address (if any) just
    before it; then the leavers: the ledger's other rows, but those an email change or an unsubscribe took."""
    planned = example.sent()
    withdrawn = withdrawals(example, planned)
    keys = [a.key for a, _ in planned if a.key not in withdrawn]
    contact_keys = [c.key for c in sorted(example.contacts, key=lambda c: c.key)]
    moved = {a.old_key for a, _ in planned if a.action == EMAIL_CHANGED}
    assert keys[:len(contact_keys)] == contact_keys
    assert keys[len(contact_keys):] == sorted(set(example.world.ledger) - set(contact_keys) - moved - set(withdrawn))
    assert len(planned) == len(keys) + len(withdrawn)
    assert set(withdrawn.values()) <= set(contact_keys)


@PROPERTY
@given(examples())
def test_no_members_status_is_changed_and_no_member_removed_but_a_leaver_archived_or_a_refusal_unsubscribed(
        example: Example):
    """Whatever the plan, applied: every member is still there (under its new address, if it moved), in the status
    it had, but a leaver archived under the archive policy and a subscribed member this integration synced whose
    client refused, unsubscribed."""
    planned = example.sent()
    after = applied(example, planned)
    archived = {a.key for a, _ in planned if a.action == ARCHIVED}
    unsubscribed = {a.key for a, _ in planned if a.action == UNSUBSCRIBED}
    moves = {a.old_key: a.key for a, _ in planned if a.action == EMAIL_CHANGED}
    for key, was in example.world.members.items():
        now = after.members[moves.get(key, key)]
        if key in archived:
            assert (was.status, now.status, example.policy.leaver_policy) == ("subscribed", "archived", "archive")
        elif key in unsubscribed:
            assert (was.status, now.status, key in example.world.ledger) == ("subscribed", "unsubscribed", True)
        else:
            assert now.status == was.status


@PROPERTY
@given(examples())
def test_every_write_changes_its_member_and_nothing_else_writes(example: Example):
    """No write for a member in line: an action that writes changes what Mailchimp holds, one that does not
    leaves it as it was. One exception: a leaver that carries the leaver tag already (added by hand) is tagged
    again, one write that changes nothing, once (the planner adds the tag without looking at the member's)."""
    planned = example.sent()
    after = applied(example, planned)
    for a, _ in planned:
        was = example.world.members.get(a.old_key or a.key)
        now = after.members.get(a.key)
        if a.action == LEAVER_TAGGED and a.tags_add <= was.tags:
            assert now == was
        elif a.action in WRITES:
            assert now != was, f"{a.action.value} of {a.email} changes nothing"
        else:
            assert now == was


@PROPERTY
@given(examples())
def test_leavers_and_old_addresses_only_among_members_this_integration_synced(example: Example):
    """A member is kept, tagged or archived as a leaver only if this integration synced it, no contact has it, no
    earlier run handled it and it is subscribed; an email change takes only a subscribed member synced under one of
    the contact's people, and only an unsubscribed one keeps a contact out."""
    ledger, audience = example.world.ledger, example.world.members
    by_key = {c.key: c for c in example.contacts}
    for a, before in example.sent():
        if a.action in (LEAVER_KEPT, LEAVER_TAGGED, ARCHIVED):
            assert a.key not in by_key and before == ledger[a.key] and not before.left
            assert audience[a.key].status == "subscribed"
        elif a.action == LEAVER_GONE:
            assert a.key not in by_key and before == ledger[a.key] and a.key not in audience
        elif a.action == EMAIL_CHANGED:
            assert a.key not in audience and a.old_key not in by_key
            assert audience[a.old_key].status == "subscribed"
            assert set(ledger[a.old_key].person_ids) & set(by_key[a.key].person_ids)
        elif a.action == LEFT_ALONE and a.key in by_key and a.key not in audience:
            unsubscribed = [s for s in ledger.values() if s.key in audience and s.key != a.key
                            and audience[s.key].status == "unsubscribed"
                            and set(s.person_ids) & set(by_key[a.key].person_ids)]
            assert unsubscribed


@PROPERTY
@given(examples())
def test_a_plan_applied_is_a_no_op_the_second_time(example: Example):
    after = applied(example, example.sent())
    again = after.plan(example.contacts, example.policy)
    assert [(a.email, a.action.value, a.reason) for a, _ in again if a.action in WRITES] == []
    assert applied(Example(example.contacts, after, example.policy), again) == after


@PROPERTY
@given(examples())
def test_a_client_who_refused_is_never_subscribed_pending_updated_or_moved(example: Example):
    """A contact whose client refused email news gets no action with the status subscribed or pending, no update,
    no email change and nothing ``unchanged`` (which would keep its member in line); only ``skipped``,
    ``unsubscribed``, ``left_alone`` or, under ``denied_consent`` ``transactional``, a transactional create. Once
    the plan is applied, its address holds a subscribed or pending member only if one was there before, untouched."""
    planned = example.sent()
    after = applied(example, planned)
    for a, _ in planned:
        c = next((c for c in example.contacts if c.key == a.key), None)
        if c is None or c.email_consent != "denied":
            continue
        assert a.status not in ("subscribed", "pending")
        assert a.action not in (UPDATED, EMAIL_CHANGED, UNCHANGED)
        assert a.action in (SKIPPED, UNSUBSCRIBED, LEFT_ALONE, CREATED)
        if a.action == CREATED:
            assert (a.status, example.policy.denied_consent) == ("transactional", "transactional")
        else:
            assert a.merge_fields == {} and not a.tags_add and not a.tags_remove
        now, was = after.members.get(a.key), example.world.members.get(a.key)
        if now is not None and now.status in ("subscribed", "pending"):
            assert now == was


@PROPERTY
@given(examples())
def test_only_subscribed_members_this_integration_synced_are_unsubscribed_and_only_for_a_refusal(example: Example):
    """An unsubscribe targets a member in the ledger (synced by this integration) that is subscribed, for a client
    who refused: at the contact's own address, or under an earlier address of one of its people (just before the
    contact's action, which then adds nothing); it carries nothing but its status change."""
    ledger, audience = example.world.ledger, example.world.members
    by_key = {c.key: c for c in example.contacts}
    planned = example.sent()
    withdrawn = withdrawals(example, planned)
    actions = {a.key: a for a, _ in planned}
    for a, before in planned:
        if a.action != UNSUBSCRIBED:
            continue
        assert a.key in ledger and before == ledger[a.key] and audience[a.key].status == "subscribed"
        assert (a.code, a.merge_fields, a.tags_add, a.tags_remove, a.status) == ("no_consent", {}, set(), set(), None)
        c = by_key.get(a.key) or by_key[withdrawn[a.key]]
        assert c.email_consent == "denied"
        if a.key not in by_key:
            assert set(ledger[a.key].person_ids) & set(c.person_ids)
            after = actions[c.key]  # the contact itself is not added, changed or subscribed
            if c.key not in audience:
                assert (after.action, after.code) == (SKIPPED, "no_consent")
            else:
                assert after.action in (SKIPPED, LEFT_ALONE, UNSUBSCRIBED)
