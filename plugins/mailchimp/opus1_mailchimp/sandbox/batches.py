"""Batch operations (``/batches``): run in the background one batch at a time, results as a gzipped tar.

A batch moves pending → started → finished. Its results are served by the sandbox itself at ``response_body_url``
(like Mailchimp's pre-signed link, it needs no credentials): a tar.gz with a ``./`` directory entry and JSON files,
each an array of ``{"status_code", "operation_id", "response"}`` where ``response`` is the JSON-encoded body.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import time
from collections import deque
from collections.abc import Callable

from . import replies
from .render import link
from .replies import Reply, schema_type
from .rules import check_choice
from .traffic import Latency

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
RESULTS_PER_FILE = 500

Dispatch = Callable[[str, str, dict, bytes], Reply]


class Batches:
    """Submitted batches, the worker that runs them and their result archives."""

    def __init__(self, dispatch: Dispatch, latency: Latency, now: Callable[[], str], seed: int = 0):
        self.dispatch = dispatch
        self.latency = latency
        self.now = now
        self.seed = seed
        self.api_root = "http://127.0.0.1/3.0"
        self.results_root = "http://127.0.0.1/_sandbox/batch-results"
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        self._counter = 0
        self.clear()

    def clear(self) -> None:
        """Forget every batch (a running one stops after its current operation)."""
        with self._cond:
            self._batches: dict[str, dict] = {}
            self._operations: dict[str, list[dict]] = {}
            self._archives: dict[str, bytes] = {}
            self._queue: deque[str] = deque()

    def start(self) -> None:
        """Start the worker thread."""
        self._stopping.clear()
        self._worker = threading.Thread(target=self._run, name="mailchimp-sandbox-batches", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        """Stop the worker (an unfinished batch stays as it is)."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join()
            self._worker = None

    def submit(self, body: object) -> dict:
        """POST /batches: validate the operations and queue them; the Batch resource comes back as ``pending``."""
        operations = _operations(body)
        with self._cond:
            self._counter += 1
            batch_id = hashlib.md5(f"batch:{self.seed}:{self._counter}".encode()).hexdigest()[:10]
            self._batches[batch_id] = {
                "id": batch_id, "status": "pending", "total_operations": len(operations), "finished_operations": 0,
                "errored_operations": 0, "submitted_at": self.now(), "completed_at": "", "response_body_url": "",
            }
            self._operations[batch_id] = operations
            self._queue.append(batch_id)
            self._cond.notify_all()
            return self._resource(batch_id)

    def get(self, batch_id: str) -> dict:
        """GET /batches/{id}."""
        with self._cond:
            if batch_id not in self._batches:
                raise replies.not_found()
            return self._resource(batch_id)

    def list(self, count: int, offset: int) -> dict:
        """GET /batches."""
        with self._cond:
            ids = list(self._batches)
            page = [self._resource(i) for i in ids[offset:offset + count]]
        return {"batches": page, "total_items": len(ids),
                "_links": [link("self", f"{self.api_root}/batches", "Batches/CollectionResponse.json")]}

    def delete(self, batch_id: str) -> None:
        """DELETE /batches/{id}: stop it and drop its results."""
        with self._cond:
            if self._batches.pop(batch_id, None) is None:
                raise replies.not_found()
            self._operations.pop(batch_id, None)
            self._archives.pop(batch_id, None)

    def archive(self, batch_id: str) -> bytes | None:
        """The gzipped tar of a finished batch's results."""
        with self._cond:
            return self._archives.get(batch_id)

    def _resource(self, batch_id: str) -> dict:
        return {**self._batches[batch_id],
                "_links": [link("self", f"{self.api_root}/batches/{batch_id}", "Batches/Response.json")]}

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping.is_set():
                    self._cond.wait()
                if self._stopping.is_set():
                    return
                batch_id = self._queue.popleft()
                operations = self._operations.pop(batch_id, None)
                if operations is None:
                    continue
                batch = self._batches[batch_id]
                batch["status"] = "started"
            results = self._execute(batch_id, batch, operations)
            if results is None:
                continue
            archive = _archive(batch_id, results)
            with self._cond:
                if self._batches.get(batch_id) is batch:
                    self._archives[batch_id] = archive
                    batch.update(status="finished", completed_at=self.now(),
                                 response_body_url=f"{self.results_root}/{batch_id}.tar.gz")

    def _execute(self, batch_id: str, batch: dict, operations: list[dict]) -> list[dict] | None:
        """Run the operations in order; None if the batch was deleted or the sandbox stopped meanwhile."""
        results = []
        for op in operations:
            if self._stopping.wait(self.latency.member_seconds(1)):
                return None
            params = {k: _param(v) for k, v in (op.get("params") or {}).items()}
            reply = self.dispatch(op["method"], op["path"], params, (op.get("body") or "").encode())
            results.append({"status_code": reply.status, "operation_id": op.get("operation_id"),
                            "response": "" if reply.body is None else json.dumps(reply.body)})
            with self._cond:
                if self._batches.get(batch_id) is not batch:
                    return None
                batch["finished_operations"] += 1
                batch["errored_operations"] += reply.status >= 400
        return results


def _operations(body: object) -> list[dict]:
    """The operations of a POST /batches body; 400 Invalid Resource naming the first bad field."""
    if not isinstance(body, dict):
        raise schema_type("", "object", body)
    operations = body.get("operations")
    if not isinstance(operations, list):
        raise schema_type("operations", "array", operations)
    for i, op in enumerate(operations):
        where = f"operations.item:{i}"
        if not isinstance(op, dict):
            raise schema_type(where, "object", op)
        check_choice(op.get("method"), f"{where}.method", METHODS)
        if not isinstance(op.get("path"), str):
            raise schema_type(f"{where}.path", "string", op.get("path"))
        for key, kind, expected in (("body", str, "string"), ("operation_id", str, "string"),
                                    ("params", dict, "object")):
            if key in op and not isinstance(op[key], kind):
                raise schema_type(f"{where}.{key}", expected, op[key])
    return operations


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _archive(batch_id: str, results: list[dict]) -> bytes:
    """A tar.gz with a ``./`` entry and the results in JSON files of up to 500 each."""
    buffer = io.BytesIO()
    mtime = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        folder = tarfile.TarInfo("./")
        folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, mtime
        tar.addfile(folder)
        for n, start in enumerate(range(0, max(len(results), 1), RESULTS_PER_FILE)):
            data = json.dumps(results[start:start + RESULTS_PER_FILE]).encode()
            name = hashlib.md5(f"{batch_id}:{n}".encode()).hexdigest()
            info = tarfile.TarInfo(f"./{name}.json")
            info.size, info.mode, info.mtime = len(data), 0o644, mtime
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
