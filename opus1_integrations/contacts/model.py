"""The values the contacts package hands out: contacts, per-person decisions, export problems, data-quality issues."""

from __future__ import annotations

from dataclasses import dataclass, fields

#: Why each person is or is not a contact; every person gets exactly one of these.
REASONS: dict[str, str] = {
    "eligible": "Synced: an adult of an active or inactive account with a valid email; names the contact.",
    "shared_email": "Merged: shares an email with someone else, who names the one contact they share.",
    "child": "Not synced: children are reached through their account manager.",
    "account_archived": "Not synced: all of this person's accounts are archived.",
    "no_email": "Not synced: no email address on record.",
    "invalid_email": "Not synced: the email address is not valid (or Mailchimp cannot take it).",
}

#: A person's answer to "may we email you news and updates?" (``email_consent`` in the export; absent: unknown).
CONSENTS: tuple[str, ...] = ("granted", "denied", "unknown")

#: Extra facts about a person, counted in ``Audience.counts["notes"]``; a person may have several.
NOTES: dict[str, str] = {
    "child_has_email": "A child's record holds an email; it is not used.",
    "duplicate_person": "Listed more than once (e.g. as account manager and as student, or on several accounts); counted once.",
    "conflicting_records": "The person's records disagree on email, name, child flag or consent; the record shown was used.",
    "not_reached": "A child whose account manager is not a contact, so the family is not reached.",
}

@dataclass(frozen=True, slots=True)
class Contact:
    """One contact: one unique email address and the people and accounts behind it."""

    key: str
    email: str
    first_name: str
    last_name: str
    phone: str | None
    account_ids: tuple[str, ...]
    person_ids: tuple[str, ...]
    account_status: str
    programs: tuple[str, ...]
    teachers: tuple[str, ...]
    #: The consent of the address, merged over its people: ``denied`` if anyone denied, else ``granted`` if anyone
    #: granted, else ``unknown``; ``consent_at`` is the time (RFC 3339, as in the export) of the consent that decided.
    email_consent: str = "unknown"
    consent_at: str | None = None

    def to_dict(self) -> dict:
        """The contact as plain JSON-ready data: field name to value, the tuples as lists."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules decided for one person (one ``person_id``) and why, in plain English."""

    person_id: str
    account_ids: tuple[str, ...]
    role: str
    first_name: str
    last_name: str
    email: str | None
    is_child: bool
    reason: str
    detail: str
    contact_key: str | None
    notes: tuple[str, ...]
    #: The person's own consent (merged over their own records by the same rule as a contact's) and its time.
    email_consent: str = "unknown"
    consent_at: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason an export was rejected: where (line, CSV row, field) and what is wrong."""

    line: int | None
    path: str
    message: str
    row: int | None = None

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line else []
        if self.row is not None and self.row != self.line:
            where.append(f"row {self.row}")
        if self.path:
            where.append(self.path)
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True, slots=True)
class QualityIssue:
    """A source record to fix in opus1, with the ids to find it and a plain-language fix."""

    code: str
    email: str | None
    account_ids: tuple[str, ...]
    person_ids: tuple[str, ...]
    message: str
    fix: str


#: The kinds of ``QualityIssue``.
QUALITY_CODES: dict[str, str] = {
    "invalid_email": "Invalid email addresses",
    "child_has_email": "Children holding an email",
    "email_on_several_accounts": "One email on several accounts",
    "conflicting_records": "One person with conflicting records",
}
