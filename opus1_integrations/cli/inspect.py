"""Looking at what is there: ``plugins``, ``diagnose``, ``check`` and ``verify``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..exit_codes import ExitCode
from ..hookdata import Severity
from ..output import emit_json, people
from ..services.check import check
from ..services.diagnose import diagnose
from ..services.plugins import installed
from ..services.verify import verify
from .options import Business, Contacts, Integration, Json
from .render import facts_text

SEVERITY_COLOUR = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "dim"}


def plugins_command(ctx: typer.Context, as_json: Json = False) -> None:
    """List the installed integrations, their hooks and any load error."""
    rows = installed(ctx.obj)
    if as_json:
        emit_json(rows)
        return
    table = Table("integration", "version", "hooks", "error")
    for row in rows:
        table.add_row(row["name"], row["version"] or "", ", ".join(row["hooks"]), escape(row["error"] or ""))
    people().print(table)


def diagnose_command(
    ctx: typer.Context,
    integration: Annotated[Optional[str], typer.Argument(help="One integration; all when omitted.")] = None,
    business: Business = "default",
    as_json: Json = False,
) -> None:
    """List every integration error with how to fix it; exit 1 when there is any error."""
    report = diagnose(ctx.obj, business, integration)
    if as_json:
        emit_json(report.to_dict())
    else:
        console = people()
        if not report.findings:
            console.print(f"[green]✓[/] no problems found for business [bold]{escape(business)}[/]")
        for item in report.findings:
            f = item.finding
            console.print(f"[{SEVERITY_COLOUR[f.severity]}]{f.severity.value}[/] [{item.integration}] "
                          f"{escape(f.message)}")
            if f.hint:
                console.print(f"    [dim]fix:[/] {escape(f.hint)}")
    if report.errors:
        raise typer.Exit(ExitCode.FAILED)


def check_command(
    ctx: typer.Context,
    integration: Integration,
    query: Annotated[str, typer.Argument(help="A client's email address or opus1 person id.")],
    business: Business = "default",
    contacts: Contacts = None,
    as_json: Json = False,
) -> None:
    """Is this client in the integration's audience, and if not, why?"""
    answer = check(ctx.obj, integration, business, query, contacts=contacts)
    if as_json:
        emit_json(answer.to_dict())
        return
    console = people()
    if not answer.people:
        console.print(f"{escape(query)} is not in the opus1 export for business {escape(business)}.")
    for d in answer.people:
        console.print(f"[bold]{escape(d.first_name)} {escape(d.last_name)}[/] ({escape(d.person_id)}): "
                      f"{d.reason} — {escape(d.detail)}")
    for state in answer.contacts:
        last = state.last_run
        if last:
            line = f"run {last['run_id']} ({last['started_at']}): {last['outcome']}"
            if last["message"]:
                line += f" — {last['message']}"
        else:
            line = "never synced"
        console.print(f"[bold]{escape(state.key)}[/]")
        console.print(f"  last sync: {escape(line)}")
        shown = "[yellow]not in the audience[/]" if state.live is None else facts_text(state.live)
        console.print(f"  in {integration} now: {shown}")


def verify_command(
    ctx: typer.Context,
    integration: Integration,
    sample: Annotated[int, typer.Option("--sample", min=1, help="How many synced contacts to check.")] = 20,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Pick the same sample again.")] = None,
    business: Business = "default",
    contacts: Contacts = None,
    as_json: Json = False,
) -> None:
    """Fetch a random sample of synced contacts live and report any that are missing or differ."""
    report = verify(ctx.obj, integration, business, sample, contacts=contacts, seed=seed)
    if as_json:
        emit_json(report.to_dict())
    else:
        console = people()
        checked, bad = len(report.results), report.differ
        console.print(f"checked {checked} contacts: {checked - len(bad)} match, {len(bad)} differ")
        for r in bad:
            console.print(f"[red]✗[/] {escape(r['key'])}: " + escape("; ".join(r["problems"])))
    if report.differ:
        raise typer.Exit(ExitCode.FAILED)
