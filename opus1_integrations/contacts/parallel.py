"""Reading a large JSON Lines export on two cores, to the same records and problems as one sequential read.

A worker process reads the lines of the second part of the file into a database of its own while this process
reads the first part; the store then takes the worker's records after its own and the problem log the worker's
problems after its own, both with their line numbers shifted by the lines of the first part. The worker watches
a pipe whose only writer is this process: when this process dies, even by SIGKILL, the pipe closes and the worker
removes its database and exits at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from opus1_integrations.errors import OperationFailed

from .model import Problem
from .readers import read_records
from .store import Store
from .tempfiles import TempFile
from .validation import ProblemLog

#: Below this size (some 25,000 accounts) starting a second process costs about what it saves.
MIN_BYTES = 16 << 20
_WORKER = "from opus1_integrations.contacts.parallel import _work; _work()"


def load_records(store: Store, path: Path, fmt: str, problems: ProblemLog) -> None:
    """Read the export into ``store`` and index it; a large JSON Lines export on two cores."""
    split = _split(path) if fmt == "jsonl" and (os.cpu_count() or 1) > 1 and sys.executable else None
    if split is None:
        store.load(read_records(path, fmt, problems))
        return
    part = TempFile()
    watched, alive = os.pipe()  # this process holds the only writing end: the worker sees it close when we die
    try:
        try:
            worker = subprocess.Popen(
                [sys.executable, "-c", _WORKER, str(path), str(split), str(part.path), str(watched)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(watched,),
                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            )
        finally:
            os.close(watched)
        try:
            store.insert(read_records(path, fmt, problems, (0, split)))
            out, err = worker.communicate()
        finally:
            if worker.poll() is None:  # this process failed first: stop the worker
                worker.kill()
                worker.wait()
        if worker.returncode:
            raise OperationFailed(f"reading {path.name} failed in the worker process: {err.decode(errors='replace')[-2000:]}")
        lines = _count_lines(path, split)
        store.append(part.path, lines)
    finally:
        os.close(alive)
        part.remove()
    found = json.loads(out)
    problems.extend((Problem(line + lines, where, message) for line, where, message in found["first"]), found["total"])
    store.index()


def _split(path: Path) -> int | None:
    """Where the second part of a large file starts (the first line that starts past the middle), or None."""
    size = path.stat().st_size
    if size < MIN_BYTES:
        return None
    with open(path, "rb") as file:
        file.seek(size // 2)
        file.readline()
        split = file.tell()
    return split if split < size else None


def _count_lines(path: Path, end: int) -> int:
    lines = 0
    with open(path, "rb") as file:
        while end > 0 and (chunk := file.read(min(end, 1 << 20))):
            lines += chunk.count(b"\n")
            end -= len(chunk)
    return lines


def _exit_when_closed(watched: int, part: Path) -> None:
    """Wait for the end of the pipe ``watched`` (this worker's parent died), then remove ``part`` and exit."""
    while os.read(watched, 1):
        pass
    part.unlink(missing_ok=True)
    os._exit(1)


def _work() -> None:
    """The worker: read the lines of ``path`` from byte ``split`` on into the database file ``part``, and print
    the problems as JSON (arguments: path, split, part, the descriptor of the pipe to watch)."""
    path, split, part, watched = sys.argv[1:]
    threading.Thread(target=_exit_when_closed, args=(int(watched), Path(part)), daemon=True).start()
    problems, store = ProblemLog(), Store(Path(part))
    try:
        store.insert(read_records(Path(path), "jsonl", problems, (int(split), None)))
    finally:
        store.close()
    json.dump({"first": [(p.line, p.path, p.message) for p in problems.first], "total": problems.total}, sys.stdout)
