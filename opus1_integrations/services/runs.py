"""The run log as front doors show it: runs newest first, filtered; one run, and its items a page at a time;
pruning it and its retention setting."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from .. import retention, runlog
from ..business import business_id
from ..clock import iso, parse, utcnow
from ..errors import UsageError
from ..host import Host
from ..retention import Pruned, Retention
from ..runlog import ItemOutcome, RunStatus

_AGE = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def age(text: str, option: str) -> timedelta:
    """A retention age such as ``90m``, ``24h`` or ``30d``, more than 0 (``option`` names it in the error)."""
    match = _AGE.fullmatch(text.strip())
    if not match or not float(match[1]) > 0:
        raise UsageError(f"{option} {text!r} is not an age like 30d",
                         hint="give a number and a unit: s, m, h or d (90m, 24h, 30d)")
    return timedelta(**{_AGE_UNITS[match[2]]: float(match[1])})


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
    run = get_run(host, run_id)
    counts = runlog.outcome_counts(host.db, run_id)
    order = _ordered_outcomes(counts)
    return RunDetail(run, {o: counts[o] for o in order},
                     {o: runlog.items(host.db, run_id, outcome=o, limit=per_outcome) for o in order})


def _ordered_outcomes(counts: dict[str, int]) -> list[str]:
    """A run's outcomes as shown: failed first, then the most frequent first, then by name."""
    return sorted(counts, key=lambda o: (o != ItemOutcome.FAILED, -counts[o], o))


@dataclass(frozen=True)
class ItemsPage:
    """One page of a run's items: failed ones first, then the others grouped by outcome (the most frequent first,
    as ``run_detail`` orders them), each group in the order recorded; with the number of items of each outcome."""

    run: dict
    items: list[dict]
    by_outcome: dict[str, int]
    """How many items the run recorded with each outcome, in the page's order."""
    page: int
    per_page: int
    outcome: str | None = None
    """Only the items of this outcome (``None``: all)."""

    @property
    def total(self) -> int:
        """How many items the page's selection holds (all of the run's, or those of ``outcome``)."""
        return self.by_outcome.get(self.outcome, 0) if self.outcome else sum(self.by_outcome.values())

    @property
    def pages(self) -> int:
        """How many pages the selection fills (at least 1)."""
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict:
        """As plain data (a front door's ``--json``)."""
        return {"run": self.run, "items": self.items, "by_outcome": self.by_outcome, "page": self.page,
                "per_page": self.per_page, "pages": self.pages, "total": self.total, "outcome": self.outcome}


def get_run(host: Host, run_id: int, *, business: str | None = None) -> dict:
    """One run as ``list_runs`` shows it; ``UsageError`` (exit 2) when there is no such run (of ``business``)."""
    rows = runlog.list_runs(host.db, run_id=run_id, business=business, limit=1)
    if rows:
        return rows[0]
    raise UsageError(f"there is no run {run_id}" + (f" of business {business!r}" if business else ""),
                     hint="`opus1-int runs` lists the runs")


def run_items(host: Host, run_id: int, page: int = 1, per_page: int = 50, *, outcome: str | None = None,
              business: str | None = None) -> ItemsPage:
    """One page of a run's items, failures first; each outcome is read through its own index range, so a page of a
    100,000-item run costs a few index steps, not a sort."""
    run = get_run(host, run_id, business=business)
    if outcome is not None and outcome not in {o.value for o in ItemOutcome}:
        raise UsageError(f"{outcome!r} is not an item outcome",
                         hint="use one of: " + ", ".join(o.value for o in ItemOutcome))
    counts = runlog.outcome_counts(host.db, run_id)
    order = _ordered_outcomes(counts)
    by_outcome = {o: counts[o] for o in order}
    page, per_page = max(1, page), max(1, min(per_page, 500))
    skip, wanted, items = (page - 1) * per_page, per_page, []
    for name in [outcome] if outcome else order:
        if wanted == 0:
            break
        available = by_outcome.get(name, 0)
        if skip >= available:
            skip -= available
            continue
        rows = host.db.execute(
            "select key, outcome, error_code, message, hint from run_items where run_id = ? and outcome = ? "
            "order by rowid limit ? offset ?", [run_id, name, wanted, skip]).fetchall()
        items += [dict(zip(("key", "outcome", "error_code", "message", "hint"), r)) for r in rows]
        skip, wanted = 0, per_page - len(items)
    return ItemsPage(run, items, by_outcome, page, per_page, outcome)


def prune(host: Host, *, items_older_than: str | None = None, runs_older_than: str | None = None,
          dry_run: bool = False) -> Pruned:
    """Prune the run log now: run items and runs older than the given ages (default: the saved retention), the
    failed items still unanswered and each business's latest run kept (``retention``). A database made before
    incremental vacuum is converted first (once; not for a dry run)."""
    saved = retention.load(host.db)
    chosen = Retention(
        age(items_older_than, "--older-than") / timedelta(days=1) if items_older_than else saved.items_days,
        age(runs_older_than, "--runs-older-than") / timedelta(days=1) if runs_older_than else saved.runs_days)
    return retention.prune(host.db, chosen, dry_run=dry_run, convert=True)


def retention_setting(host: Host, *, items: str | None = None, runs: str | None = None) -> dict:
    """The run log's retention (saved first when ``items`` or ``runs`` are given), and when it was last pruned."""
    if items or runs:
        saved = retention.load(host.db)
        retention.save(host.db, Retention(age(items, "--items") / timedelta(days=1) if items else saved.items_days,
                                          age(runs, "--runs") / timedelta(days=1) if runs else saved.runs_days))
    return {**retention.load(host.db).to_dict(), "pruned_at": iso(retention.last_pruned(host.db))}
