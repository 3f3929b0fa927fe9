"""The process-wide secret scrubber: every secret value this process has resolved is removed from any text before
it is shown, logged or stored."""

from __future__ import annotations

import os
import threading

REDACTED = "********"
_known: set[str] = set()
_lock = threading.Lock()


def _new_lock() -> None:
    """In a forked child (a fleet's worker process): a lock of its own, in case another thread held the parent's."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock)


def remember(secret: str) -> None:
    """Add a secret value to the ones ``scrub`` removes (empty values are ignored)."""
    if secret:
        with _lock:
            _known.add(secret)


def scrub(text: str) -> str:
    """``text`` with every remembered secret replaced by ``********``."""
    with _lock:
        known = list(_known)
    for secret in known:
        text = text.replace(secret, REDACTED)
    return text
