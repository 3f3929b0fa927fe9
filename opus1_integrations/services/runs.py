"""The run log as front doors show it: runs newest first, filtered; one run with its items."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from .. import runlog
from ..business import business_id
from ..clock import iso, parse, utcnow
from ..errors import UsageError
from ..host import Host
from ..runlog import ItemOutcome, RunStatus

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
    if business is not None:
        business_id(business)
    if status is not None and status not in {s.value for s in RunStatus}:
        raise UsageError(f"--status {status!r} is not a run status",
                         hint="use one of: " + ", ".join(s.value for s in RunStatus))
    return runlog.list_runs(host.db, business=business, integration=integration, status=status,
                            since=since(since_text) if since_text else None, limit=limit)


@dataclass(frozen=True)
class RunDetail:
    """One run with what it did: its row, how many items of each outcome, and the first items of each outcome
    (failures first)."""

    run: dict
    outcomes: dict[str, int]
    items: dict[str, list[dict]]
    """Per outcome, its first ``per_outcome`` items (``key``, ``message``, ``error_code``, ``hint``)."""

    def to_dict(self) -> dict:
        """As ``runs show --json`` prints it."""
        return {"run": self.run, "outcomes": self.outcomes, "items": self.items}


def run_detail(host: Host, run_id: int, *, per_outcome: int = 10) -> RunDetail:
    """A run and its items by outcome (failed first, then by how many), ``per_outcome`` of each."""
    rows = runlog.list_runs(host.db, run_id=run_id, limit=1)
    if not rows:
        raise UsageError(f"there is no run {run_id}", hint="`opus1-int runs` lists the runs and their ids")
    counts = runlog.outcome_counts(host.db, run_id)
    order = sorted(counts, key=lambda o: (o != ItemOutcome.FAILED, -counts[o], o))
    return RunDetail(rows[0], {o: counts[o] for o in order},
                     {o: runlog.items(host.db, run_id, outcome=o, limit=per_outcome) for o in order})
