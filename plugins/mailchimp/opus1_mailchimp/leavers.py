"""The synced people who left in Mailchimp: members this plugin synced that became unsubscribed, cleaned (bounced)
or archived there, noticed by each sync in the members it reads anyway, and listed for the ``leavers`` hook.

A sync compares each ledger row's status (as last seen or set) with the member it read: a member that is in one of
the ``LEAVING`` statuses now and was not before is recorded once, with the people and accounts behind it, Mailchimp's
``unsubscribe_reason`` and ``last_changed``; every status that changed is kept in the ledger, so the next sync
records only what is new. Unsubscribes and archiving done by this plugin (a refused consent, the leaver policy) set
the ledger's status themselves and are not recorded here: opus1 knows of them already.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone

from opus1_integrations.api import now

from .ledger import LEAVERS, Ledger, Synced
from .members import Member

#: The statuses a synced member leaves with in Mailchimp.
LEAVING = frozenset({"unsubscribed", "cleaned", "archived"})


def left_in_mailchimp(before: Synced, member: Member) -> bool:
    """Whether a member this plugin synced left in Mailchimp since it was last seen: it is unsubscribed, cleaned
    or archived now, and the ledger knew it in another status. A row stored before the ledger kept statuses is
    taken as subscribed, unless it left opus1 (the leaver policy may have archived it)."""
    if member.status not in LEAVING:
        return False
    if before.status is None:
        return not before.left
    return before.status not in LEAVING


def stored_time(text: str | None) -> str | None:
    """Mailchimp's time (``2026-06-03T21:30:56+00:00``) as the host stores times (ISO 8601 in UTC, so times
    compare as text); ``None`` when it is missing or no time."""
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()


def record(ledger: Ledger, seen: Iterable[tuple[Synced, Member]]) -> int:
    """Keep in the ledger the status of each synced member whose status changed (``seen``: its ledger row and the
    member read), and record those that left in Mailchimp, in one transaction; returns how many left."""
    noticed = now()
    statuses, left = [], []
    for before, member in seen:
        statuses.append((before.key, member.status))
        if left_in_mailchimp(before, member):
            left.append((ledger.business, ledger.audience_id, before.key, before.email, json.dumps(before.person_ids),
                         json.dumps(before.account_ids), member.status, member.unsubscribe_reason,
                         stored_time(member.last_changed) or noticed, noticed))
    if statuses:
        with ledger.db.atomic():
            ledger.set_status(statuses)
            ledger.db.conn.executemany(f"INSERT INTO {LEAVERS} VALUES ({', '.join('?' * 10)})", left)
    return len(left)


def since(ledger: Ledger, moment: datetime) -> list[dict]:
    """The people of the members that left at or after ``moment`` (by Mailchimp's ``last_changed``, else when a
    sync noticed), newest first, one dict per person: ``person_id``, ``account_ids``, ``email``, ``status``,
    ``reason``, ``left_at`` (ISO 8601 in UTC)."""
    rows = ledger.db.execute(
        f"SELECT email, person_ids, account_ids, status, reason, left_at FROM {LEAVERS}"
        " WHERE business = ? AND audience_id = ? AND left_at >= ? ORDER BY left_at DESC, key",
        [ledger.business, ledger.audience_id, moment.astimezone(timezone.utc).isoformat()])
    people = []
    for email, person_ids, account_ids, status, reason, left_at in rows:
        for person_id in json.loads(person_ids):
            people.append({"person_id": person_id, "account_ids": json.loads(account_ids), "email": email,
                           "status": status, "reason": reason, "left_at": left_at})
    return people
