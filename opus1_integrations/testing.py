"""Pytest helpers for plugin authors: run ``opus1-int`` in-process in a throwaway state folder.

Opt in with ``-p opus1_integrations.testing`` (pytest's command line or ``addopts``)::

    def test_my_plugin(run_cli):
        result = run_cli("plugins", "--json")
        result.assert_success()
        assert "myintegration" in [p["name"] for p in result.json()]
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest

from .cli import main
from .plugins import Plugins
from .state import HOME_ENV


@dataclass
class Result:
    """What one ``opus1-int`` invocation did: its exit code, stdout and stderr."""

    code: int
    out: str
    err: str

    def json(self):
        """Stdout parsed as JSON (commands run with ``--json``)."""
        return json.loads(self.out)

    def assert_success(self) -> None:
        """Fail the test, showing stderr, unless the command exited 0."""
        assert self.code == 0, f"exit {self.code}:\n{self.err}"

    def assert_failed(self, code: int) -> None:
        """Fail the test unless the command exited with ``code``."""
        assert self.code == code, f"exit {self.code}, expected {code}:\n{self.err}"


@pytest.fixture
def opus1_home(tmp_path, monkeypatch) -> Path:
    """An empty ``OPUS1_INT_HOME`` folder for the test; no plugin selection or debug flag inherited."""
    home = tmp_path / "opus1-home"
    home.mkdir()
    monkeypatch.setenv(HOME_ENV, str(home))
    monkeypatch.delenv("OPUS1_INT_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("OPUS1_INT_DEBUG", raising=False)
    return home


@pytest.fixture
def run_cli(opus1_home, capsys):
    """Run ``opus1-int ARGS`` in-process; ``plugins=`` a ``Plugins`` to use instead of the installed ones."""
    sigterm = signal.getsignal(signal.SIGTERM)

    def run(*args, plugins: Plugins | None = None) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args], plugins=plugins)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    try:
        yield run
    finally:
        signal.signal(signal.SIGTERM, sigterm)
