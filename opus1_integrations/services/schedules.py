"""When each configured business is next due for a sync, and when it last synced."""

from __future__ import annotations

from .. import schedule
from ..clock import utcnow
from ..host import Host
from ..schedule import Schedule


def schedules(host: Host, *, integration: str | None = None, business: str | None = None) -> list[Schedule]:
    """The schedule of every configured (business, integration), enabled or not, as of now."""
    now = utcnow()
    return [status for b, i in schedule.configured(host.db, integration, enabled_only=False)
            if business in (None, b) and (status := schedule.status(host.db, b, i, now)) is not None]
