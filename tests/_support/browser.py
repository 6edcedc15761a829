"""What the browser tests (headless chromium through selenium) share."""

from __future__ import annotations

import time

import pytest


def wait_for(what: str, predicate, timeout: float = 30.0, poll: float = 0.2):
    """``predicate()``'s first true value, asked every ``poll`` s; the test fails naming
    ``what`` after ``timeout`` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")
