"""The run log as front doors show it: runs newest first, filtered; one run with its items."""

from __future__ import annotations

import re
from datetime import timedelta

from .. import runlog
from ..clock import iso, parse, utcnow
from ..errors import UsageError
from ..host import Host
from ..runlog import RunStatus

_AGE = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def since(text: str) -> str:
    """``--since WHEN``: an age (``90m``, ``24h``, ``7d``) or an ISO 8601 date or time, as stored text in UTC."""
    match = _AGE.fullmatch(text.strip())
    if match:
        return iso(utcnow() - timedelta(**{_AGE_UNITS[match[2]]: float(match[1])}))
    try:
        return iso(parse(text.strip()))
    except ValueError:
        raise UsageError(f"--since {text!r} is neither a time like 2026-11-20T08:00:00+00:00 nor an age like 24h",
                         hint="give an age such as 90m, 24h or 7d, or a date such as 2026-11-20") from None


def list_runs(host: Host, *, business: str | None = None, integration: str | None = None, status: str | None = None,
              since_text: str | None = None, limit: int = 20) -> list[dict]:
    """The most recent runs, newest first, each a dict of the run log's columns (``counts`` decoded)."""
    if status is not None and status not in {s.value for s in RunStatus}:
        raise UsageError(f"--status {status!r} is not a run status",
                         hint="use one of: " + ", ".join(s.value for s in RunStatus))
    return runlog.list_runs(host.db, business=business, integration=integration, status=status,
                            since=since(since_text) if since_text else None, limit=limit)
