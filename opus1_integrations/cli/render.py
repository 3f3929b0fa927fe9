"""How the CLI shows the services' data to people: marks, counts in a line, a plugin's live facts."""

from __future__ import annotations

from rich.markup import escape

from ..runlog import RunStatus
from ..services import words
from ..services.words import counts_text  # noqa: F401 (the CLI's modules import it from here)

MARK = {RunStatus.OK: "[green]✓[/]", RunStatus.PARTIAL: "[yellow]![/]", RunStatus.FAILED: "[red]✗[/]",
        RunStatus.INTERRUPTED: "[yellow]![/]"}


def check_mark(ok: bool) -> str:
    """A green tick or a red cross (rich markup)."""
    return "[green]✓[/]" if ok else "[red]✗[/]"


def facts_text(facts: dict) -> str:
    """A plugin's live facts on one line, escaped for rich."""
    return escape(words.facts_text(facts))
