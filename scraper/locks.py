"""One crawl per site at a time, across processes: a manual crawl and a scheduled one refuse
each other. The lock is the kernel's (flock), so it is released when its holder dies, even by
SIGKILL; no stale lock to clean up.

Lock files sit beside an SQLite database, or in the temporary folder keyed by the database URL:
processes on one machine share them. (Crawlers of one PostgreSQL database on several machines
would need a lock in the database instead.)
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from kernel.errors import SiteBusy


def lock_dir(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(f"{url.database}.locks")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"mfawatch-locks-{digest}"


@contextmanager
def site_locks(database_url: str, sites: list[str]) -> Iterator[None]:
    """Hold every site's lock, or raise SiteBusy without holding any."""
    folder = lock_dir(database_url)
    folder.mkdir(parents=True, exist_ok=True)
    held: list[int] = []
    try:
        for site in sorted(sites):
            held.append(_acquire(folder / f"{site}.lock", site))
        yield
    finally:
        for fd in held:
            os.close(fd)  # closing the descriptor releases the flock


def _acquire(path: Path, site: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise SiteBusy(
            f"site {site!r} is being crawled by another process (pid {holder}); "
            "try again when it has finished"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
