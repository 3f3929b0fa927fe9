"""Sending a plan: new members through batch subscribe (concurrent calls), changes through /batches jobs."""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice

from opus1_integrations.api import ItemOutcome

from .client import ApiError, Mailchimp
from .errors import UNFINISHED, shown
from .planner import ARCHIVED, UNSUBSCRIBED, UPDATED, Action

BATCH_SUBSCRIBE_MAX = 500
#: Operations per ``/batches`` job: bounds what a job holds in memory (its operations and their results).
BATCH_OPERATIONS = 20_000
#: All that outcomes are read from; if Mailchimp ignored ``fields`` on a POST, the full answer holds these too.
SUBSCRIBE_FIELDS = ["new_members.email_address", "errors", "total_created", "error_count"]
#: What a batch-subscribe answer must look like before its outcomes are read.
SUBSCRIBE_SHAPE = {"new_members?": [{"email_address": str}],
                   "errors?": [{"email_address?": str, "error?": str, "error_code?": str}]}
#: What a /batches answer must look like.
BATCH_SHAPE = {"id": str, "status": str, "total_operations?": int, "finished_operations?": int,
               "response_body_url?": str}


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 of the lower-cased address."""
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class Sent:
    """What happened to one member when its action was sent."""

    outcome: ItemOutcome
    error_code: str | None = None
    message: str | None = None
    hint: str | None = None


def hint_for(message: str) -> str:
    """How a studio owner fixes a contact Mailchimp refused, from Mailchimp's own words."""
    text = message.lower()
    if "fake or invalid" in text or "valid email" in text:
        return "Mailchimp refuses this address; ask the client for their real address and fix it in opus1"
    if "permanently deleted" in text:
        return "this person was permanently deleted in Mailchimp; only they can rejoin, through a Mailchimp signup form"
    if "compliance state" in text:
        return "the person unsubscribed or bounced; opus1 never re-subscribes them"
    if "merge fields" in text or "validated" in text:
        return "check the audience's required fields in Mailchimp (only FNAME, LNAME and PHONE are filled by opus1)"
    if "signed up to a lot of lists" in text:
        return "Mailchimp is throttling this address; the next run tries again"
    return "the next run tries again; if it keeps failing, check the contact in Mailchimp"


