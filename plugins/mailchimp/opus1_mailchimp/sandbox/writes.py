"""The write endpoints and the transitions they make, held to the behaviour table in docs/sandbox.md.

Creating (POST, PUT of a new address, batch subscribe of a new address) and changing (PUT, PATCH, batch subscribe
with ``update_existing``) each go through one path here, so the rules (compliance state, forgotten and fake-looking
addresses, merge-field checks) apply the same way whatever the endpoint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from . import replies
from .account import Account
from .audience import Audience
from .render import Renderer, link
from .replies import Problem, schema_type
from .rules import (ALL_STATUSES, WRITABLE_STATUSES, check_choice, check_email, check_merge_fields,
                    check_optional_fields, check_real, check_tags, subscriber_hash)

BATCH_SUBSCRIBE_MAX = 500


def add_member(account: Account, list_id: str, body: object, skip_merge_validation: bool) -> dict:
    """POST /lists/{id}/members: create only."""
    body = _object(body)
    with account.lock:
        audience = account.audience(list_id)
        email = check_email(body.get("email_address"))
        status = check_choice(body.get("status"), "status", WRITABLE_STATUSES)
        h = subscriber_hash(email)
        existing = audience.find(h)
        if existing is not None:
            _check_subscribable(existing, status)
            raise replies.member_exists(email)
        m = _new(account, audience, email, h, status, "status", body, skip_merge_validation)
        return Renderer(audience, account.api_root)(m)


def put_member(account: Account, list_id: str, segment: str, body: object, skip_merge_validation: bool) -> dict:
    """PUT /lists/{id}/members/{hash}: upsert (``status_if_new`` on creation only, ``status`` always)."""
    body = _object(body)
    for key in ("status_if_new", "status"):
        if key in body:
            check_choice(body[key], key, WRITABLE_STATUSES)
    with account.lock:
        audience = account.audience(list_id)
        m = audience.find(segment)
        if m is None:  # also the hash-mismatch case: the address exists under another hash, so 400 Member Exists
            email = check_email(body.get("email_address"))
            status = body.get("status_if_new") or body.get("status")
            m = _new(account, audience, email, subscriber_hash(email), status, "status_if_new", body,
                     skip_merge_validation)
        else:
            _change(account, audience, m, body, body.get("status"), skip_merge_validation)
        return Renderer(audience, account.api_root)(m)


def patch_member(account: Account, list_id: str, segment: str, body: object, skip_merge_validation: bool) -> dict:
    """PATCH /lists/{id}/members/{hash}: update an existing member (may change its address)."""
    body = _object(body)
    status = check_choice(body["status"], "status", WRITABLE_STATUSES) if "status" in body else None
    with account.lock:
        audience = account.audience(list_id)
        m = audience.get(segment)
        _change(account, audience, m, body, status, skip_merge_validation)
        return Renderer(audience, account.api_root)(m)


def archive_member(account: Account, list_id: str, segment: str) -> None:
    """DELETE /lists/{id}/members/{hash}: archive; 405 for pending, cleaned and archived members."""
    with account.lock:
        audience = account.audience(list_id)
        m = audience.get(segment)
        if m["status"] in ("pending", "cleaned", "archived"):
            raise replies.method_not_allowed("GET, PUT", "This list member cannot be removed. Can not archive a "
                                              "contact that is bounced, pending or archived")
        audience.set_status(m, "archived", account.now())
        account.changed(m)


def delete_permanent(account: Account, list_id: str, segment: str) -> None:
    """POST .../actions/delete-permanent: erase the member; the address can never be re-added through the API."""
    with account.lock:
        audience = account.audience(list_id)
        m = audience.get(segment, hash_only=True)
        audience.remove(m)
        audience.forgotten.add(m["id"])
        account.changed()


def update_tags(account: Account, list_id: str, segment: str, body: object) -> None:
    """POST .../tags: add ``active`` and remove ``inactive`` tags; a malformed body changes nothing (still 204)."""
    with account.lock:
        audience = account.audience(list_id)
        m = audience.get(segment, hash_only=True)
        items = body.get("tags") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return
        valid = [(t["name"].strip(), t["status"]) for t in items
                 if isinstance(t, dict) and isinstance(t.get("name"), str) and t["name"].strip()
                 and t.get("status") in ("active", "inactive")]
        changed = audience.tag(m, [name for name, state in valid if state == "active"], account.now())
        for name in {name for name, state in valid if state == "inactive"}:
            changed = m["tags"].pop(name, None) is not None or changed
        if changed:
            account.changed(m)


def batch_subscribe(account: Account, list_id: str, body: object, skip_merge_validation: bool,
                    skip_duplicate_check: bool, new_keys: set[str] | None = None,
                    updated_keys: set[str] | None = None) -> dict:
    """POST /lists/{id}: up to 500 members; 200 with per-member ``errors`` (the single-member rules apply per
    member). ``new_keys``/``updated_keys`` limit the keys built per member, as ``member_keys`` does for listings."""
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
    with account.lock:
        audience = account.audience(list_id)
        for item in members:
            raw = item.get("email_address") if isinstance(item, dict) else None
            try:
                outcome, m = _batch_one(account, audience, item, seen, body.get("update_existing", False),
                                        body.get("sync_tags", False), skip_merge_validation, skip_duplicate_check)
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
        render = Renderer(audience, account.api_root)
        new = list(map(render.only(new_keys), new))
        updated = list(map(render.only(updated_keys), updated))
    return {"new_members": new, "updated_members": updated, "errors": errors, "total_created": len(new),
            "total_updated": len(updated), "error_count": len(errors),
            "_links": [link("self", f"{account.api_root}/lists/{list_id}", "Lists/BatchPOST-Response.json")]}


def _batch_one(account: Account, audience: Audience, item: object, seen: set[str], update_existing: bool,
               sync_tags: bool, skip_merge_validation: bool, skip_duplicate_check: bool) -> tuple[str | None, dict | None]:
    """One batch member: ("new"|"updated"|"exists", member), or (None, None) for a skipped duplicate."""
    item = _object(item)
    email = check_email(item.get("email_address"))
    h = subscriber_hash(email)
    if h in seen:
        if skip_duplicate_check:
            return None, None
        raise Problem(400, "Invalid Resource", f"{email} appears more than once in this request.")
    seen.add(h)
    status = check_choice(item["status"], "status", WRITABLE_STATUSES) if "status" in item else None
    tags = check_tags(item.get("tags"))
    m = audience.find(h)
    if m is None:
        return "new", _new(account, audience, email, h, status, "status", item, skip_merge_validation, tags)
    if not update_existing:
        return "exists", m
    _change(account, audience, m, item, status, skip_merge_validation, address_change=False)
    tags_changed = audience.tag(m, tags, account.now())
    if sync_tags:
        for name in [n for n in m["tags"] if n not in tags]:
            del m["tags"][name]
            tags_changed = True
    if tags_changed:
        account.changed(m)
    return "updated", m


def seed_member(account: Account, list_id: str, email: str, status: str = "subscribed", *,
                unsubscribed_by: str = "contact", unsubscribe_reason: str | None = None,
                merge_fields: dict | None = None, tags: Iterable[str] = (), forgotten: bool = False) -> dict | None:
    """Put an address into any state, replacing what is there (no fake-address check); None when forgotten."""
    email = email.strip()
    if status not in ALL_STATUSES:
        raise ValueError(f"status must be one of {', '.join(ALL_STATUSES)}")
    if unsubscribed_by not in ("contact", "admin"):
        raise ValueError("unsubscribed_by must be 'contact' or 'admin'")
    with account.lock:
        audience = account.audience(list_id)
        merge = check_merge_fields(merge_fields, audience.merge_fields, creating=True, skip_required=True)
        h = subscriber_hash(email)
        old = audience.find(h)
        if old is not None:
            audience.remove(old)
        audience.forgotten.discard(h)
        if forgotten:
            audience.forgotten.add(h)
            account.changed()
            return None
        m = _create(account, audience, email, h, "subscribed" if status == "archived" else status, {}, merge,
                    list(tags), unsubscribed_by, unsubscribe_reason)
        if status == "archived":
            audience.set_status(m, "archived", account.now())
        return Renderer(audience, account.api_root)(m)


def _new(account: Account, audience: Audience, email: str, h: str, status: str | None, status_field: str,
         body: dict, skip_merge_validation: bool, tags: list[str] | None = None) -> dict:
    """Create a member from a request body after the rules for new addresses; 400 if any fails."""
    _check_new_address(audience, email, h)
    if status is None:
        raise replies.field_error(status_field, "This value should not be blank.")
    fields = check_optional_fields(body)
    merge = check_merge_fields(body.get("merge_fields"), audience.merge_fields, creating=True,
                               skip_required=skip_merge_validation)
    return _create(account, audience, email, h, status, fields, merge,
                   check_tags(body.get("tags")) if tags is None else tags)


def _create(account: Account, audience: Audience, email: str, h: str, status: str, fields: dict, merge: dict,
            tags: list[str], unsubscribed_by: str = "admin", reason: str | None = None) -> dict:
    web_id = account.next_web_id
    account.next_web_id += 1
    key = f"{account.seed}:{web_id}"
    m = {
        "id": h, "email_address": email,
        "unique_email_id": hashlib.md5(f"email:{key}".encode()).hexdigest()[:10],
        "contact_id": hashlib.md5(f"contact:{key}".encode()).hexdigest(), "web_id": web_id,
        "email_type": "html", "status": None, "unsubscribe_reason": "", "compliance": False, "merge_fields": merge,
        "interests": {}, "language": "", "vip": False, "location": {"latitude": 0, "longitude": 0}, "ip_signup": "",
        "timestamp_signup": "", "ip_opt": "", "timestamp_opt": "", "last_changed": "", "source": "API - Generic",
        "tags": {},
    }
    m.update(fields)
    now = account.now()
    audience.set_status(m, status, now, unsubscribed_by, reason)
    audience.tag(m, tags, now)
    audience.add(m)
    account.changed(m)
    return m


def _change(account: Account, audience: Audience, m: dict, body: dict, status: str | None,
            skip_merge_validation: bool, *, address_change: bool = True) -> None:
    """Apply a PUT/PATCH/batch body to an existing member; ``last_changed`` moves only if something changed."""
    _check_subscribable(m, status)
    email = _new_email(audience, m, body) if address_change else None
    fields = check_optional_fields(body)
    merge = check_merge_fields(body.get("merge_fields"), audience.merge_fields, creating=False,
                               skip_required=skip_merge_validation, current=m["merge_fields"])
    changed = False
    for key, value in fields.items():
        if m[key] != value:
            m[key], changed = value, True
    for tag, value in merge.items():
        if m["merge_fields"].get(tag, "") != value:
            m["merge_fields"][tag], changed = value, True
    if status and status != m["status"]:
        audience.set_status(m, status, account.now())
        changed = True
    if email and email != m["email_address"]:
        audience.rehash(m, email)
        changed = True
    if changed:
        account.changed(m)


def _new_email(audience: Audience, m: dict, body: dict) -> str | None:
    """A validated address change from a PUT/PATCH body, or None."""
    if body.get("email_address") is None:
        return None
    email = check_email(body["email_address"])
    h = subscriber_hash(email)
    if h != m["id"]:
        _check_new_address(audience, email, h)
    return email


def _check_new_address(audience: Audience, email: str, h: str) -> None:
    """400 if the address (with hash ``h``) is a member, was permanently deleted or looks fake."""
    if h in audience.by_hash:
        raise replies.member_exists(email)
    if h in audience.forgotten:
        raise replies.forgotten(email)
    check_real(email)


def _check_subscribable(m: dict, status: str | None) -> None:
    """400 Member In Compliance State for subscribing someone who unsubscribed themselves or bounced."""
    if status == "subscribed" and m["status"] != "subscribed" and m["compliance"]:
        raise replies.compliance_state(m["email_address"])


def _object(body: object) -> dict:
    if not isinstance(body, dict):
        raise schema_type("", "object", body)
    return body
