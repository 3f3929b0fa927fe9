"""Where a fleet's syncs run: worker processes, each with a few threads (every core busy), or threads of this process.

``ProcessWorkers`` forks its workers (the ``fork`` start method): a worker starts with everything this process has
loaded, the installed plugins and any plugin registered in-process (as tests do) alike, and no import or
plugin-loading costs of its own. Each worker runs its tasks in a thread pool (``jobs / processes`` threads); this
process hands out tasks one at a time to the least busy worker, at most ``jobs`` at once in all, and reads their
results from a pipe per worker. Nothing runs a task here: the waiting loop of the caller (``wait``) moves the
messages, so every worker is forked by the caller's thread.

A worker ignores SIGINT and SIGTERM (a terminal's Ctrl-C reaches the whole process group; this process decides how to
stop: ``signal_stop`` passes the first signal on), and dies with this process (Linux's parent-death signal; elsewhere
it finishes its tasks when its pipe closes). A worker that dies (a crash in a plugin, the OOM killer) fails only the
tasks it was running, with ``WorkerDied``; the next task gets a new worker.

``ThreadWorkers`` has the same interface over a thread pool of this process (``--processes 0``).
"""

from __future__ import annotations

import ctypes
import math
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_ready

_PR_SET_PDEATHSIG = 1  # prctl(2)
_PUMP = 0.2  # the longest a waiting caller goes without looking at its futures (and the stop event)


def default_processes() -> int:
    """The CPUs this process may run on: one worker process per core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class WorkerDied(Exception):
    """The worker process running a task died before it answered (the task's result is lost)."""

    def __init__(self, pid: int, exitcode: int | None):
        self.pid = pid
        self.exitcode = exitcode
        if exitcode is not None and exitcode < 0:
            how = f"killed by {signal.Signals(-exitcode).name}"
        else:
            how = f"exit code {exitcode}"
        super().__init__(f"the worker process {pid} died ({how})")


class ThreadWorkers:
    """Tasks in a thread pool of this process, ``jobs`` at a time."""

    def __init__(self, handler: Callable, jobs: int):
        self.handler = handler
        self.pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="opus1-sync")
        self.pids: list[int] = []

    def submit(self, *args) -> Future:
        """Run ``handler(*args)`` in a thread."""
        return self.pool.submit(self.handler, *args)

    def wait(self, futures: Iterable[Future], timeout: float) -> set[Future]:
        """The futures done within ``timeout`` seconds (returns as soon as one is)."""
        futures = list(futures)
        if not futures:
            time.sleep(timeout)
            return set()
        return wait_for_futures(list(futures), timeout=timeout, return_when=FIRST_COMPLETED).done

    def signal_stop(self) -> None:
        """Nothing to pass on: the threads share the caller's stop event."""

    def shutdown(self, *, kill: bool = False) -> None:
        """Cancel the tasks not started; wait for the running ones unless ``kill`` (they are left to the process's
        end)."""
        self.pool.shutdown(wait=not kill, cancel_futures=True)


def sleep(workers: ThreadWorkers | ProcessWorkers, futures: Iterable[Future], wake: threading.Event,
          seconds: float) -> None:
    """Wait until one of ``futures`` is done, ``wake`` is set or ``seconds`` pass, moving the workers' messages."""
    futures = list(futures)
    deadline = time.monotonic() + seconds
    while not wake.is_set() and (left := deadline - time.monotonic()) > 0:
        if workers.wait(futures, min(left, _PUMP)):
            return


@dataclass(eq=False)
class _Worker:
    process: object
    conn: Connection
    running: dict[int, Future] = field(default_factory=dict)


