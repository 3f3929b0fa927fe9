"""The ``opus1-int`` command line, built in one factory; domain errors become ``Error:`` + hint + exit code."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import traceback
from collections import Counter
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Optional

import click
import typer
from rich.markup import escape
from rich.table import Table

from . import __version__, clock, fleet, runlog, schedule, state
from . import settings as settings_store
from .configure_command import ConfigureGroup
from .contacts.cli import contacts_app
from .errors import Opus1Error, UsageError
from .host import Host
from .hookdata import SyncOptions
from .output import emit_json, people
from .plugins import Plugins
from .redaction import scrub

DEBUG_ENV = "OPUS1_INT_DEBUG"
EXIT_INTERRUPTED = 130

Business = Annotated[str, typer.Option("--business", "-b", help="The business (studio) id.")]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
Integration = Annotated[str, typer.Argument(help="The integration, e.g. mailchimp (see `opus1-int plugins`).")]
Contacts = Annotated[
    Optional[Path], typer.Option("--contacts", help="The opus1 accounts export to read instead of the saved one.")
]


def version_callback(value: bool) -> None:
    """Print the version for ``--version`` (module level: typer resolves annotations in the module's globals)."""
    if value:
        typer.echo(f"opus1-int {__version__}")
        raise typer.Exit()


def make_cli(plugins: Plugins | None = None) -> click.Group:
    """Build the whole CLI: host commands, ``configure`` per integration, and the plugins' own commands."""
    if plugins is None:
        plugins = Plugins()
        plugins.load_entry_points()
    host_box: dict[str, Host] = {}

    def get_host(open_db: bool = True) -> Host:
        if "host" not in host_box:
            if not open_db:
                return Host(plugins, db=None)  # plugins only: listing, schemas, help
            host_box["host"] = Host(plugins, state.open_db())
        return host_box["host"]

    app = typer.Typer(
        name="opus1-int",
        help="Sync a studio's opus1 clients to other services (Mailchimp, ...).",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        add_completion=False,
    )

    @app.callback()
    def root(
        version: Annotated[
            bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version and exit.")
        ] = False,
    ) -> None:
        """Sync a studio's opus1 clients to other services."""

    @app.command("plugins")
    def plugins_command(as_json: Json = False) -> None:
        """List the installed integrations, their hooks and any load error."""
        rows = [p.as_dict() for _, p in sorted(plugins.loaded.items())]
        if as_json:
            emit_json(rows)
            return
        table = Table("integration", "version", "hooks", "error")
        for row in rows:
            table.add_row(row["name"], row["version"] or "", ", ".join(row["hooks"]), row["error"] or "")
        people().print(table)

    @app.command("validate")
    def validate_command(integration: Integration, business: Business = "default", as_json: Json = False) -> None:
        """Check the saved settings live: each failing check says how to fix it."""
        checks = get_host().validate(integration, business)
        if as_json:
            emit_json([asdict(c) for c in checks])
        else:
            console = people()
            for check in checks:
                mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
                console.print(f"{mark} {check.name}: {check.message}")
                if not check.ok and check.hint:
                    console.print(f"    [dim]fix:[/] {check.hint}")
        if not all(c.ok for c in checks):
            raise typer.Exit(3)

    @app.command("sync")
    def sync_command(
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
        if all_businesses:
            for given, option in ((business, "--business"), (contacts, "--contacts"), (plan, "--plan")):
                if given is not None:
                    raise UsageError(f"{option} cannot be combined with --all",
                                     hint="--all syncs every business with its saved export; drop one of them")
            sync_all(integration, force=force, wait=wait, dry_run=dry_run, jobs=jobs or fleet.DEFAULT_JOBS,
                     as_json=as_json)
            return
        if jobs is not None:
            raise UsageError("--jobs only applies with --all", hint="add --all, or drop --jobs")
        business = business or "default"
        result = get_host().sync(
            integration,
            business,
            contacts=contacts,
            options=SyncOptions(dry_run=dry_run, plan_path=plan, force=force),
            show_progress=not as_json and sys.stderr.isatty(),
            wait=wait,
        )
        summary = {"business": result.business, "integration": result.integration, "run_id": result.run_id,
                   "status": result.status, "dry_run": result.dry_run, **result.counts}
        if as_json:
            emit_json(summary)
        else:
            what = "Dry run" if dry_run else "Sync"
            counts = ", ".join(f"{k} {v}" for k, v in result.counts.items() if isinstance(v, int))
            people().print(f"[green]✓[/] {what} of {integration} for [bold]{business}[/] finished "
                           f"(run {result.run_id}): {counts}")

    def sync_all(integration: str, *, force: bool, wait: bool, dry_run: bool, jobs: int, as_json: bool) -> None:
        get_host().schema(integration)  # an unknown (exit 2) or broken (exit 4) integration fails first
        console = people()
        stop = threading.Event()
        with fleet.stopping_on_signals(stop):
            try:
                outcomes = fleet.sync_all(plugins, integration, force=force, wait=wait, dry_run=dry_run, jobs=jobs,
                                          stop=stop, on_outcome=lambda o: console.print(_outcome_line(o)),
                                          log=lambda line: console.print(escape(line)))
            except KeyboardInterrupt:
                fleet.hard_stop(lambda line: console.print(escape(line)))
        if as_json:
            emit_json([o.as_dict() for o in outcomes])
        elif outcomes:
            console.print(_outcome_table(outcomes))
        tally = Counter(o.outcome for o in outcomes)
        console.print(", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(tally.items()))
                      if outcomes else f"no enabled business has {integration} configured "
                                       f"(`opus1-int configure {integration} --business ID`)")
        code = fleet.EXIT_INTERRUPTED if stop.is_set() else fleet.exit_code(outcomes)
        if code:
            raise typer.Exit(code)

    schedule_app = typer.Typer(name="schedule", no_args_is_help=True,
                               help="Sync every business when it is due, or show when that is.")

    @schedule_app.command("run")
    def schedule_run_command(
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
        stop, wake = threading.Event(), threading.Event()

        def log(line: str) -> None:
            sys.stderr.write(f"{clock.iso(clock.utcnow())} {line}\n")
            sys.stderr.flush()

        log(f"schedule: started (pid {os.getpid()}, {jobs} at a time); SIGTERM or Ctrl-C stops it after the "
            "running syncs finish")
        with fleet.stopping_on_signals(stop, on_first=wake.set):
            try:
                fleet.run_schedule(plugins, jobs=jobs, max_sleep=max_sleep, retry_after=retry_after, stop=stop,
                                   wake=wake, log=log, on_outcome=lambda o: log(_outcome_log(o)))
            except KeyboardInterrupt:
                fleet.hard_stop(log)
        log("schedule: stopped")

    @schedule_app.command("show")
    def schedule_show_command(
        integration: Annotated[Optional[str], typer.Option("--integration", help="Only this integration.")] = None,
        business: Annotated[Optional[str], typer.Option("--business", "-b", help="Only this business.")] = None,
        as_json: Json = False,
    ) -> None:
        """Show when each configured business is next due, and when it last synced."""
        db = get_host().db
        now = clock.utcnow()
        rows = [
            schedule.status(db, b, i, now).as_dict()
            for b, i in schedule.configured(db, integration, enabled_only=False)
            if business is None or b == business
        ]
        if as_json:
            emit_json(rows)
            return
        table = Table("business", "integration", "enabled", "every", "last ok", "due at", "due now")
        for r in rows:
            table.add_row(r["business"], r["integration"], "yes" if r["enabled"] else "no",
                          f"{r['interval_hours']:g} h", r["last_ok"] or "never", r["due_at"] or "now",
                          "yes" if r["due"] and r["enabled"] else "")
        people().print(table)

    app.add_typer(schedule_app, name="schedule")

    @app.command("diagnose")
    def diagnose_command(
        integration: Annotated[Optional[str], typer.Argument(help="One integration; all when omitted.")] = None,
        business: Business = "default",
        as_json: Json = False,
    ) -> None:
        """List every integration error with how to fix it; exit 1 when there is any error."""
        host = get_host()
        names = [integration] if integration else sorted(  # broken plugins and the business's integrations
            name
            for name, record in plugins.loaded.items()
            if record.error or settings_store.load(host.db, business, name)
        )
        report = []
        for name in names:
            record = plugins.loaded.get(name)
            if record is not None and record.error:
                report.append({"integration": name, "severity": "error", "code": "plugin_broken",
                               "message": record.error, "hint": "reinstall or upgrade the plugin"})
                continue
            for finding in host.diagnose(name, business):
                report.append({"integration": name, **asdict(finding)})
        errors = [r for r in report if r["severity"] == "error"]
        if as_json:
            emit_json({"business": business, "errors": len(errors), "findings": report})
        else:
            console = people()
            if not report:
                console.print(f"[green]✓[/] no problems found for business [bold]{business}[/]")
            for r in report:
                colour = {"error": "red", "warning": "yellow"}.get(r["severity"], "dim")
                console.print(f"[{colour}]{r['severity']}[/] [{r['integration']}] {r['message']}")
                if r["hint"]:
                    console.print(f"    [dim]fix:[/] {r['hint']}")
        if errors:
            raise typer.Exit(1)

    @app.command("runs")
    def runs_command(
        business: Annotated[Optional[str], typer.Option("--business", "-b", help="Only this business.")] = None,
        integration: Annotated[Optional[str], typer.Option("--integration", help="Only this integration.")] = None,
        status: Annotated[
            Optional[str], typer.Option("--status", help="Only runs with this status: running, ok, failed, interrupted.")
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
        rows = runlog.list_runs(get_host().db, business=business, integration=integration, status=status,
                                since=_since(since) if since else None, limit=limit)
        if as_json:
            emit_json(rows)
            return
        table = Table("run", "business", "integration", "started", "finished", "status", "dry run", "counts",
                      "error")
        for r in rows:
            counts = ", ".join(f"{k} {v}" for k, v in r["counts"].items() if isinstance(v, int))
            table.add_row(str(r["id"]), r["business"], r["integration"], r["started_at"], r["finished_at"] or "",
                          r["status"], "yes" if r["dry_run"] else "", counts, r["error"] or "")
        people().print(table)

    @app.command("check")
    def check_command(
        integration: Integration,
        query: Annotated[str, typer.Argument(help="A client's email address or opus1 person id.")],
        business: Business = "default",
        contacts: Contacts = None,
        as_json: Json = False,
    ) -> None:
        """Is this client in the integration's audience, and if not, why?"""
        answer = get_host().check(integration, business, query, contacts=contacts)
        if as_json:
            emit_json({**answer, "people": [asdict(d) for d in answer["people"]]})
            return
        console = people()
        if not answer["people"]:
            console.print(f"{query} is not in the opus1 export for business {business}.")
        for decision in answer["people"]:
            console.print(f"[bold]{decision.first_name} {decision.last_name}[/] ({decision.person_id}): "
                          f"{decision.reason} — {decision.detail}")
        for key, facts in answer["contacts"].items():
            last = facts["last_run"]
            if last:
                line = f"run {last['run_id']} ({last['started_at']}): {last['outcome']}"
                if last["message"]:
                    line += f" — {last['message']}"
            else:
                line = "never synced"
            console.print(f"[bold]{escape(key)}[/]")
            console.print(f"  last sync: {escape(line)}")
            live = facts["live"]
            shown = "[yellow]not in the audience[/]" if live is None else escape(_facts(live))
            console.print(f"  in {integration} now: {shown}")

    @app.command("verify")
    def verify_command(
        integration: Integration,
        sample: Annotated[int, typer.Option("--sample", min=1, help="How many synced contacts to check.")] = 20,
        seed: Annotated[Optional[int], typer.Option("--seed", help="Pick the same sample again.")] = None,
        business: Business = "default",
        contacts: Contacts = None,
        as_json: Json = False,
    ) -> None:
        """Fetch a random sample of synced contacts live and report any that are missing or differ."""
        results = get_host().verify(integration, business, sample, contacts=contacts, seed=seed)
        bad = [r for r in results if not r["ok"]]
        if as_json:
            emit_json({"business": business, "checked": len(results), "differ": len(bad), "results": results})
        else:
            console = people()
            console.print(f"checked {len(results)} contacts: {len(results) - len(bad)} match, {len(bad)} differ")
            for r in bad:
                console.print(f"[red]✗[/] {r['key']}: " + "; ".join(r["problems"]))
        if bad:
            raise typer.Exit(1)

    app.add_typer(contacts_app, name="contacts")
    for record in list(plugins.loaded.values()):
        if record.error is None:
            try:
                plugins.pm.subset_hook_caller(
                    "register_commands",
                    remove_plugins=[p.module for p in plugins.loaded.values() if p is not record and p.module],
                )(cli=app)
            except Exception as exc:  # a plugin's command registration can raise anything
                record.error = f"register_commands failed: {type(exc).__name__}: {exc}"

    group = typer.main.get_command(app)
    group.add_command(ConfigureGroup(get_host))
    return group


def main(argv: list[str] | None = None, plugins: Plugins | None = None) -> int:
    """Entry point of ``opus1-int``: run the CLI and map errors to documented exit codes.

    Tests pass their own ``plugins``; by default they load from the entry points.
    """
    signal.signal(signal.SIGTERM, _terminate)
    debug = os.environ.get(DEBUG_ENV) == "1"
    try:
        cli = make_cli(plugins)
        result = cli.main(args=argv, prog_name="opus1-int", standalone_mode=False)
        if result == EXIT_INTERRUPTED:  # typer turns KeyboardInterrupt into exit 130
            raise KeyboardInterrupt
        return result if isinstance(result, int) else 0
    except Opus1Error as exc:
        if debug:
            _print_traceback(exc)
        _print_error(exc.message, exc.hint, getattr(exc, "problems", None), getattr(exc, "total", 0))
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.ClickException, typer.TyperException) as exc:  # typer raises its own copy of click's errors
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort, typer.Abort):
        people().print("Interrupted; the run log marks the run as interrupted and the next run finishes the work.")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            _print_traceback(exc)
        _print_error(scrub(f"unexpected {type(exc).__name__}: {exc}"),
                     "this is a bug; run again with OPUS1_INT_DEBUG=1 and report the traceback", None, 0)
        return 1


def _print_traceback(exc: BaseException) -> None:
    """The traceback for ``OPUS1_INT_DEBUG=1``: no local variables, known secrets scrubbed."""
    sys.stderr.write(scrub("".join(traceback.format_exception(exc))))


def _facts(facts: dict) -> str:
    """A plugin's live facts on one line: nested values flattened, empty ones left out."""
    parts = []
    for name, value in facts.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items() if v not in (None, ""))
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value not in (None, ""):
            parts.append(f"{name} {value}")
    return " · ".join(parts)


_AGE = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _since(text: str) -> str:
    """``runs --since``: an age (``90m``, ``24h``, ``7d``) or an ISO 8601 date or time, as stored text in UTC."""
    match = _AGE.fullmatch(text.strip())
    if match:
        moment = clock.utcnow() - timedelta(**{_AGE_UNITS[match[2]]: float(match[1])})
    else:
        try:
            moment = clock.parse(text.strip())
        except ValueError:
            raise typer.BadParameter(f"{text!r} is neither a time like 2026-11-20T08:00:00+00:00 nor an age like "
                                     "24h", param_hint="'--since'") from None
    return clock.iso(moment)


def _counts_text(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool))


_OUTCOME_MARK = {fleet.OK: "[green]✓[/]", fleet.FAILED: "[red]✗[/]", fleet.INTERRUPTED: "[yellow]![/]"}


def _outcome_line(o: fleet.Outcome) -> str:
    """One business's outcome of ``sync --all``, for people (rich markup)."""
    mark = _OUTCOME_MARK.get(o.outcome, "[dim]·[/]")
    name = f"[bold]{escape(o.business)}[/]"
    if o.outcome == fleet.OK:
        return f"{mark} {name}: synced (run {o.run_id}): {escape(_counts_text(o.counts))}"
    if o.outcome == fleet.SKIPPED_NOT_DUE:
        return f"{mark} {name}: not due until {o.due_at}"
    if o.outcome == fleet.SKIPPED_LOCKED:
        return f"{mark} {name}: skipped, in progress elsewhere"
    run = f" (run {o.run_id})" if o.run_id else ""
    line = f"{mark} {name}: {o.outcome}{run}: {escape(o.error or '')}"
    if o.hint:
        line += f"\n    [dim]fix:[/] {escape(o.hint)}"
    return line


def _outcome_log(o: fleet.Outcome) -> str:
    """One business's outcome as a plain log line of ``schedule run``."""
    run = f" run {o.run_id}" if o.run_id else ""
    text = f"{o.integration} {o.business}: {o.outcome}{run}"
    if o.counts and o.outcome == fleet.OK:
        text += f" ({_counts_text(o.counts)})"
    if o.error:
        text += f": {o.error}"
    if o.due_at and o.outcome in (fleet.OK, fleet.SKIPPED_NOT_DUE):
        text += f"; next due {o.due_at}"
    return text


def _outcome_table(outcomes: list[fleet.Outcome]) -> Table:
    table = Table("business", "outcome", "run", "due at", "counts", "error")
    for o in outcomes:
        table.add_row(escape(o.business), o.outcome.replace("_", " "), str(o.run_id or ""), o.due_at or "",
                      escape(_counts_text(o.counts)), escape(o.error or ""))
    return table


def _print_error(message: str, hint: str | None, problems: list | None, total: int) -> None:
    console = people()
    console.print(f"[red]Error:[/] {escape(scrub(message))}")
    for problem in problems or []:
        console.print(f"  - {scrub(str(problem))}", markup=False)
    if problems and total > len(problems):
        console.print(f"  ... and {total - len(problems)} more", markup=False)
    if hint:
        console.print(f"Hint: {scrub(hint)}", markup=False)


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
