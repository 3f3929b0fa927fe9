"""Planning a sync before anything is sent: what each contact and each earlier member needs, and why.

Each decision is a pure function of its inputs (``plan_contact``, ``earlier_member``, ``plan_withdrawal``,
``plan_leaver``; what consent allows is in ``consent``), so it can be tested case by case; ``plan`` walks them over
the contacts and what is ``Known`` of the audience and ledger. A little over 300 lines: the decisions of one plan
read best side by side, each in the order docs/mailchimp.md's plan table gives it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from opus1_integrations.api import ItemOutcome

from .consent import NO_CONSENT, admission, refusal, refused
from .ledger import Synced
from .limits import Bounded, bound_member
from .members import Member

#: What each planned action does to its member, by the outcome it records (a dry run records the same names).
CREATED, UPDATED, UNCHANGED, LEFT_ALONE, EMAIL_CHANGED = (
    ItemOutcome.CREATED, ItemOutcome.UPDATED, ItemOutcome.UNCHANGED, ItemOutcome.LEFT_ALONE, ItemOutcome.EMAIL_CHANGED)
LEAVER_KEPT, LEAVER_TAGGED, ARCHIVED, LEAVER_GONE = (
    ItemOutcome.LEAVER_KEPT, ItemOutcome.LEAVER_TAGGED, ItemOutcome.ARCHIVED, ItemOutcome.LEAVER_GONE)
SKIPPED, UNSUBSCRIBED = ItemOutcome.SKIPPED, ItemOutcome.UNSUBSCRIBED
#: The actions that write to Mailchimp; the others only record.
WRITES = frozenset({CREATED, UPDATED, EMAIL_CHANGED, LEAVER_TAGGED, ARCHIVED, UNSUBSCRIBED})
#: Reason code of a contact whose address is longer than any Mailchimp takes (``limits.bound_member``).
TOO_LONG = "address_too_long"


@dataclass
class Action:
    """What to do with one member, and why."""

    key: str
    """The member's address, trimmed and lower-cased (the contact's key)."""
    email: str
    """The address as the contact (or, for a leaver, the ledger) spells it."""
    action: ItemOutcome
    """The outcome this action records once sent (``created``, ``updated``, ...)."""
    reason: str
    """Why, in words (recorded in the run log, shown by a dry run)."""
    merge_fields: dict = field(default_factory=dict)
    """The merge fields to send: all of them for a new or moved member, only those that differ for an update."""
    tags_add: frozenset[str] = frozenset()
    """Tags to add."""
    tags_remove: frozenset[str] = frozenset()
    """Tags to remove (only ones this plugin added earlier and no longer wants)."""
    old_key: str | None = None
    """For an email change: the address the member has now."""
    person_ids: tuple[str, ...] = ()
    """The people behind the member (kept in the ledger to recognise an email change later)."""
    managed_tags: frozenset[str] = frozenset()
    """The tags this plugin wants on the member (kept in the ledger, so it knows later which tags are its own)."""
    status: str | None = None
    """For a new member: the status it gets (``subscribed``, ``pending`` or ``transactional``)."""
    code: str | None = None
    """For a contact not sent on purpose (``skipped``) or unsubscribed: the reason code (``no_consent``, ...)."""
    account_ids: tuple[str, ...] = ()
    """The accounts behind the member (kept in the ledger, for the people who leave in Mailchimp)."""

    def as_row(self) -> dict:
        """The action as one row of a plan file."""
        return {
            "email": self.email,
            "action": self.action.value,
            "reason": self.reason,
            "status": self.status,
            "merge_fields": self.merge_fields,
            "tags_add": sorted(self.tags_add),
            "tags_remove": sorted(self.tags_remove),
            "old_email": self.old_key,
            "person_ids": list(self.person_ids),
        }


def program_tags(contact) -> frozenset[str]:
    """Opt-in tags naming the programs and teachers of the children on the contact's accounts."""
    return frozenset([f"Program: {p}" for p in contact.programs] + [f"Teacher: {t}" for t in contact.teachers])


