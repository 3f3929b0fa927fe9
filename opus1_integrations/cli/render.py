"""How the CLI shows the services' data to people: marks, counts in a line, a plugin's live facts."""

from __future__ import annotations

from rich.markup import escape

from ..runlog import RunStatus

MARK = {RunStatus.OK: "[green]✓[/]", RunStatus.PARTIAL: "[yellow]![/]", RunStatus.FAILED: "[red]✗[/]",
        RunStatus.INTERRUPTED: "[yellow]![/]"}


def check_mark(ok: bool) -> str:
    """A green tick or a red cross (rich markup)."""
    return "[green]✓[/]" if ok else "[red]✗[/]"


def counts_text(counts: dict) -> str:
    """A plugin's counts on one line: ``created 3, updated 1, ...`` (numbers only)."""
    return ", ".join(f"{k} {v}" for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool))


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
    return escape(" · ".join(parts))
