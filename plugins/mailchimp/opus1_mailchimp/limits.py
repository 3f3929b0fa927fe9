"""Mailchimp's size limits on what a member may carry, and the bounding of one member's outgoing fields.

Sources (docs/mailchimp.md, "Size limits"): text merge fields hold at most 255 bytes and Mailchimp clips longer
values itself (Mailchimp help, "Format guidelines for your import file"); an address is at most 254 characters
(RFC 5321 path limit; Mailchimp documents none of its own); Mailchimp documents no tag length for the Marketing
API, so tags are bounded at 100 characters like the settings' own tags. A value is cut the way Mailchimp would
(at a character boundary within the byte limit), a tag that is too long is left out (a cut tag would be another
tag), and an address that is too long refuses the contact: each with a note naming the field, for the run log.
"""

from __future__ import annotations

from dataclasses import dataclass

MERGE_FIELD_MAX_BYTES = 255
TAG_MAX_CHARS = 100
EMAIL_MAX_CHARS = 254


@dataclass(frozen=True)
class Bounded:
    """One member's fields as they may be sent, and what had to change."""

    merge_fields: dict
    tags: frozenset[str]
    notes: tuple[str, ...] = ()
    """What was cut or left out, in words (empty when nothing was)."""
    refused: str | None = None
    """Why the member cannot be sent at all (its address is too long), else ``None``."""


def bound_member(email: str, merge_fields: dict, tags: frozenset[str] | set[str]) -> Bounded:
    """``merge_fields`` with each text value cut to Mailchimp's 255 bytes, ``tags`` without those over 100
    characters, and a refusal when ``email`` is longer than an address can be."""
    if len(email) > EMAIL_MAX_CHARS:
        return Bounded({}, frozenset(), (), f"the address is {len(email)} characters long; at most "
                                            f"{EMAIL_MAX_CHARS} can be sent")
    notes = []
    fields = {}
    for tag, value in merge_fields.items():
        if isinstance(value, str):
            cut = cut_text(value, MERGE_FIELD_MAX_BYTES)
            if cut is not value:
                notes.append(f"{tag} cut to {len(cut.encode())} bytes (it had {len(value):,} characters; Mailchimp "
                             f"keeps at most {MERGE_FIELD_MAX_BYTES} bytes)")
            value = cut
        fields[tag] = value
    kept = frozenset(t for t in tags if len(t) <= TAG_MAX_CHARS)
    if len(kept) == len(tags):
        return Bounded(fields, kept, tuple(notes))
    for tag in sorted(set(tags) - kept):
        notes.append(f"tag {tag[:40]!r}… left out: {len(tag)} characters, at most {TAG_MAX_CHARS} are sent")
    return Bounded(fields, kept, tuple(notes))


def cut_text(value: str, max_bytes: int) -> str:
    """``value`` itself when its UTF-8 form fits in ``max_bytes``, else its longest prefix that does."""
    if len(value) * 4 <= max_bytes:  # a character is at most four bytes: it fits
        return value
    head = value[:max_bytes]  # a character is at least one byte: never more than this is needed
    encoded = head.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes and len(head) == len(value):
        return value
    return encoded[:max_bytes].decode("utf-8", "ignore")

