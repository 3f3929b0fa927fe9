"""Business (studio) ids: what a valid one looks like, so that one id means one business in file names, logs and
URLs alike."""

from __future__ import annotations

import re

from .errors import UsageError

PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
RULE = "1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit"


def business_id(text: str) -> str:
    """``text`` when it is a valid business id; ``UsageError`` (exit 2) saying what one looks like otherwise."""
    if not isinstance(text, str) or not PATTERN.fullmatch(text):
        shown = repr(text) if len(str(text)) <= 40 else repr(str(text)[:40]) + "..."
        raise UsageError(f"{shown} is not a business id: use {RULE}", hint="for example --business riverside-music")
    return text
