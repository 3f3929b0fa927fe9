"""One sync of a business's contacts to its Mailchimp audience: read, plan, check the safety stop, send, record."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from opus1_integrations.api import ItemOutcome, OperationFailed, UsageError

from .checks import merge_tags
from .client import ApiError
from .connection import connect
from .ledger import Ledger
from .members import read_members
from .planner import (ARCHIVED, CREATED, EMAIL_CHANGED, LEAVER_GONE, LEAVER_KEPT, LEAVER_TAGGED, UNCHANGED, UPDATED,
                      WRITES, Action, Policy, plan)
from .sender import Sent, Sender

RULE_MERGES = {"shared_email", "duplicate_person"}
#: The outcomes a sync counts, under their own names (a dry run counts what it would do under the same names).
COUNTED = (ItemOutcome.CREATED, ItemOutcome.UPDATED, ItemOutcome.UNCHANGED, ItemOutcome.LEFT_ALONE,
           ItemOutcome.FAILED, ItemOutcome.ARCHIVED, ItemOutcome.LEAVER_TAGGED, ItemOutcome.LEAVER_KEPT,
           ItemOutcome.EMAIL_CHANGED)


def run_sync(context, settings: dict, audience, run, options) -> dict:
    """Sync the audience's contacts; record every member's outcome in ``run``; return the summary counts."""
    mc = connect(settings, context=context)
    audience_id = settings["audience_id"]
    ledger = Ledger(context.db, context.business, audience_id)
    try:
        if not (options.dry_run or options.plan_path):
            quiet = _nothing_changed(mc, ledger, audience, settings)
            if quiet is not None:
                run.counts = quiet
                return quiet
        with _progress(context) as progress:
            live, tags = _read_while_loading(mc, audience_id, audience, progress)
            policy = Policy.from_settings(settings, tags)
            synced = ledger.load()
            planned = plan(audience.contacts(), live, synced, policy)
            create_count: int | None = None  # unknown while new members go out as they are planned
            if options.dry_run or options.plan_path or any(not s.left for s in synced.values()):
                # The whole plan first: it is shown or written, or it may have leavers enough for the safety stop.
                # Otherwise nothing was synced before, nobody can be a leaver, and members go out as they are planned.
                whole = list(planned)
                dry_run = _review(context, whole, synced, settings, options, run, audience)
                if dry_run is not None:
                    return {**dry_run, "requests": mc.requests, "writes": mc.writes}
                planned, create_count = iter(whole), sum(a.action == CREATED for a in whole)
            ledger.forget_last_sync()
            recorded: set[str] = set()

            def record(a: Action, result: Sent) -> None:
                run.record(a.key, result.outcome, error_code=result.error_code, message=result.message or a.reason,
                           hint=result.hint)
                recorded.add(a.key)

            actions, outcomes, failures = _send(mc, settings, planned, create_count, ledger, synced, progress, record)
        for a in actions:
            if a.key not in recorded:
                record(a, outcomes.get(a.key) or Sent(_unsent_outcome(a.action), message=a.reason))
        tally = Counter(o.outcome for o in outcomes.values())
        tally.update(_unsent_outcome(a.action) for a in actions if a.key not in outcomes)
        counts = {**_counts(tally), "skipped": _skipped(audience), "requests": mc.requests, "writes": mc.writes}
        run.counts = counts
        if not failures and not counts["failed"]:
            ledger.save_last_sync(audience.fingerprint, settings_digest(settings), _quiet_since(mc), counts)
        if failures:
            raise OperationFailed(f"{len(failures)} request(s) to Mailchimp failed: {failures[0]}",
                                  hint="the contacts that were not sent are retried by the next run")
        return counts
    except ApiError as exc:
        raise exc.to_host_error() from None
    finally:
        mc.close()


def _review(context, actions: list[Action], synced: dict, settings: dict, options, run, audience) -> dict | None:
    """Write the plan file if asked; for a dry run, show and record the plan and return its counts; refuse a run
    the safety stop catches (unless ``--force``)."""
    stop = _safety_stop(actions, synced, settings["safety_threshold"], settings["leaver_policy"])
    if options.plan_path:
        write_plan(options.plan_path, actions)
    if options.dry_run:
        _show_plan(context, actions, stop)
        for a in actions:
            run.record(a.key, a.action, message=a.reason)
        return {**_planned_counts(actions, audience), "safety_stop": bool(stop)}
    if stop and not options.force:
        raise OperationFailed(stop, hint="check that the opus1 export is complete; if the change is intended, "
                                         "run again with --force")
    return None


def _counts(tally: Counter) -> dict[str, int]:
    """The counted outcomes by name, zeros included."""
    return {outcome.value: tally[outcome] for outcome in COUNTED}


def _read_while_loading(mc, audience_id: str, audience, progress) -> tuple[dict, frozenset[str]]:
    """The audience's members and merge tags, read from Mailchimp while the export loads (one waits on the network,
    the other on the CPU). The whole export is read and checked before this returns, so before anything is sent."""
    reading = progress.add_task("reading the audience", total=None)

    def read() -> tuple[dict, frozenset[str]]:
        live = read_members(mc, audience_id, lambda n, total: progress.update(reading, advance=n, total=total))
        return live, merge_tags(mc, audience_id)

    with ThreadPoolExecutor(max_workers=1) as pool:
        mailchimp_side = pool.submit(read)
        try:
            audience.load()  # an export that is rejected is reported first
        except BaseException:
            mc.close()  # ends the reading's retries, so the error is not held up by a slow or failing network
            raise
        return mailchimp_side.result()


def _send(mc, settings, planned: Iterator[Action], create_count: int | None, ledger: Ledger, synced: dict, progress,
          record: Callable[[Action, Sent], None]) -> tuple[list[Action], dict[str, Sent], list[str]]:
    """Send creates (as ``planned`` yields them: while the plan is still being made, for a first sync), then address
    changes, then every other change; the ledger is updated after each step. ``create_count`` is how many new members
    there are, when known (for the progress bar).

    New members are recorded (``record``) and remembered as each batch-subscribe call returns. Returns the whole
    plan, the outcome per member key and the requests that failed for good (their members were not sent).
    """
    sender = Sender(mc, settings["audience_id"], settings["initial_status"])
    actions: list[Action] = []

    def creates() -> Iterator[Action]:
        for a in planned:
            actions.append(a)
            if a.action == CREATED:
                yield a

    sending = progress.add_task("adding new members", total=create_count)

    def settle(chunk: list[Action], outcomes: dict[str, Sent]) -> None:
        _remember(ledger, chunk, outcomes, synced)
        for a in chunk:
            record(a, outcomes[a.key])

    outcomes = sender.create(creates(), lambda n: progress.update(sending, advance=n), settle)
    moves = [a for a in actions if a.action == EMAIL_CHANGED]
    outcomes.update(sender.change_emails(moves))
    moved = [a for a in moves if outcomes[a.key].outcome is not ItemOutcome.FAILED]
    ledger.forget([a.old_key for a in moved])
    changes = [a for a in actions if a.action in (UPDATED, LEAVER_TAGGED, ARCHIVED)] + moved
    applying = progress.add_task("sending changes", total=None if changes else 0)
    outcomes.update(sender.apply(changes, outcomes))
    progress.update(applying, total=1, completed=1)
    _remember(ledger, [a for a in actions if a.action in (UPDATED, UNCHANGED, EMAIL_CHANGED)], outcomes, synced)
    leavers = [a for a in actions if a.action in (LEAVER_KEPT, LEAVER_TAGGED, ARCHIVED)
               and (outcomes.get(a.key) is None or outcomes[a.key].outcome is not ItemOutcome.FAILED)]
    ledger.mark_left([a.key for a in leavers],
                     {a.key: a.managed_tags | a.tags_add for a in leavers if a.action == LEAVER_TAGGED})
    ledger.forget([a.key for a in actions if a.action == LEAVER_GONE])
    return actions, outcomes, sender.failures


def _remember(ledger: Ledger, actions: list[Action], outcomes: dict[str, Sent], synced: dict) -> None:
    """Record the members that were sent or found in line, writing only what differs from the ledger."""
    entries = []
    for a in actions:
        if a.key in outcomes and outcomes[a.key].outcome is ItemOutcome.FAILED:
            continue
        before = synced.get(a.key)
        if before and not before.left and (before.email, before.person_ids, before.managed_tags) == (
                a.email, a.person_ids, a.managed_tags):
            continue
        entries.append((a.key, a.email, a.person_ids, a.managed_tags))
    ledger.remember(entries)


def settings_digest(settings: dict) -> str:
    """A digest of the settings that shape a sync (the key is left out: it does not change what is sent)."""
    shaping = {k: v for k, v in settings.items() if k != "api_key"}
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()


def _quiet_since(mc) -> str:
    """The second from which on a change in the audience is not this run's, by Mailchimp's clock (its ``Date``
    header, so an error of our own clock does not matter): the second after our last write, else the time of its
    latest answer; our clock if Mailchimp sent no date. Mailchimp stamps ``last_changed`` to the second, so a change
    made by someone else in the very second of our last write is taken for ours."""
    if mc.last_write_time is not None:
        return (mc.last_write_time + timedelta(seconds=1)).isoformat()
    return (mc.server_time or datetime.now(timezone.utc).replace(microsecond=0)).isoformat()


def _nothing_changed(mc, ledger: Ledger, audience, settings: dict) -> dict | None:
    """The counts of a run with nothing to do, when the export and settings are those of the last complete sync
    and no member changed in Mailchimp since it ended; ``None`` when a full sync is needed."""
    last = ledger.last_sync()
    if last is None or last.fingerprint != audience.fingerprint or last.settings != settings_digest(settings):
        return None
    answer = mc.call(mc.lists.get_list_members_info, settings["audience_id"], since_last_changed=last.ended_at,
                     count=1, fields=["total_items"])
    if answer.get("total_items"):
        return None
    before = last.counts
    in_line = sum(before.get(k, 0) for k in ("created", "updated", "unchanged", "email_changed"))
    tally = Counter({ItemOutcome.UNCHANGED: in_line, ItemOutcome.LEFT_ALONE: before.get("left_alone", 0)})
    return {**_counts(tally), "skipped": before.get("skipped", 0), "requests": mc.requests, "writes": mc.writes,
            "nothing_changed": True}


def _unsent_outcome(action: ItemOutcome) -> ItemOutcome:
    """What an action that was not sent records: itself when it needs no write, else ``failed`` (not sent)."""
    return action if action not in WRITES else ItemOutcome.FAILED


def _skipped(audience) -> int:
    """People the rules left out, not counting those merged into a contact."""
    return sum(n for reason, n in audience.counts.get("skipped", {}).items() if reason not in RULE_MERGES)


def _planned_counts(actions: list[Action], audience) -> dict:
    return {**_counts(Counter(a.action for a in actions)), "skipped": _skipped(audience)}


def _safety_stop(actions: list[Action], synced: dict, threshold: float, policy: str) -> str | None:
    """The refusal message when too many synced members would be archived or tagged as leavers."""
    affected = sum(a.action in (ARCHIVED, LEAVER_TAGGED) for a in actions)
    base = sum(not s.left for s in synced.values())
    if not affected or not base or affected <= threshold * base:
        return None
    verb = "archive" if policy == "archive" else "tag as leavers"
    return (f"safety stop: this run would {verb} {affected} of {base} synced members "
            f"({affected / base:.0%}), more than the {threshold:.0%} limit")


def write_plan(path: Path, actions: list[Action]) -> None:
    """Write the plan per contact as CSV or JSON (by the file's extension)."""
    rows = [a.as_row() for a in actions]
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    elif path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["email", "action", "reason"])
            writer.writeheader()
            for row in rows:
                writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()})
    else:
        raise UsageError(f"--plan {path}: unknown file type", hint="end the file name with .csv or .json")


def _show_plan(context, actions: list[Action], stop: str | None) -> None:
    table = Table("email", "would", "why", title="Dry run: nothing was sent")
    unchanged = 0
    for a in actions:
        if a.action == UNCHANGED:
            unchanged += 1
            continue
        table.add_row(a.email, a.action.value.replace("_", " "), a.reason)
    context.console.print(table)
    context.console.print(f"{unchanged} contacts are already up to date (listed in --plan FILE).")
    if stop:
        context.console.print(f"[yellow]{stop}: a real run would refuse this unless --force[/]")


@contextmanager
def _progress(context):
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=context.console, transient=True, disable=not context.show_progress)
    with progress:
        yield progress