class Sender:
    """Sends the writes of a plan and reports an outcome per member key."""

    def __init__(self, mc: Mailchimp, audience_id: str, *, poll_seconds: float = 0.2,
                 batch_timeout: float | None = None):
        self.mc = mc
        self.audience_id = audience_id
        self.poll_seconds = poll_seconds
        self.batch_timeout = mc.batch_wait_seconds if batch_timeout is None else batch_timeout
        self.failures: list[str] = []

    def create(self, actions: Iterable[Action], advance: Callable[[int], None] = lambda n: None,
               settle: Callable[[list[Action], dict[str, Sent]], None] = lambda chunk, outcomes: None) -> None:
        """Add new members with batch subscribe (500 a call, concurrent), each with its action's status
        (subscribed, pending or transactional); existing members are never updated here.

        ``actions`` may be a generator (the plan as it is made): calls go out as soon as 500 members are ready.
        ``settle`` gets each call's members and their outcomes by key, in this thread and in order, while later
        calls are still on the wire, so recording them costs no extra time; nothing else keeps them.
        """
        in_flight: deque[tuple[list[Action], Future]] = deque()

        def send(chunk: list[Action]) -> dict[str, Sent]:
            body = {
                "members": [
                    {"email_address": a.email, "status": a.status,
                     "merge_fields": a.merge_fields, "tags": sorted(a.tags_add)}
                    for a in chunk
                ],
                "update_existing": False,
            }
            try:
                answer = self.mc.batch_subscribe(self.audience_id, body, SUBSCRIBE_FIELDS, SUBSCRIBE_SHAPE)
            except ApiError as exc:
                return self._chunk_failed(chunk, exc)
            finally:
                advance(len(chunk))
            return _subscribe_outcomes(chunk, answer)

        def settle_first() -> None:
            chunk, call = in_flight.popleft()
            settle(chunk, call.result())

        with ThreadPoolExecutor(max_workers=self.mc.max_connections) as pool:
            actions = iter(actions)
            while chunk := list(islice(actions, BATCH_SUBSCRIBE_MAX)):
                in_flight.append((chunk, pool.submit(send, chunk)))
                while in_flight and (in_flight[0][1].done() or len(in_flight) > 2 * self.mc.max_connections):
                    settle_first()
            while in_flight:
                settle_first()

    def change_emails(self, actions: Iterable[Action]) -> Iterator[tuple[Action, Sent]]:
        """Give members their new address (rare: one direct PATCH each, before their tags are sent); yields each
        action with its outcome."""
        for a in actions:
            try:
                self.mc.call(self.mc.lists.update_list_member, self.audience_id, subscriber_hash(a.old_key),
                             {"email_address": a.email, "merge_fields": a.merge_fields})
                yield a, Sent(ItemOutcome.EMAIL_CHANGED, message=f"moved from {a.old_key}")
            except ApiError as exc:
                if exc.rejects_key:
                    raise exc.to_host_error() from None
                yield a, Sent(ItemOutcome.FAILED, exc.title, f"could not change the address from {a.old_key}: {exc.detail}",
                              hint_for(exc.detail))

    def apply(self, actions: Iterable[Action]) -> Iterator[list[tuple[Action, Sent]]]:
        """Send merge-field changes, tags, unsubscribes and leaver actions of existing members as ``/batches`` jobs
        of at most ``BATCH_OPERATIONS`` operations, one after the other (Mailchimp runs one job at a time); yields
        each job's actions with their outcomes (``Sent(action.action)`` when it went through)."""
        operations: list[dict] = []
        owners: list[Action] = []
        chunk: list[Action] = []
        for a in actions:
            ops = _operations(a, f"/lists/{self.audience_id}/members/{subscriber_hash(a.email)}")
            if operations and len(operations) + len(ops) > BATCH_OPERATIONS:
                yield self._apply_job(chunk, operations, owners)
                operations, owners, chunk = [], [], []
            chunk.append(a)
            operations += ops
            owners += [a] * len(ops)
        if chunk:
            yield self._apply_job(chunk, operations, owners)

    def _apply_job(self, chunk: list[Action], operations: list[dict], owners: list[Action]
                   ) -> list[tuple[Action, Sent]]:
        """Run one job; the outcome of each of ``chunk``'s actions (``owners`` names each operation's action)."""
        outcomes = {a.key: Sent(a.action) for a in chunk}
        if not operations:
            return [(a, outcomes[a.key]) for a in chunk]
        for i, op in enumerate(operations):
            op["operation_id"] = str(i)
        try:
            results = self._run_batch(operations)
        except ApiError as exc:
            for a in {a.key: a for a in owners}.values():
                outcomes[a.key] = self._chunk_failed([a], exc)[a.key]
            return [(a, outcomes[a.key]) for a in chunk]
        for i, a in enumerate(owners):
            result = results.get(str(i))
            if result is None:
                outcomes[a.key] = Sent(ItemOutcome.FAILED, "no_result", "Mailchimp's batch result did not include this change",
                                          "the next run tries again")
            elif result["status_code"] == 405 and a.action == ARCHIVED:
                outcomes[a.key] = Sent(ItemOutcome.LEFT_ALONE, message="Mailchimp cannot archive it in its current state")
            elif result["status_code"] >= 400:
                detail = _problem_detail(result.get("response"))
                outcomes[a.key] = Sent(ItemOutcome.FAILED, f"http_{result['status_code']}", detail, hint_for(detail))
        return [(a, outcomes[a.key]) for a in chunk]

    def _run_batch(self, operations: list[dict]) -> dict[str, dict]:
        batch = self.mc.call(self.mc.batches.start, {"operations": operations}, shape=BATCH_SHAPE)
        deadline = time.monotonic() + self.batch_timeout
        delay = self.poll_seconds
        while batch["status"] != "finished":
            if time.monotonic() > deadline:
                raise self._abandon(batch, len(operations))
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)
            batch = self.mc.call(self.mc.batches.status, batch["id"], shape=BATCH_SHAPE)
        url = batch.get("response_body_url")
        return self.mc.batch_results(url, len(operations)) if url else {}

    def _abandon(self, batch: dict, operations: int) -> ApiError:
        """Cancel a batch that did not finish in time (``DELETE /batches/{id}``); the error says what is known."""
        try:
            self.mc.call(self.mc.batches.delete_request, batch["id"])
            cancelled = "it was cancelled"
        except ApiError as exc:
            cancelled = f"cancelling it failed ({exc})"
        done = batch.get("finished_operations", 0)
        return ApiError(None, "Batch not finished",
                        f"Mailchimp's batch {shown(batch['id'], 40)} was still {shown(batch['status'], 40)} after {self.batch_timeout:g} s "
                        f"({done} of {batch.get('total_operations', operations)} operations done); {cancelled}",
                        kind=UNFINISHED)

    def _chunk_failed(self, chunk: list[Action], exc: ApiError) -> dict[str, Sent]:
        if exc.rejects_key:
            raise exc.to_host_error() from None
        self.failures.append(str(exc) + (f" ({exc.url})" if exc.url else ""))
        return {a.key: Sent(ItemOutcome.FAILED, exc.title, f"the request failed: {exc}", "the next run tries again") for a in chunk}


