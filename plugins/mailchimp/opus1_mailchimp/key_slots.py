"""Mailchimp's 10 simultaneous connections per API key, counted across every client of this process.

Two businesses may share one API key (one Mailchimp account, two audiences). ``sync --all`` runs businesses in
parallel, each client within its own ``max_connections``; without a count per key they would together open up to
20 connections and get 429s from their own concurrency. The registry is keyed by a salted SHA-256 of the key, so no
structure here holds the key itself.
"""

from __future__ import annotations

import hashlib
import threading

#: Mailchimp's limit of simultaneous connections per API key (docs: Fundamentals, "API limits").
CONNECTIONS_PER_KEY = 10

_slots: dict[str, threading.BoundedSemaphore] = {}
_lock = threading.Lock()


def key_id(api_key: str) -> str:
    """A short id for a key that does not reveal it."""
    return hashlib.sha256(b"opus1-mailchimp-connections:" + api_key.encode()).hexdigest()[:16]


def slots_for(api_key: str) -> threading.BoundedSemaphore:
    """The process-wide semaphore of the key's connections (the same object for every client of the key)."""
    ident = key_id(api_key)
    with _lock:
        slots = _slots.get(ident)
        if slots is None:
            slots = _slots[ident] = threading.BoundedSemaphore(CONNECTIONS_PER_KEY)
        return slots
