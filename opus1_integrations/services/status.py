"""How each integration of a business stands, at a glance: configured and enabled or not, its last run, when its
next sync is due; for one business (a card per installed integration) or for every business (the operator's
overview). Read from the run log and the schedule only: no hook is called, so it answers quickly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import runlog, schedule
from ..clock import iso, utcnow
from ..errors import UsageError
from ..host import Host
from ..runlog import ItemOutcome, RunStatus


@dataclass(frozen=True)
class IntegrationStatus:
    """One integration of one business."""

    business: str
    integration: str
    broken: str | None
    """Why the plugin cannot be used (it failed to load), or ``None``."""
    configured: bool
    enabled: bool
    interval_hours: float
    last_run: dict | None
    """The newest run, as ``runs`` lists it (``None``: never run)."""
    failed_items: int
    """How many items the newest run recorded as ``failed`` (refused by the service)."""
    last_ok: str | None
    """When the last successful, non-dry run finished (ISO 8601, UTC)."""
    due_at: str | None
    """When the next scheduled sync is due (``None``: due now, it never synced)."""
    due: bool

    @property
    def running(self) -> bool:
        """Whether a run is in progress."""
        return self.last_run is not None and self.last_run["status"] == RunStatus.RUNNING

    @property
    def outcome(self) -> str:
        """One word for the operator's list: ``broken``, ``not configured``, ``disabled``, ``never run``, or the
        newest run's status."""
        if self.broken:
            return "broken"
        if not self.configured:
            return "not configured"
        if not self.enabled:
            return "disabled"
        return self.last_run["status"] if self.last_run else "never run"

    def to_dict(self) -> dict:
        """As plain data."""
        return {"business": self.business, "integration": self.integration, "broken": self.broken,
                "configured": self.configured, "enabled": self.enabled, "interval_hours": self.interval_hours,
                "last_run": self.last_run, "failed_items": self.failed_items, "last_ok": self.last_ok,
                "due_at": self.due_at, "due": self.due, "running": self.running, "outcome": self.outcome}


def integration_status(host: Host, business: str, name: str, *, now: datetime | None = None) -> IntegrationStatus:
    """How one integration of one business stands now."""
    record = host.plugins.loaded.get(name)
    broken = record.error if record is not None else "not installed"
    sched = schedule.status(host.db, business, name, now or utcnow())
    runs = runlog.list_runs(host.db, business=business, integration=name, limit=1) if sched else []
    last = runs[0] if runs else None
    failed = host.db.execute("select count(*) from run_items where run_id = ? and outcome = ?",
                             [last["id"], ItemOutcome.FAILED.value]).fetchone()[0] if last else 0
    return IntegrationStatus(
        business, name, broken, configured=sched is not None, enabled=bool(sched and sched.enabled),
        interval_hours=sched.interval_hours if sched else schedule.DEFAULT_INTERVAL_HOURS, last_run=last,
        failed_items=failed, last_ok=iso(sched.last_ok) if sched else None,
        due_at=iso(sched.due_at) if sched else None, due=bool(sched and sched.enabled and sched.due))


def business_status(host: Host, business: str) -> list[IntegrationStatus]:
    """One status per installed integration (broken ones too), by name, for one business."""
    now = utcnow()
    return [integration_status(host, business, name, now=now) for name in sorted(host.plugins.loaded)]


#: How ``overview`` can sort: a key per column.
SORTS = {
    "business": lambda s: (s.business, s.integration),
    "integration": lambda s: (s.integration, s.business),
    "outcome": lambda s: (s.outcome, s.business),
    "last_run": lambda s: ((s.last_run or {}).get("started_at") or "", s.business),
    "due": lambda s: (s.due_at or "", s.business),
    "failed": lambda s: (s.failed_items, s.business),
}


def overview(host: Host, *, sort: str = "business", descending: bool = False) -> list[IntegrationStatus]:
    """Every configured (business, integration), enabled or not, with its health, sorted by one of ``SORTS``."""
    if sort not in SORTS:
        raise UsageError(f"cannot sort by {sort!r}", hint="sort by one of: " + ", ".join(SORTS))
    now = utcnow()
    rows = [integration_status(host, business, name, now=now)
            for business, name in schedule.configured(host.db, enabled_only=False)]
    return sorted(rows, key=SORTS[sort], reverse=descending)
