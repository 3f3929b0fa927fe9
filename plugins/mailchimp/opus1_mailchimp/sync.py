"""One sync of a business's contacts to its Mailchimp audience: read, plan, check the safety stop, send, record.

The data flow, with a working set that does not grow with the audience (see ``scratch``):

1. read: the members' pages (all members, archived ones) and the merge fields, concurrently, while the export loads
   and the ledger is copied; the pages go into the scratch database as they arrive;
2. plan: the contacts (in key order) are walked beside the members and the ledger; each action goes to the scratch
   database, or, when nobody can be a leaver and nothing is to be reviewed, a new member goes straight to sending;
   then the members synced before that left in Mailchimp since are recorded (``leavers``);
3. review: counts for the safety stop and the plan file, from queries and cursors;
4. send: new members, then email changes, then every other change, each read back from a cursor;
5. record: each member's outcome in the run log and the ledger, as each call returns and then in one last pass.

A run whose export, settings and audience did not change since the last complete sync ends early (``unchanged``).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import chain
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from opus1_integrations.api import ItemOutcome, OperationFailed

from .checks import merge_tags
from .client import ApiError
from .connection import connect
from . import leavers
from .ledger import Ledger, Synced, encode, quiet_since, settings_digest
from .members import read_members
from .planner import (ARCHIVED, CREATED, EMAIL_CHANGED, LEAVER_GONE, LEAVER_KEPT, LEAVER_TAGGED, UNCHANGED,
                      UNSUBSCRIBED, UPDATED, WRITES, Action, Policy, plan)
from .review import not_synced_rows, safety_stop, write_plan
from .scratch import BATCH, Scratch
from .sender import Sender, Sent
from .unchanged import audience_counts, nothing_changed

#: The outcomes a sync counts, under their own names (a dry run counts what it would do under the same names).
COUNTED = (ItemOutcome.CREATED, ItemOutcome.UPDATED, ItemOutcome.UNCHANGED, ItemOutcome.LEFT_ALONE,
           ItemOutcome.SKIPPED, ItemOutcome.UNSUBSCRIBED, ItemOutcome.FAILED, ItemOutcome.ARCHIVED,
           ItemOutcome.LEAVER_TAGGED, ItemOutcome.LEAVER_KEPT, ItemOutcome.EMAIL_CHANGED)
#: The outcomes by their names, as the scratch database keeps them.
_OUTCOMES = {outcome.value: outcome for outcome in ItemOutcome}


def run_sync(context, settings: dict, audience, run, options) -> dict:
    """Sync the audience's contacts; record every member's outcome in ``run``; return the summary counts."""
    mc = connect(settings, context=context)
    audience_id = settings["audience_id"]
    ledger = Ledger(context.db, context.business, audience_id)
    try:
        if not (options.dry_run or options.plan_path or options.force):
            quiet = nothing_changed(mc, ledger, audience.fingerprint, settings, _counts)
            if quiet is not None:
                run.counts = quiet
                return quiet
        tally: Counter = Counter()
        with Scratch() as scratch, _progress(context) as progress:
            tags = _read_while_loading(mc, audience_id, audience, scratch, ledger, progress)
            if not options.dry_run:
                leavers.record(ledger, scratch.seen())
            planned = plan(audience.contacts(), scratch, Policy.from_settings(settings, tags),
                           lambda key: audience.contact(key) is not None)
            if options.dry_run or options.plan_path or scratch.has_current():
                # The whole plan first: it is shown or written, or it may have leavers enough for the safety stop.
                scratch.add_actions((a, ledger_write(a, before)) for a, before in planned)
                counts = scratch.counts()
                dry_run = _review(context, scratch, counts, settings, options, run, audience)
                if dry_run is not None:
                    return {**dry_run, "requests": mc.requests, "writes": mc.writes}
                creates, create_count = scratch.actions(CREATED), counts.get(CREATED, 0)
            else:
                # Nothing was synced before (or all of it left): nobody can be a leaver, and members go out as they
                # are planned.
                creates, create_count = _creates_while_planning(planned, scratch), None
            ledger.forget_last_sync()
            failures = _send(mc, settings, scratch, creates, create_count, ledger, progress, run, tally)
            _settle(scratch, ledger, run, tally)
        counts = {**_counts(tally), "requests": mc.requests, "writes": mc.writes}
        run.counts = counts
        if not failures and not counts["failed"]:
            _stamp(mc, ledger, audience, settings, counts)
        if failures:
            raise OperationFailed(f"{len(failures)} request(s) to Mailchimp failed: {failures[0]}",
                                  hint="the contacts that were not sent are retried by the next run")
        return counts
    except ApiError as exc:
        raise exc.to_host_error() from None
    finally:
        mc.close()


def _stamp(mc, ledger: Ledger, audience, settings: dict, counts: dict) -> None:
    """Remember a complete sync for the next run's no-change check, with the audience's counts as it leaves them;
    when Mailchimp cannot give those, the next run is a full sync (this one's work stands)."""
    try:
        stats = audience_counts(mc, settings["audience_id"])
    except ApiError as exc:
        if exc.rejects_key:
            raise
        return
    ledger.save_last_sync(audience.fingerprint, settings_digest(settings), quiet_since(mc), counts, stats)


def ledger_write(a: Action, before: Synced | None) -> tuple[str, str, str] | None:
    """What the ledger must hold for an action's member once it went through (person ids, managed tags and account
    ids, as ``ledger.encode`` makes them), or ``None`` when the ledger holds it already or the action keeps no
    entry. ``before`` is the ledger's row of the action's address."""
    if a.action in (UPDATED, UNCHANGED, EMAIL_CHANGED) and before and not before.left and (
            before.email, before.person_ids, before.managed_tags, before.account_ids) == (
            a.email, a.person_ids, a.managed_tags, a.account_ids):
        return None
    if a.action in (CREATED, UPDATED, UNCHANGED, EMAIL_CHANGED):
        return encode(a.person_ids, a.managed_tags, a.account_ids)
    if a.action == LEAVER_TAGGED:
        return encode(a.person_ids, a.managed_tags | a.tags_add, a.account_ids)
    return None


def _creates_while_planning(planned: Iterator[tuple[Action, Synced | None]], scratch: Scratch) -> Iterator[Action]:
    """The new members, as they are planned; every other action goes to the scratch database meanwhile."""
    others: list[tuple[Action, tuple[str, str, str] | None]] = []
    for a, before in planned:
        if a.action == CREATED:
            yield a
            continue
        others.append((a, ledger_write(a, before)))
        if len(others) >= BATCH:
            scratch.add_actions(others)
            others = []
    scratch.add_actions(others)


def _review(context, scratch: Scratch, counts: dict, settings: dict, options, run, audience) -> dict | None:
    """Write the plan file if asked (every contact, then every person the rules did not sync); for a dry run,
    record the plan (the host shows it from the run log) and return its ``counts`` (the plan's); refuse a run the
    safety stop catches (unless ``--force``)."""
    stop = safety_stop(counts, scratch.current_count(), settings["safety_threshold"])
    if options.plan_path:
        write_plan(options.plan_path, chain(scratch.rows(), not_synced_rows(audience.decisions())))
    if options.dry_run:
        for key, _, action, reason, _, _, _, _, _, code, _, _ in scratch.results():
            run.record(key, action, error_code=code, message=reason)
        if stop:
            context.console.print(f"[yellow]{stop}: a real run would refuse this unless --force[/]")
        return {**_counts(Counter(counts)), "safety_stop": bool(stop)}
    if stop and not options.force:
        raise OperationFailed(stop, hint="check that the opus1 export is complete; if the change is intended, "
                                         "run again with --force")
    return None


def _counts(tally: Counter) -> dict[str, int]:
    """The counted outcomes by name, zeros included."""
    return {outcome.value: tally[outcome] for outcome in COUNTED}


def _read_while_loading(mc, audience_id: str, audience, scratch: Scratch, ledger: Ledger, progress) -> frozenset[str]:
    """Read the audience's members into ``scratch`` and its merge tags (returned) from Mailchimp, and copy the
    ledger into ``scratch``, all concurrently while the export loads (the reads wait on the network, the copy on
    SQLite, the load on the CPU). The whole export is read and checked before this returns, so before anything is
    sent."""
    reading = progress.add_task("reading the audience", total=None)  # no total until Mailchimp gave one
    stop = threading.Event()

    def on_page(n: int, total: int | None) -> None:
        progress.update(reading, advance=n, total=total)

    def read() -> None:
        writer = scratch.member_writer()
        try:
            read_members(mc, audience_id, writer.add, on_page, stop)
            writer.finish()
        except BaseException:
            writer.close()
            raise

    source = ledger.source("ledger")
    with ThreadPoolExecutor(max_workers=3) as pool:
        members = pool.submit(read)
        fields = pool.submit(merge_tags, mc, audience_id)
        copied = pool.submit(scratch.copy_ledger, *source)  # SQLite's own work: it does not hold up the load
        try:
            audience.load()  # an export that is rejected is reported first
        except BaseException:
            stop.set()
            mc.close()  # ends the reading's retries, so the error is not held up by a slow or failing network
            raise
        copied.result()
        members.result()
        tags = fields.result()
    scratch.attach_members()
    return tags


def _send(mc, settings, scratch: Scratch, creates: Iterable[Action], create_count: int | None, ledger: Ledger,
          progress, run, tally: Counter) -> list[str]:
    """Send creates (as ``creates`` yields them: while the plan is still being made, for a first sync), then
    address changes, then every other change; keep the outcomes of the last two in ``scratch``.

    New members are recorded in the run log and the ledger as each batch-subscribe call returns; members who
    moved to a new address leave the ledger under the old one. Returns the requests that failed for good (their
    members were not sent).
    """
    sender = Sender(mc, settings["audience_id"])
    sending = progress.add_task("adding new members", total=create_count)

    def settle(chunk: list[Action], outcomes: dict[str, Sent]) -> None:
        ledger.remember((a.key, a.email, *encode(a.person_ids, a.managed_tags, a.account_ids), a.status)
                        for a in chunk if outcomes[a.key].outcome is not ItemOutcome.FAILED)
        for a in chunk:
            result = outcomes[a.key]
            run.record(a.key, result.outcome, error_code=result.error_code, message=result.message or a.reason,
                       hint=result.hint)
            tally[result.outcome] += 1

    sender.create(creates, lambda n: progress.update(sending, advance=n), settle)
    moves = list(sender.change_emails(scratch.actions(EMAIL_CHANGED)))  # rare: one PATCH each
    scratch.record_sent((a.key, result) for a, result in moves)
    moved = [a for a, result in moves if result.outcome is not ItemOutcome.FAILED]
    ledger.forget(a.old_key for a in moved)
    applying = progress.add_task("sending changes", total=None)
    for job in sender.apply(chain(scratch.changes(), moved)):  # then the tags of the members that moved
        # a moved member keeps its email change's outcome unless its tags failed
        scratch.record_sent((a.key, result) for a, result in job
                            if not (a.action == EMAIL_CHANGED and result.outcome == EMAIL_CHANGED))
    progress.update(applying, total=1, completed=1)
    return sender.failures


def _settle(scratch: Scratch, ledger: Ledger, run, tally: Counter) -> None:
    """Record every action but the creates (recorded as they were sent) in the run log, in the order planned, and
    bring the ledger in line: members in line remembered, unsubscribes noted, leavers marked, members gone
    forgotten."""
    remember: list[tuple] = []
    left: list[tuple[str, str | None, str | None]] = []
    unsubscribed: list[tuple[str, str]] = []
    gone: list[str] = []
    for (key, email, action, reason, _, people, managed, accounts, outcome, error_code, message,
         hint) in scratch.results(skip=CREATED):
        action = _OUTCOMES[action]
        outcome = _OUTCOMES[outcome] if outcome else _unsent_outcome(action)
        run.record(key, outcome, error_code=error_code, message=message or reason, hint=hint)
        tally[outcome] += 1
        if outcome is ItemOutcome.FAILED:
            continue
        if action in (UPDATED, UNCHANGED, EMAIL_CHANGED) and people is not None:
            remember.append((key, email, people, managed, accounts, "subscribed"))
        elif outcome is UNSUBSCRIBED:
            unsubscribed.append((key, "unsubscribed"))
        elif action in (LEAVER_KEPT, LEAVER_TAGGED, ARCHIVED):
            left.append((key, managed, "archived" if outcome is ARCHIVED else None))
        elif action == LEAVER_GONE:
            gone.append(key)
        if len(remember) + len(left) + len(unsubscribed) + len(gone) >= BATCH:
            _write_ledger(ledger, remember, left, unsubscribed, gone)
    _write_ledger(ledger, remember, left, unsubscribed, gone)


def _write_ledger(ledger: Ledger, remember: list, left: list, unsubscribed: list, gone: list) -> None:
    ledger.remember(remember)
    ledger.mark_left(left)
    ledger.set_status(unsubscribed)
    ledger.forget(gone)
    for pending in (remember, left, unsubscribed, gone):
        pending.clear()


def _unsent_outcome(action: ItemOutcome) -> ItemOutcome:
    """What an action that was not sent records: itself when it needs no write, else ``failed`` (not sent)."""
    return action if action not in WRITES else ItemOutcome.FAILED


@contextmanager
def _progress(context):
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=context.console, transient=True, disable=not context.show_progress)
    with progress:
        yield progress
