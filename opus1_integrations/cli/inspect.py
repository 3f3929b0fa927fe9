"""Looking at what is there: ``plugins``, ``diagnose``, ``check`` and ``verify``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from ..exit_codes import ExitCode
from ..hookdata import Severity
from ..output import emit_json, results, safe
from ..services.check import check
from ..services.diagnose import diagnose
from ..services.plugins import installed
from ..services.verify import verify
from .options import Business, Contacts, Integration, Json
from .render import aligned, facts_text, minute, outcome_word, plural

SEVERITY_COLOUR = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "dim"}


def plugins_command(ctx: typer.Context, as_json: Json = False) -> None:
    """List the installed integrations, their hooks and any load error."""
    rows = installed(ctx.obj)
    if as_json:
        emit_json(rows)
        return
    out = results()
    lines = [["integration", "version", "distribution"]] + [
        [safe(r["name"]), r["version"] or "", safe(r["distribution"] or "")] for r in rows]
    for row, line in zip([None, *rows], aligned(lines)):
        out.print(line)
        if row and row["error"]:
            out.print(f"  [red]broken:[/] {safe(row['error'])}")
        elif row:
            out.print(f"  [dim]hooks:[/] {', '.join(row['hooks'])}")


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
        out = results()
        if not report.findings:
            out.print(f"[green]✓[/] no problems found for business [bold]{safe(business)}[/]")
        for item in report.findings:
            f = item.finding
            out.print(f"[{SEVERITY_COLOUR[f.severity]}]{f.severity.value}[/] \\[{item.integration}] {safe(f.message)}")
            if f.hint:
                out.print(f"    [dim]fix:[/] {safe(f.hint)}")
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
    else:
        _show_check(answer)
    if not answer.people:
        raise typer.Exit(ExitCode.FAILED)


def _show_check(answer) -> None:
    """The rules' decision per person, then per contact: what the last run that touched it did, and its state now."""
    out = results()
    if not answer.people:
        out.print(f"{safe(answer.query)} is not a client in the opus1 export of business {safe(answer.business)}: "
                  "check the spelling, or whether the export is up to date.")
    for d in answer.people:
        out.print(f"[bold]{safe(d.first_name)} {safe(d.last_name)}[/] ({safe(d.person_id)}): {d.reason} — "
                  f"{safe(d.detail)}")
    for state in answer.contacts:
        out.print(f"\n[bold]{safe(state.key)}[/]")
        last = state.last_run
        if last:
            what = outcome_word(last["outcome"]) + (f" ({last['message']})" if last["message"] else "")
            out.print(f"  last sync that touched it: run {last['run_id']} on {minute(last['started_at'])} UTC: "
                      f"{safe(what)}")
        else:
            out.print("  last sync that touched it: none (never synced)")
        live = "[yellow]not there[/]" if state.live is None else facts_text(state.live)
        out.print(f"  in {answer.integration} now: {live}")


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
        out = results()
        checked, bad = len(report.results), report.differ
        out.print(f"checked {plural(checked, 'contact')}: {checked - len(bad)} match, {len(bad)} differ")
        for r in bad:
            out.print(f"[red]✗[/] {safe(r['key'])}: " + safe("; ".join(r["problems"])))
    if report.differ:
        raise typer.Exit(ExitCode.FAILED)