@dataclass(frozen=True)
class Policy:
    """The settings that shape a plan."""

    tags: frozenset[str]
    program_tags: bool
    leaver_policy: str
    leaver_tag: str
    merge_tags: frozenset[str]
    initial_status: str = "subscribed"
    """The status of a new member whose client agreed (or whose consent is unknown, under ``subscribe``)."""
    unknown_consent: str = "subscribe"
    """What a client whose consent is unknown gets: ``subscribe`` (``initial_status``), ``pending`` or ``skip``."""
    denied_consent: str = "skip"
    """What a client who refused gets: ``skip`` (not added) or ``transactional`` (a non-marketing contact)."""

    @classmethod
    def from_settings(cls, settings: dict, merge_tags: frozenset[str]) -> "Policy":
        """The policy of the plugin's settings (defaults filled) for an audience with these merge tags; a consent
        setting missing from ``settings`` keeps the policy's default, which is the schema's."""
        consent = {k: settings[k] for k in ("initial_status", "unknown_consent", "denied_consent") if k in settings}
        return cls(frozenset(settings["tags"]), settings["program_tags"], settings["leaver_policy"],
                   settings["leaver_tag"], merge_tags, **consent)

    def tags_for(self, contact) -> frozenset[str]:
        """The tags this plugin puts on the contact's member."""
        return self.tags | program_tags(contact) if self.program_tags else self.tags

    def outgoing(self, contact) -> Bounded:
        """What this plugin sends for the contact (the sync, and ``verify`` comparing with it): its merge fields and
        tags, bounded by Mailchimp's limits."""
        return bound_member(contact.email, desired_fields(contact, self), self.tags_for(contact))


def desired_fields(contact, policy: Policy) -> dict:
    """The merge fields a contact should have (PHONE only where the audience has it and we know it)."""
    tags = policy.merge_tags
    fields = {}
    if "FNAME" in tags:
        fields["FNAME"] = contact.first_name or ""
    if "LNAME" in tags:
        fields["LNAME"] = contact.last_name or ""
    if "PHONE" in tags and contact.phone:
        fields["PHONE"] = contact.phone
    return fields


@dataclass(frozen=True)
class Earlier:
    """The member a contact had under an earlier address: its ledger row and its live state."""

    synced: Synced
    member: Member


