"""An audience and ledger held in Python for the planner's tests: the sync's own ``Scratch`` built from them (what
``planner.plan`` reads as ``Known``), and a plan applied to them the way the sync sends and records it, so that a
plan can be made again from what the first one left behind.

The planner is tested through its pure functions and through ``plan`` over a real ``Scratch``; only Mailchimp and
the run's last pass are simulated here (``World.apply``), by the rules docs/mailchimp.md states for them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import sqlite_utils

from opus1_integrations.api import Contact
from opus1_mailchimp.ledger import Ledger, Synced, encode, migrations
from opus1_mailchimp.members import ALL, Member, member_row
from opus1_mailchimp.consent import NEW_STATUSES
from opus1_mailchimp.planner import (ARCHIVED, CREATED, EMAIL_CHANGED, LEAVER_GONE, LEAVER_KEPT, LEAVER_TAGGED,
                                     UNCHANGED, UNSUBSCRIBED, UPDATED, Action, Policy, plan)
from opus1_mailchimp.scratch import Scratch

POLICY = Policy(tags=frozenset({"opus1"}), program_tags=False, leaver_policy="keep", leaver_tag="opus1-left",
                merge_tags=frozenset({"FNAME", "LNAME", "PHONE"}))


def contact(email: str, first: str = "Maria", last: str = "Lopez", *, phone: str | None = None,
            people: tuple[str, ...] = ("per_1",), programs: tuple[str, ...] = (), teachers: tuple[str, ...] = (),
            **more) -> Contact:
    """A contact as the host's rules give it (its key is the trimmed, lower-cased address), on account ``acc_1``;
    ``more`` takes ``email_consent`` (``unknown`` unless given) and ``consent_at``."""
    return Contact(email.strip().lower(), email, first, last, phone, ("acc_1",), people, "active", programs, teachers,
                   **more)


def member(email: str, status: str = "subscribed", tags: Iterable[str] = ("opus1",), **fields: str) -> Member:
    """A member as a sync reads it (only the merge fields given; no merge field is an empty one)."""
    return Member(email.strip().lower(), email, status, dict(fields), frozenset(tags))


def synced(email: str, people: tuple[str, ...] = ("per_1",), tags: Iterable[str] = ("opus1",),
           left: bool = False, accounts: tuple[str, ...] = ("acc_1",), status: str | None = "subscribed") -> Synced:
    """A ledger row: a member this integration synced earlier (its status as the sync last saw or set it)."""
    return Synced(email.strip().lower(), email, people, frozenset(tags), left, accounts, status)


@lru_cache(maxsize=1)
def _empty_ledger() -> bytes:
    """The bytes of a ledger database with the plugin's migrations applied and no rows (made once per process)."""
    with tempfile.TemporaryDirectory(prefix="opus1-planner-test-") as folder:
        db = sqlite_utils.Database(Path(folder) / "ledger.db")
        migrations.apply(db)
        db.close()
        return (Path(folder) / "ledger.db").read_bytes()


@contextmanager
def known(members: Iterable[Member], ledger: Iterable[Synced]) -> Iterator[Scratch]:
    """The sync's scratch database holding ``members`` as read from Mailchimp and ``ledger`` as the sync found it."""
    with Scratch() as scratch:
        path = scratch.folder / "ledger.db"  # beside the scratch database: removed with it
        path.write_bytes(_empty_ledger())
        db = sqlite_utils.Database(path)
        try:
            db.conn.execute("PRAGMA synchronous=OFF")  # a test's ledger need not survive a power cut
            rows = list(ledger)
            store = Ledger(db, "studio", "audience")
            store.remember((s.key, s.email, *encode(s.person_ids, s.managed_tags, s.account_ids), s.status)
                           for s in rows)
            store.mark_left((s.key, None, None) for s in rows if s.left)
            writer = scratch.member_writer()
            writer.add([member_row({"email_address": m.email, "status": m.status, "merge_fields": m.merge_fields,
                                    "tags": [{"id": n, "name": t} for n, t in enumerate(sorted(m.tags))]}, ALL)
                        for m in members])
            writer.finish()
            scratch.copy_ledger(*store.source("ledger"))
            scratch.attach_members()
            yield scratch
        finally:
            db.close()


