"""The read endpoints: a member, a page of members, a member's tags, an audience and its merge fields, the root."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from itertools import islice

from .account import Account
from .render import Renderer, link
from .rules import subscriber_hash

MERGE_FIELD_LIMIT = 30
SORT_FIELDS = ("timestamp_opt", "timestamp_signup", "last_changed")
_ADDRESS = {"addr1": "1 Example Street", "addr2": "", "city": "Berlin", "state": "", "zip": "10115", "country": "DE"}


def get_member(account: Account, list_id: str, segment: str) -> dict:
    """GET /lists/{id}/members/{hash}."""
    with account.lock:
        audience = account.audience(list_id)
        return Renderer(audience, account.api_root)(audience.get(segment))


def member_by_email(account: Account, list_id: str, email: str) -> dict | None:
    """The rendered member with this address, or None (a control, not an API call)."""
    with account.lock:
        audience = account.audience(list_id)
        cid = audience.by_hash.get(subscriber_hash(email))
        return Renderer(audience, account.api_root)(audience.members[cid]) if cid else None


def all_members(account: Account, list_id: str) -> list[dict]:
    """Every member (archived included), rendered, in insertion order (a control, not an API call)."""
    with account.lock:
        audience = account.audience(list_id)
        return list(map(Renderer(audience, account.api_root), audience.members.values()))


def list_members(account: Account, list_id: str, *, count: int = 10, offset: int = 0, status: str | None = None,
                 email_type: str | None = None, vip_only: bool = False, unique_email_id: str | None = None,
                 since_last_changed: str | None = None, before_last_changed: str | None = None,
                 since_timestamp_opt: str | None = None, before_timestamp_opt: str | None = None,
                 sort_field: str | None = None, sort_dir: str = "ASC", member_keys: set[str] | None = None) -> dict:
    """GET /lists/{id}/members: one page and ``total_items``. Without ``status``, archived members are left out.
    ``member_keys`` limits the keys built per member (from ``fields``)."""
    tests: list[Callable[[dict], bool]] = []
    if email_type:
        tests.append(lambda m: m["email_type"] == email_type)
    if vip_only:
        tests.append(lambda m: m["vip"])
    if unique_email_id:
        tests.append(lambda m: m["unique_email_id"] == unique_email_id)
    if since_last_changed:
        tests.append(lambda m: m["last_changed"] >= since_last_changed)
    if before_last_changed:
        tests.append(lambda m: m["last_changed"] <= before_last_changed)
    if since_timestamp_opt:
        tests.append(lambda m: m["timestamp_opt"] >= since_timestamp_opt)
    if before_timestamp_opt:
        tests.append(lambda m: "" < m["timestamp_opt"] <= before_timestamp_opt)
    with account.lock:
        audience = account.audience(list_id)
        members: Iterable[dict] = audience.members.values()
        if status:
            members = (m for m in members if m["status"] == status)
        else:
            members = (m for m in members if m["status"] != "archived")
        if tests:
            members = [m for m in members if all(t(m) for t in tests)]
            total = len(members)
        else:
            total = audience.counts[status] if status else len(audience.members) - audience.counts["archived"]
        if sort_field:
            members = sorted(members, key=lambda m: m[sort_field], reverse=sort_dir == "DESC")
        render = Renderer(audience, account.api_root).only(member_keys)
        page = [render(m) for m in islice(members, offset, offset + count)]
    href = f"{account.api_root}/lists/{list_id}/members"
    return {"members": page, "list_id": list_id, "total_items": total,
            "_links": [link("self", href, "Lists/Members/CollectionResponse.json")]}


def member_tags(account: Account, list_id: str, segment: str, count: int, offset: int) -> dict:
    """GET /lists/{id}/members/{hash}/tags."""
    with account.lock:
        audience = account.audience(list_id)
        m, tag_ids = audience.get(segment), audience.tag_ids
        tags = [{"id": tag_ids[name], "name": name, "date_added": added}
                for name, added in islice(m["tags"].items(), offset, offset + count)]
        total = len(m["tags"])
    href = f"{account.api_root}/lists/{list_id}/members/{m['id']}/tags"
    return {"tags": tags, "total_items": total,
            "_links": [link("self", href, "Lists/Members/Tags/CollectionResponse.json")]}


def list_info(account: Account, list_id: str, include_total_contacts: bool) -> dict:
    """GET /lists/{id} with live ``stats``."""
    with account.lock:
        audience = account.audience(list_id)
        counts = audience.counts
        stats = {
            "member_count": counts["subscribed"], "unsubscribe_count": counts["unsubscribed"],
            "cleaned_count": counts["cleaned"], "member_count_since_send": counts["subscribed"],
            "unsubscribe_count_since_send": counts["unsubscribed"], "cleaned_count_since_send": counts["cleaned"],
            "campaign_count": 0, "campaign_last_sent": "", "merge_field_count": len(audience.merge_fields),
            "avg_sub_rate": 0, "avg_unsub_rate": 0, "target_sub_rate": 0, "open_rate": 0, "click_rate": 0,
            "last_sub_date": audience.last_sub_date, "last_unsub_date": audience.last_unsub_date,
        }
        if include_total_contacts:
            stats["total_contacts"] = len(audience.members)
        web_id = 10001 + list(account.audiences).index(list_id)
    name = audience.name
    return {
        "id": list_id, "web_id": web_id, "name": name,
        "contact": {"company": name, "address1": _ADDRESS["addr1"], "address2": "", "city": _ADDRESS["city"],
                    "state": "", "zip": _ADDRESS["zip"], "country": _ADDRESS["country"], "phone": ""},
        "permission_reminder": "You are receiving this email because you are a client of ours.",
        "use_archive_bar": True,
        "campaign_defaults": {"from_name": name, "from_email": f"{account.username}@sandbox.invalid", "subject": "",
                              "language": "en"},
        "notify_on_subscribe": "", "notify_on_unsubscribe": "", "date_created": account.created_at, "list_rating": 0,
        "email_type_option": False, "subscribe_url_short": "", "subscribe_url_long": "", "beamer_address": "",
        "visibility": "prv", "double_optin": False, "has_welcome": False, "marketing_permissions": False,
        "modules": [], "stats": stats, "_links": [link("self", f"{account.api_root}/lists/{list_id}", "Lists/Response.json")],
    }


def merge_field_info(account: Account, list_id: str, count: int, offset: int) -> dict:
    """GET /lists/{id}/merge-fields."""
    audience = account.audience(list_id)
    href = f"{account.api_root}/lists/{list_id}/merge-fields"
    fields = [
        {"merge_id": i, "tag": f.tag, "name": f.name, "type": f.type, "required": f.required, "default_value": "",
         "public": True, "display_order": i + 1, "options": f.options(), "help_text": "", "list_id": list_id,
         "_links": [link("self", f"{href}/{i}", "Lists/MergeFields/Response.json")]}
        for i, f in enumerate(audience.merge_fields.values(), start=1)
    ]
    return {"merge_fields": fields[offset:offset + count], "merge_field_limit": MERGE_FIELD_LIMIT,
            "list_id": list_id, "total_items": len(fields),
            "_links": [link("self", href, "Lists/MergeFields/CollectionResponse.json")]}


def root(account: Account) -> dict:
    """GET / (the API root: the account behind the key; its name is the first audience's)."""
    with account.lock:
        subscribed = sum(a.counts["subscribed"] for a in account.audiences.values())
        name = next(iter(account.audiences.values())).name
    username, created = account.username, account.created_at
    return {
        "account_id": hashlib.md5(f"account:{username}".encode()).hexdigest()[:25],
        "login_id": str(int(hashlib.md5(f"login:{username}".encode()).hexdigest()[:8], 16)),
        "account_name": name, "email": f"{username}@sandbox.invalid", "first_name": "Studio", "last_name": "Owner",
        "username": username, "avatar_url": "", "role": "owner", "member_since": created,
        "pricing_plan_type": "monthly", "first_payment": created, "account_timezone": "UTC",
        "account_industry": "Education and Training", "contact": {"company": name, **_ADDRESS},
        "pro_enabled": False, "last_login": created, "total_subscribers": subscribed,
        "industry_stats": {"open_rate": 0, "bounce_rate": 0, "click_rate": 0},
        "_links": [link("self", account.api_root + "/", "Root.json")],
    }
