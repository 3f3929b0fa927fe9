"""``opus1-int runs``: the run log, one short line per run, newest first; ``runs show RUN_ID``: one run in full."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..clock import utcnow
from ..output import emit_json, results, safe
from ..services.runs import list_runs, run_detail
from .options import Json
from .render import WORDS, aligned, compact, duration, short_time, without_uniform

runs_app = typer.Typer(name="runs", help="The run log: what each sync did.")


@runs_app.callback(invoke_without_command=True)
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
    """Show the run log, newest first: one line per run, started at (UTC: the time today, else the date), how long
    it took and what it did (+ added, ~ updated, = up to date, - leavers archived or removed, ! refused; the
    integration column is left out when every run is of one). `runs show RUN_ID` shows one run in full."""
    if ctx.invoked_subcommand is not None:
        return
    rows = list_runs(ctx.obj, business=business, integration=integration, status=status, since_text=since,
                     limit=limit)
    if as_json:
        emit_json(rows)
        return
    now = utcnow()
    lines = [["run", "business", "integration", "status", "UTC", "took", "what it did"]]
    for r in rows:
        did = ("dry: " if r["dry_run"] else "") + (compact(r["counts"]) or safe(r["error"] or ""))
        lines.append([str(r["id"]), safe(r["business"]), r["integration"], r["status"],
                      short_time(r["started_at"], now), duration(r["started_at"], r["finished_at"]), did])
    lines, integration_of_all = without_uniform(lines, 2)
    out = results()
    if not rows:
        out.print("no runs match")
    for line in aligned(lines):
        out.print(line)


@runs_app.command("show")
def show_command(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="The run's id (the first column of `opus1-int runs`).")],
    limit: Annotated[int, typer.Option("--limit", help="How many contacts to list per outcome.")] = 20,
    as_json: Json = False,
) -> None:
    """Show one run: when, how it ended, its counts, and its contacts by outcome (refused ones first)."""
    detail = run_detail(ctx.obj, run_id, per_outcome=limit)
    if as_json:
        emit_json(detail.to_dict())
        return
    r, out = detail.run, results()
    out.print(f"run {r['id']}: {r['integration']} for {safe(r['business'])}" + (" (dry run)" if r["dry_run"] else ""))
    out.print(f"  status:   {r['status']}" + (f": {safe(r['error'])}" if r["error"] else ""))
    out.print(f"  started:  {r['started_at']}")
    out.print(f"  finished: {r['finished_at'] or '-'} ({duration(r['started_at'], r['finished_at']) or 'running'})")
    numbers = {k: v for k, v in r["counts"].items() if isinstance(v, int) and not isinstance(v, bool)}
    if numbers:
        out.print("  counts:   " + ", ".join(f"{k} {v}" for k, v in numbers.items()))
    for outcome, count in detail.outcomes.items():
        words = WORDS.get(outcome, (outcome, outcome))[bool(r["dry_run"])]
        out.print(f"\n{count} {safe(words)}:")
        for item in detail.items[outcome]:
            out.print(f"  {safe(item['key'])}" + (f": {safe(item['message'])}" if item["message"] else ""))
            if item["hint"] and outcome == "failed":
                out.print(f"    [dim]fix:[/] {safe(item['hint'])}")
        if count > len(detail.items[outcome]):
            out.print(f"  ... and {count - len(detail.items[outcome])} more "
                      f"(`opus1-int runs show {run_id} --limit {count}` lists them)")
