"""Helpers for the host tests: run the CLI in-process or as a real process, and build throwaway plugins."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from opus1_integrations.api import hookimpl
from opus1_integrations.plugins import Plugins
from opus1_integrations.testing import Result

ROOT = Path(__file__).resolve().parents[2]
STUDIO_EXPORT = ROOT / "examples" / "studio" / "accounts.jsonl"
OPUS1_INT = shutil.which("opus1-int", path=str(Path(sys.executable).parent))

ACCOUNTS = [
    {
        "account_id": "acc_1001",
        "status": "active",
        "created_at": "2026-09-01T10:00:00Z",
        "updated_at": "2026-11-20T08:12:00Z",
        "account_manager": {"person_id": "per_1", "first_name": "Maria", "last_name": "Lopez",
                            "email": "Maria.Lopez@gmail.com", "phone": "+1 415 555 0101"},
        "students": [{"person_id": "per_2", "first_name": "Leo", "last_name": "Lopez", "birth_date": "2016-04-02",
                      "is_child": True, "email": None,
                      "enrollments": [{"program": "Piano", "teacher": "Ms. Kim", "term": "Fall 2026"}]}],
    },
    {
        "account_id": "acc_1002",
        "status": "active",
        "created_at": "2026-09-02T10:00:00Z",
        "updated_at": "2026-11-21T08:12:00Z",
        "account_manager": {"person_id": "per_3", "first_name": "Sam", "last_name": "Okafor",
                            "email": "sam.okafor@outlook.com", "phone": None},
        "students": [],
    },
]
CONTACT_KEYS = {"maria.lopez@gmail.com", "sam.okafor@outlook.com"}


@pytest.fixture
def accounts(tmp_path) -> Path:
    """A small valid opus1 accounts export (JSON Lines) with two contacts."""
    path = tmp_path / "accounts.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in ACCOUNTS), encoding="utf-8")
    return path


@pytest.fixture
def plugins():
    """A plugin manager with no entry points loaded: tests register throwaway plugins in it."""
    return Plugins()


@pytest.fixture
def add_plugin(plugins):
    """Register a throwaway plugin under an integration name; it is unregistered after the test."""
    names = []

    def add(plugin, name):
        names.append(name)
        return plugins.register(plugin, name)

    try:
        yield add
    finally:
        for name in names:
            plugins.unregister(name)


@pytest.fixture
def cli(run_cli, plugins):
    """Run the CLI in-process with the test's throwaway plugins."""
    return lambda *args: run_cli(*args, plugins=plugins)


def process_env(pythonpath: list[Path] = (), **extra: str | None) -> dict[str, str]:
    """The environment of a real ``opus1-int`` process: this test's (OPUS1_INT_HOME), plus ``extra``."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_process(*args, env: dict[str, str], timeout: float = 60) -> Result:
    """Run the installed ``opus1-int`` console script as a real process."""
    assert OPUS1_INT, "the opus1-int console script is not installed next to this Python"
    proc = subprocess.run([OPUS1_INT, *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def start_process(*args, env: dict[str, str]) -> subprocess.Popen:
    """Start ``opus1-int`` in the background, with Ctrl-C delivered as in a terminal."""
    return subprocess.Popen([OPUS1_INT, *map(str, args)], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Wait until a throwaway plugin writes its marker file (or fail with the process's stderr)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"opus1-int exited {proc.returncode} early: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the throwaway plugin never started its sync")
        time.sleep(0.02)


def make_distribution(folder: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]) -> Path:
    """A throwaway installed distribution: modules plus ``*.dist-info`` with METADATA and entry points.

    Put ``folder`` on ``PYTHONPATH`` (or ``sys.path``) and its entry points are found like any installed plugin's.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = folder / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[opus1_integrations]\n{lines}", encoding="utf-8")
    return folder


class Recorder:
    """A throwaway integration: a settings schema, and hooks that record what they were given."""

    def __init__(self, schema: dict | None = None):
        self.schema = schema or {"type": "object", "properties": {}}
        self.synced: list[dict] = []
        self.configured: list[dict] = []

    @hookimpl
    def settings_schema(self):
        return self.schema

    @hookimpl
    def configure(self, context, settings):
        self.configured.append(settings)
        return settings

    @hookimpl
    def sync(self, context, settings, audience, run, options):
        keys = [contact.key for contact in audience.contacts()]  # the export is read and checked whole here
        self.synced.append(settings)
        for key in keys:
            run.record(key, "created")
        return {"created": len(keys)}
