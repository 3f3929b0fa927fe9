"""A sync killed with SIGKILL at any point converges on the next run (issue 12): no duplicate and no missing member,
every change applied, no run left `running`, and an intact state database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter

import pytest

from conftest import account
from opus1_mailchimp.testing import wait_for

N = 1500


def family(n: int, renamed: bool) -> dict:
    return account(n, first="Renata" if renamed and n % 2 else "Maria")


def seen(sandbox) -> list[str]:
    """Every request the sandbox answers from now on, control surface included (the batch results download), as
    ``METHOD path``: the sandbox's own log leaves its control surface out."""
    paths: list[str] = []
    api, control = sandbox.answer, sandbox.answer_control
    sandbox.answer = lambda method, path, *rest: paths.append(f"{method} {path}") or api(method, path, *rest)
    sandbox.answer_control = lambda method, path, *rest: paths.append(f"{method} {path}") or control(method, path,
                                                                                                      *rest)
    return paths


POINTS = {
    "creating members": lambda p: p == "POST /3.0/lists/a1b2c3d4e5",
    "sending the /batches job": lambda p: p == "POST /3.0/batches",
    "recording the results": lambda p: "/batch-results/" in p,
}


@pytest.mark.parametrize("point", list(POINTS))
def test_a_sync_killed_at_any_point_converges_on_the_next_run(cli, connect, export, mailchimp_sandbox, home, point):
    connect(export([family(n, renamed=False) for n in range(1, N + 1)]), "--leaver-policy", "tag",
            "--max-connections", "2", "--safety-threshold", "1")
    if point != "creating members":  # a first sync, then half the names change and a tenth of the clients leave
        assert cli("sync", "mailchimp").code == 0
        export([family(n, renamed=True) for n in range(1, N + 1 - N // 10)])
    paths = seen(mailchimp_sandbox)
    mailchimp_sandbox.set_latency(0, 0.5)
    proc = subprocess.Popen([sys.executable, "-m", "opus1_integrations.cli", "sync", "mailchimp"],
                            env={**os.environ, "OPUS1_INT_HOME": str(home)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: any(POINTS[point](p) for p in paths), timeout=60.0, interval=0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    mailchimp_sandbox.set_latency(0, 0)

    again = cli("sync", "mailchimp", "--json")
    assert again.code == 0, again.err
    final = cli("sync", "mailchimp", "--json").json()
    assert final["counts"]["writes"] == 0  # nothing was left to do

    members = {m["email_address"]: m for m in mailchimp_sandbox.members()}
    assert max(Counter(m["email_address"].lower() for m in mailchimp_sandbox.members()).values()) == 1
    assert set(members) == {f"parent{n}@gmail.com" for n in range(1, N + 1)}  # leavers are tagged, not removed
    stayed = range(1, N + 1 - N // 10) if point != "creating members" else range(1, N + 1)
    for n in stayed:
        wanted = "Renata" if point != "creating members" and n % 2 else "Maria"
        assert members[f"parent{n}@gmail.com"]["merge_fields"]["FNAME"] == wanted, n
    if point != "creating members":
        left = {m for m in members if "opus1-left" in {t["name"] for t in members[m]["tags"]}}
        assert left == {f"parent{n}@gmail.com" for n in range(N + 1 - N // 10, N + 1)}

    runs = cli("runs", "--json", "--limit", "10").json()
    assert "running" not in {r["status"] for r in runs} and "interrupted" in {r["status"] for r in runs}
    conn = sqlite3.connect(home / "opus1-integrations.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
