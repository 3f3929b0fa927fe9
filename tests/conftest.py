"""Every test gets its own state folder, and none inherits the developer's plugin selection or debug flag."""

import pytest


@pytest.fixture(autouse=True)
def opus1_home(tmp_path, monkeypatch):
    """``OPUS1_INT_HOME`` points into the test's own tmp_path."""
    home = tmp_path / "opus1-home"
    monkeypatch.setenv("OPUS1_INT_HOME", str(home))
    monkeypatch.delenv("OPUS1_INT_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("OPUS1_INT_DEBUG", raising=False)
    return home
