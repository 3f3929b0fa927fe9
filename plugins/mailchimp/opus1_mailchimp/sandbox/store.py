"""The sandbox's state: one account with one audience, its members, tags and permanently deleted addresses.

Every method that reads or changes members takes the store's lock, so each API call is applied atomically.
Members live in a dict keyed by contact id in insertion order (an email change keeps a member's place);
``by_hash`` indexes them by subscriber hash, and per-status counts make list stats and status-filtered totals O(1).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from itertools import islice

from . import replies
from .replies import Problem, schema_type
from .rules import (ALL_STATUSES, PATCH_STATUSES, WRITABLE_STATUSES, MergeField, check_email, check_merge_fields,
                    check_optional_fields, check_real, check_status, check_tags, is_hash, merge_field,
                    subscriber_hash)

BATCH_SUBSCRIBE_MAX = 500
MERGE_FIELD_LIMIT = 30
SORT_FIELDS = ("timestamp_opt", "timestamp_signup", "last_changed")
STATE_VERSION = 1


def format_time(epoch: float) -> str:
    """Mailchimp's timestamp format, e.g. ``2026-06-03T21:30:56+00:00``."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_time(value: str, field: str) -> str:
    """An ISO 8601 query value in Mailchimp's format (UTC), comparable as a string; 400 if unparseable."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise replies.field_error(field, "Please provide a valid ISO 8601 date and time.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_time(moment.timestamp())


class Store:
    """Accounts, audience, members, tags and forgotten addresses, guarded by one lock."""

    def __init__(self, *, audience_id: str, audience_name: str, username: str,
                 merge_fields: Iterable[str | dict], seed: int = 0, clock: Callable[[], float] = time.time):
        self.lock = threading.RLock()
        self.audience_id = audience_id
        self.audience_name = audience_name
        self.username = username
        self.merge_fields: dict[str, MergeField] = {f.tag: f for f in map(merge_field, merge_fields)}
        self.seed = seed
        self.clock = clock
        self.api_root = "http://127.0.0.1/3.0"  # set by the server once it knows its port
        self.on_change: Callable[[], None] = lambda: None
        self._now = (-1, "")
        self.created_at = self.now()
        self.clear()
        self._render_items = self._renderers()

    # ----------------------------------------------------------------- state

    def clear(self) -> None:
        """Empty the audience: no members, tags or forgotten addresses."""
        with self.lock:
            self.members: dict[str, dict] = {}  # contact_id -> stored member
            self.by_hash: dict[str, str] = {}  # subscriber hash -> contact_id
            self.forgotten: set[str] = set()  # hashes of permanently deleted addresses
            self.tag_ids: dict[str, int] = {}
            self.counts: Counter[str] = Counter()
            self.next_web_id = 100001
            self.last_sub_date = ""
            self.last_unsub_date = ""
            self.on_change()

    def snapshot(self) -> dict:
        """The state as JSON-able data (for the state file)."""
        with self.lock:
            return {"version": STATE_VERSION, "members": list(self.members.values()),
                    "forgotten": sorted(self.forgotten), "tag_ids": self.tag_ids, "next_web_id": self.next_web_id,
                    "last_sub_date": self.last_sub_date, "last_unsub_date": self.last_unsub_date}

    def restore(self, data: dict) -> None:
        """Load a snapshot written by :meth:`snapshot`."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported sandbox state version {data.get('version')!r}")
        with self.lock:
            self.members = {m["contact_id"]: m for m in data["members"]}
            self.by_hash = {m["id"]: m["contact_id"] for m in data["members"]}
            self.forgotten = set(data["forgotten"])
            self.tag_ids = dict(data["tag_ids"])
            self.counts = Counter(m["status"] for m in data["members"])
            self.next_web_id = data["next_web_id"]
            self.last_sub_date = data["last_sub_date"]
            self.last_unsub_date = data["last_unsub_date"]

    def now(self) -> str:
        """The current time in Mailchimp's format (formatted once per second)."""
        second = int(self.clock())
        cached = self._now
        if cached[0] != second:
            cached = self._now = (second, format_time(second))
        return cached[1]

    # ----------------------------------------------------------------- reads

    def require_list(self, list_id: str) -> None:
        """404 unless ``list_id`` is the sandbox's audience."""
        if list_id != self.audience_id:
            raise replies.not_found()

    def _find(self, segment: str, *, hash_only: bool = False) -> dict | None:
        """The member a path segment names: subscriber hash, contact id or (unless ``hash_only``) the address."""
        if is_hash(segment):
            cid = self.by_hash.get(segment, segment)
            return self.members.get(cid)
        if hash_only or "@" not in segment:
            return None
        cid = self.by_hash.get(subscriber_hash(segment))
        return self.members.get(cid) if cid else None

    def _member(self, list_id: str, segment: str, *, hash_only: bool = False) -> dict:
        self.require_list(list_id)
        member = self._find(segment, hash_only=hash_only)
        if member is None:
            raise replies.not_found()
        return member

    def _renderers(self) -> tuple[tuple[str, Callable[[dict], object]], ...]:
        """How each key of an API member is made from a stored one, in the API's key order."""
        tags = tuple(self.merge_fields)
        location = {"gmtoff": 0, "dstoff": 0, "country_code": "", "timezone": "", "region": ""}

        def merge(m: dict) -> dict:
            return {tag: m["merge_fields"].get(tag, "") for tag in tags}

        def full_name(m: dict) -> str:
            return f"{m['merge_fields'].get('FNAME', '')} {m['merge_fields'].get('LNAME', '')}".strip()

        def links(m: dict) -> list:
            href = f"{self.api_root}/lists/{self.audience_id}/members/{m['id']}"
            return [link("self", href, "Lists/Members/Response.json")]

        def stored(key: str) -> Callable[[dict], object]:
            return lambda m: m[key]

        def constant(value: object) -> Callable[[dict], object]:
            return lambda m: value

        return (
            ("id", stored("id")), ("email_address", stored("email_address")),
            ("unique_email_id", stored("unique_email_id")), ("contact_id", stored("contact_id")),
            ("full_name", full_name), ("web_id", stored("web_id")), ("email_type", stored("email_type")),
            ("status", stored("status")), ("consents_to_one_to_one_messaging", constant(True)),
            ("merge_fields", merge), ("interests", lambda m: dict(m["interests"])),
            ("stats", lambda m: {"avg_open_rate": 0, "avg_click_rate": 0}), ("ip_signup", stored("ip_signup")),
            ("timestamp_signup", stored("timestamp_signup")), ("ip_opt", stored("ip_opt")),
            ("timestamp_opt", stored("timestamp_opt")), ("member_rating", constant(2)),
            ("last_changed", stored("last_changed")), ("language", stored("language")), ("vip", stored("vip")),
            ("email_client", constant("")), ("location", lambda m: {**m["location"], **location}),
            ("marketing_permissions", lambda m: []), ("source", stored("source")),
            ("tags_count", lambda m: len(m["tags"])),
            ("tags", lambda m: [{"id": self.tag_ids[name], "name": name} for name in islice(m["tags"], 50)]),
            ("list_id", constant(self.audience_id)), ("_links", links),
        )

    def render(self, m: dict, keys: Iterable[str] | None = None) -> dict:
        """A stored member as the API returns it (every merge field present, ``""`` when unset; first 50 tags);
        only ``keys`` if given (a listing with ``fields`` builds just what was asked for)."""
        return self._renderer(keys)(m)

    def _renderer(self, keys: Iterable[str] | None) -> Callable[[dict], dict]:
        items = self._render_items if keys is None else tuple((k, f) for k, f in self._render_items if k in set(keys))
        return lambda m: {key: make(m) for key, make in items}

    def get_member(self, list_id: str, segment: str) -> dict:
        """GET /lists/{id}/members/{hash}."""
        with self.lock:
            return self.render(self._member(list_id, segment))

    def member_by_email(self, email: str) -> dict | None:
        """The rendered member with this address, or None."""
        with self.lock:
            cid = self.by_hash.get(subscriber_hash(email))
            return self.render(self.members[cid]) if cid else None

    def all_members(self) -> list[dict]:
        """Every member (archived included), rendered, in insertion order."""
        with self.lock:
            return [self.render(m) for m in self.members.values()]

    def list_members(self, list_id: str, *, count: int = 10, offset: int = 0, status: str | None = None,
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
        with self.lock:
            self.require_list(list_id)
            members: Iterable[dict] = self.members.values()
            if status:
                members = (m for m in members if m["status"] == status)
            else:
                members = (m for m in members if m["status"] != "archived")
            if tests:
                members = [m for m in members if all(t(m) for t in tests)]
                total = len(members)
            else:
                total = self.counts[status] if status else len(self.members) - self.counts["archived"]
            if sort_field:
                members = sorted(members, key=lambda m: m[sort_field], reverse=sort_dir == "DESC")
            render = self._renderer(member_keys)
            page = [render(m) for m in islice(members, offset, offset + count)]
        href = f"{self.api_root}/lists/{list_id}/members"
        return {"members": page, "list_id": list_id, "total_items": total,
                "_links": [link("self", href, "Lists/Members/CollectionResponse.json")]}

    def member_tags(self, list_id: str, segment: str, count: int, offset: int) -> dict:
        """GET /lists/{id}/members/{hash}/tags."""
        with self.lock:
            m = self._member(list_id, segment)
            tags = [{"id": self.tag_ids[name], "name": name, "date_added": added}
                    for name, added in islice(m["tags"].items(), offset, offset + count)]
            total = len(m["tags"])
        href = f"{self.api_root}/lists/{list_id}/members/{m['id']}/tags"
        return {"tags": tags, "total_items": total,
                "_links": [link("self", href, "Lists/Members/Tags/CollectionResponse.json")]}

    def list_info(self, list_id: str, include_total_contacts: bool) -> dict:
        """GET /lists/{id} with live ``stats``."""
        with self.lock:
            self.require_list(list_id)
            stats = {
                "member_count": self.counts["subscribed"], "unsubscribe_count": self.counts["unsubscribed"],
                "cleaned_count": self.counts["cleaned"], "member_count_since_send": self.counts["subscribed"],
                "unsubscribe_count_since_send": self.counts["unsubscribed"],
                "cleaned_count_since_send": self.counts["cleaned"], "campaign_count": 0, "campaign_last_sent": "",
                "merge_field_count": len(self.merge_fields), "avg_sub_rate": 0, "avg_unsub_rate": 0,
                "target_sub_rate": 0, "open_rate": 0, "click_rate": 0,
                "last_sub_date": self.last_sub_date, "last_unsub_date": self.last_unsub_date,
            }
            if include_total_contacts:
                stats["total_contacts"] = len(self.members)
        href = f"{self.api_root}/lists/{list_id}"
        return {
            "id": list_id, "web_id": 10001, "name": self.audience_name,
            "contact": {"company": self.audience_name, "address1": "1 Example Street", "address2": "", "city": "Berlin",
                        "state": "", "zip": "10115", "country": "DE", "phone": ""},
            "permission_reminder": "You are receiving this email because you are a client of ours.",
            "use_archive_bar": True,
            "campaign_defaults": {"from_name": self.audience_name, "from_email": f"{self.username}@sandbox.invalid",
                                  "subject": "", "language": "en"},
            "notify_on_subscribe": "", "notify_on_unsubscribe": "", "date_created": self.created_at, "list_rating": 0,
            "email_type_option": False, "subscribe_url_short": "", "subscribe_url_long": "", "beamer_address": "",
            "visibility": "prv", "double_optin": False, "has_welcome": False, "marketing_permissions": False,
            "modules": [], "stats": stats, "_links": [link("self", href, "Lists/Response.json")],
        }

    def merge_field_info(self, list_id: str, count: int, offset: int) -> dict:
        """GET /lists/{id}/merge-fields."""
        self.require_list(list_id)
        href = f"{self.api_root}/lists/{list_id}/merge-fields"
        fields = [
            {"merge_id": i, "tag": f.tag, "name": f.name, "type": f.type, "required": f.required, "default_value": "",
             "public": True, "display_order": i + 1, "options": f.options(), "help_text": "", "list_id": list_id,
             "_links": [link("self", f"{href}/{i}", "Lists/MergeFields/Response.json")]}
            for i, f in enumerate(self.merge_fields.values(), start=1)
        ]
        return {"merge_fields": fields[offset:offset + count], "merge_field_limit": MERGE_FIELD_LIMIT,
                "list_id": list_id, "total_items": len(fields),
                "_links": [link("self", href, "Lists/MergeFields/CollectionResponse.json")]}

    def root(self) -> dict:
        """GET / (the API root: the account behind the key)."""
        with self.lock:
            subscribed = self.counts["subscribed"]
        return {
            "account_id": hashlib.md5(f"account:{self.username}".encode()).hexdigest()[:25],
            "login_id": str(int(hashlib.md5(f"login:{self.username}".encode()).hexdigest()[:8], 16)),
            "account_name": self.audience_name, "email": f"{self.username}@sandbox.invalid",
            "first_name": "Studio", "last_name": "Owner", "username": self.username, "avatar_url": "", "role": "owner",
            "member_since": self.created_at, "pricing_plan_type": "monthly", "first_payment": self.created_at,
            "account_timezone": "UTC", "account_industry": "Education and Training",
            "contact": {"company": self.audience_name, "addr1": "1 Example Street", "addr2": "", "city": "Berlin",
                        "state": "", "zip": "10115", "country": "DE"},
            "pro_enabled": False, "last_login": self.created_at, "total_subscribers": subscribed,
            "industry_stats": {"open_rate": 0, "bounce_rate": 0, "click_rate": 0},
            "_links": [link("self", self.api_root + "/", "Root.json")],
        }

    # ----------------------------------------------------------------- writes

    def _changed(self, m: dict | None = None) -> None:
        if m is not None:
            m["last_changed"] = self.now()
        self.on_change()

    def _set_status(self, m: dict, status: str, unsubscribed_by: str = "admin") -> None:
        old = m.get("status")
        if old:
            self.counts[old] -= 1
        self.counts[status] += 1
        m["status"] = status
        now = self.now()
        if status == "subscribed":
            m["timestamp_opt"] = now
            self.last_sub_date = now
        elif status == "unsubscribed":
            m["compliance"] = m["compliance"] or unsubscribed_by == "contact"
            self.last_unsub_date = now
        elif status == "cleaned":
            m["compliance"] = True

    def _create(self, email: str, h: str, status: str, fields: dict, merge: dict, tags: list[str],
                unsubscribed_by: str = "admin") -> dict:
        web_id = self.next_web_id
        self.next_web_id += 1
        key = f"{self.seed}:{web_id}"
        m = {
            "id": h, "email_address": email,
            "unique_email_id": hashlib.md5(f"email:{key}".encode()).hexdigest()[:10],
            "contact_id": hashlib.md5(f"contact:{key}".encode()).hexdigest(), "web_id": web_id,
            "email_type": "html", "status": None, "compliance": False, "merge_fields": merge, "interests": {},
            "language": "", "vip": False, "location": {"latitude": 0, "longitude": 0}, "ip_signup": "",
            "timestamp_signup": "", "ip_opt": "", "timestamp_opt": "", "last_changed": "", "source": "API - Generic",
            "tags": {},
        }
        m.update(fields)
        self._set_status(m, status, unsubscribed_by)
        self._add_tags(m, tags)
        self.members[m["contact_id"]] = m
        self.by_hash[m["id"]] = m["contact_id"]
        self._changed(m)
        return m

    def _add_tags(self, m: dict, names: Iterable[str]) -> bool:
        changed = False
        for name in names:
            if name not in m["tags"]:
                self.tag_ids.setdefault(name, len(self.tag_ids) + 1)
                m["tags"][name] = self.now()
                changed = True
        return changed

    def _check_subscribable(self, m: dict, status: str | None) -> None:
        if status == "subscribed" and m["status"] != "subscribed" and m["compliance"]:
            raise replies.compliance_state(m["email_address"])

    def _check_new_address(self, email: str, h: str) -> None:
        """400 if the address (with hash ``h``) is a member, was permanently deleted or looks fake."""
        if h in self.by_hash:
            raise replies.member_exists(email)
        if h in self.forgotten:
            raise replies.forgotten(email)
        check_real(email)

    def _update(self, m: dict, *, status: str | None, fields: dict, merge: dict, email: str | None) -> None:
        """Apply already validated changes; ``last_changed`` moves only if something changed."""
        changed = False
        for key, value in fields.items():
            if m[key] != value:
                m[key], changed = value, True
        for tag, value in merge.items():
            if m["merge_fields"].get(tag, "") != value:
                m["merge_fields"][tag], changed = value, True
        if status and status != m["status"]:
            self._set_status(m, status)
            changed = True
        if email and email != m["email_address"]:
            new_hash = subscriber_hash(email)
            if new_hash != m["id"]:
                del self.by_hash[m["id"]]
                self.by_hash[new_hash] = m["contact_id"]
                m["id"] = new_hash
            m["email_address"], changed = email, True
        if changed:
            self._changed(m)

    def _new_email(self, m: dict, body: dict) -> str | None:
        """A validated address change from a PUT/PATCH body, or None."""
        if body.get("email_address") is None:
            return None
        email = check_email(body["email_address"])
        h = subscriber_hash(email)
        if h != m["id"]:
            self._check_new_address(email, h)
        return email

    def add_member(self, list_id: str, body: object, skip_merge_validation: bool) -> dict:
        """POST /lists/{id}/members: create only."""
        body = _object(body)
        with self.lock:
            self.require_list(list_id)
            email = check_email(body.get("email_address"))
            status = check_status(body.get("status"), "status", WRITABLE_STATUSES)
            h = subscriber_hash(email)
            existing = self._find(h)
            if existing is not None:
                self._check_subscribable(existing, status)
                raise replies.member_exists(email)
            self._check_new_address(email, h)
            fields = check_optional_fields(body)
            merge = check_merge_fields(body.get("merge_fields"), self.merge_fields, creating=True,
                                       skip_required=skip_merge_validation)
            tags = check_tags(body.get("tags"))
            return self.render(self._create(email, h, status, fields, merge, tags))

    def put_member(self, list_id: str, segment: str, body: object, skip_merge_validation: bool) -> dict:
        """PUT /lists/{id}/members/{hash}: upsert (``status_if_new`` on creation only, ``status`` always)."""
        body = _object(body)
        for key in ("status_if_new", "status"):
            if key in body:
                check_status(body[key], key, WRITABLE_STATUSES)
        with self.lock:
            self.require_list(list_id)
            m = self._find(segment)
            if m is None:
                email = check_email(body.get("email_address"))
                h = subscriber_hash(email)
                self._check_new_address(email, h)  # also the hash-mismatch case: 400 Member Exists
                status = body.get("status_if_new") or body.get("status")
                if status is None:
                    raise replies.field_error("status_if_new", "This value should not be blank.")
                fields = check_optional_fields(body)
                merge = check_merge_fields(body.get("merge_fields"), self.merge_fields, creating=True,
                                           skip_required=skip_merge_validation)
                return self.render(self._create(email, h, status, fields, merge, check_tags(body.get("tags"))))
            return self._change(m, body, status=body.get("status"), skip_merge_validation=skip_merge_validation)

    def patch_member(self, list_id: str, segment: str, body: object, skip_merge_validation: bool) -> dict:
        """PATCH /lists/{id}/members/{hash}: update an existing member (may change its address)."""
        body = _object(body)
        status = check_status(body["status"], "status", PATCH_STATUSES) if "status" in body else None
        with self.lock:
            m = self._member(list_id, segment)
            return self._change(m, body, status=status, skip_merge_validation=skip_merge_validation)

    def _change(self, m: dict, body: dict, *, status: str | None, skip_merge_validation: bool) -> dict:
        self._check_subscribable(m, status)
        email = self._new_email(m, body)
        fields = check_optional_fields(body)
        merge = check_merge_fields(body.get("merge_fields"), self.merge_fields, creating=False,
                                   skip_required=skip_merge_validation, current=m["merge_fields"])
        self._update(m, status=status, fields=fields, merge=merge, email=email)
        return self.render(m)

    def archive_member(self, list_id: str, segment: str) -> None:
        """DELETE /lists/{id}/members/{hash}: archive; 405 for pending, cleaned and archived members."""
        with self.lock:
            m = self._member(list_id, segment)
            if m["status"] in ("pending", "cleaned", "archived"):
                raise replies.method_not_allowed("GET, PUT", "This list member cannot be removed. Can not archive a "
                                                  "contact that is bounced, pending or archived")
            self._set_status(m, "archived")
            self._changed(m)

    def delete_permanent(self, list_id: str, segment: str) -> None:
        """POST .../actions/delete-permanent: erase the member; the address can never be re-added through the API."""
        with self.lock:
            m = self._member(list_id, segment, hash_only=True)
            self._remove(m)
            self.forgotten.add(m["id"])
            self._changed()

    def _remove(self, m: dict) -> None:
        del self.members[m["contact_id"]]
        del self.by_hash[m["id"]]
        self.counts[m["status"]] -= 1

    def update_tags(self, list_id: str, segment: str, body: object) -> None:
        """POST .../tags: add ``active`` and remove ``inactive`` tags; a malformed body changes nothing (still 204)."""
        with self.lock:
            m = self._member(list_id, segment, hash_only=True)
            items = body.get("tags") if isinstance(body, dict) else None
            if not isinstance(items, list):
                return
            valid = [(t["name"].strip(), t["status"]) for t in items
                     if isinstance(t, dict) and isinstance(t.get("name"), str) and t["name"].strip()
                     and t.get("status") in ("active", "inactive")]
            changed = self._add_tags(m, [name for name, state in valid if state == "active"])
            for name in {name for name, state in valid if state == "inactive"}:
                changed = m["tags"].pop(name, None) is not None or changed
            if changed:
                self._changed(m)

    def batch_subscribe(self, list_id: str, body: object, skip_merge_validation: bool, skip_duplicate_check: bool,
                        new_keys: set[str] | None = None, updated_keys: set[str] | None = None) -> dict:
        """POST /lists/{id}: up to 500 members; 200 with per-member ``errors`` (compliance rules apply per member).
        ``new_keys``/``updated_keys`` limit the keys built per member, as ``member_keys`` does for listings."""
        body = _object(body)
        members = body.get("members")
        if not isinstance(members, list):
            raise schema_type("members", "array", members)
        if len(members) > BATCH_SUBSCRIBE_MAX:
            raise replies.field_error("members", f"Array must contain at most {BATCH_SUBSCRIBE_MAX} items")
        for key in ("update_existing", "sync_tags"):
            if key in body and not isinstance(body[key], bool):
                raise schema_type(key, "boolean", body[key])
        new, updated, errors, seen = [], [], [], set()
        with self.lock:
            self.require_list(list_id)
            for item in members:
                raw = item.get("email_address") if isinstance(item, dict) else None
                try:
                    outcome, m = self._batch_one(item, seen, body.get("update_existing", False),
                                                 body.get("sync_tags", False), skip_merge_validation,
                                                 skip_duplicate_check)
                except Problem as p:
                    first = (p.errors or [{}])[0]
                    errors.append({"email_address": raw.strip() if isinstance(raw, str) else "", "error": p.detail,
                                   "error_code": "ERROR_GENERIC", "field": first.get("field", ""),
                                   "field_message": first.get("message", "")})
                    continue
                if outcome == "exists":
                    errors.append({"email_address": m["email_address"], "error_code": "ERROR_CONTACT_EXISTS",
                                   "error": f"{m['email_address']} is already a list member, do you want to update? "
                                            "please provide update_existing:true in the request body",
                                   "field": "", "field_message": ""})
                elif outcome:
                    (new if outcome == "new" else updated).append(m)
            new = list(map(self._renderer(new_keys), new))
            updated = list(map(self._renderer(updated_keys), updated))
        return {"new_members": new, "updated_members": updated, "errors": errors, "total_created": len(new),
                "total_updated": len(updated), "error_count": len(errors),
                "_links": [link("self", f"{self.api_root}/lists/{list_id}", "Lists/BatchPOST-Response.json")]}

    def _batch_one(self, item: object, seen: set[str], update_existing: bool, sync_tags: bool,
                   skip_merge_validation: bool, skip_duplicate_check: bool) -> tuple[str | None, dict | None]:
        """One batch member: ("new"|"updated"|"exists", member), or (None, None) for a skipped duplicate."""
        item = _object(item)
        email = check_email(item.get("email_address"))
        h = subscriber_hash(email)
        if h in seen:
            if skip_duplicate_check:
                return None, None
            raise Problem(400, "Invalid Resource", f"{email} appears more than once in this request.")
        seen.add(h)
        status = check_status(item["status"], "status", PATCH_STATUSES) if "status" in item else None
        tags = check_tags(item.get("tags"))
        m = self._find(h)
        if m is None:
            self._check_new_address(email, h)
            if status is None:
                raise replies.field_error("status", "This value should not be blank.")
            fields = check_optional_fields(item)
            merge = check_merge_fields(item.get("merge_fields"), self.merge_fields, creating=True,
                                       skip_required=skip_merge_validation)
            return "new", self._create(email, h, status, fields, merge, tags)
        if not update_existing:
            return "exists", m
        self._check_subscribable(m, status)
        fields = check_optional_fields(item)
        merge = check_merge_fields(item.get("merge_fields"), self.merge_fields, creating=False,
                                   skip_required=skip_merge_validation, current=m["merge_fields"])
        self._update(m, status=status, fields=fields, merge=merge, email=None)
        tags_changed = self._add_tags(m, tags)
        if sync_tags:
            for name in [n for n in m["tags"] if n not in tags]:
                del m["tags"][name]
                tags_changed = True
        if tags_changed:
            self._changed(m)
        return "updated", m

    def seed_member(self, email: str, status: str = "subscribed", *, unsubscribed_by: str = "contact",
             merge_fields: dict | None = None, tags: Iterable[str] = (), forgotten: bool = False) -> dict | None:
        """Put an address into any state, replacing what is there (no fake-address check); None when forgotten."""
        email = email.strip()
        if status not in ALL_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ALL_STATUSES)}")
        if unsubscribed_by not in ("contact", "admin"):
            raise ValueError("unsubscribed_by must be 'contact' or 'admin'")
        with self.lock:
            merge = check_merge_fields(merge_fields, self.merge_fields, creating=True, skip_required=True)
            h = subscriber_hash(email)
            old = self._find(h)
            if old is not None:
                self._remove(old)
            self.forgotten.discard(h)
            if forgotten:
                self.forgotten.add(h)
                self._changed()
                return None
            m = self._create(email, h, "subscribed" if status == "archived" else status, {}, merge, list(tags),
                             unsubscribed_by=unsubscribed_by)
            if status == "archived":
                self._set_status(m, "archived")
            return self.render(m)


def link(rel: str, href: str, schema: str, method: str = "GET") -> dict:
    """One entry of a resource's ``_links``."""
    return {"rel": rel, "href": href, "method": method,
            "targetSchema": f"https://us1.api.mailchimp.com/schema/3.0/{schema}"}


def _object(body: object) -> dict:
    if not isinstance(body, dict):
        raise schema_type("", "object", body)
    return body
