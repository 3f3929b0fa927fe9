"""A listing's claimed ``total_items`` bounds nothing by itself: the pages that come back decide where it ends."""

from __future__ import annotations

from conftest import KEY
from hostile_server import Answer, Seen

from opus1_mailchimp.client import Mailchimp
from opus1_mailchimp.paging import read_pages

AUDIENCE = "a1b2c3d4e5"
PATH = f"/3.0/lists/{AUDIENCE}/members"
SHAPE = {"members": [{"email_address": str}], "total_items": int}


def lying_listing(real: int, claimed: int):
    def answer(request: Seen) -> Answer:
        offset, count = int(request.query["offset"]), int(request.query["count"])
        members = [{"email_address": f"m{i}@posteo.de"} for i in range(offset, min(offset + count, real))]
        return Answer(200, {"members": members, "total_items": claimed})
    return answer


def pages_of(mc: Mailchimp, claimed: int | None):
    def fetch(offset: int) -> list:
        return mc.call(mc.lists.get_list_members_info, AUDIENCE, count=1000, offset=offset, shape=SHAPE)["members"]
    return read_pages(fetch, 1000, mc.max_connections, claimed)


def test_a_claimed_billion_members_costs_at_most_one_round_of_requests_past_the_real_end(hostile):
    hostile.route("GET", PATH, lying_listing(real=3500, claimed=1_000_000_000))
    mc = Mailchimp(KEY, hostile.base_url, retry_seconds=0, max_connections=10)
    members = [m for page in pages_of(mc, 1_000_000_000) for m in page]
    assert len(members) == 3500 and len({m["email_address"] for m in members}) == 3500
    assert len(hostile.seen("GET", PATH)) <= 4 + 10


def test_a_listing_ends_at_its_claimed_total_when_that_comes_first(hostile):
    hostile.route("GET", PATH, lying_listing(real=10_000, claimed=2000))
    mc = Mailchimp(KEY, hostile.base_url, retry_seconds=0, max_connections=4)
    assert sum(len(page) for page in pages_of(mc, 2000)) == 2000
    assert len(hostile.seen("GET", PATH)) == 2


def test_an_exact_multiple_of_the_page_size_needs_no_extra_page_when_the_total_is_right(hostile):
    hostile.route("GET", PATH, lying_listing(real=3000, claimed=3000))
    mc = Mailchimp(KEY, hostile.base_url, retry_seconds=0, max_connections=10)
    assert sum(len(page) for page in pages_of(mc, 3000)) == 3000
    assert len(hostile.seen("GET", PATH)) == 3
