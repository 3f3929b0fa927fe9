"""The one clock: the current time in UTC, and the ISO 8601 text the database stores and commands show."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]
"""A time source: ``utcnow``, or a test's or benchmark's own."""


def utcnow() -> datetime:
    """The current time, aware, in UTC (functions that must be testable take ``now`` from their caller)."""
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    """A moment as stored and shown: ISO 8601 in UTC with microseconds (``2026-11-20T08:00:00.250000+00:00``; a
    moment on a whole second is written without them, ``2026-11-20T08:00:00+00:00``, as Python does). ``None`` stays
    ``None``.

    Stored times sort as text in time order, and compare with each other exactly, rows written before sub-second
    times included: the fraction has six digits, and at the same second ``+`` sorts before ``.``, as the whole second
    comes before its fractions.
    """
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def now() -> str:
    """The current time as stored in the database: ISO 8601 text in UTC, with microseconds."""
    return iso(utcnow())


def parse(text: str) -> datetime:
    """Stored ISO 8601 text (with or without fractions of a second) as an aware datetime; naive text is UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def to_the_second(text: str | None) -> str:
    """Stored ISO 8601 text as people read it, to the second, in UTC: ``2026-11-29 21:47:05 UTC`` (``""`` for none)."""
    return parse(text).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if text else ""
