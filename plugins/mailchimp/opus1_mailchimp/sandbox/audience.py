"""One audience (Mailchimp's "list"): its merge fields and members, their indexes and counters, as plain data.

Members live in a dict keyed by contact id in insertion order (an address change keeps a member's place);
``by_hash`` indexes them by subscriber hash, and per-status counts make list stats and status-filtered totals O(1).
A stored member is a dict of the API's own keys plus ``compliance`` (True once the contact unsubscribed themselves
or bounced: the API can then never subscribe them again) and ``tags`` as ``{name: date added}``.
Callers hold the account's lock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict

from . import replies
from .rules import MergeField, is_hash, merge_field, subscriber_hash

ADMIN_UNSUBSCRIBE = "N/A (Unsubscribed by admin)"  # what an unsubscribe through the API shows [S-shashanksmf-crm]
CONTACT_UNSUBSCRIBE = "Unspecified"  # a contact's own unsubscribe without a reason given [unverified]


class Audience:
    """One list: id, name, merge fields, members, forgotten addresses, tag ids and per-status counts."""

    def __init__(self, list_id: str, name: str, merge_fields: Iterable[str | dict]):
        self.id = list_id
        self.name = name
        self.merge_fields: dict[str, MergeField] = {f.tag: f for f in map(merge_field, merge_fields)}
        self.clear()

    def clear(self) -> None:
        """No members, tags or forgotten addresses."""
        self.members: dict[str, dict] = {}  # contact_id -> stored member
        self.by_hash: dict[str, str] = {}  # subscriber hash -> contact_id
        self.forgotten: set[str] = set()  # hashes of permanently deleted addresses
        self.tag_ids: dict[str, int] = {}
        self.counts: Counter[str] = Counter()
        self.last_sub_date = ""
        self.last_unsub_date = ""

    def find(self, segment: str, *, hash_only: bool = False) -> dict | None:
        """The member a path segment names: subscriber hash, contact id or (unless ``hash_only``) the address."""
        if is_hash(segment):
            return self.members.get(self.by_hash.get(segment, segment))
        if hash_only or "@" not in segment:
            return None
        cid = self.by_hash.get(subscriber_hash(segment))
        return self.members.get(cid) if cid else None

    def get(self, segment: str, *, hash_only: bool = False) -> dict:
        """The member a path segment names; 404 Resource Not Found if none."""
        member = self.find(segment, hash_only=hash_only)
        if member is None:
            raise replies.not_found()
        return member

    def add(self, m: dict) -> None:
        """Index a new member (its status is counted by :meth:`set_status`)."""
        self.members[m["contact_id"]] = m
        self.by_hash[m["id"]] = m["contact_id"]

    def remove(self, m: dict) -> None:
        """Drop a member from the indexes and counts."""
        del self.members[m["contact_id"]]
        del self.by_hash[m["id"]]
        self.counts[m["status"]] -= 1

    def rehash(self, m: dict, email: str) -> None:
        """Give a member a new address (and so a new id), keeping its place."""
        new_hash = subscriber_hash(email)
        if new_hash != m["id"]:
            del self.by_hash[m["id"]]
            self.by_hash[new_hash] = m["contact_id"]
            m["id"] = new_hash
        m["email_address"] = email

    def set_status(self, m: dict, status: str, now: str, unsubscribed_by: str = "admin",
                   reason: str | None = None) -> None:
        """Move a member to ``status``: counts, opt-in time, list dates, compliance state and unsubscribe reason."""
        if m["status"]:
            self.counts[m["status"]] -= 1
        self.counts[status] += 1
        m["status"] = status
        if status == "subscribed":
            m["timestamp_opt"] = self.last_sub_date = now
        elif status == "unsubscribed":
            by_contact = unsubscribed_by == "contact"
            m["compliance"] = m["compliance"] or by_contact
            m["unsubscribe_reason"] = reason or (CONTACT_UNSUBSCRIBE if by_contact else ADMIN_UNSUBSCRIBE)
            self.last_unsub_date = now
        elif status == "cleaned":
            m["compliance"] = True

    def tag(self, m: dict, names: Iterable[str], now: str) -> bool:
        """Add tags (new names get the next tag id); whether anything changed."""
        changed = False
        for name in names:
            if name not in m["tags"]:
                self.tag_ids.setdefault(name, len(self.tag_ids) + 1)
                m["tags"][name] = now
                changed = True
        return changed

    def snapshot(self) -> dict:
        """This audience as JSON-able data (for the state file)."""
        return {"id": self.id, "name": self.name, "merge_fields": [asdict(f) for f in self.merge_fields.values()],
                "members": list(self.members.values()), "forgotten": sorted(self.forgotten), "tag_ids": self.tag_ids,
                "last_sub_date": self.last_sub_date, "last_unsub_date": self.last_unsub_date}

    def restore(self, data: dict) -> None:
        """Load the members, forgotten addresses and counters of a :meth:`snapshot` (not its definition)."""
        self.members = {m["contact_id"]: {"unsubscribe_reason": "", **m} for m in data["members"]}
        self.by_hash = {m["id"]: cid for cid, m in self.members.items()}
        self.forgotten = set(data["forgotten"])
        self.tag_ids = dict(data["tag_ids"])
        self.counts = Counter(m["status"] for m in self.members.values())
        self.last_sub_date = data["last_sub_date"]
        self.last_unsub_date = data["last_unsub_date"]
