"""``opus1-int schedule run`` (stay running, sync each business when due) and ``schedule show``."""

from __future__ import annotations

import os
import sys
import threading
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..clock import iso, utcnow
from ..host import Host
from ..output import emit_json, people
from ..runlog import RunStatus
from ..services import fleet
from ..services.schedules import schedules
from .options import Json
from .render import counts_text
from .signals import hard_stop, stopping_on_signals

schedule_app = typer.Typer(name="schedule", no_args_is_help=True,
                           help="Sync every business when it is due, or show when that is.")


@schedule_app.command("run")
def schedule_run_command(
    ctx: typer.Context,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, metavar="N", help="How many businesses sync at once.")
    ] = fleet.DEFAULT_JOBS,
    max_sleep: Annotated[
        float, typer.Option("--max-sleep", min=0.01, metavar="SECONDS",
                            help="Look for newly due businesses at least this often.")
    ] = 300.0,
    retry_after: Annotated[
        float, typer.Option("--retry-after", min=0, metavar="SECONDS",
                            help="Retry a failed business after this long (or its interval, when shorter).")
    ] = 3600.0,
) -> None:
    """Run until stopped: sync each enabled business when it is due, then sleep until the next one is."""
    host: Host = ctx.obj
    stop, wake = threading.Event(), threading.Event()

    def log(line: str) -> None:
        sys.stderr.write(f"{iso(utcnow())} {line}\n")
        sys.stderr.flush()

    log(f"schedule: started (pid {os.getpid()}, {jobs} at a time); SIGTERM or Ctrl-C stops it after the "
        "running syncs finish")
    with stopping_on_signals(stop, on_first=wake.set):
        try:
            fleet.Fleet(host.plugins, stop=stop).run_schedule(jobs=jobs, max_sleep=max_sleep, retry_after=retry_after,
                                                              wake=wake, log=log,
                                                              on_result=lambda r: log(result_log(r)))
        except KeyboardInterrupt:
            hard_stop(log)
    log("schedule: stopped")


def result_log(r: fleet.BusinessResult) -> str:
    """One business's result as a plain log line of ``schedule run``."""
    run = f" run {r.run_id}" if r.run_id else ""
    text = f"{r.integration} {r.business}: {r.outcome}{run}"
    if r.counts and r.status in (RunStatus.OK, RunStatus.PARTIAL):
        text += f" ({counts_text(r.counts)})"
    if r.error:
        text += f": {r.error}"
    if r.due_at and (r.status in (RunStatus.OK, RunStatus.PARTIAL) or r.skipped is fleet.Skip.NOT_DUE):
        text += f"; next due {r.due_at}"
    return text


@schedule_app.command("show")
def schedule_show_command(
    ctx: typer.Context,
    integration: Annotated[Optional[str], typer.Option("--integration", help="Only this integration.")] = None,
    business: Annotated[Optional[str], typer.Option("--business", "-b", help="Only this business.")] = None,
    as_json: Json = False,
) -> None:
    """Show when each configured business is next due, and when it last synced."""
    rows = [s.as_dict() for s in schedules(ctx.obj, integration=integration, business=business)]
    if as_json:
        emit_json(rows)
        return
    table = Table("business", "integration", "enabled", "every", "last ok", "due at", "due now")
    for r in rows:
        table.add_row(escape(r["business"]), r["integration"], "yes" if r["enabled"] else "no",
                      f"{r['interval_hours']:g} h", r["last_ok"] or "never", r["due_at"] or "now",
                      "yes" if r["due"] and r["enabled"] else "")
    people().print(table)
