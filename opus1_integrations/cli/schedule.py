"""``opus1-int schedule run`` (stay running, sync each business when due) and ``schedule show``."""

from __future__ import annotations

import os
import sys
import threading
from typing import Annotated, Optional

import typer

from ..clock import iso, utcnow
from ..host import Host
from ..output import emit_json, results, safe
from ..runlog import RunStatus
from ..services import fleet
from ..services.schedules import schedules
from .options import Jobs, Json, Processes
from .render import aligned, compact, minute, relative, without_uniform
from .signals import hard_stop, stopping_on_signals

schedule_app = typer.Typer(name="schedule", no_args_is_help=True,
                           help="Sync every business when it is due, or show when that is.")


@schedule_app.command("run")
def schedule_run_command(
    ctx: typer.Context,
    jobs: Jobs = None,
    processes: Processes = None,
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

    the_fleet = fleet.Fleet(host.plugins, stop=stop, processes=processes)
    jobs = jobs or fleet.default_jobs(the_fleet.processes)
    where = f"{the_fleet.processes} worker processes" if the_fleet.processes else "threads"
    log(f"schedule: started (pid {os.getpid()}, {jobs} at a time in {where}); SIGTERM or Ctrl-C stops it after the "
        "running syncs finish")
    with stopping_on_signals(stop, on_first=wake.set):
        try:
            the_fleet.run_schedule(jobs=jobs, max_sleep=max_sleep, retry_after=retry_after, wake=wake, log=log,
                                   on_result=lambda r: log(result_log(r)))
        except KeyboardInterrupt:
            hard_stop(log, the_fleet.worker_pids)
    log("schedule: stopped")


def result_log(r: fleet.BusinessResult) -> str:
    """One business's result as a plain log line of ``schedule run``."""
    run = f" run {r.run_id}" if r.run_id else ""
    text = f"{r.integration} {r.business}: {r.outcome}{run}"
    if r.counts and r.status in (RunStatus.OK, RunStatus.PARTIAL):
        text += f" ({compact(r.counts)})"
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
    """Show when each configured business last synced and is next due (UTC; the integration and interval columns
    are left out when every business has the same)."""
    found = schedules(ctx.obj, integration=integration, business=business)
    if as_json:
        emit_json([s.as_dict() for s in found])
        return
    now = utcnow()
    rows = [["business", "integration", "every", "last sync (UTC)", "next due (UTC)"]]
    for s in found:
        due = "disabled, or no export set" if not s.enabled else (
            f"{minute(iso(s.due_at))} ({relative(s.due_at, now)})" if s.due_at and not s.due else "now")
        rows.append([safe(s.business), s.integration, f"{s.interval_hours:g} h", minute(iso(s.last_ok)) or "never",
                     due])
    rows, every = without_uniform(rows, 2)
    rows, _ = without_uniform(rows, 1)  # the integration, when there is one
    out = results()
    if not found:
        out.print("no business is configured")
    elif every:
        out.print(f"each syncs every {every}")
    for line in aligned(rows):
        out.print(line)
