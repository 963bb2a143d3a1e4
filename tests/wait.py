"""Waiting for an event instead of for a time: the tests hold on a machine at load 10+.

`wait_until(predicate)` polls until the predicate is true and returns its value; past the
deadline it fails the test with `message` (the deadline is a safety net, never a measure).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

# Long enough for a loaded machine; a test that waits this long has failed.
DEADLINE = 120.0


def wait_until(predicate: Callable[[], T], message: str = "condition",
               within: float = DEADLINE, interval: float = 0.05) -> T:
    """Poll `predicate` until it returns a true value; return that value."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within:.0f} s waiting for: {message}")
        time.sleep(interval)


async def async_wait_until(predicate: Callable[[], T | Awaitable[T]], message: str = "condition",
                           within: float = DEADLINE, interval: float = 0.005) -> T:
    """`wait_until` for the event loop: `predicate` may be a coroutine function."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within:.0f} s waiting for: {message}")
        await asyncio.sleep(interval)
