"""Time as Mailchimp writes it: ``2026-06-03T21:30:56+00:00``, whole seconds, UTC."""

from __future__ import annotations

from datetime import datetime, timezone

from . import replies


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
