"""Plain-English explanations of decisions, for a studio owner asking "is this client synced, and why not?"."""

from __future__ import annotations

import json

from .model import Decision
from .store import CONSENT_RANKS

#: The columns ``decision`` reads, from ``decisions d`` joined with its manager ``m`` and contact ``c``.
DECISION_SELECT = """
SELECT d.person_id, d.accounts, d.role, d.first_name, d.last_name, d.email, d.is_child, d.reason, d.contact_key,
    d.email_problem, d.records, d.conflict, d.live, m.first_name, m.last_name, m.reason, c.first_name, c.last_name,
    d.consent, d.consent_at
FROM decisions d
    LEFT JOIN decisions m ON m.person_id = d.via
    LEFT JOIN contacts c ON c.key = d.contact_key
"""

_NOT_SYNCED = {
    "no_email": "has no email",
    "invalid_email": "has an invalid email",
    "account_archived": "has only archived accounts",
    "child": "is a child",
}


def full_name(first: str | None, last: str | None, fallback: str = "") -> str:
    """A person's name as shown to people, or ``fallback`` when both parts are empty."""
    return f"{first or ''} {last or ''}".strip() or fallback


def decision(row: tuple) -> Decision:
    """Build a ``Decision`` from a row of ``DECISION_SELECT``."""
    (person_id, accounts, role, first, last, email, is_child, reason, key, email_problem, records, conflict, live,
     manager_first, manager_last, manager_reason, contact_first, contact_last, consent, consent_at) = row
    account_ids = tuple(sorted(set(json.loads(accounts))))
    name = full_name(first, last, person_id)
    notes = []
    if is_child and email:
        notes.append("child_has_email")
    if records > 1:
        notes.append("duplicate_person")
    if conflict:
        notes.append("conflicting_records")
    if is_child and key is None:
        notes.append("not_reached")
    if reason == "eligible":
        detail = f"{name} is reached at {key}."
        if CONSENT_RANKS[consent] == "denied":
            when = f" on {consent_at[:10]}" if consent_at else ""
            detail += f" They refused email news{when}: an integration does not subscribe them."
    elif reason == "shared_email":
        archived = " Their own accounts are archived, but the address is in use on a current account." if not live else ""
        detail = f"{name} shares {key} with {full_name(contact_first, contact_last, key)}, who names the one contact for it.{archived}"
    elif reason == "child":
        manager = full_name(manager_first, manager_last, "no account manager")
        if key:
            detail = f"{name} is a child; reached through account manager {manager} <{key}>."
        else:
            why = _NOT_SYNCED.get(manager_reason, "is not synced")
            detail = f"{name} is a child and is not reached: account manager {manager} {why}."
    elif reason == "account_archived":
        detail = f"{name}'s account{'s' if len(account_ids) > 1 else ''} ({', '.join(account_ids)}) {'are' if len(account_ids) > 1 else 'is'} archived."
    elif reason == "no_email":
        detail = f"{name} has no email address in opus1."
    else:
        detail = f"{name}'s email {email!r} is not valid: {email_problem}"
    return Decision(
        person_id=person_id, account_ids=account_ids, role="account_manager" if role == 0 else "student",
        first_name=first, last_name=last, email=email, is_child=bool(is_child), reason=reason, detail=detail,
        contact_key=key, notes=tuple(notes), email_consent=CONSENT_RANKS[consent], consent_at=consent_at,
    )
