"""``opus1-int contacts check FILE``: what an export gives the integrations, who the rules leave out and why, and the
records to fix in opus1."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from ..contacts import NOTES, QUALITY_CODES, REASONS
from ..output import emit_json, results, safe
from ..services.export import ExportReport, check_export
from .render import plural

SHOWN_PER_KIND = 20
#: What each list of named people is, as a heading.
NAMED_TITLES = {"no_email": "People without an email", "not_reached": "Children whose family is not reached"}

contacts_app = typer.Typer(help="Check the opus1 accounts export that integrations build their contacts from.",
                           no_args_is_help=True)


@contacts_app.callback()
def contacts() -> None:
    """Check the opus1 accounts export that integrations build their contacts from."""


@contacts_app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The accounts export: .jsonl/.ndjson, .json or .csv.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON document on stdout instead.")] = False,
) -> None:
    """Count accounts, people and contacts (and the contacts' email consent), name who is not synced and why, and
    list the records to fix in opus1."""
    report = check_export(file)
    if as_json:
        emit_json(report.to_dict())
    else:
        _show(report)


def _show(report: ExportReport) -> None:
    """The counts with a line saying what each means, the people left out by name, the records to fix."""
    out, counts = results(), report.counts
    out.print(f"{safe(Path(report.file).name)}: {plural(counts['accounts'], 'account')}, "
              f"{plural(counts['people'], 'person')}, {plural(counts['contacts'], 'contact')} to sync "
              "(one per email address).")
    out.print("Contacts by email consent: " + ", ".join(f"{n} {c}" for c, n in counts["consent"].items()) + ".")
    if counts["skipped"]:
        out.print("\nPeople who are not contacts themselves:")
        for reason, n in counts["skipped"].items():
            out.print(f"  {n:>6}  {reason}: {REASONS[reason]}")
    if counts["notes"]:
        out.print("\nNotes (a person may have several):")
        for note, n in counts["notes"].items():
            out.print(f"  {n:>6}  {note}: {NOTES[note]}")
    for kind, people in report.people.items():
        if people:
            out.print(f"\n{NAMED_TITLES[kind]} ({len(people)}):")
            for d in people[:SHOWN_PER_KIND]:
                out.print(f"  {safe(d.first_name)} {safe(d.last_name)} ({safe(d.person_id)}, account "
                          f"{safe(', '.join(d.account_ids))})")
            _more(out, len(people))
    by_code = Counter(issue.code for issue in report.issues)
    if not report.issues:
        out.print("\n[green]Nothing to fix in opus1.[/green]")
    for code, title in QUALITY_CODES.items():
        if by_code[code]:
            out.print(f"\n{title} ({by_code[code]:,}):")
            for issue in [i for i in report.issues if i.code == code][:SHOWN_PER_KIND]:
                out.print(f"  - {safe(issue.message)}")
                out.print(f"    [dim]fix:[/] {safe(issue.fix)}")
            _more(out, by_code[code])


def _more(out, total: int) -> None:
    if total > SHOWN_PER_KIND:
        out.print(f"  ... and {total - SHOWN_PER_KIND:,} more; use --json for the full list.")