def _operations(a: Action, member_path: str) -> list[dict]:
    """The ``/batches`` operations of one action: its merge fields (PATCH), an unsubscribe (PATCH of the status
    alone: the only status this plugin ever changes), archiving (DELETE), its tags."""
    operations = []
    if a.action == UPDATED and a.merge_fields:
        operations.append({"method": "PATCH", "path": member_path, "body": json.dumps({"merge_fields": a.merge_fields})})
    if a.action == UNSUBSCRIBED:
        operations.append({"method": "PATCH", "path": member_path, "body": json.dumps({"status": "unsubscribed"})})
    if a.action == ARCHIVED:
        operations.append({"method": "DELETE", "path": member_path})
    if a.tags_add or a.tags_remove:
        tags = [{"name": t, "status": "active"} for t in sorted(a.tags_add)]
        tags += [{"name": t, "status": "inactive"} for t in sorted(a.tags_remove)]
        operations.append({"method": "POST", "path": member_path + "/tags",
                           "body": json.dumps({"tags": tags, "is_syncing": True})})
    return operations


def _subscribe_outcomes(chunk: list[Action], answer: dict) -> dict[str, Sent]:
    created = {m["email_address"].strip().lower() for m in answer.get("new_members") or []}
    errors = {e["email_address"].strip().lower(): e for e in answer.get("errors") or [] if e.get("email_address")}
    outcomes = {}
    for a in chunk:
        if a.key in created:
            outcomes[a.key] = Sent(ItemOutcome.CREATED)
        elif a.key in errors:
            e = errors[a.key]
            if e.get("error_code") == "ERROR_CONTACT_EXISTS":
                outcomes[a.key] = Sent(ItemOutcome.UNCHANGED, message="already a member (added by an earlier attempt)")
            else:
                outcomes[a.key] = Sent(ItemOutcome.FAILED, e.get("error_code") or "ERROR_GENERIC", e.get("error"),
                                          hint_for(e.get("error") or ""))
        else:
            outcomes[a.key] = Sent(ItemOutcome.FAILED, "unconfirmed", "Mailchimp did not confirm this member",
                                      "the next run checks again")
    return outcomes


def _problem_detail(response: str | None) -> str:
    try:
        body = json.loads(response or "{}")
    except (ValueError, RecursionError):
        body = None
    detail = (body.get("detail") or body.get("title")) if isinstance(body, dict) else None
    return shown(detail) if isinstance(detail, str) and detail else "Mailchimp refused the change"
