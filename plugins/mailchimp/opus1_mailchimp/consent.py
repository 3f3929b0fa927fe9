"""What a client's email consent lets a sync do: whether a new member is added and with which status.

Pure functions of a contact's ``email_consent`` (``granted``, ``denied`` or ``unknown``, from the host's rules) and
the studio's settings: ``unknown_consent`` (``subscribe``: the ``initial_status``, as for an export without consent;
``pending``: Mailchimp's double opt-in; ``skip``: not added) and ``denied_consent`` (``skip``, or ``transactional``:
a non-marketing contact). A refusal is never added as subscribed or pending; a member this plugin synced whose
client refused later is unsubscribed (``planner.plan_contact`` decides that, with the ledger and the live member).
"""

from __future__ import annotations

from dataclasses import dataclass

GRANTED, DENIED, UNKNOWN = "granted", "denied", "unknown"
#: The reason codes of contacts not sent for want of consent (``run.record(..., error_code=...)``).
NO_CONSENT = "no_consent"
CONSENT_UNKNOWN = "consent_unknown"
#: The statuses a new member may get, and the choices of the two settings.
NEW_STATUSES = ("subscribed", "pending", "transactional")
UNKNOWN_CHOICES = ("subscribe", "pending", "skip")
DENIED_CHOICES = ("skip", "transactional")


@dataclass(frozen=True)
class Admission:
    """Whether a contact that is not in the audience is added, with which status, and why."""

    status: str | None
    """The new member's status (``subscribed``, ``pending`` or ``transactional``), or ``None``: not added."""
    why: str
    """In words, for the run log and the plan ("" when nothing needs saying: added as the studio's new members are)."""
    code: str | None = None
    """The reason code when not added (``no_consent``, ``consent_unknown``)."""


def refused(contact) -> bool:
    """Whether the contact's client refused email news in opus1."""
    return contact.email_consent == DENIED


def refusal(contact) -> str:
    """The refusal in words, with its time when the export gives one."""
    when = f" on {contact.consent_at[:10]}" if contact.consent_at else ""
    return f"refused email news in opus1{when}"


def admission(contact, initial_status: str, unknown_consent: str, denied_consent: str) -> Admission:
    """How a contact that is not in the audience is added, by its consent.

    ``granted``: with ``initial_status``. ``unknown``: ``subscribe`` adds it with ``initial_status`` (an export
    without consent behaves as before), ``pending`` adds it pending (Mailchimp emails a confirmation first), ``skip``
    does not add it (``consent_unknown``). ``denied``: never subscribed or pending; ``transactional`` adds a
    non-marketing contact, ``skip`` does not add it (``no_consent``).
    """
    consent = contact.email_consent
    if consent == DENIED:
        if denied_consent == "transactional":
            return Admission("transactional", f"{refusal(contact)}: added as a non-marketing (transactional) contact,"
                                              " who gets no campaigns")
        return Admission(None, f"{refusal(contact)}: not added", NO_CONSENT)
    if consent == GRANTED or unknown_consent == "subscribe":
        return Admission(initial_status, "" if initial_status == "subscribed" else
                         "added as pending: Mailchimp asks them to confirm (initial status)")
    if unknown_consent == "pending":
        return Admission("pending", "email consent unknown: added as pending, Mailchimp asks them to confirm")
    return Admission(None, "email consent unknown: not added (this studio adds only clients who agreed)",
                     CONSENT_UNKNOWN)
