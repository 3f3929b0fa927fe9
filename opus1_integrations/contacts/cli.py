"""``opus1-int contacts check FILE``: what an export gives the integrations, and the records to fix in opus1."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from opus1_integrations.output import emit_json, people

from . import load_audience
from .model import QUALITY_CODES, REASONS

SHOWN_PER_KIND = 20

contacts_app = typer.Typer(
    help="Check the opus1 accounts export that integrations build their contacts from.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@contacts_app.callback()
def contacts() -> None:
    """Check the opus1 accounts export that integrations build their contacts from."""


@contacts_app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The accounts export: .jsonl/.ndjson, .json or .csv.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document on stdout instead of tables.")] = False,
) -> None:
    """Count accounts, people and contacts (and the contacts' email consent), and list the records to fix in opus1."""
    with load_audience(file) as audience:
        issues = list(audience.quality())
        if as_json:
            emit_json({"file": str(file), "counts": audience.counts, "issues": [asdict(issue) for issue in issues]})
            return
        _print_report(file, audience.counts, issues)


def _print_report(file: Path, counts: dict, issues: list) -> None:
    console = people()
    summary = Table(title=f"{file.name}", show_header=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    summary.add_row("accounts", f"{counts['accounts']:,}")
    summary.add_row("people", f"{counts['people']:,}")
    summary.add_row("eligible contacts", f"{counts['contacts']:,}")
    for consent, n in counts["consent"].items():
        summary.add_row(f"  email consent: {consent}", f"{n:,}", style="dim")
    for reason, n in counts["skipped"].items():
        summary.add_row(f"  skipped: {reason}", f"{n:,}", style="dim")
    for note, n in counts["notes"].items():
        summary.add_row(f"  note: {note}", f"{n:,}", style="dim")
    console.print(summary)
    for reason, n in counts["skipped"].items():
        console.print(f"[dim]{reason}[/dim]: {REASONS[reason]}")
    by_code = Counter(issue.code for issue in issues)
    if not issues:
        console.print("[green]Nothing to fix in opus1.[/green]")
    for code, title in QUALITY_CODES.items():
        if not by_code[code]:
            continue
        table = Table(title=f"{title} ({by_code[code]:,})", show_lines=False)
        for column in ("accounts", "people", "problem", "fix"):
            table.add_column(column, overflow="fold")
        for issue in [i for i in issues if i.code == code][:SHOWN_PER_KIND]:
            table.add_row(", ".join(issue.account_ids), ", ".join(issue.person_ids), issue.message, issue.fix)
        console.print(table)
        if by_code[code] > SHOWN_PER_KIND:
            console.print(f"... and {by_code[code] - SHOWN_PER_KIND:,} more; use --json for the full list.")
