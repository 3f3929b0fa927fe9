"""One sync of a business's contacts to its Mailchimp audience: read, plan, check the safety stop, send, record."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from opus1_integrations.errors import OperationFailed, UsageError

from .checks import merge_tags
from .client import ApiError
from .connection import connect
from .ledger import Ledger
from .members import read_members
from .planner import (CREATE, EMAIL_CHANGE, LEAVER_ARCHIVE, LEAVER_GONE, LEAVER_KEEP, LEAVER_TAG, LEFT_ALONE,
                      UNCHANGED, UPDATE, Action, Policy, plan)
from .sender import Outcome, Sender

RULE_MERGES = {"shared_email", "duplicate_person"}


def run_sync(context, settings: dict, audience, run, options) -> dict:
    """Sync the audience's contacts; record every member's outcome in ``run``; return the summary counts."""
    mc = connect(settings)
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
            if options.dry_run or options.plan_path or any(not s.left for s in synced.values()):
                # The whole plan first: it is shown or written, or it may have leavers enough for the safety stop.
                # Otherwise nothing was synced before, nobody can be a leaver, and members go out as they are planned.
                planned = list(planned)
                dry_run = _review(context, planned, synced, settings, options, run, audience)
                if dry_run is not None:
                    return {**dry_run, "requests": mc.requests, "writes": mc.writes}
            ledger.forget_last_sync()
            recorded: set[str] = set()

            def record(a: Action, result: Outcome) -> None:
                run.record(a.key, result.outcome, error_code=result.error_code, message=result.message or a.reason,
                           hint=result.hint)
                recorded.add(a.key)

            actions, outcomes, failures = _send(mc, settings, planned, ledger, synced, progress, record)
        for a in actions:
            if a.key not in recorded:
                record(a, outcomes.get(a.key) or Outcome(_unsent_outcome(a.action), message=a.reason))
        tally = Counter(o.outcome for o in outcomes.values())
        tally.update(_unsent_outcome(a.action) for a in actions if a.key not in outcomes)
        counts = {
            "created": tally["created"], "updated": tally["updated"], "unchanged": tally["unchanged"],
            "left_alone": tally["left_alone"], "skipped": _skipped(audience), "failed": tally["failed"],
            "archived": tally["archived"], "leavers_tagged": tally["leaver_tagged"],
            "leavers_kept": tally["leaver_kept"], "email_changed": tally["email_changed"],
            "requests": mc.requests, "writes": mc.writes,
        }
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
            audience.counts  # loads the export; an export that is rejected is reported first
        except BaseException:
            mc.close()  # ends the reading's retries, so the error is not held up by a slow or failing network
            raise
        return mailchimp_side.result()


def _send(mc, settings, planned: Iterable[Action], ledger: Ledger, synced: dict, progress,
          record: Callable[[Action, Outcome], None]) -> tuple[list[Action], dict[str, Outcome], list[str]]:
    """Send creates (while ``planned`` is still being made, if it is a generator), then address changes, then every
    other change; the ledger is updated after each step.

    New members are recorded (``record``) and remembered as each batch-subscribe call returns. Returns the whole
    plan, the outcome per member key and the requests that failed for good (their members were not sent).
    """
    sender = Sender(mc, settings["audience_id"], settings["initial_status"])
    actions: list[Action] = []

    def creates() -> Iterator[Action]:
        for a in planned:
            actions.append(a)
            if a.action == CREATE:
                yield a

    known = sum(a.action == CREATE for a in planned) if isinstance(planned, list) else None
    sending = progress.add_task("adding new members", total=known)

    def settle(chunk: list[Action], outcomes: dict[str, Outcome]) -> None:
        _remember(ledger, chunk, outcomes, synced)
        for a in chunk:
            record(a, outcomes[a.key])

    outcomes = sender.create(creates(), lambda n: progress.update(sending, advance=n), settle)
    moves = [a for a in actions if a.action == EMAIL_CHANGE]
    outcomes.update(sender.change_emails(moves))
    moved = [a for a in moves if outcomes[a.key].outcome != "failed"]
    ledger.forget([a.old_key for a in moved])
    changes = [a for a in actions if a.action in (UPDATE, LEAVER_TAG, LEAVER_ARCHIVE)] + moved
    applying = progress.add_task("sending changes", total=None if changes else 0)
    outcomes.update(sender.apply(changes, outcomes))
    progress.update(applying, total=1, completed=1)
    _remember(ledger, [a for a in actions if a.action in (UPDATE, UNCHANGED, EMAIL_CHANGE)], outcomes, synced)
    leavers = [a for a in actions if a.action in (LEAVER_KEEP, LEAVER_TAG, LEAVER_ARCHIVE)
               and (outcomes.get(a.key) is None or outcomes[a.key].outcome != "failed")]
    ledger.mark_left([a.key for a in leavers],
                     {a.key: a.managed_tags | a.tags_add for a in leavers if a.action == LEAVER_TAG})
    ledger.forget([a.key for a in actions if a.action == LEAVER_GONE])
    return actions, outcomes, sender.failures


def _remember(ledger: Ledger, actions: list[Action], outcomes: dict[str, Outcome], synced: dict) -> None:
    """Record the members that were sent or found in line, writing only what differs from the ledger."""
    entries = []
    for a in actions:
        if a.key in outcomes and outcomes[a.key].outcome == "failed":
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
    return {
        "created": 0, "updated": 0, "unchanged": in_line, "left_alone": before.get("left_alone", 0),
        "skipped": before.get("skipped", 0), "failed": 0, "archived": 0, "leavers_tagged": 0, "leavers_kept": 0,
        "email_changed": 0, "requests": mc.requests, "writes": mc.writes, "nothing_changed": True,
    }


def _unsent_outcome(action: str) -> str:
    return {UNCHANGED: "unchanged", LEFT_ALONE: "left_alone", LEAVER_KEEP: "leaver_kept",
            LEAVER_GONE: "leaver_gone"}.get(action, "failed")


def _skipped(audience) -> int:
    """People the rules left out, not counting those merged into a contact."""
    return sum(n for reason, n in audience.counts.get("skipped", {}).items() if reason not in RULE_MERGES)


def _planned_counts(actions: list[Action], audience) -> dict:
    tally = Counter(a.action for a in actions)
    return {
        "create": tally[CREATE], "update": tally[UPDATE], "unchanged": tally[UNCHANGED],
        "left_alone": tally[LEFT_ALONE], "skipped": _skipped(audience), "email_change": tally[EMAIL_CHANGE],
        "archive": tally[LEAVER_ARCHIVE], "leaver_tag": tally[LEAVER_TAG], "leaver_keep": tally[LEAVER_KEEP],
    }


def _safety_stop(actions: list[Action], synced: dict, threshold: float, policy: str) -> str | None:
    """The refusal message when too many synced members would be archived or tagged as leavers."""
    affected = sum(a.action in (LEAVER_ARCHIVE, LEAVER_TAG) for a in actions)
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
        table.add_row(a.email, a.action.replace("_", " "), a.reason)
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
