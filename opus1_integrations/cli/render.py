"""How the CLI shows the services' data to people: marks, outcomes in words, compact counts, times and durations.

Every text that comes from outside (exports, services, business ids) goes through ``output.safe`` here or in the
command that prints it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..clock import parse
from ..output import safe
from ..runlog import ItemOutcome, RunStatus
from ..services import words
from ..services.words import WORDS, not_synced_in_words, outcome_word, outcomes_in_words, plural  # noqa: F401 (spelled there)

MARK = {RunStatus.OK: "[green]✓[/]", RunStatus.PARTIAL: "[yellow]![/]", RunStatus.FAILED: "[red]✗[/]",
        RunStatus.INTERRUPTED: "[yellow]![/]", RunStatus.RUNNING: "[cyan]…[/]"}

#: The short signs of ``runs``: + added, ~ updated or moved, = up to date, - gone as leavers, ! refused.
SIGNS = {ItemOutcome.CREATED: "+", ItemOutcome.UPDATED: "~", ItemOutcome.EMAIL_CHANGED: "~",
         ItemOutcome.UNCHANGED: "=", ItemOutcome.ARCHIVED: "-", ItemOutcome.REMOVED: "-",
         ItemOutcome.UNSUBSCRIBED: "-", ItemOutcome.FAILED: "!"}


def check_mark(ok: bool) -> str:
    """A green tick or a red cross (rich markup)."""
    return "[green]✓[/]" if ok else "[red]✗[/]"


def compact(counts: dict) -> str:
    """A run's counts in a few signs, zeros left out: ``+3 ~12 =980 !2``."""
    totals: dict[str, int] = {}
    for outcome, sign in SIGNS.items():
        value = counts.get(outcome)
        if isinstance(value, int) and not isinstance(value, bool) and value:
            totals[sign] = totals.get(sign, 0) + value
    return " ".join(f"{sign}{n}" for sign, n in totals.items())


def minute(text: str | None) -> str:
    """A stored time to the minute, in UTC: ``2026-11-29 21:47``."""
    return parse(text).strftime("%Y-%m-%d %H:%M") if text else ""


def short_time(text: str | None, now: datetime) -> str:
    """A stored time in five characters, in UTC: ``21:47`` today, ``11-28`` before (``runs show`` has it whole)."""
    if not text:
        return ""
    moment = parse(text)
    return moment.strftime("%H:%M") if moment.date() == now.date() else moment.strftime("%m-%d")


def items_by_outcome(out, detail, *, dry_run: bool, more: Callable[[int], str], skip: tuple = ()) -> None:
    """A run's contacts by outcome (``services.runs.RunDetail``): each outcome's count in words, its first contacts
    with their reason (a refused one's fix below it), and how many more, with ``more(count)`` saying how to see
    them; outcomes in ``skip`` left out."""
    for outcome, count in detail.outcomes.items():
        if outcome in skip:
            continue
        out.print(f"\n{count} {safe(WORDS.get(outcome, (outcome, outcome))[dry_run])}:")
        for item in detail.items[outcome]:
            out.print(f"  {safe(item['key'])}" + (f": {safe(item['message'])}" if item["message"] else ""))
            if item["hint"] and outcome == ItemOutcome.FAILED:
                out.print(f"    [dim]fix:[/] {safe(item['hint'])}")
        shown = len(detail.items[outcome])
        if count > shown:
            out.print(f"  ... and {count - shown} more ({more(count)})")

def without_uniform(rows: list[list[str]], column: int) -> tuple[list[list[str]], str | None]:
    """Drop a column whose value is the same on every row (after the header); returns the rows and that value."""
    values = {row[column] for row in rows[1:]}
    if len(values) != 1:
        return rows, None
    return [row[:column] + row[column + 1:] for row in rows], values.pop()


def duration(started: str, finished: str | None) -> str:
    """How long a run took: ``0.8s``, ``3m05s``, ``2h10m`` (empty while running)."""
    if not finished:
        return ""
    seconds = (parse(finished) - parse(started)).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def relative(moment: datetime | None, now: datetime) -> str:
    """``in 23 h``, ``in 5 min``, ``3 h ago``, ``now``."""
    if moment is None:
        return "now"
    seconds = (moment - now).total_seconds()
    amount = abs(seconds)
    if amount < 60:
        text = f"{amount:.0f} s"
    elif amount < 3600:
        text = f"{amount / 60:.0f} min"
    elif amount < 48 * 3600:
        text = f"{amount / 3600:.0f} h"
    else:
        text = f"{amount / 86400:.0f} d"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def facts_text(facts: dict) -> str:
    """A plugin's live facts on one line (``words.facts_text``), escaped for rich."""
    return safe(words.facts_text(facts))


def aligned(rows: list[list[str]]) -> list[str]:
    """Rows of plain cells as lines with left-aligned columns two spaces apart (the last column unpadded)."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([cell.ljust(w) for cell, w in zip(row, widths)] + [row[-1]]).rstrip() for row in rows]
