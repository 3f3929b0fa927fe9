"""Reading an audience's members, page by page and in parallel, with only the fields a sync compares.

Pages go to a sink as they arrive (the sync's scratch database), so memory holds only the pages in flight. The
listing of all members and the listing of archived ones (Mailchimp may leave those out of the first) are read at
the same time. Paging is bounded by what the pages hold, not by what Mailchimp claims (``paging.read_pages``): a
listing ends at the first page that comes back short or empty, never goes past the ``total_items`` of its first
page, and here also ends at a page that repeats one already read; so each listing sends at most one request per
page of new members received, plus those in flight (at most the client's connection limit).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import chain
from typing import NamedTuple

from .client import Mailchimp
from .errors import malformed
from .ledger import tag_set
from .paging import read_pages

PAGE = 1000
FIELDS = [
    "members.email_address", "members.status", "members.merge_fields", "members.tags",
    "members.unsubscribe_reason", "members.last_changed", "total_items",
]
#: What a page must hold: a list of objects, each checked by ``member_row`` (``total_items`` is only a hint: it
#: is not checked, and ignored unless a count).
MEMBERS_SHAPE = {"members?": [dict]}
#: Where a member was read: the listing of all members, or that of archived ones (the first one wins).
ALL, ARCHIVED = 0, 1
#: The longest ``unsubscribe_reason`` kept (the text the contact picked or typed; longer ones are cut).
REASON_MAX_CHARS = 200
#: The longest ``last_changed`` kept (a time such as ``2026-06-03T21:30:56+00:00``; anything longer is no time).
TIME_MAX_CHARS = 40


class Member(NamedTuple):
    """A member as Mailchimp holds it now (of its merge fields, only those a sync may write); a named tuple, as a
    sync builds one per member."""

    key: str
    email: str
    status: str
    merge_fields: dict
    tags: frozenset[str]
    unsubscribe_reason: str | None = None
    """Why it unsubscribed, as Mailchimp says (only an unsubscribed member has one)."""
    last_changed: str | None = None
    """When Mailchimp last changed it (its fields, status or tags), as Mailchimp writes it."""


def member_row(data: dict, source: int) -> tuple:
    """A member object of the API as a row: (key, email, status, FNAME, LNAME, PHONE, tags as JSON,
    unsubscribe_reason, last_changed, source), the two texts cut to a bound. Raises ``ValueError`` for an object
    that is not a member (checked here, at a third of the cost of a walk of its shape: a sync reads every member)."""
    email, status, fields, tags = data.get("email_address"), data.get("status"), data.get("merge_fields"), data.get("tags")
    reason, changed = data.get("unsubscribe_reason"), data.get("last_changed")
    fields = {} if fields is None else fields
    tags = [] if tags is None else tags
    names = tuple(t.get("name") if type(t) is dict else None for t in tags) if type(tags) is list else (None,)
    if type(email) is not str or type(status) is not str or type(fields) is not dict or not all(
            type(name) is str for name in names) or not _text_or_none(reason) or not _text_or_none(changed):
        raise ValueError("a member without a text email_address and status, an object of merge_fields, named "
                         "tags and a text unsubscribe_reason and last_changed if any")
    return (email.strip().lower(), email, status, _scalar(fields.get("FNAME")), _scalar(fields.get("LNAME")),
            _scalar(fields.get("PHONE")), _tags_json(names), reason[:REASON_MAX_CHARS] if reason else None,
            changed[:TIME_MAX_CHARS] if changed else None, source)


def _text_or_none(value: object) -> bool:
    return value is None or type(value) is str


@lru_cache(maxsize=4096)
def _tags_json(names: tuple[str, ...]) -> str | None:
    """Tag names as the JSON list stored (cached: most members carry one of a few sets); None for none."""
    return json.dumps(names, ensure_ascii=False) if names else None


def member_from_row(row: tuple) -> Member:
    """A stored row (key, email, status, FNAME, LNAME, PHONE, tags as JSON, unsubscribe_reason, last_changed) as a
    ``Member``."""
    key, email, status, fname, lname, phone, tags, reason, changed = row[:9]
    fields = {}
    if fname is not None:
        fields["FNAME"] = fname
    if lname is not None:
        fields["LNAME"] = lname
    if phone is not None:
        fields["PHONE"] = phone
    return Member(key, email, status, fields, tag_set(tags), reason, changed)


def _scalar(value: object) -> object:
    """A merge field's value as SQLite stores it (text and numbers as they are, anything else as JSON)."""
    if value is None or type(value) is str or isinstance(value, (int, float)):
        return value
    return json.dumps(value, sort_keys=True)


def read_members(mc: Mailchimp, audience_id: str, sink: Callable[[list[tuple]], None],
                 on_page: Callable[[int, int | None], None] | None = None,
                 stop: threading.Event | None = None) -> int:
    """Read every member of the audience, archived ones included, into ``sink`` as rows (``member_row``), a page
    at a time (never two at once); returns how many rows were passed. The two listings are read at the same time,
    each with ``paging.read_pages``. ``on_page(n, total)`` gets each page's size and the number of members the
    two listings claim together, once both first pages came with a number (else ``None``: not known yet, or never).
    Stops early when ``stop`` is set.
    """
    lock = threading.Lock()
    claims: dict[int, int | None] = {}

    def listing(status: str | None) -> int:
        source = ARCHIVED if status else ALL
        extra = {"status": status} if status else {}

        def fetch(offset: int) -> dict:
            return mc.call(mc.lists.get_list_members_info, audience_id, count=PAGE, offset=offset, fields=FIELDS,
                           shape=MEMBERS_SHAPE, **extra)

        first = fetch(0)
        total = first.get("total_items")
        claimed = total if type(total) is int and total >= 0 else None
        pages = [first.get("members") or []]
        if len(pages[0]) >= PAGE:
            pages = chain(pages, read_pages(lambda offset: fetch(offset).get("members") or [], PAGE,
                                            mc.max_connections, claimed, start=PAGE))
        count, seen = 0, set()
        for page in pages:
            try:
                rows = [member_row(m, source) for m in page]
            except ValueError as exc:
                raise malformed(f"unexpected shape: {exc}", f"{mc.api.host}/lists/{audience_id}/members",
                                transient=False) from None
            digest = hashlib.sha256("\n".join(row[1] for row in rows).encode()).digest()
            if digest in seen or (stop and stop.is_set()):  # a page served again: the listing goes round in circles
                break
            seen.add(digest)
            with lock:
                sink(rows)
                if len(seen) == 1:
                    claims[source] = claimed
                total = sum(claims.values()) if len(claims) == 2 and None not in claims.values() else None
            count += len(page)
            if on_page:
                on_page(len(page), total)
        return count

    with ThreadPoolExecutor(max_workers=2) as pool:
        return sum(pool.map(listing, (None, "archived")))
