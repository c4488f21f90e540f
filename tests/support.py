"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
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


def fixture_site(root: Path) -> dict[str, bytes]:
    """The saved pages under ``root`` by the URL path a server gives them, for
    MirrorServer.set_site: ``a/b/index.html`` is ``/a/b/``, ``a/b/c.html`` is ``/a/b/c``."""
    pages: dict[str, bytes] = {}
    for file in sorted(root.rglob("*.html")):
        parts = file.relative_to(root).with_suffix("").parts
        path = "/" + "/".join(parts[:-1]) + "/" if parts[-1] == "index" else "/" + "/".join(parts)
        pages[path.replace("//", "/")] = file.read_bytes()
    return pages
