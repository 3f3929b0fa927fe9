"""Who left in the service: the synced people who unsubscribed, bounced or were archived there since a time, with
the opus1 person and accounts they belong to, so opus1 can record it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..clock import parse
from ..host import Host
from .runs import since as since_time


@dataclass(frozen=True)
class Leaver:
    """One person who left in the service."""

    person_id: str
    account_ids: list[str]
    email: str
    status: str
    """How they left, in the service's word (Mailchimp: ``unsubscribed``, ``cleaned``, ``archived``)."""
    reason: str | None
    """The service's reason, if it gives one (Mailchimp's ``unsubscribe_reason``)."""
    left_at: str
    """When, as ISO 8601 text in UTC."""


@dataclass(frozen=True)
class LeaversAnswer:
    """The answer to ``leavers``: who left since when, newest first."""

    business: str
    integration: str
    since: str
    leavers: list[Leaver] = field(default_factory=list)

    def to_dict(self) -> dict:
        """As ``leavers --json`` prints it."""
        return {"business": self.business, "integration": self.integration, "since": self.since,
                "leavers": [asdict(leaver) for leaver in self.leavers]}


def leavers(host: Host, name: str, business: str, since: str = "7d") -> LeaversAnswer:
    """The people of ``business`` who left in integration ``name`` since ``since`` (an age such as ``7d``, or a
    time); an unknown or unconfigured integration fails as elsewhere, one without the hook exits 2."""
    configured = host.configured(name, business)
    integration = configured.integration
    moment = since_time(since)
    people = integration.leavers(host.context(integration, business), configured.settings, parse(moment))
    return LeaversAnswer(business, name, moment, [
        Leaver(p["person_id"], [str(a) for a in p["account_ids"]], p["email"], p["status"], p.get("reason"),
               p["left_at"]) for p in people])
