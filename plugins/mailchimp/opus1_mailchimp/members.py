"""Reading an audience's members, all pages in parallel, with only the fields a sync compares."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .client import Mailchimp

PAGE = 1000
FIELDS = [
    "members.email_address", "members.status", "members.merge_fields", "members.tags", "total_items",
]


@dataclass(frozen=True)
class Member:
    """A member as Mailchimp holds it now."""

    key: str
    email: str
    status: str
    merge_fields: dict
    tags: frozenset[str]

    @classmethod
    def from_api(cls, data: dict) -> "Member":
        """Build from a member object of the API."""
        return cls(
            key=data["email_address"].strip().lower(),
            email=data["email_address"],
            status=data["status"],
            merge_fields=data.get("merge_fields") or {},
            tags=frozenset(t["name"] for t in data.get("tags") or []),
        )


def read_members(mc: Mailchimp, audience_id: str, on_page: Callable[[int, int], None] | None = None) -> dict[str, Member]:
    """Every member of the audience by key, archived ones included (read separately, as Mailchimp may omit them)."""
    members: dict[str, Member] = {}
    for status in (None, "archived"):
        for page in _pages(mc, audience_id, status, on_page):
            for data in page:
                member = Member.from_api(data)
                members.setdefault(member.key, member)
    return members


def _pages(mc: Mailchimp, audience_id: str, status: str | None, on_page):
    extra = {"status": status} if status else {}

    def fetch(offset: int) -> dict:
        return mc.call(mc.lists.get_list_members_info, audience_id, count=PAGE, offset=offset, fields=FIELDS, **extra)

    first = fetch(0)
    total = first.get("total_items", 0)
    if on_page:
        on_page(len(first.get("members", [])), total)
    yield first.get("members", [])
    offsets = range(PAGE, total, PAGE)
    with ThreadPoolExecutor(max_workers=mc.max_connections) as pool:
        for page in pool.map(fetch, offsets):
            if on_page:
                on_page(len(page.get("members", [])), total)
            yield page.get("members", [])
