"""The sandbox tests drive it over real HTTP with the official SDK.

The ``mailchimp_sandbox`` / ``mailchimp_client`` fixtures, the ``mailchimp_sandbox`` marker and the helpers
(``refused``, ``wait_for``, ``FakeClock``) come from the ``opus1_mailchimp.testing`` plugin, loaded by
``addopts = "-p opus1_mailchimp.testing"`` in pyproject.toml (a ``pytest_plugins`` line here would be refused by
pytest: this conftest is below the rootdir).
"""

from __future__ import annotations

import pytest

from opus1_mailchimp.testing import FakeClock


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
    """The default audience's id."""
    return mailchimp_sandbox.audience_id


@pytest.fixture
def clock(mailchimp_sandbox) -> FakeClock:
    """A fake clock installed in the sandbox."""
    fake = FakeClock()
    mailchimp_sandbox.clock = fake
    return fake
