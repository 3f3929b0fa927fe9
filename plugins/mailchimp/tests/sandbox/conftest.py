"""The sandbox tests drive it over real HTTP with the official SDK.

The ``mailchimp_sandbox`` / ``mailchimp_client`` fixtures and the ``mailchimp_sandbox`` marker come from the
``opus1_mailchimp.testing`` plugin, loaded for the whole repository by ``addopts = "-p opus1_mailchimp.testing"``
in pyproject.toml (a ``pytest_plugins`` line here would be refused by pytest: this conftest is below the rootdir).
"""

from __future__ import annotations

import pytest
from sandbox_helpers import FakeClock


@pytest.fixture
def sb(mailchimp_sandbox):
    """The sandbox (short name)."""
    return mailchimp_sandbox


@pytest.fixture
def mc(mailchimp_client):
    """The SDK client (short name)."""
    return mailchimp_client


@pytest.fixture
def aud(mailchimp_sandbox) -> str:
    """The audience id."""
    return mailchimp_sandbox.audience_id


@pytest.fixture
def clock(mailchimp_sandbox) -> FakeClock:
    """A fake clock installed in the sandbox's store."""
    fake = FakeClock()
    mailchimp_sandbox.store.clock = fake
    return fake
