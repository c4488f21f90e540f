"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], what: str, timeout: float = 60) -> T:
    """Poll `condition` until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def last_fetch(mfawatch: Any, mirror: Any, path: str) -> dict[str, Any]:
    """The newest fetch of the mirror's page at ``path``, as `history --json` gives it."""
    fetches: list[dict[str, Any]] = mfawatch.json("history", mirror.url(path))["fetches"]
    return fetches[-1]
