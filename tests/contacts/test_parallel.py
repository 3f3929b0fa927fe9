"""A large JSON Lines export is read on two cores, with the result of one sequential read; its temporary files
and worker never outlive the process that reads it."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from opus1_integrations.contacts import load_audience, parallel, tempfiles
from opus1_integrations.api import ExportRejected, OperationFailed

from .test_examples import _generator, _summary


def _problems(path: Path):
    with pytest.raises(ExportRejected) as caught:
        load_audience(path)
    return caught.value.total, [(p.line, p.path, p.message) for p in caught.value.problems]


def _leftovers() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("opus1-contacts-*"))


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch) -> Path:
    """A temporary folder of this test's own, so that other runs' files neither show nor get removed."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def export(tmp_path) -> Path:
    path = tmp_path / "accounts.jsonl"
    _generator().generate(path, 1_500, seed=3)
    return path


def test_two_processes_give_the_same_audience(export, monkeypatch):
    sequential = _summary(export)
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    assert _summary(export) == sequential


def _broken_lines(lines: list[bytes]) -> None:
    for n in (5, 1100, 1400):  # in both parts: bad JSON, a blank line, a byte order mark (not the file's)
        lines[n] = b"{oops}\n\n\xef\xbb\xbf" + lines[n]
    lines[1200] = lines[1200].replace(b'"is_child": true', b'"is_child": "yes"')


def _account_on_two_lines(lines: list[bytes]) -> None:
    lines.append(lines[300])  # one in each part


@pytest.mark.parametrize("damage", [_broken_lines, _account_on_two_lines])
def test_two_processes_give_the_same_problems_with_the_same_line_numbers(export, monkeypatch, damage):
    lines = export.read_bytes().splitlines(keepends=True)
    damage(lines)
    export.write_bytes(b"".join(lines))
    sequential = _problems(export)
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    assert _problems(export) == sequential


def test_the_part_of_the_worker_does_not_start_the_file(export, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    data, split = export.read_bytes(), parallel._split(export)
    export.write_bytes(data[:split] + b"\xef\xbb\xbf" + data[split:])  # only the file's start may hold one
    assert parallel._split(export) == split
    in_parallel = _problems(export)
    monkeypatch.setattr(parallel, "MIN_BYTES", 1 << 62)
    assert _problems(export) == in_parallel


def test_a_failing_worker_is_an_error_and_leaves_no_files(export, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "_WORKER", "raise SystemExit('disk full')")
    with pytest.raises(OperationFailed, match="disk full"):
        load_audience(export)
    assert _leftovers() == set()


def test_the_worker_is_stopped_when_this_process_fails(export, monkeypatch):
    started = []
    popen = parallel.subprocess.Popen

    def spy(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel.subprocess, "Popen", spy)
    monkeypatch.setattr(parallel.Store, "insert", fail)
    with pytest.raises(KeyboardInterrupt):
        load_audience(export)
    (worker,) = started
    assert worker.returncode is not None and _leftovers() == set()


# A load whose reading never ends, in this process and in the worker (the worker's own code, reading slowly).
_STUCK_LOAD = """
import sys, time
from opus1_integrations.contacts import audience, load_audience, parallel
audience.MEMORY_BYTES = parallel.MIN_BYTES = 0  # in temporary files, on two cores
parallel._WORKER = "import time; from opus1_integrations.contacts import parallel; " \\
    "parallel.Store.insert = lambda store, records: time.sleep(600); parallel._work()"
parallel.Store.insert = lambda store, records: time.sleep(600)
load_audience(sys.argv[1])
"""


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _wait_until(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_killed_load_takes_its_worker_along_and_the_next_load_removes_its_file(export, private_tmp):
    main = subprocess.Popen([sys.executable, "-c", _STUCK_LOAD, str(export)])
    try:
        _wait_until(lambda: _children(main.pid))
        (worker,) = _children(main.pid)
        _wait_until(lambda: len(_leftovers()) == 2)  # this process's database and the worker's
    finally:
        main.send_signal(signal.SIGKILL)
        main.wait()
    _wait_until(lambda: not _running(worker), seconds=10)
    (left,) = _leftovers()  # the worker removed its own; the killed process could not
    with load_audience(export):
        assert left not in _leftovers()
    assert _leftovers() == set()


def test_only_files_whose_owner_is_gone_are_removed(private_tmp):
    live = tempfiles.TempFile()  # held by this process
    dead = private_tmp / "opus1-contacts-dead.sqlite"
    dead.write_bytes(b"names and emails")
    other = private_tmp / "opus1-contacts-other.txt"
    other.write_bytes(b"not ours")
    link = private_tmp / "opus1-contacts-link.sqlite"
    link.symlink_to(other)
    try:
        assert tempfiles.remove_leftovers() == [dead]
        assert live.path.exists() and other.exists() and link.is_symlink()
        dead.write_bytes(b"again")
        assert tempfiles.remove_leftovers() == []  # once per process and folder
    finally:
        live.remove()
    assert not live.path.exists()
