"""Looking members up live, one client at a time: the ``check`` and ``verify`` commands."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .checks import merge_tags
from .client import ApiError, Mailchimp
from .connection import connect
from .planner import Policy
from .sender import subscriber_hash

FIELDS = ["email_address", "status", "unsubscribe_reason", "merge_fields", "tags", "last_changed"]
MEMBER_SHAPE = {"email_address": str, "status": str, "unsubscribe_reason?": str, "merge_fields?": dict,
                "tags?": [{"name": str}], "last_changed?": str}


def fetch_member(mc: Mailchimp, audience_id: str, key: str) -> dict | None:
    """The member's state in Mailchimp, or ``None`` when the address is not in the audience."""
    try:
        data = mc.call(mc.lists.get_list_member, audience_id, subscriber_hash(key), fields=FIELDS, shape=MEMBER_SHAPE)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise exc.to_host_error() from None
    return {
        "status": data.get("status"),
        "unsubscribe_reason": data.get("unsubscribe_reason"),
        "email": data.get("email_address"),
        "merge_fields": data.get("merge_fields") or {},
        "tags": sorted(t["name"] for t in data.get("tags") or []),
        "last_changed": data.get("last_changed"),
    }


def lookup_members(settings: dict, keys: list[str]) -> dict[str, dict | None]:
    """Each key's live member (or ``None``)."""
    mc = connect(settings, interactive=True)
    try:
        return {key: fetch_member(mc, settings["audience_id"], key) for key in keys}
    finally:
        mc.close()


def verify_contacts(settings: dict, contacts: list) -> list[dict]:
    """For each contact: is it in the audience, and does a subscribed member carry its names and tags?"""
    mc = connect(settings, interactive=True)
    try:
        policy = Policy.from_settings(settings, merge_tags(mc, settings["audience_id"]))
        with ThreadPoolExecutor(max_workers=mc.max_connections) as pool:
            members = list(pool.map(lambda c: fetch_member(mc, settings["audience_id"], c.key), contacts))
    finally:
        mc.close()
    results = []
    for contact, member in zip(contacts, members):
        problems = []
        if member is None:
            problems.append("not in the audience")
        elif member["status"] == "subscribed":
            sent = policy.outgoing(contact)
            for tag, value in sent.merge_fields.items():
                if (member["merge_fields"].get(tag) or "") != value:
                    problems.append(f"{tag} is {member['merge_fields'].get(tag)!r}, opus1 has {value!r}")
            missing = sent.tags - set(member["tags"])
            if missing:
                problems.append("missing tags: " + ", ".join(sorted(missing)))
        results.append({"key": contact.key, "ok": not problems, "problems": problems,
                        "status": member["status"] if member else None})
    return results
