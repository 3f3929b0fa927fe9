"""How the CLI shows the services' data to people: marks, outcomes in words, compact counts, times and durations.

Every text that comes from outside (exports, services, business ids) goes through ``output.safe`` here or in the
command that prints it.
"""

from __future__ import annotations

from datetime import datetime

from ..clock import parse
from ..output import safe
from ..runlog import ItemOutcome, RunStatus

MARK = {RunStatus.OK: "[green]✓[/]", RunStatus.PARTIAL: "[yellow]![/]", RunStatus.FAILED: "[red]✗[/]",
        RunStatus.INTERRUPTED: "[yellow]![/]", RunStatus.RUNNING: "[cyan]…[/]"}

#: Each outcome in words, for a finished sync and for a dry run.
WORDS: dict[str, tuple[str, str]] = {
    ItemOutcome.CREATED: ("added", "would be added"),
    ItemOutcome.UPDATED: ("updated", "would be updated"),
    ItemOutcome.EMAIL_CHANGED: ("moved to a new address", "would move to a new address"),
    ItemOutcome.UNCHANGED: ("already up to date", "already up to date"),
    ItemOutcome.UNSUBSCRIBED: ("unsubscribed", "would be unsubscribed"),
    ItemOutcome.ARCHIVED: ("archived as leavers", "would be archived as leavers"),
    ItemOutcome.REMOVED: ("removed as leavers", "would be removed as leavers"),
    ItemOutcome.LEAVER_TAGGED: ("tagged as leavers", "would be tagged as leavers"),
    ItemOutcome.LEAVER_KEPT: ("leavers kept", "leavers would be kept"),
    ItemOutcome.LEAVER_GONE: ("leavers already gone", "leavers already gone"),
    ItemOutcome.LEFT_ALONE: ("left alone", "would be left alone"),
    ItemOutcome.SKIPPED: ("not sent", "would not be sent"),
    ItemOutcome.FAILED: ("refused", "would fail"),
}
#: The short signs of ``runs``: + added, ~ updated or moved, = up to date, - gone as leavers, ! refused.
SIGNS = {ItemOutcome.CREATED: "+", ItemOutcome.UPDATED: "~", ItemOutcome.EMAIL_CHANGED: "~",
         ItemOutcome.UNCHANGED: "=", ItemOutcome.ARCHIVED: "-", ItemOutcome.REMOVED: "-",
         ItemOutcome.UNSUBSCRIBED: "-", ItemOutcome.FAILED: "!"}


def check_mark(ok: bool) -> str:
    """A green tick or a red cross (rich markup)."""
    return "[green]✓[/]" if ok else "[red]✗[/]"


IRREGULAR = {"person": "people", "child": "children"}
#: Why the host's rules did not sync a person, in words (``REASONS`` in the contacts package explains each).
NOT_SYNCED_WORDS = {"child": ("child", "children"), "account_archived": ("on archived accounts",) * 2,
                    "no_email": ("without an email",) * 2, "invalid_email": ("with an invalid email",) * 2}


def plural(n: int, word: str) -> str:
    """``1 contact``, ``2 contacts``, ``3 people``."""
    return f"{n} {word if n == 1 else IRREGULAR.get(word, word + 's')}"


def not_synced_in_words(not_synced: dict[str, int]) -> str:
    """``127 children, 11 without an email``: why people were not synced, by the host's rules."""
    return ", ".join(f"{n} {NOT_SYNCED_WORDS.get(reason, (reason.replace('_', ' '),) * 2)[n != 1]}"
                     for reason, n in not_synced.items())


def outcomes_in_words(counts: dict, *, dry_run: bool = False) -> str:
    """The outcomes a plugin counted, in words, zeros left out: ``3 added, 980 already up to date``."""
    parts = [f"{counts[o]} {WORDS[o][dry_run]}" for o in WORDS if isinstance(counts.get(o), int) and counts[o]]
    return ", ".join(parts) or "nothing to do"


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
    """A plugin's live facts on one line: nested values flattened, empty ones left out (escaped for rich)."""
    parts = []
    for name, value in facts.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items() if v not in (None, ""))
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value not in (None, ""):
            parts.append(f"{name} {value}")
    return safe(" · ".join(parts))


def aligned(rows: list[list[str]]) -> list[str]:
    """Rows of plain cells as lines with left-aligned columns two spaces apart (the last column unpadded)."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([cell.ljust(w) for cell, w in zip(row, widths)] + [row[-1]]).rstrip() for row in rows]
