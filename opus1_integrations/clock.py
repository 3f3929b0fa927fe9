"""The one clock: the current time in UTC, and the ISO 8601 text the database stores and commands show."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """The current time, aware, in UTC (functions that must be testable take ``now`` from their caller)."""
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    """A moment as stored and shown: ISO 8601 in UTC, to the second (``None`` stays ``None``)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds") if moment else None


def now() -> str:
    """The current time as stored in the database: ISO 8601 text in UTC."""
    return iso(utcnow())


def parse(text: str) -> datetime:
    """Stored ISO 8601 text as an aware datetime (naive text is taken as UTC)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
