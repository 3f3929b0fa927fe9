"""A sync's working set does not grow with the audience: the Python memory of a full sync and of a full compare
stays flat from a small audience to one five times larger (not timed; bench/ measures the process's RSS at 1M).

The sandbox runs in a process of its own, so only the sync's own allocations are traced; the buffers that bound
the working set (pages, batch-subscribe calls in flight, database batches) are made small, so the small audience
already fills them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc

import pytest

from conftest import USER, account
from opus1_integrations.contacts import store
from opus1_mailchimp import members, scratch, sender, sync


@pytest.fixture
def sandbox_process():
    """``python -m opus1_mailchimp.sandbox`` on a free loopback port; yields its ``name: value`` lines as a dict."""
    proc = subprocess.Popen([sys.executable, "-m", "opus1_mailchimp.sandbox", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    info: dict[str, str] = {}
    try:
        while "control_url" not in info:
            name, _, value = proc.stdout.readline().strip().partition(": ")
            assert name, "the sandbox did not start"
            info[name] = value
        yield info
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _peak(cli, tmp_path, info: dict, n: int) -> int:
    """The peak of traced Python memory over a full sync of ``n`` accounts into a fresh audience and a full
    compare with 1% of them renamed."""
    accounts = [account(i) for i in range(n * 10, n * 11)]  # addresses of their own: a fresh audience
    for a in accounts:  # every export over the 1 MB the host reads at a time to fingerprint it
        a["notes"] = "." * 1100
    path = tmp_path / f"export-{n}.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in accounts), encoding="utf-8")
    business = f"studio{n}"
    assert cli("configure", "mailchimp", "--business", business, "--user-id", USER, "--api-key", info["api_key"],
               "--audience-id", info["audience_id"], "--api-url", info["base_url"], "--contacts", path,
               "--max-connections", "2").code == 0
    for a in accounts[::100]:
        a["account_manager"]["first_name"] += "x"
    renamed = tmp_path / f"export-{n}-renamed.jsonl"
    renamed.write_text("".join(json.dumps(a) + "\n" for a in accounts), encoding="utf-8")
    tracemalloc.start()
    try:
        first = cli("sync", "mailchimp", "--business", business, "--json")
        compare = cli("sync", "mailchimp", "--business", business, "--contacts", renamed, "--json")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert first.code == 0 and first.json()["counts"]["created"] == n, first.err
    assert compare.code == 0 and compare.json()["counts"]["updated"] == n // 100, compare.err
    return peak


def test_a_syncs_python_memory_stays_flat_as_the_audience_grows(cli, tmp_path, monkeypatch, sandbox_process):
    for module, name, value in ((members, "PAGE", 200), (sender, "BATCH_SUBSCRIBE_MAX", 100), (scratch, "BATCH", 200),
                                (sync, "BATCH", 200), (store, "BATCH", 500)):
        monkeypatch.setattr(module, name, value)
    _peak(cli, tmp_path, sandbox_process, 100)  # imports and first-use caches, not counted
    small = _peak(cli, tmp_path, sandbox_process, 1_000)
    large = _peak(cli, tmp_path, sandbox_process, 4_000)
    assert large < 1.5 * small, (small, large)
