"""The README's main job: the example studio through the sandbox, end to end, as `make demo` runs it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from opus1_integrations.api import load_audience

ROOT = Path(__file__).resolve().parents[4]


def demo_command() -> list[str]:
    """The command `make demo` runs (as `make -n demo` prints it, after any install step), run by this interpreter."""
    steps = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    [line] = [line for line in steps.stdout.splitlines() if "opus1-int " in line]
    program, *args = shlex.split(line)
    assert Path(program).name == "opus1-int", line
    return [sys.executable, "-m", "opus1_integrations.cli", *args]


def test_make_demo_syncs_the_example_studio_shows_a_refusal_and_a_leaver_and_the_second_run_writes_nothing(tmp_path):
    result = subprocess.run(
        demo_command(),
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "OPUS1_INT_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for step in ("configure mailchimp", "validate mailchimp", "sync mailchimp", "check mailchimp",
                 "mailchimp leavers"):
        assert f"$ opus1-int {step}" in out
    created = int(re.search(r"First sync: (\d+) clients added", out).group(1))
    assert created > 100
    assert "2 left alone" in out and "6 not added because they refused email news" in out
    assert "149 people not synced by opus1's rules" in out
    assert re.search(r"Second sync with nothing changed: \d+ unchanged, 0 writes", out)
    # one consent decision: a client who refused is not added
    refused = re.search(r"\n(\w+ \w+) refused email news in opus1: not added.\n\$ opus1-int check mailchimp (\S+)", out)
    assert refused and f"{refused.group(2)}\n  last sync that touched it: run 1" in out
    assert "not sent (refused email news in opus1" in out
    # one leaver: unsubscribed in the sandbox, left alone by the next sync, listed by `leavers`
    leaver = re.search(r"\n(\w+ \w+) unsubscribes in Mailchimp", out).group(1)
    listing = out.split("$ opus1-int mailchimp leavers", 1)[1]
    row = re.search(r"\n\d{4}-\d\d-\d\d \d\d:\d\d  unsubscribed  (per_\d+)  (acc_\d+)  (\S+)\n", listing)
    assert row and "1 person left in mailchimp since" in listing
    with load_audience(ROOT / "examples" / "studio" / "accounts.jsonl") as audience:
        contact = audience.contact(row.group(3))  # the right opus1 person and account
        assert (row.group(1) in contact.person_ids and row.group(2) in contact.account_ids
                and f"{contact.first_name} {contact.last_name}" == leaver)
    assert "(run 3): 126 already up to date, 3 left alone" in out
    # the demo's own lines fit 80 columns (the commands are broken with `\` where they would not)
    own = out.split("\n")
    for line in own:
        if line.startswith(("$ ", "    --")):
            assert len(line) <= 80, line
    assert "0123456789abcdef0123456789abcdef" not in out + result.stderr
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").iterdir())
