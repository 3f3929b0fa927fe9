"""Is this client in the service, and if not, why? Our rules' decision for each person, what the last run that
touched the contact did, and the contact's live state in the service."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import runlog
from ..contacts import Decision
from ..host import Host
from .exports import shared_audience
from .sync import contacts_path


@dataclass(frozen=True)
class ContactState:
    """One contact (email address): what the last run that touched it recorded, and its live state now."""

    key: str
    last_run: dict | None
    """``run_id``, ``started_at``, ``outcome``, ``error_code``, ``message``, ``hint`` (``None``: never synced)."""
    live: dict | None
    """The service's facts (``status`` first), or ``None`` when the service does not have it."""


@dataclass(frozen=True)
class CheckAnswer:
    """The answer to ``check``: the people the query matched in the export, and their contacts' states."""

    business: str
    integration: str
    query: str
    people: list[Decision] = field(default_factory=list)
    contacts: list[ContactState] = field(default_factory=list)

    def to_dict(self) -> dict:
        """As ``check --json`` prints it."""
        return {"business": self.business, "integration": self.integration, "query": self.query,
                "people": [asdict(d) for d in self.people],
                "contacts": {c.key: {"last_run": c.last_run, "live": c.live} for c in self.contacts}}


def check(host: Host, name: str, business: str, query: str, *, contacts: str | Path | None = None) -> CheckAnswer:
    """Find ``query`` (an email address or an opus1 person id) in the export and in the service."""
    configured = host.configured(name, business)
    with shared_audience(contacts_path(host, name, business, contacts, stored=configured.stored)) as audience:
        decisions = audience.find(query)
    keys = list(dict.fromkeys(d.contact_key for d in decisions if d.contact_key))
    lookup_keys = keys or ([query.strip().lower()] if "@" in query else [])
    integration = configured.integration
    live = integration.lookup(host.context(integration, business), configured.settings, lookup_keys) \
        if lookup_keys else {}
    return CheckAnswer(business, name, query, decisions, [
        ContactState(key, runlog.last_item(host.db, business, name, key), live.get(key)) for key in lookup_keys])
