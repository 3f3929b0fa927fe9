"""A large JSON Lines export is read on two cores, with the result of one sequential read."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from opus1_integrations.contacts import load_audience, parallel
from opus1_integrations.api import ExportRejected, OperationFailed

from .test_examples import _generator, _summary


def _problems(path: Path):
    with pytest.raises(ExportRejected) as caught:
        load_audience(path)
    return caught.value.total, [(p.line, p.path, p.message) for p in caught.value.problems]


def _leftovers() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("opus1-contacts-*"))


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
    before = _leftovers()
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "_WORKER", "raise SystemExit('disk full')")
    with pytest.raises(OperationFailed, match="disk full"):
        load_audience(export)
    assert _leftovers() == before


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
    before = _leftovers()
    with pytest.raises(KeyboardInterrupt):
        load_audience(export)
    (worker,) = started
    assert worker.returncode is not None and _leftovers() == before
