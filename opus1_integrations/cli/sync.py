"""``opus1-int sync INTEGRATION``: one business now, or (``--all``) every business that is due."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import UsageError
from ..exit_codes import ExitCode
from ..hookdata import SyncOptions
from ..host import Host
from ..output import emit_json, people
from ..runlog import RunStatus
from ..services import fleet
from ..services.sync import sync_business
from .options import Contacts, Integration, Json
from .render import MARK, counts_text
from .signals import hard_stop, stopping_on_signals


def sync_command(
    ctx: typer.Context,
    integration: Integration,
    business: Annotated[
        Optional[str], typer.Option("--business", "-b", help="The business (studio) id (default: default).")
    ] = None,
    all_businesses: Annotated[
        bool, typer.Option("--all", help="Every enabled business configured for the integration that is due.")
    ] = False,
    contacts: Contacts = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only: send no writes.")] = False,
    plan: Annotated[
        Optional[Path], typer.Option("--plan", help="Write the plan per contact to this .csv or .json file.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="One business: run even past the safety stop. With --all: sync businesses "
                                     "that are not due (never past a safety stop)."),
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for another process's run of a business instead of skipping it "
                                          "(--all) or failing.")
    ] = False,
    jobs: Annotated[
        Optional[int],
        typer.Option("--jobs", min=1, metavar="N", help=f"With --all: how many businesses sync at once "
                                                        f"(default {fleet.DEFAULT_JOBS})."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Sync one business's opus1 export to the integration, or (--all) every business that is due."""
    host: Host = ctx.obj
    if all_businesses:
        for given, option in ((business, "--business"), (contacts, "--contacts"), (plan, "--plan")):
            if given is not None:
                raise UsageError(f"{option} cannot be combined with --all",
                                 hint="--all syncs every business with its saved export; drop one of them")
        _sync_all(host, integration, force=force, wait=wait, dry_run=dry_run, jobs=jobs or fleet.DEFAULT_JOBS,
                  as_json=as_json)
        return
    if jobs is not None:
        raise UsageError("--jobs only applies with --all", hint="add --all, or drop --jobs")
    business = business or "default"
    result = sync_business(host, integration, business, contacts=contacts,
                           options=SyncOptions(dry_run=dry_run, plan_path=plan, force=force),
                           show_progress=not as_json and sys.stderr.isatty(), wait=wait)
    if result.failure is not None:
        raise result.failure
    if as_json:
        emit_json(result.to_dict())
    else:
        what = "Dry run" if dry_run else "Sync"
        people().print(f"{MARK[result.status]} {what} of {integration} for [bold]{escape(business)}[/] finished "
                       f"(run {result.run_id}): {escape(counts_text(result.counts))}")
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _sync_all(host: Host, integration: str, *, force: bool, wait: bool, dry_run: bool, jobs: int,
              as_json: bool) -> None:
    host.integration(integration).settings_schema()  # an unknown (exit 2) or broken (exit 4) integration fails first
    console = people()
    stop = threading.Event()
    with stopping_on_signals(stop):
        try:
            results = fleet.Fleet(host.plugins, stop=stop).sync_all(
                integration, force=force, wait=wait, dry_run=dry_run, jobs=jobs,
                on_result=lambda r: console.print(result_line(r)), log=lambda line: console.print(escape(line)))
        except KeyboardInterrupt:
            hard_stop(lambda line: console.print(escape(line)))
    if as_json:
        emit_json([r.as_dict() for r in results])
    elif results:
        console.print(_results_table(results))
    tally = Counter(r.outcome for r in results)
    console.print(", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(tally.items()))
                  if results else f"no enabled business has {integration} configured "
                                  f"(`opus1-int configure {integration} --business ID`)")
    code = ExitCode.INTERRUPTED if stop.is_set() else fleet.exit_code(results)
    if code:
        raise typer.Exit(code)


def result_line(r: fleet.BusinessResult) -> str:
    """One business's result of ``sync --all``, for people (rich markup)."""
    name = f"[bold]{escape(r.business)}[/]"
    if r.skipped is fleet.Skip.NOT_DUE:
        return f"[dim]·[/] {name}: not due until {r.due_at}"
    if r.skipped is fleet.Skip.LOCKED:
        return f"[dim]·[/] {name}: skipped, in progress elsewhere"
    mark = MARK.get(r.status, "[dim]·[/]")
    if r.status in (RunStatus.OK, RunStatus.PARTIAL) and not r.error:
        return f"{mark} {name}: synced (run {r.run_id}): {escape(counts_text(r.counts))}"
    run = f" (run {r.run_id})" if r.run_id else ""
    line = f"{mark} {name}: {r.outcome}{run}: {escape(r.error or '')}"
    if r.hint:
        line += f"\n    [dim]fix:[/] {escape(r.hint)}"
    return line


def _results_table(results: list[fleet.BusinessResult]) -> Table:
    table = Table("business", "outcome", "run", "due at", "counts", "error")
    for r in results:
        table.add_row(escape(r.business), r.outcome.replace("_", " "), str(r.run_id or ""), r.due_at or "",
                      escape(counts_text(r.counts)), escape(r.error or ""))
    return table
