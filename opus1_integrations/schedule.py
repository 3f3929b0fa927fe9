"""When a business is due for a sync: its interval, its last finished run, and the clock the caller passes.

A business is *due* for an integration when it has no finished (``ok`` or ``partial``, not dry-run) run yet, or when
its last finished run ended at least ``interval_hours`` ago. Failed and interrupted runs never count as finished, so
the next scheduled sync retries or resumes them; a partial run's refused contacts wait for the next due sync. Every function takes ``now`` so that tests control the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from .clock import iso, parse
from .runlog import FINISHED
from .state import DEFAULT_INTERVAL_HOURS


@dataclass(frozen=True)
class Schedule:
    """One business's schedule for one integration, as of ``now``."""

    business: str
    integration: str
    enabled: bool
    interval_hours: float
    last_ok: datetime | None
    """When the last finished (ok or partial), non-dry run ended (``None``: never)."""
    due_at: datetime | None
    """When the next sync is due (``None``: never synced, so due now)."""
    now: datetime

    @property
    def due(self) -> bool:
        """Whether a scheduled sync should run now."""
        return self.due_at is None or self.due_at <= self.now

    def as_dict(self) -> dict:
        """The schedule as shown by ``schedule show --json``."""
        return {
            "business": self.business,
            "integration": self.integration,
            "enabled": self.enabled,
            "interval_hours": self.interval_hours,
            "last_ok": iso(self.last_ok),
            "due_at": iso(self.due_at),
            "due": self.due,
        }


def last_success(db: sqlite_utils.Database, business: str, integration: str) -> datetime | None:
    """When the business's last finished (ok or partial), non-dry run of the integration finished."""
    row = db.execute(
        f"select max(finished_at) from runs where business = ? and integration = ? "
        f"and status in ({', '.join('?' * len(FINISHED))}) and dry_run = 0 and finished_at is not null",
        [business, integration, *(s.value for s in FINISHED)],
    ).fetchone()
    return parse(row[0]) if row and row[0] else None


def status(db: sqlite_utils.Database, business: str, integration: str, now: datetime) -> Schedule | None:
    """The business's schedule for the integration as of ``now``; ``None`` when it is not configured."""
    row = db.execute(
        "select enabled and contacts_path is not null, interval_hours from integrations"
        " where business = ? and integration = ?",
        [business, integration],
    ).fetchone()
    if row is None:
        return None
    enabled, hours = bool(row[0]), float(row[1] if row[1] is not None else DEFAULT_INTERVAL_HOURS)
    last_ok = last_success(db, business, integration)
    due_at = last_ok + timedelta(hours=hours) if last_ok else None
    return Schedule(business, integration, enabled, hours, last_ok, due_at, now)


def configured(db: sqlite_utils.Database, integration: str | None = None, *, enabled_only: bool = True) -> list[tuple[str, str]]:
    """The (business, integration) pairs configured (and enabled, by default: enabled with an export set), sorted."""
    where = ["1 = 1"]
    args: list = []
    if integration is not None:
        where.append("integration = ?")
        args.append(integration)
    if enabled_only:
        where.append("enabled = 1 and contacts_path is not null")
    rows = db.execute(
        f"select business, integration from integrations where {' and '.join(where)} order by integration, business",
        args,
    ).fetchall()
    return [(b, i) for b, i in rows]


def interval_hours(db: sqlite_utils.Database, business: str, integration: str) -> float:
    """The business's interval for the integration (the default when not configured)."""
    row = db.execute(
        "select interval_hours from integrations where business = ? and integration = ?", [business, integration]
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else DEFAULT_INTERVAL_HOURS


def set_interval(db: sqlite_utils.Database, business: str, integration: str, hours: float) -> None:
    """Save the business's interval for the integration (its settings row must exist)."""
    if not hours > 0:
        raise ValueError("the interval must be more than 0 hours")
    db["integrations"].update((business, integration), {"interval_hours": float(hours)})
