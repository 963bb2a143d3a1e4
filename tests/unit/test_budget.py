"""The per-run stream budget: what is admitted, and the one notice when it runs out."""

from __future__ import annotations

from tinirun.runner.budget import StreamBudget


def test_admits_until_the_limit_then_nothing() -> None:
    budget = StreamBudget(limit=10)
    assert budget.admit(b"abcdef") == b"abcdef"
    assert budget.admit(b"ghijkl") == b"ghij"
    assert budget.admit(b"more") == b""
    assert budget.used == 10


def test_announces_once() -> None:
    budget = StreamBudget(limit=1)
    budget.admit(b"xy")
    notice = budget.announce()
    assert notice is not None and "1 bytes" in notice
    assert budget.announce() is None
