"""Retries honour ``retry_seconds`` and say once that they run; businesses sharing a key share Mailchimp's 10
connections; a batch that does not finish in ``batch_wait_seconds`` is cancelled and reported with what is known."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import KEY
from hostile_server import Answer
from rich.console import Console

from opus1_integrations.api import Context
from opus1_mailchimp.client import ApiError, Mailchimp
from opus1_mailchimp.connection import connect
from opus1_mailchimp.planner import UPDATED, Action
from opus1_mailchimp.sender import Sender

AUDIENCE = "a1b2c3d4e5"
DOWN = Answer(503, {"title": "Service Unavailable", "status": 503, "detail": "Try again later."},
              content_type="application/problem+json")
UP = Answer(200, {"health_status": "Everything's Chimpy!"})


def test_retries_go_on_for_retry_seconds_not_a_fixed_number_of_attempts(hostile):
    hostile.sequence("GET", "/3.0/ping", *[DOWN] * 12, UP)
    mc = Mailchimp(KEY, hostile.base_url, retry_seconds=30, max_backoff=0.05)
    assert mc.call(mc.ping.get) == {"health_status": "Everything's Chimpy!"}
    assert len(hostile.seen("GET", "/3.0/ping")) == 13


def test_retries_stop_when_retry_seconds_are_spent(hostile):
    hostile.route("GET", "/3.0/ping", DOWN)
    mc = Mailchimp(KEY, hostile.base_url, retry_seconds=1.5, max_backoff=0.2)
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        mc.call(mc.ping.get)
    assert 0.8 < time.monotonic() - started < 3.5
    assert caught.value.status == 503 and len(hostile.seen()) > 3


def test_an_episode_of_retries_is_announced_once(hostile):
    notices: list[str] = []
    hostile.sequence("GET", "/3.0/ping", *[DOWN] * 6, UP)
    mc = Mailchimp(KEY, hostile.base_url, retry_seconds=300, max_backoff=0.05, on_retry=notices.append)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: mc.call(mc.ping.get), range(4)))
    assert notices == ["Mailchimp answered 503; retrying for up to 5 min, Ctrl-C to stop"]
    hostile.sequence("GET", "/3.0/ping", DOWN, UP)
    mc.call(mc.ping.get)
    assert len(notices) == 2  # a new episode after calls succeeded again


def test_an_unreachable_mailchimp_is_announced_in_words():
    notices: list[str] = []
    mc = Mailchimp(KEY, "http://127.0.0.1:9/3.0", retry_seconds=0.5, max_backoff=0.05, on_retry=notices.append)
    with pytest.raises(ApiError):
        mc.call(mc.ping.get)
    assert notices == ["Mailchimp could not be reached (the connection failed or was dropped); retrying for up to "
                       "0.5 s, Ctrl-C to stop"]


def test_a_sync_shows_the_retry_status_line_on_the_console_when_it_shows_progress(mailchimp_sandbox):
    settings = {"api_key": mailchimp_sandbox.api_key, "api_url": mailchimp_sandbox.base_url, "user_id": "u",
                "audience_id": mailchimp_sandbox.audience_id}
    out = io.StringIO()
    context = Context("default", "mailchimp", db=None, console=Console(file=out, width=200), show_progress=True)
    mailchimp_sandbox.inject("503", count=2)
    mc = connect(settings, context=context)
    mc.call(mc.ping.get)
    assert out.getvalue().startswith("Mailchimp answered 503; retrying for up to 5 min")
    quiet = connect(settings, context=Context("default", "mailchimp", db=None, console=Console(file=io.StringIO()),
                                              show_progress=False))
    assert quiet._on_retry is None


@pytest.mark.mailchimp_sandbox(latency_ms=40)
def test_businesses_sharing_a_key_share_its_10_connections(mailchimp_sandbox):
    a, b = (Mailchimp(mailchimp_sandbox.api_key, mailchimp_sandbox.base_url, max_connections=10) for _ in range(2))
    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda n: (a, b)[n % 2].call((a, b)[n % 2].ping.get), range(80)))
    statuses = [r.status for r in mailchimp_sandbox.requests]
    assert statuses.count(200) == 80 and 429 not in statuses


def test_the_connection_registry_never_holds_the_key():
    from opus1_mailchimp import key_slots

    Mailchimp(KEY, "http://127.0.0.1:9/3.0")
    assert KEY not in repr(key_slots._slots) and KEY.split("-")[0] not in repr(key_slots._slots)


def stuck(hostile, status: str = "pending") -> None:
    batch = {"id": "b1", "status": status, "total_operations": 2, "finished_operations": 0}
    hostile.route("POST", "/3.0/batches", Answer(200, batch))
    hostile.route("GET", "/3.0/batches/b1", Answer(200, batch))
    hostile.route("DELETE", "/3.0/batches/b1", Answer(204, b"", content_type=None))


def test_a_batch_stuck_in_pending_is_cancelled_after_batch_wait_seconds(hostile):
    stuck(hostile)
    mc = Mailchimp(KEY, hostile.base_url, retry_seconds=0, batch_wait_seconds=0.5)
    sender = Sender(mc, AUDIENCE, poll_seconds=0.05)
    action = Action("ana@posteo.de", "ana@posteo.de", UPDATED, "FNAME changed", merge_fields={"FNAME": "Ana"},
                    tags_add=frozenset({"opus1"}))
    started = time.monotonic()
    outcomes = {a.key: sent for job in sender.apply([action]) for a, sent in job}
    assert time.monotonic() - started < 5
    what = "Mailchimp's batch b1 was still pending after 0.5 s (0 of 2 operations done); it was cancelled"
    assert outcomes["ana@posteo.de"].outcome == "failed" and what in outcomes["ana@posteo.de"].message
    assert sender.failures == [f"Batch not finished: {what}"]
    assert len(hostile.seen("DELETE", "/3.0/batches/b1")) == 1


def test_a_batch_that_cannot_be_cancelled_says_so(hostile):
    stuck(hostile, "started")
    hostile.route("DELETE", "/3.0/batches/b1", DOWN)
    mc = Mailchimp(KEY, hostile.base_url, retry_seconds=0, batch_wait_seconds=0.2)
    sender = Sender(mc, AUDIENCE, poll_seconds=0.05)
    action = Action("ana@posteo.de", "ana@posteo.de", UPDATED, "FNAME changed", merge_fields={"FNAME": "Ana"})
    list(sender.apply([action]))
    assert "was still started after 0.2 s" in sender.failures[0] and "cancelling it failed" in sender.failures[0]


def test_a_stuck_batch_fails_the_sync_with_what_is_known(run_cli, studio, mailchimp_sandbox):
    studio.configure(3, "--batch-wait-seconds", "1")
    assert run_cli("sync", "mailchimp").code == 0
    mailchimp_sandbox.set_latency(0, 60_000)  # every batch operation takes a minute: the batch never finishes
    studio.write(3, first="Mariana")
    started = time.monotonic()
    result = run_cli("sync", "mailchimp")
    assert time.monotonic() - started < 15
    assert result.code == 1 and "was still started after 1 s (0 of 3 operations done); it was cancelled" in result.err
    assert any(r.method == "DELETE" and r.path.startswith("/3.0/batches/") for r in mailchimp_sandbox.requests)
    [run] = [r for r in run_cli("runs", "--json").json() if r["status"] == "failed"]
    assert "still started" in run["error"]
