"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
BIN = Path(sys.executable).parent  # this environment's scripts: wb-manager, wayback, warcio


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def pywb(folder: Path, collection: str, warcs: list[Path]) -> Iterator[int]:
    """pywb replaying ``warcs`` as ``collection`` on a loopback port, yielded once it answers
    (its log in folder/wayback.log)."""
    folder.mkdir(parents=True, exist_ok=True)
    for step in (["init", collection], ["add", collection, *map(str, warcs)]):
        subprocess.run([str(BIN / "wb-manager"), *step], cwd=folder, capture_output=True,
                       timeout=60, check=True)  # fmt: skip
    port = free_port()
    log = (folder / "wayback.log").open("wb")
    with log, subprocess.Popen(
        [str(BIN / "wayback"), "-b", "127.0.0.1", "-p", str(port)],
        cwd=folder, stdout=log, stderr=log,
    ) as server:  # fmt: skip
        try:
            wait_for(lambda: server.poll() is not None or _answers(port), "pywb to answer")
            assert server.poll() is None, "pywb ended (see wayback.log)"
            yield port
        finally:
            server.terminate()
            server.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # an answer all the same
    except (ConnectionError, urllib.error.URLError):
        return False
