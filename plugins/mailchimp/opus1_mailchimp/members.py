"""Reading an audience's members, page by page and in parallel, with only the fields a sync compares.

Pages go to a sink as they arrive (the sync's scratch database), so memory holds only the pages in flight. The
listing of all members and the listing of archived ones (Mailchimp may leave those out of the first) are read at
the same time. Paging is bounded by what the pages hold, not by what Mailchimp claims: a listing stops at the
first page that comes back short or empty, or that repeats a page already read, and never goes past the
``total_items`` of its first page; so each listing sends at most one request per page of new members received,
plus those already in flight (at most the client's connection limit).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import lru_cache
from typing import NamedTuple

from .client import Mailchimp
from .ledger import tag_set

PAGE = 1000
FIELDS = [
    "members.email_address", "members.status", "members.merge_fields", "members.tags", "total_items",
]
#: The merge fields a sync may write, so the only ones it keeps of a member.
MERGE_FIELDS = ("FNAME", "LNAME", "PHONE")
#: Where a member was read: the listing of all members, or that of archived ones (the first one wins).
ALL, ARCHIVED = 0, 1


class Member(NamedTuple):
    """A member as Mailchimp holds it now (of its merge fields, only those a sync may write); a named tuple, as a
    sync builds one per member."""

    key: str
    email: str
    status: str
    merge_fields: dict
    tags: frozenset[str]


def member_row(data: dict, source: int) -> tuple:
    """A member object of the API as a row: (key, email, status, FNAME, LNAME, PHONE, tags as JSON, source)."""
    fields = data.get("merge_fields") or {}
    email = data["email_address"]
    return (email.strip().lower(), email, data["status"], _scalar(fields.get("FNAME")), _scalar(fields.get("LNAME")),
            _scalar(fields.get("PHONE")), _tags_json(tuple(t["name"] for t in data.get("tags") or ())), source)


@lru_cache(maxsize=4096)
def _tags_json(names: tuple[str, ...]) -> str | None:
    """Tag names as the JSON list stored (cached: most members carry one of a few sets); None for none."""
    return json.dumps(names, ensure_ascii=False) if names else None


def member_from_row(row: tuple) -> Member:
    """A stored row (key, email, status, FNAME, LNAME, PHONE, tags as JSON) as a ``Member``."""
    key, email, status, fname, lname, phone, tags = row[:7]
    fields = {}
    if fname is not None:
        fields["FNAME"] = fname
    if lname is not None:
        fields["LNAME"] = lname
    if phone is not None:
        fields["PHONE"] = phone
    return Member(key, email, status, fields, tag_set(tags))


def _scalar(value: object) -> object:
    """A merge field's value as SQLite stores it (text and numbers as they are, anything else as JSON)."""
    if value is None or type(value) is str or isinstance(value, (int, float)):
        return value
    return json.dumps(value, sort_keys=True)


class _Listing:
    """One listing's paging: which offset comes next and whether to ask for more."""

    def __init__(self, status: str | None):
        self.status = status
        self.source = ARCHIVED if status else ALL
        self.next = 0
        self.claimed: int | None = None  # total_items of the first page
        self.open = True
        self.seen: set[bytes] = set()  # digests of the pages read, to notice one served again

    def wants(self) -> bool:
        if not self.open:
            return False
        if self.claimed is None:
            return self.next == 0  # the first page alone, until it says how many there are
        return self.next < self.claimed

    def take(self, page: dict) -> list[dict]:
        members = page.get("members") or []
        if self.claimed is None:
            total = page.get("total_items")
            self.claimed = total if isinstance(total, int) and total >= 0 else PAGE * 2**20
        digest = hashlib.sha256("\n".join(m.get("email_address") or "" for m in members).encode()).digest()
        if len(members) < PAGE or digest in self.seen:
            self.open = False
        self.seen.add(digest)
        return members


def read_members(mc: Mailchimp, audience_id: str, sink: Callable[[list[tuple]], None],
                 on_page: Callable[[int, int | None], None] | None = None,
                 stop: threading.Event | None = None) -> int:
    """Read every member of the audience, archived ones included, into ``sink`` as rows (``member_row``), a
    page at a time, in this thread; returns how many rows were passed. ``on_page(n, claimed)`` gets each page's
    size and, with a listing's first page, the number of members it claims. Stops early when ``stop`` is set.
    """
    listings = [_Listing(None), _Listing("archived")]
    in_flight: dict[Future, _Listing] = {}
    rows = 0

    def fetch(listing: _Listing, offset: int) -> dict:
        extra = {"status": listing.status} if listing.status else {}
        return mc.call(mc.lists.get_list_members_info, audience_id, count=PAGE, offset=offset, fields=FIELDS, **extra)

    with ThreadPoolExecutor(max_workers=mc.max_connections) as pool:
        try:
            while True:
                for listing in listings:  # keep up to max_connections requests in flight, listings taking turns
                    while listing.wants() and len(in_flight) < mc.max_connections and not (stop and stop.is_set()):
                        in_flight[pool.submit(fetch, listing, listing.next)] = listing
                        listing.next += PAGE
                if not in_flight:
                    return rows
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    listing = in_flight.pop(future)
                    first = listing.claimed is None
                    members = listing.take(future.result())
                    sink([member_row(m, listing.source) for m in members])
                    rows += len(members)
                    if on_page:
                        on_page(len(members), listing.claimed if first else None)
        finally:
            for future in in_flight:
                future.cancel()
