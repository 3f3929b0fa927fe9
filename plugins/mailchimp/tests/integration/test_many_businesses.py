"""Many studios, each with its own Mailchimp sandbox: overlapping ``sync --all`` processes sync each studio exactly
once, and one studio with a rejected key or an interrupted run never gets in the way of the others."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest

from conftest import USER, account, writes
from opus1_mailchimp.sandbox import Sandbox

OPUS1_INT = [sys.executable, "-m", "opus1_integrations.cli"]


def key(n: int) -> str:
    return f"{n:032x}-us1"


@pytest.fixture
def sandboxes():
    """Start sandboxes on free loopback ports: ``sandboxes(n, **options)``; all are stopped after the test."""
    with ExitStack() as stack:
        def start(n: int, **options) -> list[Sandbox]:
            return [stack.enter_context(Sandbox(api_key=key(100 + i), audience_id=f"aud{i:07d}", port=0, **options))
                    for i in range(n)]

        yield start


@pytest.fixture
def studio(cli, tmp_path):
    """Configure the mailchimp integration of one business against its sandbox, with its own export."""

    def configure(business: str, sandbox: Sandbox, accounts: list[dict], *extra: str) -> Path:
        path = tmp_path / f"{business}.jsonl"
        path.write_text("".join(json.dumps(a) + "\n" for a in accounts), encoding="utf-8")
        result = cli("configure", "mailchimp", "--business", business, "--user-id", USER, "--api-key",
                     sandbox.api_key, "--audience-id", sandbox.audience_id, "--api-url", sandbox.base_url,
                     "--contacts", path, *extra)
        assert result.code == 0, result.err
        sandbox.clear_requests()
        return path

    return configure


def accounts(first: int, n: int) -> list[dict]:
    return [account(i) for i in range(first, first + n)]


def emails(sandbox: Sandbox) -> Counter:
    return Counter(m["email_address"] for m in sandbox.members())


def start(*args: str, home: Path) -> subprocess.Popen:
    env = {**os.environ, "OPUS1_INT_HOME": str(home), "OPUS1_INT_LOAD_PLUGINS": "mailchimp"}
    return subprocess.Popen([*OPUS1_INT, *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("wait", [False, True], ids=["skip", "wait"])
def test_overlapping_sync_all_processes_sync_each_studio_exactly_once(cli, studio, sandboxes, home, wait):
    boxes = sandboxes(4, latency_ms=40)
    names = [f"studio-{i}" for i in range(4)]
    for i, (name, box) in enumerate(zip(names, boxes)):
        studio(name, box, accounts(100 * i + 1, 30))

    args = ["sync", "mailchimp", "--all", "--jobs", "2", "--json"] + (["--wait"] if wait else [])
    procs = [start(*args, home=home) for _ in range(2)]
    results = [p.communicate(timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err

    for i, box in enumerate(boxes):
        posts = [r for r in writes(box) if r.method == "POST"]
        assert len(posts) == 1, f"studio-{i}: {[(r.method, r.path) for r in writes(box)]}"  # one batch subscribe
        assert emails(box) == Counter(f"parent{n}@gmail.com" for n in range(100 * i + 1, 100 * i + 31))
    runs = cli("runs", "--json").json()
    assert sorted(r["business"] for r in runs) == names
    assert {r["status"] for r in runs} == {"ok"}
    outcomes = [o for out, _ in results for o in json.loads(out)]
    assert sorted(o["business"] for o in outcomes if o["outcome"] == "ok") == names
    skipped = {"skipped_not_due"} if wait else {"skipped_locked", "skipped_not_due"}
    assert {o["outcome"] for o in outcomes} <= {"ok"} | skipped


def test_a_rejected_key_and_an_interrupted_run_among_good_studios(cli, studio, sandboxes, home):
    good, rejected, resumed, other = sandboxes(4)
    studio("good", good, accounts(1, 25))
    studio("rejected", rejected, accounts(1, 25))
    studio("resumed", resumed, accounts(1, 1000), "--max-connections", "1")
    studio("other", other, accounts(1, 5))
    rejected.api_key = key(999)  # the key was revoked after it was configured

    # A sync of "resumed" is killed halfway: its run stays `running` in the database.
    resumed.set_latency(0, 2.0)  # 2 ms per member: each 500-member batch subscribe takes about a second
    killed = start("sync", "mailchimp", "--business", "resumed", home=home)
    deadline = time.monotonic() + 30
    while not any(r.method == "POST" for r in resumed.requests):
        assert killed.poll() is None, killed.communicate()[1]
        assert time.monotonic() < deadline, "the sync never sent anything"
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    resumed.set_latency(0, 0)
    [left] = cli("runs", "--business", "resumed", "--json").json()
    assert left["status"] == "interrupted"  # shown so; the row itself still says running

    result = cli("sync", "mailchimp", "--all", "--json")
    assert result.code == 1, result.err
    outcomes = {o["business"]: o for o in result.json()}
    assert {b: o["outcome"] for b, o in outcomes.items()} == {
        "good": "ok", "other": "ok", "rejected": "failed", "resumed": "ok"}
    assert outcomes["rejected"]["exit_code"] == 3
    assert "Mailchimp rejected the API key" in outcomes["rejected"]["error"]
    assert key(101) not in result.out + result.err
    assert emails(good) == Counter(f"parent{n}@gmail.com" for n in range(1, 26))
    assert emails(resumed) == Counter(f"parent{n}@gmail.com" for n in range(1, 1001))  # finished, no duplicates
    assert emails(rejected) == Counter()
    assert [r["status"] for r in cli("runs", "--business", "resumed", "--json").json()] == ["ok", "interrupted"]
    [failed] = cli("runs", "--status", "failed", "--json").json()
    assert failed["business"] == "rejected"

    rejected.api_key = key(101)  # a new key is in place: the next scheduled sync catches up
    again = cli("sync", "mailchimp", "--all", "--json")
    assert again.code == 0, again.err
    assert {o["business"]: o["outcome"] for o in again.json()} == {
        "good": "skipped_not_due", "other": "skipped_not_due", "rejected": "ok", "resumed": "skipped_not_due"}
    assert emails(rejected) == Counter(f"parent{n}@gmail.com" for n in range(1, 26))
