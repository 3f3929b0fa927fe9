"""Planning a sync before anything is sent: what each contact and each earlier member needs, and why."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from opus1_integrations.api import ItemOutcome

from .ledger import Synced
from .members import Member

#: What each planned action does to its member, by the outcome it records (a dry run records the same names).
CREATED, UPDATED, UNCHANGED, LEFT_ALONE, EMAIL_CHANGED = (
    ItemOutcome.CREATED, ItemOutcome.UPDATED, ItemOutcome.UNCHANGED, ItemOutcome.LEFT_ALONE, ItemOutcome.EMAIL_CHANGED)
LEAVER_KEPT, LEAVER_TAGGED, ARCHIVED, LEAVER_GONE = (
    ItemOutcome.LEAVER_KEPT, ItemOutcome.LEAVER_TAGGED, ItemOutcome.ARCHIVED, ItemOutcome.LEAVER_GONE)
#: The actions that write to Mailchimp; the others only record.
WRITES = frozenset({CREATED, UPDATED, EMAIL_CHANGED, LEAVER_TAGGED, ARCHIVED})


@dataclass
class Action:
    """What to do with one member, and why."""

    key: str
    email: str
    action: ItemOutcome
    """The outcome this action records once sent (``created``, ``updated``, ...)."""
    reason: str
    merge_fields: dict = field(default_factory=dict)
    tags_add: frozenset[str] = frozenset()
    tags_remove: frozenset[str] = frozenset()
    old_key: str | None = None
    person_ids: tuple[str, ...] = ()
    managed_tags: frozenset[str] = frozenset()

    def as_row(self) -> dict:
        """The action as one row of a plan file."""
        return {
            "email": self.email,
            "action": self.action.value,
            "reason": self.reason,
            "merge_fields": self.merge_fields,
            "tags_add": sorted(self.tags_add),
            "tags_remove": sorted(self.tags_remove),
            "old_email": self.old_key,
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

    @classmethod
    def from_settings(cls, settings: dict, merge_tags: frozenset[str]) -> "Policy":
        """The policy of the plugin's settings (defaults filled) for an audience with these merge tags."""
        return cls(frozenset(settings["tags"]), settings["program_tags"], settings["leaver_policy"],
                   settings["leaver_tag"], merge_tags)

    def tags_for(self, contact) -> frozenset[str]:
        """The tags this plugin puts on the contact's member."""
        return self.tags | (program_tags(contact) if self.program_tags else frozenset())


def desired_fields(contact, policy: Policy) -> dict:
    """The merge fields a contact should have (PHONE only where the audience has it and we know it)."""
    fields = {"FNAME": contact.first_name or "", "LNAME": contact.last_name or ""}
    if "PHONE" in policy.merge_tags and contact.phone:
        fields["PHONE"] = contact.phone
    return {k: v for k, v in fields.items() if k in policy.merge_tags}


def plan(contacts: Iterable, live: dict[str, Member], synced: dict[str, Synced], policy: Policy) -> Iterator[Action]:
    """Compare the contacts with the audience and the ledger: one action per contact, in the contacts' order, then
    one per leaver (known only once every contact is seen). A generator, so sending can start while it runs."""
    eligible: set[str] = set()
    by_person = {pid: s for s in synced.values() for pid in s.person_ids}
    moved: set[str] = set()
    for contact in contacts:
        eligible.add(contact.key)
        tags = policy.tags_for(contact)
        fields = desired_fields(contact, policy)
        before = synced.get(contact.key)
        member = live.get(contact.key)
        base = dict(key=contact.key, email=contact.email, person_ids=tuple(contact.person_ids), managed_tags=tags)
        if member is None:
            old = _old_address(contact, by_person, live, moved)
            if old is not None and live[old.key].status == "unsubscribed":
                yield Action(**base, action=LEFT_ALONE,
                             reason=f"unsubscribed in Mailchimp as {old.email}: not added under the new address")
                continue
            if old is not None:
                moved.add(old.key)
                yield Action(**base, action=EMAIL_CHANGED, old_key=old.key, merge_fields=fields,
                             tags_add=tags - live[old.key].tags,
                             tags_remove=(old.managed_tags - tags) & live[old.key].tags,
                             reason=f"email changed from {old.email}; the member's address is updated")
            else:
                yield Action(**base, action=CREATED, merge_fields=fields, tags_add=tags, reason="not in the audience yet")
            continue
        if member.status != "subscribed":
            yield Action(**base, action=LEFT_ALONE, reason=f"{member.status} in Mailchimp: never changed by opus1")
            continue
        changed = {k: v for k, v in fields.items() if (member.merge_fields.get(k) or "") != v}
        previously = before.managed_tags if before else frozenset()
        add = tags - member.tags
        remove = (previously - tags) & member.tags
        if changed or add or remove:
            what = [f"{k} changed" for k in changed] + [f"tag {t} added" for t in sorted(add)]
            what += [f"tag {t} removed" for t in sorted(remove)]
            yield Action(**base, action=UPDATED, merge_fields=changed, tags_add=add, tags_remove=remove,
                         reason=", ".join(what))
        else:
            yield Action(**base, action=UNCHANGED, reason="already up to date")
    for key, before in synced.items():
        if key in eligible or key in moved:
            continue
        yield _leaver(before, live.get(key), policy)


def _old_address(contact, by_person: dict[str, Synced], live: dict[str, Member], moved: set[str]) -> Synced | None:
    """The member this contact had under an earlier address: subscribed (it gets the new address) or unsubscribed
    (the person opted out: the new address is not added either)."""
    for pid in contact.person_ids:
        old = by_person.get(pid)
        if old is None or old.key == contact.key or old.key in moved:
            continue
        member = live.get(old.key)
        if member is not None and member.status in ("subscribed", "unsubscribed"):
            return old
    return None


def _leaver(before: Synced, member: Member | None, policy: Policy) -> Action:
    base = dict(key=before.key, email=before.email, person_ids=before.person_ids, managed_tags=before.managed_tags)
    if member is None:
        return Action(**base, action=LEAVER_GONE, reason="no longer in opus1 or Mailchimp")
    if before.left or member.status != "subscribed":
        return Action(**base, action=LEFT_ALONE, reason=f"left opus1 earlier; {member.status} in Mailchimp")
    if policy.leaver_policy == "archive":
        return Action(**base, action=ARCHIVED, reason="no longer a client in opus1: archived (leaver policy)")
    if policy.leaver_policy == "tag":
        return Action(**base, action=LEAVER_TAGGED, tags_add=frozenset({policy.leaver_tag}),
                      reason=f"no longer a client in opus1: tagged {policy.leaver_tag} (leaver policy)")
    return Action(**base, action=LEAVER_KEPT, reason="no longer a client in opus1: kept (leaver policy)")