class ProcessWorkers:
    """Tasks in up to ``processes`` forked worker processes, ``jobs`` at once in all (each process runs up to
    ``ceil(jobs / processes)``).

    ``handler(*args)`` runs in a worker and returns something picklable. ``on_stop`` runs in each worker when
    ``signal_stop`` is called; ``initializer`` runs in each worker as it starts, ``finalizer`` as it ends.
    """

    def __init__(self, handler: Callable, *, processes: int, jobs: int, on_stop: Callable[[], None],
                 initializer: Callable[[], None] = lambda: None, finalizer: Callable[[], None] = lambda: None):
        self.handler = handler
        self.jobs = max(1, jobs)
        self.processes = min(max(1, processes), self.jobs)
        self.threads = math.ceil(self.jobs / self.processes)
        self.on_stop = on_stop
        self.initializer = initializer
        self.finalizer = finalizer
        self.pids: list[int] = []
        """Every worker started, dead or alive (a hard stop marks their runs)."""
        self._workers: list[_Worker] = []
        self._queue: deque[tuple[int, Future, tuple]] = deque()
        self._next_id = 0
        self._stopping = False
        self._context = get_context("fork")

    def submit(self, *args) -> Future:
        """Queue ``handler(*args)`` for a worker; it starts while the caller ``wait``s."""
        future: Future = Future()
        self._next_id += 1
        self._queue.append((self._next_id, future, args))
        return future

    def wait(self, futures: Iterable[Future], timeout: float) -> set[Future]:
        """Hand out queued tasks and collect results until one of ``futures`` is done or ``timeout`` seconds pass;
        returns the futures done."""
        futures = list(futures)
        deadline = time.monotonic() + timeout
        while True:
            done = {f for f in futures if f.done()}
            left = deadline - time.monotonic()
            if done or left <= 0:
                return done
            self._pump(min(left, _PUMP))

    def signal_stop(self) -> None:
        """Stop starting tasks: queued ones are not handed out, and each worker's ``on_stop`` runs."""
        self._stopping = True
        for worker in self._workers:
            self._send(worker, ("stop",))

    def shutdown(self, *, kill: bool = False) -> None:
        """Cancel the queued tasks; let the workers finish theirs and exit, or (``kill``) kill them at once."""
        while self._queue:
            self._queue.popleft()[1].cancel()
        for worker in self._workers:
            if kill:
                worker.process.kill()
            else:
                self._send(worker, ("exit",))
        while self._workers:  # reading their last answers, so that none blocks on a full pipe
            self._pump(_PUMP)

    # -- this process's side -------------------------------------------------------------------------------------

    def _pump(self, timeout: float) -> None:
        self._hand_out()
        if not self._workers:
            time.sleep(timeout)
            return
        waiting = {w.conn: w for w in self._workers} | {w.process.sentinel: w for w in self._workers}
        for ready in wait_for_ready(list(waiting), timeout):
            worker = waiting[ready]
            if worker in self._workers:
                self._receive(worker)
                if ready is worker.process.sentinel or worker.conn.closed:
                    self._bury(worker)
        self._hand_out()

    def _hand_out(self) -> None:
        while self._queue and not self._stopping and sum(len(w.running) for w in self._workers) < self.jobs:
            worker = self._least_busy()
            if worker is None:
                return
            task_id, future, args = self._queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            worker.running[task_id] = future
            self._send(worker, ("task", task_id, args))

    def _least_busy(self) -> _Worker | None:
        free = [w for w in self._workers if len(w.running) < self.threads]
        idle = [w for w in free if not w.running]
        if not idle and len(self._workers) < self.processes:
            return self._start()
        return min(free, key=lambda w: len(w.running), default=None)

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=_serve, name="opus1-worker",
                                        args=(theirs, os.getpid(), self.handler, self.threads, self.on_stop,
                                              self.initializer, self.finalizer))
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        self._workers.append(worker)
        self.pids.append(process.pid)
        if self._stopping:
            self._send(worker, ("stop",))
        return worker

    def _send(self, worker: _Worker, message: tuple) -> None:
        try:
            worker.conn.send(message)
        except (BrokenPipeError, OSError):  # it died: its sentinel says so on the next pump
            pass

    def _receive(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                kind, task_id, value = worker.conn.recv()
                future = worker.running.pop(task_id)
                if kind == "done":
                    future.set_result(value)
                else:
                    future.set_exception(RuntimeError(value))
        except (EOFError, OSError):
            worker.conn.close()

    def _bury(self, worker: _Worker) -> None:
        worker.process.join()
        worker.conn.close()
        self._workers.remove(worker)
        for future in worker.running.values():
            future.set_exception(WorkerDied(worker.process.pid, worker.process.exitcode))


# -- the worker's side -------------------------------------------------------------------------------------------


def _serve(conn: Connection, parent: int, handler: Callable, threads: int, on_stop: Callable[[], None],
           initializer: Callable[[], None], finalizer: Callable[[], None]) -> None:
    """A worker's life: run the tasks this process is handed, ``threads`` at once, until told to exit (or the
    parent is gone), then finish the running ones."""
    _detach(parent)
    initializer()
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="opus1-sync")
    sending = threading.Lock()

    def run(task_id: int, args: tuple) -> None:
        try:
            answer = ("done", task_id, handler(*args))
        except BaseException as exc:  # the handler's own isolation failed: say so, keep serving the others
            answer = ("error", task_id, f"{type(exc).__name__}: {exc}")
        with sending:
            try:
                conn.send(answer)
            except (BrokenPipeError, OSError):
                pass
            except Exception as exc:  # an answer that cannot be pickled
                conn.send(("error", task_id, f"the result could not be sent: {type(exc).__name__}: {exc}"))

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            on_stop()
            break
        if message[0] == "task":
            pool.submit(run, message[1], message[2])
        elif message[0] == "stop":
            on_stop()
        elif message[0] == "exit":
            break
    pool.shutdown(wait=True)
    finalizer()
    conn.close()


def _detach(parent: int) -> None:
    """Signals are the parent's business; die with it; write through fresh stdout/stderr objects (a lock the
    parent's other threads held at the fork would stay held here forever)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)
    sys.stdout = open(1, "w", encoding=sys.stdout.encoding, errors="replace", closefd=False, buffering=1)
    sys.stderr = open(2, "w", encoding=sys.stderr.encoding, errors="backslashreplace", closefd=False, buffering=1)
