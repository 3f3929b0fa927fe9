"""One lock per business and integration, so two processes never sync the same audience at once."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from .errors import OperationFailed
from .state import home


def lock_path(business: str, integration: str) -> Path:
    """The lock file guarding one business's runs of one integration."""
    return home() / "locks" / f"{quote(business, safe='')}.{quote(integration, safe='')}.lock"


class Locked(OperationFailed):
    """Another process holds the business's lock for this integration (exit 1)."""


_WAIT_POLL = 0.05
_open: set[int] = set()  # this process's descriptors of lock files (held, or being tried)


def _close_inherited() -> None:
    """In a forked child: close the lock files the parent had open. A ``flock`` belongs to the open file, which the
    child shares, so the child's copies would keep the parent's locks held for as long as the child lives; closing
    a copy never releases the parent's lock."""
    for fd in list(_open):
        try:
            os.close(fd)
        except OSError:
            pass
    _open.clear()


os.register_at_fork(after_in_child=_close_inherited)


def _open_lock_file(path: Path) -> int:
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    _open.add(fd)
    return fd


def _close(fd: int) -> None:
    _open.discard(fd)
    os.close(fd)


@contextmanager
def business_lock(
    business: str, integration: str, *, wait: bool = False, stop: threading.Event | None = None
) -> Iterator[None]:
    """Hold the business's lock; released when the block ends or the process dies (the kernel drops a dead
    process's ``flock``, so a killed run never leaves a stale lock).

    When another process holds it: raise ``Locked`` at once, or with ``wait`` poll until it is free. A waiter
    gives up with ``Locked`` when ``stop`` is set (a stopping scheduler must not start new runs).
    """
    path = lock_path(business, integration)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = _open_lock_file(path)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or (stop is not None and stop.is_set()):
                    raise Locked(
                        f"another {integration} run for business {business!r} is in progress",
                        hint="wait for it to finish; `opus1-int runs` shows it; `sync --wait` waits for it",
                    ) from None
            # Polling, not a blocking flock: a waiting worker thread must notice ``stop``.
            if stop is not None:
                stop.wait(_WAIT_POLL)
            else:
                time.sleep(_WAIT_POLL)
        yield
    finally:
        _close(fd)


def lock_is_free(business: str, integration: str) -> bool:
    """Whether no process holds the business's lock (a ``running`` run without a holder was interrupted)."""
    path = lock_path(business, integration)
    if not path.exists():
        return True
    fd = _open_lock_file(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        _close(fd)
    return True