@dataclass
class World:
    """Mailchimp's members and this integration's ledger, by key."""

    members: dict[str, Member] = field(default_factory=dict)
    ledger: dict[str, Synced] = field(default_factory=dict)

    @classmethod
    def of(cls, members: Iterable[Member] = (), ledger: Iterable[Synced] = ()) -> World:
        """A world holding these members and ledger rows."""
        return cls({m.key: m for m in members}, {s.key: s for s in ledger})

    def plan(self, contacts: Iterable[Contact], policy: Policy = POLICY) -> list[tuple[Action, Synced | None]]:
        """``planner.plan`` over the contacts (in key order, as the host gives them) and this world."""
        with known(self.members.values(), self.ledger.values()) as scratch:
            contacts = sorted(contacts, key=lambda c: c.key)
            addresses = {c.key for c in contacts}
            return list(plan(contacts, scratch, policy, addresses.__contains__))

    def apply(self, planned: list[tuple[Action, Synced | None]]) -> None:
        """Send the plan and record it as a sync does (docs/mailchimp.md): new members first (each with the status
        its action names), then address changes, then every other change in the order planned; the ledger
        remembers each member in line (a new one with its status, one updated, unchanged or moved as subscribed),
        notes unsubscribes, marks leavers handled (with the leaver tag, once added, among its tags; an archived one
        as archived) and forgets members gone or moved. A change to a member that is not there fails, as Mailchimp
        answers 404, and is not recorded. Skipped and left-alone contacts change nothing."""
        for a, _ in planned:
            if a.action == CREATED:
                assert a.key not in self.members, f"{a.email} created over an existing member"
                assert a.status in NEW_STATUSES, f"{a.email} created without a status"
                self.members[a.key] = Member(a.key, a.email, a.status, dict(a.merge_fields), a.tags_add)
                self.ledger[a.key] = Synced(a.key, a.email, a.person_ids, a.managed_tags, False, a.account_ids,
                                            a.status)
        for a, _ in planned:
            if a.action == EMAIL_CHANGED:
                old = self.members.pop(a.old_key)
                self.members[a.key] = Member(a.key, a.email, old.status, {**old.merge_fields, **a.merge_fields},
                                             (old.tags | a.tags_add) - a.tags_remove)
                self.ledger.pop(a.old_key, None)
        for a, before in planned:
            now = self.members.get(a.key)
            if a.action in (UPDATED, LEAVER_TAGGED, ARCHIVED, UNSUBSCRIBED) and now is None:
                continue
            if a.action == UPDATED:
                self.members[a.key] = now._replace(merge_fields={**now.merge_fields, **a.merge_fields},
                                                   tags=(now.tags | a.tags_add) - a.tags_remove)
            if a.action in (UPDATED, UNCHANGED, EMAIL_CHANGED):
                self.ledger[a.key] = Synced(a.key, a.email, a.person_ids, a.managed_tags, False, a.account_ids,
                                            "subscribed")
            elif a.action == UNSUBSCRIBED:
                self.members[a.key] = now._replace(status="unsubscribed")
                if a.key in self.ledger:
                    self.ledger[a.key] = self.ledger[a.key]._replace(status="unsubscribed")
            elif a.action in (LEAVER_KEPT, LEAVER_TAGGED, ARCHIVED):
                self.ledger[a.key] = before._replace(managed_tags=before.managed_tags | a.tags_add, left=True,
                                                     status="archived" if a.action == ARCHIVED else before.status)
                if a.action == LEAVER_TAGGED:
                    self.members[a.key] = now._replace(tags=now.tags | a.tags_add)
                if a.action == ARCHIVED:
                    self.members[a.key] = now._replace(status="archived")
            elif a.action == LEAVER_GONE:
                self.ledger.pop(a.key, None)

    def copy(self) -> World:
        """A copy to apply a plan to, leaving this one as it was."""
        return replace(self, members=dict(self.members), ledger=dict(self.ledger))

