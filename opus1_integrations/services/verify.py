"""Verify: fetch a random sample of the contacts the last runs synced, live, and report any that are missing or
differ from opus1."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from .. import runlog
from ..errors import OperationFailed
from ..host import Host
from .exports import shared_audience
from .sync import contacts_path


@dataclass(frozen=True)
class Verification:
    """The sampled contacts and, for each, whether the service has it as opus1 does (``problems`` when not)."""

    business: str
    integration: str
    results: list[dict] = field(default_factory=list)
    """One ``{"key", "ok", "problems": [str], ...}`` per sampled contact (the plugin may add facts)."""

    @property
    def differ(self) -> list[dict]:
        """The sampled contacts that are missing or differ."""
        return [r for r in self.results if not r.get("ok")]

    def to_dict(self) -> dict:
        """As ``verify --json`` prints it."""
        return {"business": self.business, "integration": self.integration, "checked": len(self.results),
                "differ": len(self.differ), "results": self.results}


def verify(host: Host, name: str, business: str, sample: int, *, contacts: str | Path | None = None,
           seed: int | None = None) -> Verification:
    """Compare a random sample of the contacts the latest finished run synced with their live records."""
    configured = host.configured(name, business)
    integration = configured.integration
    integration.require("verify")
    synced = _synced_keys(host, name, business)
    chosen = random.Random(seed).sample(synced, min(sample, len(synced)))
    with shared_audience(contacts_path(host, name, business, contacts, stored=configured.stored)) as audience:
        sampled = [c for c in (audience.contact(k) for k in chosen) if c is not None]
    return Verification(business, name, integration.verify(host.context(integration, business), configured.settings,
                                                           sampled))


def _synced_keys(host: Host, name: str, business: str) -> list[str]:
    """The contacts in line after the latest finished run that recorded items (a run with nothing to do records
    none)."""
    finished = [r for r in runlog.list_runs(host.db, business=business, integration=name, limit=50)
                if r["status"] in runlog.FINISHED and not r["dry_run"]]
    if not finished:
        raise OperationFailed(f"nothing to verify: {name} has no finished sync for business {business!r}",
                              hint=f"run `opus1-int sync {name} --business {business}` first")
    for run in finished:
        keys = [key for (key,) in host.db.execute(  # keys only, in the index's order (no sort): a run can hold
            # 100,000 items; the order is the same each time, so --seed picks the same sample again
            f"select key from run_items where run_id = ? and outcome in ({', '.join('?' * len(runlog.IN_LINE))})",
            [run["id"], *runlog.IN_LINE])]
        if keys:
            return keys
    return []
