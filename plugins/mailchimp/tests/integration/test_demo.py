"""The README's main job: the example studio through the sandbox, end to end, as `make demo` runs it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def demo_command() -> list[str]:
    """The command `make demo` runs (as `make -n demo` prints it, after any install step), run by this interpreter."""
    steps = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    [line] = [line for line in steps.stdout.splitlines() if "opus1-int " in line]
    program, *args = shlex.split(line)
    assert Path(program).name == "opus1-int", line
    return [sys.executable, "-m", "opus1_integrations.cli", *args]


def test_make_demo_syncs_the_example_studio_and_the_second_run_writes_nothing(tmp_path):
    result = subprocess.run(
        demo_command(),
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "OPUS1_INT_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for step in ("configure", "validate", "sync", "diagnose", "check"):
        assert f"$ opus1-int {step} mailchimp" in out
    created = int(re.search(r"First sync: (\d+) clients added", out).group(1))
    assert created > 100
    assert "2 left alone" in out
    assert re.search(r"Second sync with nothing changed: \d+ unchanged, 0 writes", out)
    assert "0123456789abcdef0123456789abcdef" not in out + result.stderr
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").iterdir())
