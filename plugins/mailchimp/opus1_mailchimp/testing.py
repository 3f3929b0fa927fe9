"""Pytest fixtures for the Mailchimp sandbox. Load with ``-p opus1_mailchimp.testing`` (this repository's addopts)
or ``pytest_plugins = ["opus1_mailchimp.testing"]`` in the rootdir's conftest.py.

* ``mailchimp_sandbox``: a started :class:`~opus1_mailchimp.sandbox.Sandbox` on an ephemeral loopback port,
  stopped after the test. Configure it per test with ``@pytest.mark.mailchimp_sandbox(latency_ms=50, ...)``
  (any keyword argument of ``Sandbox``).
* ``mailchimp_client``: the official SDK client (``mailchimp_marketing.Client``) pointed at that sandbox.
* :func:`sdk_client`: the same for any sandbox, optionally with another key (e.g. to test a wrong one).
* :func:`refused`, :func:`wait_for`, :func:`finished` and :class:`FakeClock`: helpers for tests that drive a
  sandbox.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import mailchimp_marketing
import pytest
from mailchimp_marketing.api_client import ApiClientError

from .sandbox import Sandbox

MARKER = "mailchimp_sandbox"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``mailchimp_sandbox`` marker."""
    config.addinivalue_line("markers", f"{MARKER}(**kwargs): keyword arguments for the fixture's Sandbox")


def sdk_client(sandbox: Sandbox, api_key: str | None = None, timeout: float = 10) -> mailchimp_marketing.Client:
    """An official SDK client that talks to ``sandbox`` (with its key unless ``api_key`` is given)."""
    client = mailchimp_marketing.Client()
    client.set_config({"api_key": sandbox.api_key if api_key is None else api_key, "server": "us1",
                       "timeout": timeout})
    client.api_client.host = sandbox.base_url
    return client


@pytest.fixture
def mailchimp_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A running sandbox on 127.0.0.1 with a free port; ``@pytest.mark.mailchimp_sandbox(...)`` configures it."""
    marker = request.node.get_closest_marker(MARKER)
    options = {"host": "127.0.0.1", "port": 0, **(marker.kwargs if marker else {})}
    with Sandbox(**options) as sandbox:
        yield sandbox


@pytest.fixture
def mailchimp_client(mailchimp_sandbox: Sandbox) -> mailchimp_marketing.Client:
    """The official SDK client pointed at ``mailchimp_sandbox``."""
    return sdk_client(mailchimp_sandbox)


def refused(call, *args, **kwargs) -> tuple[int, dict]:
    """Call an SDK method that must fail; returns (HTTP status, problem document)."""
    with pytest.raises(ApiClientError) as info:
        call(*args, **kwargs)
    assert isinstance(info.value.text, str), "problem+json must reach SDK code as a string, as with real Mailchimp"
    return info.value.status_code, json.loads(info.value.text)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.01):
    """Poll until ``predicate()`` is truthy; returns its value (fails the test after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


def finished(client: mailchimp_marketing.Client, batch_id: str) -> dict:
    """Wait (:func:`wait_for`) until the SDK ``client``'s sandbox has finished batch ``batch_id``; its status."""
    return wait_for(lambda: (b := client.batches.status(batch_id))["status"] == "finished" and b)


class FakeClock:
    """A settable clock for a sandbox (``sandbox.clock = FakeClock()``), so ``last_changed`` is predictable."""

    def __init__(self, start: float = 1_780_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds
