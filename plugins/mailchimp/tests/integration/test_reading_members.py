"""Reading an audience is bounded by what Mailchimp's pages hold, not by what it claims: a small hostile server on
loopback that lies about ``total_items`` or serves the same page forever cannot make the client send thousands of
requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from opus1_mailchimp.client import ApiError, Mailchimp
from opus1_mailchimp.members import PAGE, REASON_MAX_CHARS, TIME_MAX_CHARS, read_members

KEY = "0123456789abcdef0123456789abcdef-us6"
CONNECTIONS = 10


def member(n: int) -> dict:
    return {"email_address": f"member{n}@gmail.com", "status": "subscribed", "merge_fields": {"FNAME": "M"},
            "tags": []}


@contextmanager
def fake_mailchimp(answer: Callable[[int, str | None], dict]) -> Iterator[tuple[str, list]]:
    """A loopback server answering ``GET .../members`` with ``answer(offset, status)``; yields its base URL and the
    (offset, status) of every request it received."""
    seen: list[tuple[int, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            offset, status = int(query.get("offset", ["0"])[0]), query.get("status", [None])[0]
            seen.append((offset, status))
            body = json.dumps(answer(offset, status)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/3.0", seen
    finally:
        server.shutdown()
        server.server_close()


def read(url: str) -> list[tuple]:
    rows: list[tuple] = []
    mc = Mailchimp(KEY, url, max_connections=CONNECTIONS, retry_seconds=1)
    try:
        read_members(mc, "aud", rows.extend)
    finally:
        mc.close()
    return rows


def test_a_claimed_billion_members_with_a_short_first_page_costs_one_request_per_listing():
    def answer(offset: int, status: str | None) -> dict:
        members = [member(n) for n in range(3)] if offset == 0 and status is None else []
        return {"members": members, "total_items": 10**9}

    with fake_mailchimp(answer) as (url, seen):
        rows = read(url)
    assert len(rows) == 3
    assert len(seen) == 2 and set(seen) == {(0, None), (0, "archived")}


def test_the_same_full_page_served_forever_stops_the_reading():
    def answer(offset: int, status: str | None) -> dict:
        return {"members": [member(n) for n in range(PAGE)], "total_items": 10**9}

    with fake_mailchimp(answer) as (url, seen):
        read(url)
    # per listing: the first page, then at most the requests in flight when the repeat is noticed
    assert len(seen) <= 2 * (1 + CONNECTIONS)


def test_full_pages_of_new_members_stop_at_the_first_pages_claim():
    def answer(offset: int, status: str | None) -> dict:
        if status == "archived":
            return {"members": [], "total_items": 0}
        total = 2500 if offset == 0 else 10**9  # later pages claim more: only the first page's claim counts
        return {"members": [member(offset + n) for n in range(PAGE)], "total_items": total}

    with fake_mailchimp(answer) as (url, seen):
        rows = read(url)
    assert sorted(offset for offset, status in seen if status is None) == [0, 1000, 2000]
    assert len({row[0] for row in rows}) == 3 * PAGE


@pytest.mark.parametrize("total", [None, "many", -5])
def test_a_missing_or_invalid_total_reads_until_a_short_page(total):
    def answer(offset: int, status: str | None) -> dict:
        count = PAGE if offset < 3 * PAGE and status is None else 10
        return {"members": [member(offset + n) for n in range(count)], "total_items": total}

    with fake_mailchimp(answer) as (url, seen):
        rows = read(url)
    regular = sorted(offset for offset, status in seen if status is None)
    assert regular[:4] == [0, 1000, 2000, 3000] and len(regular) <= 4 + CONNECTIONS
    assert {f"member{n}@gmail.com" for n in range(3 * PAGE + 10)} <= {row[0] for row in rows}


@pytest.mark.parametrize("bad", [{"status": "subscribed"}, {"email_address": 5, "status": "subscribed"},
                                 {"email_address": "a@b.de", "status": "subscribed", "tags": [{"name": 7}]},
                                 {"email_address": "a@b.de", "status": "subscribed", "merge_fields": []},
                                 {"email_address": "a@b.de", "status": "subscribed", "tags": "vip"},
                                 {"email_address": "a@b.de", "status": "unsubscribed", "unsubscribe_reason": 5},
                                 {"email_address": "a@b.de", "status": "subscribed", "last_changed": ["2026"]},
                                 "text"])
def test_a_page_holding_something_that_is_not_a_member_is_an_unusable_answer(bad):
    def answer(offset: int, status: str | None) -> dict:
        return {"members": [member(1), bad] if status is None else [], "total_items": 2}

    with fake_mailchimp(answer) as (url, seen):
        with pytest.raises(ApiError) as caught:
            read(url)
    assert caught.value.title == "Unusable answer" and "unexpected shape" in caught.value.detail
    assert "/lists/aud/members" in caught.value.url


def totals_seen(answer: Callable[[int, str | None], dict]) -> list[int | None]:
    totals: list[int | None] = []
    with fake_mailchimp(answer) as (url, seen):
        mc = Mailchimp(KEY, url, max_connections=CONNECTIONS, retry_seconds=1)
        try:
            read_members(mc, "aud", lambda rows: None, lambda n, total: totals.append(total))
        finally:
            mc.close()
    return totals


def test_the_progress_has_no_total_until_both_listings_gave_one():
    def answer(offset: int, status: str | None) -> dict:
        if status == "archived":
            return {"members": [member(9000)], "total_items": 1}
        return {"members": [member(offset + n) for n in range(PAGE if offset < 4 * PAGE else 444)],
                "total_items": 4444}

    totals = totals_seen(answer)
    assert len(totals) == 6 and None not in totals[2:] and set(totals) <= {None, 4445}
    assert totals[0] is None  # the first page of either listing: the other one's total is not known yet


def test_the_progress_never_shows_a_total_mailchimp_did_not_give():
    def answer(offset: int, status: str | None) -> dict:
        count = PAGE if offset < 3 * PAGE and status is None else 10
        return {"members": [member(offset + n) for n in range(count)], "total_items": None if status else 3010}

    assert set(totals_seen(answer)) == {None}


def test_an_unsubscribe_reason_and_a_time_from_mailchimp_are_kept_bounded():
    huge = {**member(1), "status": "unsubscribed", "unsubscribe_reason": "\x1b[2J" + "x" * 10**6,
            "last_changed": "2026-06-03T21:30:56+00:00" + "9" * 1000}

    with fake_mailchimp(lambda offset, status: {"members": [] if status else [huge], "total_items": 1}) as (url, _):
        rows = read(url)
    reason, changed = rows[0][7], rows[0][8]
    assert len(reason) == REASON_MAX_CHARS and len(changed) == TIME_MAX_CHARS
