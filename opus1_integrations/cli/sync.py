"""``opus1-int sync INTEGRATION``: one business now, or (``--all``) every business that is due."""

from __future__ import annotations

import shlex
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import schedule
from ..errors import UsageError
from ..state import home
from ..exit_codes import ExitCode
from ..hookdata import SyncOptions
from ..host import Host
from ..output import emit_json, messages, results, safe
from ..runlog import ItemOutcome, RunStatus
from ..services import fleet
from ..services.runs import run_detail
from ..services.sync import SyncResult, sync_business
from .options import Contacts, Integration, Jobs, Json, Processes
from .render import MARK, compact, items_by_outcome, minute, not_synced_in_words, outcomes_in_words, plural
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
    jobs: Jobs = None,
    processes: Processes = None,
    as_json: Json = False,
) -> None:
    """Sync one business's opus1 export to the integration, or (--all) every business that is due."""
    host: Host = ctx.obj
    if all_businesses:
        for given, option in ((business, "--business"), (contacts, "--contacts"), (plan, "--plan")):
            if given is not None:
                raise UsageError(f"{option} cannot be combined with --all",
                                 hint="--all syncs every business with its saved export; drop one of them")
        _sync_all(host, integration, force=force, wait=wait, dry_run=dry_run, jobs=jobs, processes=processes,
                  as_json=as_json)
        return
    for given, option in ((jobs, "--jobs"), (processes, "--processes")):
        if given is not None:
            raise UsageError(f"{option} only applies with --all", hint=f"add --all, or drop {option}")
    business = "default" if business is None else business
    result = sync_business(host, integration, business, contacts=contacts,
                           options=SyncOptions(dry_run=dry_run, plan_path=plan, force=force),
                           show_progress=not as_json and sys.stderr.isatty(), wait=wait)
    if result.failure is not None:
        raise result.failure
    if as_json:
        emit_json(result.to_dict())
    else:
        show_result(host, result, plan)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


SHOWN_PER_OUTCOME = 10


def show_result(host: Host, result: SyncResult, plan: Path | None) -> None:
    """A sync's summary in words on stdout; for a dry run, the first contacts of each outcome with the reason."""
    out = results()
    what = "Dry run" if result.dry_run else "Sync"
    where = f"{result.integration} for [bold]{safe(result.business)}[/]"
    out.print(f"{MARK[result.status]} {what} of {where} (run {result.run_id}): "
              f"{outcomes_in_words(result.counts, dry_run=result.dry_run)}.")
    if result.dry_run:
        listing = f"--plan {shlex.quote(str(plan))}" if plan else "--plan FILE.csv"
        items_by_outcome(out, run_detail(host, result.run_id, per_outcome=SHOWN_PER_OUTCOME), dry_run=True,
                         skip=(ItemOutcome.UNCHANGED,), more=lambda count: f"`{listing}` lists every contact")
        out.print("\nNothing was sent: this was a dry run.")
    if result.not_synced:
        export = shlex.quote(result.export or "PATH")
        out.print(f"{plural(sum(result.not_synced.values()), 'person')} not synced by opus1's rules "
                  f"({not_synced_in_words(result.not_synced)}): `opus1-int contacts check {export}` lists them.")
    if result.status is RunStatus.PARTIAL:
        out.print(f"{plural(result.counts.get('failed', 0), 'contact')} refused: "
                  f"`opus1-int diagnose {result.integration} --business {result.business}` lists each with its fix; "
                  "the next sync sends them again.")


def _sync_all(host: Host, integration: str, *, force: bool, wait: bool, dry_run: bool, jobs: int | None,
              processes: int | None, as_json: bool) -> None:
    """Every due business: one line per business on stdout as each finishes, then a tally; notices on stderr."""
    host.integration(integration).settings_schema()  # an unknown (exit 2) or broken (exit 4) integration fails first
    new_home = host.db.created_now  # before the fleet opens the database too
    out, notices = results(), messages()
    show = (lambda r: None) if as_json else (lambda r: out.print(result_line(r)))
    stop = threading.Event()
    the_fleet = fleet.Fleet(host.plugins, stop=stop, processes=processes)
    with stopping_on_signals(stop):
        try:
            done = the_fleet.sync_all(integration, force=force, wait=wait, dry_run=dry_run, jobs=jobs, on_result=show,
                                      log=lambda line: notices.print(safe(line)))
        except KeyboardInterrupt:
            hard_stop(lambda line: notices.print(safe(line)), the_fleet.worker_pids)
    if as_json:
        emit_json([r.as_dict() for r in done])
    elif done:
        tally = Counter(r.outcome for r in done)
        out.print(", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(tally.items())))
    if not done and not schedule.configured(host.db, enabled_only=False) and not new_home:
        notices.print(f"[yellow]warning:[/] the state folder {safe(home())} has no business at all: "
                      "is OPUS1_INT_HOME right (a wrong or unmounted folder)?")
        raise typer.Exit(ExitCode.FAILED)
    if not done:
        notices.print(f"no enabled business has {integration} configured: "
                      f"`opus1-int configure {integration} --business BUSINESS` sets one up")
    code = ExitCode.INTERRUPTED if stop.is_set() else fleet.exit_code(done)
    if code:
        raise typer.Exit(code)


def result_line(r: fleet.BusinessResult) -> str:
    """One business's result of ``sync --all``, on one line (and its fix on the next), rich markup."""
    name = f"[bold]{safe(r.business)}[/]"
    if r.skipped is fleet.Skip.NOT_DUE:
        return f"[dim]·[/] {name}: not due until {minute(r.due_at)} UTC"
    if r.skipped is fleet.Skip.LOCKED:
        return f"[dim]·[/] {name}: skipped, another process is syncing it"
    mark = MARK.get(r.status, "[dim]·[/]")
    if r.status in (RunStatus.OK, RunStatus.PARTIAL) and not r.error:
        return f"{mark} {name}: {r.outcome} (run {r.run_id}) {compact(r.counts)}".rstrip()
    run = f" (run {r.run_id})" if r.run_id else ""
    line = f"{mark} {name}: {r.outcome}{run}: {safe(r.error or '')}"
    if r.hint:
        line += f"\n    [dim]fix:[/] {safe(r.hint)}"
    return line
