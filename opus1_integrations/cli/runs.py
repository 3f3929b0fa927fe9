"""``opus1-int runs``: the run log, one short line per run, newest first; ``runs show RUN_ID``: one run in full;
``runs prune`` and ``runs retention``: how long it keeps what."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..clock import to_the_second, utcnow
from ..output import emit_json, results, safe
from ..services.runs import list_runs, prune, retention_setting, run_detail
from .options import Json
from .render import (WORDS, aligned, compact, duration, items_by_outcome, outcomes_in_words, plural, short_time,
                     without_uniform)

runs_app = typer.Typer(name="runs", help="The run log: what each sync did, kept 30 days in detail and 400 in short.")


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
    out.print(f"  started:  {to_the_second(r['started_at'])}")
    out.print(f"  finished: {to_the_second(r['finished_at']) or '-'}"
              f" ({duration(r['started_at'], r['finished_at']) or 'running'})")
    numbers = {k: v for k, v in r["counts"].items() if isinstance(v, int) and not isinstance(v, bool)}
    if numbers:
        others = [_own_count(name, n) for name, n in numbers.items() if name not in WORDS]
        out.print("  counts:   " + "; ".join(filter(None, [outcomes_in_words(numbers, dry_run=bool(r["dry_run"])),
                                                        ", ".join(others)])))
    items_by_outcome(out, detail, dry_run=bool(r["dry_run"]),
                     more=lambda count: f"`opus1-int runs show {run_id} --limit {count}` lists them")


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
    pruned = prune(ctx.obj, items_older_than=older_than, runs_older_than=runs_older_than, dry_run=dry_run)
    if as_json:
        emit_json(pruned.to_dict())
        return
    kept = pruned.retention
    out = results()
    out.print(f"{'would delete' if dry_run else 'deleted'} {plural(pruned.items, 'contact result')} older than "
              f"{kept.items_days:g} days and {plural(pruned.runs, 'run')} older than {kept.runs_days:g} days")
    if pruned.failed_items_kept:
        out.print(f"kept {plural(pruned.failed_items_kept, 'older refused contact')}: none has synced since")
    if pruned.converted:
        out.print("converted the database so that it gives freed space back (once)")
    if not dry_run:
        out.print(f"database: {pruned.bytes_before / 2**20:,.1f} MB before, {pruned.bytes_after / 2**20:,.1f} MB after")


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
    """Show (or, with --items/--runs, save) how long the run log keeps each contact's result and each run."""
    setting = retention_setting(ctx.obj, items=items, runs=runs)
    if as_json:
        emit_json(setting)
        return
    results().print(f"contact results are kept {setting['items_days']:g} days, runs {setting['runs_days']:g} days "
                    f"(a refused contact until it syncs, and each business's latest run, longer); last pruned: "
                    f"{setting['pruned_at'] or 'never'}")


def _own_count(name: str, n: int) -> str:
    """A plugin's own count of a run in words: ``4 requests``, ``1 write`` (its names are plural)."""
    words = name.replace("_", " ")
    return f"{n} {words.removesuffix('s') if n == 1 else words}"