def plan_contact(contact, member: Member | None, before: Synced | None, earlier: Earlier | None,
                 policy: Policy) -> Action:
    """The action for one contact.

    ``member`` is the audience's member of the contact's address (``None``: not in the audience), ``before`` the
    ledger's row of that address (``None``: never synced), ``earlier`` what ``earlier_member`` found (read only
    for a contact whose address is not in the audience: only such a contact can take an earlier member). The
    contact's names and tags are first bounded by Mailchimp's limits (``limits.bound_member``), so a value Mailchimp
    clipped compares equal; what was cut is told in the reason. Decides, in this order:

    - an address too long to send: ``skipped`` (``address_too_long``);
    - not in the audience, and the person unsubscribed under an earlier address: ``left_alone``;
    - not in the audience with an earlier subscribed member: if the client refused, ``skipped`` (``no_consent``;
      ``plan_withdrawal`` unsubscribes that member), else ``email_changed`` (the member gets the new address, our
      fields and tags);
    - not in the audience: by its consent (``consent.admission``), ``created`` with the status it allows, or
      ``skipped`` (``no_consent``, ``consent_unknown``);
    - not subscribed (unsubscribed, cleaned, pending, archived, transactional): ``left_alone``, never changed;
    - subscribed and the client refused: ``unsubscribed`` when this plugin synced it (``before``), else
      ``skipped`` (``no_consent``): a member it did not add is never changed;
    - subscribed with merge fields or our tags differing: ``updated`` with only what differs; else ``unchanged``.
    """
    bounded = policy.outgoing(contact)
    tags, fields = bounded.tags, bounded.merge_fields
    base = dict(key=contact.key, email=contact.email, person_ids=tuple(contact.person_ids), managed_tags=tags,
                account_ids=tuple(contact.account_ids))
    if bounded.refused:
        return Action(**base, action=SKIPPED, code=TOO_LONG, reason=f"not sent: {bounded.refused}")

    def why(text: str) -> str:
        return "; ".join([text, *bounded.notes])

    if member is None:
        if earlier is not None and earlier.member.status == "unsubscribed":
            return Action(**base, action=LEFT_ALONE, reason=why(
                f"unsubscribed in Mailchimp as {earlier.synced.email}: not added under the new address"))
        if earlier is not None and refused(contact):
            return Action(**base, action=SKIPPED, code=NO_CONSENT, reason=why(
                f"{refusal(contact)}: unsubscribed as {earlier.synced.email}, not added under the new address"))
        if earlier is not None:
            old = earlier.synced
            return Action(**base, action=EMAIL_CHANGED, old_key=old.key, merge_fields=fields,
                          tags_add=tags - earlier.member.tags,
                          tags_remove=(old.managed_tags - tags) & earlier.member.tags,
                          reason=why(f"email changed from {old.email}; the member's address is updated"))
        admit = admission(contact, policy.initial_status, policy.unknown_consent, policy.denied_consent)
        if admit.status is None:
            return Action(**base, action=SKIPPED, code=admit.code, reason=why(admit.why))
        return Action(**base, action=CREATED, merge_fields=fields, tags_add=tags, status=admit.status,
                      reason=why("; ".join(filter(None, ["not in the audience yet", admit.why]))))
    if member.status != "subscribed":
        said = f"; their reason: {member.unsubscribe_reason}" if member.unsubscribe_reason else ""
        return Action(**base, action=LEFT_ALONE, reason=why(f"{member.status} in Mailchimp: never changed by opus1{said}"))
    if refused(contact):
        if before is not None:
            return Action(**base, action=UNSUBSCRIBED, code=NO_CONSENT,
                          reason=f"{refusal(contact)} after being synced: unsubscribed in Mailchimp")
        return Action(**base, action=SKIPPED, code=NO_CONSENT,
                      reason=f"{refusal(contact)}; subscribed in Mailchimp, but not by opus1: left as it is")
    changed = {k: v for k, v in fields.items() if (member.merge_fields.get(k) or "") != v}
    previously = before.managed_tags if before else frozenset()
    add = tags - member.tags
    remove = (previously - tags) & member.tags
    if changed or add or remove:
        what = [f"{k} changed" for k in changed] + [f"tag {t} added" for t in sorted(add)]
        what += [f"tag {t} removed" for t in sorted(remove)]
        return Action(**base, action=UPDATED, merge_fields=changed, tags_add=add, tags_remove=remove,
                      reason=why(", ".join(what)))
    return Action(**base, action=UNCHANGED, reason=why("already up to date"))


def earlier_member(contact, owner: Callable[[str], Synced | None], member: Callable[[str], Member | None],
                   moved: Callable[[str], bool], claimed: Callable[[str], bool]) -> Earlier | None:
    """The member a contact had under an earlier address, if any.

    For each of the contact's person ids in turn: the ledger row holding that person (``owner``), unless it is
    the contact's own address, a contact of this export still has that address (``claimed``: someone who shared
    it took an address of their own; the member stays with the address), or an email change of this run took it
    already (``moved``), whose live member (``member``) is subscribed (it gets the new address) or unsubscribed (the
    person opted out: the new address is not added either). Cleaned, pending, archived or deleted members are
    passed over.
    """
    for pid in contact.person_ids:
        old = owner(pid)
        if old is None or old.key == contact.key or moved(old.key) or claimed(old.key):
            continue
        live = member(old.key)
        if live is not None and live.status in ("subscribed", "unsubscribed"):
            return Earlier(old, live)
    return None


