"""Helpers shared by the sandbox tests (a uniquely named module, so it never clashes with another conftest)."""

from __future__ import annotations

import json
import time

import pytest
from mailchimp_marketing.api_client import ApiClientError


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


class FakeClock:
    """A settable clock for the store (``sandbox.store.clock``), so ``last_changed`` is predictable."""

    def __init__(self, start: float = 1_780_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds
