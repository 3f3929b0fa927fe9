"""``opus1-int runs``: the run log, newest first."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..output import emit_json, people
from ..services.runs import list_runs
from .options import Json
from .render import counts_text


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
    rows = list_runs(ctx.obj, business=business, integration=integration, status=status, since_text=since,
                     limit=limit)
    if as_json:
        emit_json(rows)
        return
    table = Table("run", "business", "integration", "started", "finished", "status", "dry run", "counts", "error")
    for r in rows:
        table.add_row(str(r["id"]), escape(r["business"]), r["integration"], r["started_at"], r["finished_at"] or "",
                      r["status"], "yes" if r["dry_run"] else "", escape(counts_text(r["counts"])),
                      escape(r["error"] or ""))
    people().print(table)
