"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when
MFAWATCH_TEST_DATABASE_URL is set), the offline mirror of an embassy site, and helpers that run
the real CLI: crawls in a subprocess (Twisted's reactor runs once per process), queries in
process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from mfawatch.cli import app
from mfawatch.mirror.pages import embassy_site
from mfawatch.mirror.server import MirrorServer
from storage.db import close_database, open_database

REPO = Path(__file__).resolve().parents[1]
# Crawl settings for tests: no politeness delays against our own server, no retry waits.
FAST = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "MFAWATCH_RETRY_BACKOFF": 0,
    "RETRY_TIMES": 1,
    "DOWNLOAD_TIMEOUT": 5,
}


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path / "archive.db") as url:
        yield url


@contextmanager
def fresh_database(sqlite_file: Path) -> Iterator[str]:
    """An empty database's URL: a SQLite file, or (MFAWATCH_TEST_DATABASE_URL set) a schema of
    its own on that server, dropped after."""
    base = os.environ.get("MFAWATCH_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{sqlite_file}"
        return
    # One schema per test, named in the URL so that crawl subprocesses use it too.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    factory = open_database(db_url)
    yield factory
    close_database(factory)


@pytest.fixture
def mirror() -> Iterator[MirrorServer]:
    with MirrorServer() as server:
        server.set_site(embassy_site("seoul"))
        yield server


@pytest.fixture
def elsewhere() -> Iterator[MirrorServer]:
    """A second site on another loopback address: the crawl must never talk to it."""
    with MirrorServer(host="127.0.0.2") as server:
        server.set_site(embassy_site("seoul"))
        yield server


def write_sites(
    path: Path, mirror: MirrorServer, settings: dict[str, Any] | None = None, extra: str = ""
) -> Path:
    lines = ['contact = "tests@mfawatch.invalid"', "[settings]"]
    for name, value in {**FAST, **(settings or {})}.items():
        lines.append(f"{name} = {json.dumps(value)}")
    lines += [
        "[[sites]]",
        'name = "seoul"',
        'layout = "mfa.gov.az"',
        f'start_urls = ["{mirror.url("/en")}", "{mirror.url("/az")}"]',
        extra,
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def sites_file(tmp_path: Path, mirror: MirrorServer) -> Path:
    return write_sites(tmp_path / "sites.toml", mirror)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Mfawatch:
    """The real command, pointed at this test's database and sites file."""

    db_url: str
    sites: Path

    def crawl(self, *args: str, check: bool = True) -> Result:
        """One crawl in a subprocess, as a user runs it."""
        proc = subprocess.run(
            [sys.executable, "-m", "mfawatch", "--db", self.db_url, "-c", str(self.sites),
             "crawl", *args],
            check=False, capture_output=True, text=True, timeout=120, cwd=REPO,
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise AssertionError(f"crawl failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def __call__(self, *args: str) -> Result:
        """A query command, in process."""
        result = CliRunner().invoke(
            app, ["--db", self.db_url, "-c", str(self.sites), *args], catch_exceptions=False
        )
        return Result(result.exit_code, result.stdout, result.stderr)

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.code == 0, result.stderr
        return result.json()


@pytest.fixture
def mfawatch(db_url: str, sites_file: Path) -> Mfawatch:
    return Mfawatch(db_url, sites_file)


HOLDER = """\
import sys
from scraper.locks import site_locks
with site_locks(sys.argv[1], ["seoul"]):
    print("holding", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def hold_site_lock(db_url: str) -> Callable[[], AbstractContextManager[subprocess.Popen[str]]]:
    """Another process holding seoul's crawl lock, until the block ends (then SIGKILL)."""

    @contextmanager
    def held() -> Iterator[subprocess.Popen[str]]:
        with subprocess.Popen(
            [sys.executable, "-c", HOLDER, db_url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
        ) as proc:  # fmt: skip
            try:
                assert proc.stdout is not None
                assert proc.stdout.readline() == "holding\n"
                yield proc
            finally:
                proc.kill()

    return held
