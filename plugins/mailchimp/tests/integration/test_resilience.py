"""Failures on the way: injected 429/5xx/dropped connections, and a killed process, never leave a state the next run cannot finish."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from conftest import account


def expected_emails(n):
    return {f"parent{i}@gmail.com" for i in range(1, n + 1)}


@pytest.mark.parametrize("kind", ["429", "429_nobody", "403_nobody", "500", "503", "drop_before", "drop_after"])
def test_sync_converges_under_injected_failures(cli, connect, export, mailchimp_sandbox, kind):
    n = 1200  # three batch-subscribe calls
    connect(export([account(i) for i in range(1, n + 1)]))
    mailchimp_sandbox.inject(kind, rate=0.3)
    for attempt in range(6):
        result = cli("sync", "mailchimp", "--json")
        if result.code == 0 and result.json()["counts"]["failed"] == 0:
            break
    mailchimp_sandbox.clear_faults()
    emails = Counter(m["email_address"] for m in mailchimp_sandbox.members())
    assert set(emails) == expected_emails(n) and max(emails.values()) == 1
    final = cli("sync", "mailchimp", "--json")
    assert final.json()["counts"]["writes"] == 0 and final.json()["counts"]["unchanged"] == n


def test_a_network_outage_fails_the_run_with_a_clear_error_and_the_next_run_finishes(cli, connect, export, mailchimp_sandbox):
    connect(export([account(i) for i in range(1, 11)]), "--retry-seconds", "1")
    mailchimp_sandbox.inject("500", rate=1.0)
    failed = cli("sync", "mailchimp")
    assert failed.code == 1 and "Error:" in failed.err and "Hint:" in failed.err
    diagnosis = cli("diagnose", "mailchimp", "--json")
    assert diagnosis.code == 1
    assert any(f["code"] == "last_run_failed" for f in diagnosis.json()["findings"])
    mailchimp_sandbox.clear_faults()
    assert cli("sync", "mailchimp").code == 0
    assert {m["email_address"] for m in mailchimp_sandbox.members()} == expected_emails(10)


def test_a_killed_sync_is_marked_interrupted_and_the_next_run_finishes_without_duplicates(
        cli, connect, export, mailchimp_sandbox, home):
    n = 3000
    connect(export([account(i) for i in range(1, n + 1)]), "--max-connections", "1")
    mailchimp_sandbox.set_latency(0, 1.0)  # 1 ms per member: each batch-subscribe call takes ~0.5 s
    env = {**os.environ, "OPUS1_INT_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "opus1_integrations.cli", "sync", "mailchimp"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(r.method == "POST" for r in mailchimp_sandbox.requests):
        time.sleep(0.05)
    time.sleep(0.6)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert 0 < len(mailchimp_sandbox.members()) < n
    mailchimp_sandbox.set_latency(0, 0)
    runs = cli("runs", "--json").json()
    assert runs[0]["status"] == "interrupted"
    result = cli("sync", "mailchimp", "--json")
    assert result.code == 0, result.err
    emails = Counter(m["email_address"] for m in mailchimp_sandbox.members())
    assert set(emails) == expected_emails(n) and max(emails.values()) == 1
    statuses = [r["status"] for r in cli("runs", "--json").json()]
    assert statuses[:2] == ["ok", "interrupted"]


def test_sigterm_stops_a_sync_cleanly_with_exit_130(cli, connect, export, mailchimp_sandbox, home):
    connect(export([account(i) for i in range(1, 2001)]), "--max-connections", "1")
    mailchimp_sandbox.set_latency(0, 1.0)
    env = {**os.environ, "OPUS1_INT_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "opus1_integrations.cli", "sync", "mailchimp"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(r.method == "POST" for r in mailchimp_sandbox.requests):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Interrupted" in err
    mailchimp_sandbox.set_latency(0, 0)
    assert json.loads(cli("runs", "--json").out)[0]["status"] == "interrupted"
    assert cli("sync", "mailchimp").code == 0
    assert len(mailchimp_sandbox.members()) == 2000


def test_a_rejected_export_is_reported_at_once_while_mailchimp_is_unreachable(cli, connect, export, mailchimp_sandbox):
    path = connect(export([account(i) for i in range(1, 11)])) and export([account(1)])
    path.write_text(path.read_text() + "{not json\n", encoding="utf-8")
    mailchimp_sandbox.stop()  # the audience is read while the export loads; its retries (about 25 s) must not wait
    started = time.monotonic()
    result = cli("sync", "mailchimp")
    assert result.code == 5 and "invalid JSON" in result.err
    assert time.monotonic() - started < 8
