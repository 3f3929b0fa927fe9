"""Streaming: the Python memory used to load and read an audience does not grow with the export (not timed)."""

from __future__ import annotations

import tracemalloc

from opus1_integrations.contacts import load_audience, store

from .test_examples import _generator


def _peak(path) -> int:
    tracemalloc.start()
    try:
        with load_audience(path) as audience:
            for _ in audience.contacts():
                pass
            for _ in audience.decisions():
                pass
            for _ in audience.quality():
                pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_python_memory_stays_flat_as_the_export_grows(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "BATCH", 500)  # batches bound the memory; make them small so 2,000 accounts fill many
    generate = _generator().generate
    generate(tmp_path / "small.jsonl", 2_000, seed=1)
    generate(tmp_path / "large.csv", 20_000, seed=1)
    small, large = _peak(tmp_path / "small.jsonl"), _peak(tmp_path / "large.csv")
    assert large < 2 * small, (small, large)
