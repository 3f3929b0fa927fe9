"""Signals for the long-running commands (``sync --all``, ``schedule run``): the first SIGINT/SIGTERM stops starting
new syncs, the second interrupts the running ones at once."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from .. import runlog, state
from ..exit_codes import ExitCode


def hard_stop(log: Callable[[str], None], worker_pids: Iterable[int] = ()) -> None:
    """A second signal: mark the runs in flight of this process and of its (killed) fleet workers ``interrupted`` and
    exit 130 without waiting for them.

    The next run of each business resumes the work (see ``runlog.running``). Never returns.
    """
    try:
        db = state.open_db()
        ids = [run_id for run_id, _, _ in runlog.mark_stopped(db, os.getpid(), *worker_pids)]
        db.conn.close()
        log("interrupted" + (f": run {', '.join(map(str, ids))} marked interrupted; the next run finishes the work"
                             if ids else ""))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(ExitCode.INTERRUPTED)


@contextmanager
def stopping_on_signals(stop: threading.Event, on_first: Callable[[], None] = lambda: None) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM set ``stop`` the first time (and call ``on_first``, which must not
    write output), and raise ``KeyboardInterrupt`` in the main thread the second time.

    Only the main thread can install signal handlers; anywhere else this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame) -> None:  # no output here: the main thread may be writing
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        on_first()

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