def plan_withdrawal(contact, earlier: Earlier | None) -> Action | None:
    """The unsubscribe of the subscribed member a contact's client had under an earlier address (``earlier``), when
    the client refused email news since, whether or not the new address is in the audience; else ``None``. That
    member was synced by this plugin (``earlier`` comes from the ledger), and is not moved to the new address."""
    if earlier is None or earlier.member.status != "subscribed" or not refused(contact):
        return None
    old = earlier.synced
    return Action(key=old.key, email=old.email, action=UNSUBSCRIBED, code=NO_CONSENT, person_ids=old.person_ids,
                  managed_tags=old.managed_tags, account_ids=old.account_ids,
                  reason=f"{refusal(contact)} after being synced (now as {contact.email}): unsubscribed in Mailchimp")


def plan_leaver(before: Synced, member: Member | None, policy: Policy) -> Action:
    """The action for a member synced before whose address no contact has now (and no email change took).

    Gone from the audience: ``leaver_gone``; handled as a leaver by an earlier run, or not subscribed (it left in
    Mailchimp, or its client refused email news and was unsubscribed under it): ``left_alone``;
    else by the leaver policy: ``archived``, ``leaver_tagged`` (the leaver tag added) or ``leaver_kept``.
    """
    base = dict(key=before.key, email=before.email, person_ids=before.person_ids, managed_tags=before.managed_tags,
                account_ids=before.account_ids)
    if member is None:
        return Action(**base, action=LEAVER_GONE, reason="no longer in opus1 or Mailchimp")
    if before.left:
        return Action(**base, action=LEFT_ALONE, reason=f"left opus1 earlier; {member.status} in Mailchimp")
    if member.status != "subscribed":
        return Action(**base, action=LEFT_ALONE,
                      reason=f"no contact has this address now; {member.status} in Mailchimp: never changed by opus1")
    if policy.leaver_policy == "archive":
        return Action(**base, action=ARCHIVED, reason="no longer a client in opus1: archived (leaver policy)")
    if policy.leaver_policy == "tag":
        return Action(**base, action=LEAVER_TAGGED, tags_add=frozenset({policy.leaver_tag}),
                      reason=f"no longer a client in opus1: tagged {policy.leaver_tag} (leaver policy)")
    return Action(**base, action=LEAVER_KEPT, reason="no longer a client in opus1: kept (leaver policy)")


class Known(Protocol):
    """What a plan is made from besides the contacts: the audience as read and the ledger as the sync found it
    (``scratch.Scratch`` keeps both on disk)."""

    def pair(self, contacts: Iterable) -> Iterator[tuple[object, Member | None, Synced | None]]:
        """Each contact, in the contacts' order, with the member and the ledger row of its address."""

    def has_synced(self) -> bool:
        """Whether the ledger holds anyone (else no contact can have an earlier address)."""

    def owner(self, person_id: str) -> Synced | None:
        """The ledger row holding this person id."""

    def member(self, key: str) -> Member | None:
        """The audience's member of this address."""

    def moved(self, key: str) -> bool:
        """Whether an email change planned in this run took the member of this address."""

    def move(self, key: str) -> None:
        """Note that an email change planned in this run takes the member of this address."""

    def leavers(self) -> Iterator[tuple[Synced, Member | None]]:
        """Once every contact is paired: the ledger rows no contact had and no email change took, with members."""


def plan(contacts: Iterable, known: Known, policy: Policy, claimed: Callable[[str], bool]
         ) -> Iterator[tuple[Action, Synced | None]]:
    """One action per contact, in the contacts' order (preceded by ``plan_withdrawal``'s unsubscribe of its earlier
    member, when there is one), then one per leaver (known only once every contact is seen), each with the ledger
    row of its address. ``claimed`` tells whether a contact of the export has an address. A generator, so sending
    can start while it runs."""
    look_back = known.has_synced()
    for contact, member, before in known.pair(contacts):
        earlier = None
        if look_back and (member is None or refused(contact)):
            earlier = earlier_member(contact, known.owner, known.member, known.moved, claimed)
            withdrawal = plan_withdrawal(contact, earlier)
            if withdrawal is not None:
                known.move(withdrawal.key)
                yield withdrawal, earlier.synced
        action = plan_contact(contact, member, before, earlier, policy)
        if action.action == EMAIL_CHANGED:
            known.move(action.old_key)
        yield action, before
    for before, member in known.leavers():
        yield plan_leaver(before, member, policy), before
