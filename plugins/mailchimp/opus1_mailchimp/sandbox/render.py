"""How a stored member looks in the API: every key of the recorded member object, in the API's order.

Every merge field of the audience is present (``""`` when unset), at most 50 tags are shown, and
``unsubscribe_reason`` appears on unsubscribed members only (as in recorded answers). A listing or a batch
subscribe asks for just the keys its ``fields`` name, and only those are built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice

from .audience import Audience

Build = Callable[[dict], object]
_LOCATION = {"gmtoff": 0, "dstoff": 0, "country_code": "", "timezone": "", "region": ""}


def link(rel: str, href: str, schema: str, method: str = "GET") -> dict:
    """One entry of a resource's ``_links``."""
    return {"rel": rel, "href": href, "method": method,
            "targetSchema": f"https://us1.api.mailchimp.com/schema/3.0/{schema}"}


class Renderer:
    """Renders the members of one audience; build one per request (it reads the tag ids live)."""

    def __init__(self, audience: Audience, api_root: str):
        tags = tuple(audience.merge_fields)
        tag_ids = audience.tag_ids
        members_url = f"{api_root}/lists/{audience.id}/members"

        def stored(key: str) -> Build:
            return lambda m: m[key]

        def constant(value: object) -> Build:
            return lambda m: value

        self._items: tuple[tuple[str, Build], ...] = (
            ("id", stored("id")), ("email_address", stored("email_address")),
            ("unique_email_id", stored("unique_email_id")), ("contact_id", stored("contact_id")),
            ("full_name", lambda m: f"{m['merge_fields'].get('FNAME', '')} {m['merge_fields'].get('LNAME', '')}".strip()),
            ("web_id", stored("web_id")), ("email_type", stored("email_type")), ("status", stored("status")),
            ("unsubscribe_reason", stored("unsubscribe_reason")), ("consents_to_one_to_one_messaging", constant(True)),
            ("merge_fields", lambda m: {tag: m["merge_fields"].get(tag, "") for tag in tags}),
            ("interests", lambda m: dict(m["interests"])),
            ("stats", lambda m: {"avg_open_rate": 0, "avg_click_rate": 0}), ("ip_signup", stored("ip_signup")),
            ("timestamp_signup", stored("timestamp_signup")), ("ip_opt", stored("ip_opt")),
            ("timestamp_opt", stored("timestamp_opt")), ("member_rating", constant(2)),
            ("last_changed", stored("last_changed")), ("language", stored("language")), ("vip", stored("vip")),
            ("email_client", constant("")), ("location", lambda m: {**m["location"], **_LOCATION}),
            ("marketing_permissions", lambda m: []), ("source", stored("source")),
            ("tags_count", lambda m: len(m["tags"])),
            ("tags", lambda m: [{"id": tag_ids[name], "name": name} for name in islice(m["tags"], 50)]),
            ("list_id", constant(audience.id)),
            ("_links", lambda m: [link("self", f"{members_url}/{m['id']}", "Lists/Members/Response.json")]),
        )
        self._full = self.only(None)

    def __call__(self, m: dict) -> dict:
        """A stored member as the API returns it."""
        return self._full(m)

    def only(self, keys: Iterable[str] | None) -> Callable[[dict], dict]:
        """A function rendering just ``keys`` of a member (None: all)."""
        wanted = None if keys is None else set(keys)
        unsubscribed = tuple((k, f) for k, f in self._items if wanted is None or k in wanted)
        others = tuple((k, f) for k, f in unsubscribed if k != "unsubscribe_reason")
        return lambda m: {key: make(m) for key, make in (unsubscribed if m["status"] == "unsubscribed" else others)}
