"""``opus1-int runs``: the run log, newest first; ``runs prune`` and ``runs retention`` keep it from growing."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..output import emit_json, people
from ..services import runs as runs_service
from .options import Json
from .render import counts_text

runs_app = typer.Typer(name="runs", invoke_without_command=True,
                       help="Show the run log, newest first; prune it (`runs prune`, `runs retention`).")


@runs_app.callback()
def runs_command(
    ctx: typer.Context,
    business: Annotated[Optional[str], typer.Option("--business", "-b", help="Only this business.")] = None,
    integration: Annotated[Optional[str], typer.Option("--integration", help="Only this integration.")] = None,
    status: Annotated[
        Optional[str],
        typer.Option("--status", help="Only runs with this status: running, ok, partial, failed, interrupted."),
    ] = None,
    since: Annotated[
        Optional[str],
        typer.Option("--since", metavar="WHEN", help="Only runs started since WHEN: a time (2026-11-20, "
                                                     "2026-11-20T08:00:00+00:00) or an age (90m, 24h, 7d)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many runs to show.")] = 20,
    as_json: Json = False,
) -> None:
    """Show the run log, newest first."""
    if ctx.invoked_subcommand:
        return
    rows = runs_service.list_runs(ctx.obj, business=business, integration=integration, status=status,
                                  since_text=since, limit=limit)
    if as_json:
        emit_json(rows)
        return
    table = Table("run", "business", "integration", "started", "finished", "status", "dry run", "counts", "error")
    for r in rows:
        table.add_row(str(r["id"]), escape(r["business"]), r["integration"], r["started_at"], r["finished_at"] or "",
                      r["status"], "yes" if r["dry_run"] else "", escape(counts_text(r["counts"])),
                      escape(r["error"] or ""))
    people().print(table)


@runs_app.command("prune")
def prune_command(
    ctx: typer.Context,
    older_than: Annotated[
        Optional[str], typer.Option("--older-than", metavar="AGE", help="Delete run items older than AGE (30d, "
                                                                        "12h; default: the saved retention).")
    ] = None,
    runs_older_than: Annotated[
        Optional[str], typer.Option("--runs-older-than", metavar="AGE",
                                    help="Delete runs older than AGE (default: the saved retention).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")] = False,
    as_json: Json = False,
) -> None:
    """Prune the run log now and give the space back (syncs also do it, at most once an hour)."""
    pruned = runs_service.prune(ctx.obj, items_older_than=older_than, runs_older_than=runs_older_than,
                                dry_run=dry_run)
    if as_json:
        emit_json(pruned.to_dict())
        return
    verb = "Would delete" if dry_run else "Deleted"
    kept = pruned.retention
    console = people()
    console.print(f"{verb} {pruned.items:,} run items older than {kept.items_days:g} days and {pruned.runs:,} runs "
                  f"older than {kept.runs_days:g} days; kept {pruned.failed_items_kept:,} older failed items whose "
                  "contact has not been synced since.")
    if pruned.converted:
        console.print("The database was converted to give freed space back (once).")
    if not dry_run:
        console.print(f"Database: {pruned.bytes_before / 2**20:,.1f} MB before, {pruned.bytes_after / 2**20:,.1f} MB "
                      "after.")


@runs_app.command("retention")
def retention_command(
    ctx: typer.Context,
    items: Annotated[
        Optional[str], typer.Option("--items", metavar="AGE", help="Keep run items this long (default 30d).")
    ] = None,
    runs: Annotated[Optional[str], typer.Option("--runs", metavar="AGE", help="Keep runs this long (default 400d).")
                    ] = None,
    as_json: Json = False,
) -> None:
    """Show (or, with --items/--runs, save) how long the run log keeps run items and runs."""
    setting = runs_service.retention_setting(ctx.obj, items=items, runs=runs)
    if as_json:
        emit_json(setting)
        return
    people().print(f"Run items are kept {setting['items_days']:g} days and runs {setting['runs_days']:g} days "
                   f"(failed items until their contact syncs, and each business's latest run, longer); last pruned: "
                   f"{setting['pruned_at'] or 'never'}.")
