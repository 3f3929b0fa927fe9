"""Loaded exports, kept for reuse while the file is unchanged: reading and deciding a 100,000-contact export takes
seconds, and the pages that need it (errors, check, verify) must answer in milliseconds.

Only a long-running front door keeps exports (``keep_loaded``: the web app); a one-shot command loads the file and
closes it as before. A loaded audience is read-only, so threads share it (its queries take turns). The cache holds a
few exports and drops one as soon as its file's size or modification time changes.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ..contacts import Audience, load_audience

T = TypeVar("T")
KEEP = 4  # exports kept loaded at once (a few businesses' pages in use)

_keeping = False
_lock = threading.Lock()
_loading: dict[Path, threading.Lock] = {}
_derived: "weakref.WeakKeyDictionary[Audience, dict[str, object]]" = weakref.WeakKeyDictionary()
_cache: "OrderedDict[Path, tuple[tuple[int, int], Audience, threading.Lock]]" = OrderedDict()


def keep_loaded() -> None:
    """Keep exports loaded from now on in this process (closed, and their temporary files removed, at exit)."""
    global _keeping
    if not _keeping:
        _keeping = True
        atexit.register(forget)


def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@contextmanager
def shared_audience(path: str | Path) -> Iterator[Audience]:
    """The export's audience, loaded once while the file is unchanged; the block has it to itself (other threads
    wait), and it stays loaded afterwards (with ``keep_loaded``). Raises ``ExportRejected`` as ``load_audience`` does."""
    if not _keeping:
        with load_audience(path) as audience:
            yield audience
        return
    path = Path(path).resolve()
    with _lock:
        loading = _loading.setdefault(path, threading.Lock())
    with loading:  # one thread loads a given file; the others wait for it, then share it
        try:
            signature = _signature(path)
        except OSError:
            signature = None
        with _lock:
            cached = _cache.get(path)
        if cached is None or cached[0] != signature:
            audience = load_audience(path)  # a missing or malformed file raises here, as before
            fresh = (_signature(path), audience, threading.Lock())
            with _lock:
                stale = [_cache.pop(path)] if path in _cache else []
                _cache[path] = fresh
                while len(_cache) > KEEP:
                    stale.append(_cache.popitem(last=False)[1])
            for _, old, in_use in stale:
                with in_use:
                    old.close()
            cached = fresh
        with _lock:
            _cache.move_to_end(path)
        _, audience, in_use = cached
        in_use.acquire()  # before another thread may replace (and close) it
    try:
        yield audience
    finally:
        in_use.release()


def derived(path: str | Path, name: str, work: Callable[[Audience], T]) -> T:
    """``work(audience)`` for the export, worked out once per loaded export and kept with it under ``name`` (a
    service's own view of the export, e.g. its data-quality findings)."""
    with shared_audience(path) as audience:
        kept = _derived.setdefault(audience, {})
        if name not in kept:
            kept[name] = work(audience)
        return kept[name]


def warm(path: str | Path, *works: Callable[[str | Path], object]) -> None:
    """Load an export into the cache if it is not there yet, then run ``works`` on its path (services' ``derived``
    views): a page does this in the background, so that the pages that need the export answer quickly afterwards. A
    rejected export is left for those pages to report."""
    try:
        with shared_audience(path):
            pass
        for work in works:
            work(path)
    except Exception:  # the page that needs it shows the problem in words
        pass


def forget() -> None:
    """Close and drop every cached export (tests)."""
    with _lock:
        entries = list(_cache.values())
        _cache.clear()
    for _, audience, in_use in entries:
        with in_use:
            audience.close()
