"""The fault suite, crawl side: crawls killed by SIGKILL at random points, and servers that
misbehave at the socket level (garbage bytes, connection resets, a body that stalls, 10 MB).

Randomness is seeded: a failing trial names its seed and kill point, and reruns the same way
(thread timing aside). Every wait is bounded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, aliased, sessionmaker

from mfawatch.mirror import (
    MirrorServer,
    Request,
    Response,
    content_page,
    faults,
    home_page,
    html_response,
    relations_menu,
    relations_path,
)
from mfawatch.mirror.faults import political_page
from storage.models import Base, Change, ContentVersion, Fetch, Page, Run

pytestmark = pytest.mark.crawl

REPO = Path(__file__).resolve().parents[1]
SEED = 20240605
# Change kinds that compare two texts need both versions; a new page needs its new one.
NEEDS_BOTH = ("content_updated", "silent_edit", "date_only", "date_regressed")
WITH_VERSION = ("new", "changed", "unchanged")


# -- what must hold after any crash -------------------------------------------------------------


def assert_archive_consistent(sessions: sessionmaker[Session]) -> None:
    """The archive's promises, checked by query so that they hold on SQLite and PostgreSQL."""
    with sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            assert session.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
            assert session.execute(text("PRAGMA foreign_key_check")).all() == []
        # Every foreign key resolves (PostgreSQL enforces them; this proves it, on both).
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                parent = fk.column.table.alias()
                dangling = session.scalar(
                    select(func.count())
                    .select_from(table.outerjoin(parent, fk.parent == parent.c[fk.column.name]))
                    .where(fk.parent.is_not(None), parent.c[fk.column.name].is_(None))
                )
                assert dangling == 0, f"{fk.parent} -> {fk.column}: {dangling} dangling"
        # No fetch half-written.
        bad_fetches = session.scalars(
            select(Fetch.id).where(
                Fetch.page_id.is_(None)
                | Fetch.outcome.is_(None)
                | Fetch.fetched_at.is_(None)
                | (Fetch.outcome.in_(WITH_VERSION) & Fetch.version_id.is_(None))
            )
        ).all()
        assert bad_fetches == []
        # No change without the versions its kind compares, all on the change's own page.
        old, new = aliased(ContentVersion), aliased(ContentVersion)
        bad_changes = session.execute(
            select(Change.id, Change.kind)
            .outerjoin(old, Change.old_version_id == old.id)
            .outerjoin(new, Change.new_version_id == new.id)
            .where(
                (Change.kind.in_(NEEDS_BOTH) & (old.id.is_(None) | new.id.is_(None)))
                | ((Change.kind == "new_page") & new.id.is_(None))
                | (old.id.is_not(None) & (old.page_id != Change.page_id))
                | (new.id.is_not(None) & (new.page_id != Change.page_id))
            )
        ).all()
        assert bad_changes == []
        # Unique constraints hold.
        for columns in ((Page.key,), (ContentVersion.page_id, ContentVersion.text_hash)):
            duplicates = session.execute(
                select(*columns).group_by(*columns).having(func.count() > 1)
            ).all()
            assert duplicates == []


# -- a site whose pages the test edits between crawls -------------------------------------------


@dataclass
class PageState:
    paragraphs: list[str]
    declared: dt.date | None
    present: bool = True


EXTRA_IDS = range(40, 52)  # pages the trials edit, besides seoul's eight


def extra_path(i: int) -> str:
    return f"/en/content/{i}/cooperation-{i}"


def render(i: int, state: PageState) -> str:
    return content_page(
        mission="seoul",
        lang="en",
        title=f"Cooperation in field {i}",
        paragraphs=state.paragraphs,
        last_updated=state.declared.strftime("%d.%m.%Y") if state.declared else None,
    )


def jittered(response: Response, rng: random.Random) -> Callable[[Request], Response]:
    """Answer `response` after a small random delay, so that a crawl's writes spread out."""

    def handler(_request: Request) -> Response:
        return dataclasses.replace(response, delay=rng.uniform(0, 0.2))

    return handler


def serve(mirror: MirrorServer, states: dict[int, PageState], rng: random.Random) -> None:
    menu = [*relations_menu("en"), *((extra_path(i), f"Cooperation {i}") for i in EXTRA_IDS)]
    mirror.set("/en", home_page(mission="seoul", lang="en", menu=menu))
    for i, state in states.items():
        if state.present:
            mirror.set_handler(extra_path(i), jittered(html_response(render(i, state)), rng))
        else:
            mirror.remove(extra_path(i))


def edit(states: dict[int, PageState], rng: random.Random, trial: int) -> None:
    """A few edits of the kinds ministries make: text, date forward or back, removal, return."""
    for i in rng.sample(list(states), rng.randint(3, 6)):
        state = states[i]
        if not state.present:
            state.present = True
            continue
        action = rng.choice(["silent", "update", "date_only", "regress", "remove"])
        if action in ("silent", "update"):
            state.paragraphs[-1] += f" Sentence {trial}.{i} was added."
        if action in ("update", "date_only"):
            state.declared = (state.declared or dt.date(2023, 1, 1)) + dt.timedelta(days=3)
        elif action == "regress":
            state.declared = (state.declared or dt.date(2023, 1, 1)) - dt.timedelta(days=400)
        elif action == "remove" and sum(not s.present for s in states.values()) < 2:
            state.present = False


def command(mfawatch: Any) -> list[str]:
    return [sys.executable, "-m", "mfawatch", "--db", mfawatch.db_url, "-c",
            str(mfawatch.sites), "crawl"]  # fmt: skip


def progress(sessions: sessionmaker[Session], fetch_id: int, run_id: int) -> tuple[int, bool]:
    """Fetches stored after `fetch_id`, and whether a run after `run_id` has started."""
    with sessions() as session:
        fetches = session.scalar(select(func.count()).where(Fetch.id > fetch_id)) or 0
        return fetches, (session.scalar(select(func.max(Run.id))) or 0) > run_id


def crawl_and_kill(mfawatch: Any, sessions: sessionmaker[Session], rng: random.Random) -> str:
    """Start a crawl and SIGKILL it at a random point: after a random number of stored fetches,
    or a random delay after its run started. Say where it was killed."""
    with sessions() as session:
        fetch_id = session.scalar(select(func.max(Fetch.id))) or 0
        run_id = session.scalar(select(func.max(Run.id))) or 0
    pages = len(EXTRA_IDS) + 8
    by_count = rng.random() < 0.6
    target = rng.randint(1, pages - 2) if by_count else rng.uniform(0.05, 0.35)
    deadline = time.monotonic() + 30
    run_started = None
    with subprocess.Popen(command(mfawatch), cwd=REPO, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL) as crawl:  # fmt: skip
        try:
            while crawl.poll() is None and time.monotonic() < deadline:
                stored, started = progress(sessions, fetch_id, run_id)
                if by_count and stored >= target:
                    time.sleep(rng.uniform(0, 0.03))  # into the next page's transaction
                    break
                if started and run_started is None:
                    run_started = time.monotonic()
                if not by_count and run_started and time.monotonic() - run_started >= target:
                    break
                time.sleep(0.005)
            assert time.monotonic() < deadline, "the crawl neither progressed nor ended"
            alive = crawl.poll() is None
            crawl.send_signal(signal.SIGKILL)
        finally:
            crawl.kill()
    stored, _ = progress(sessions, fetch_id, run_id)
    where = f"after {target} fetches" if by_count else f"{target:.2f}s into the run"
    state = "killed mid-crawl" if alive and stored < pages else "killed" if alive else "ended"
    return f"{state} {where}, {stored} of {pages} stored"


def test_sigkill_at_random_points_never_corrupts_the_archive(mfawatch, mirror, sessions):
    rng = random.Random(SEED)
    states = {
        i: PageState([f"Field {i}, paragraph {n}." for n in range(3)], dt.date(2023, 3, i - 20))
        for i in EXTRA_IDS
    }
    serve(mirror, states, rng)
    mfawatch.crawl()
    killed = 0
    for trial in range(10):
        edit(states, rng, trial)
        serve(mirror, states, rng)
        where = crawl_and_kill(mfawatch, sessions, rng)
        killed += where.startswith("killed mid-crawl")
        context = f"trial {trial} (seed {SEED}): {where}"
        try:
            assert_archive_consistent(sessions)
        except AssertionError as exc:
            raise AssertionError(f"{context}: {exc}") from exc
        result = mfawatch.crawl()
        assert "seoul (ok)" in result.stdout, context
        with sessions() as session:
            statuses = session.scalars(select(Run.status).order_by(Run.id)).all()
            assert statuses[-1] == "ok" and "running" not in statuses, (context, statuses)
            pages = {p.url: p for p in session.scalars(select(Page))}
            last_run = session.scalar(select(func.max(Run.id)))
            fetched = session.scalar(select(func.count()).where(Fetch.run_id == last_run))
        assert fetched == len(pages), context  # every known page was fetched again
        # Whatever the kill cut short, the archive now says what the site says.
        for i, state in states.items():
            page = pages[mirror.url(extra_path(i))]
            if state.present:
                assert (page.status, page.declared_date) == ("active", state.declared), context
            else:
                assert page.status == "removed", (context, i)
        assert_archive_consistent(sessions)
    assert killed >= 6, f"only {killed} of 10 kills landed mid-crawl"


# -- servers that misbehave below HTTP -----------------------------------------------------------


Behaviour = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A bare TCP server on 127.0.0.1 whose answer per path can break the connection at will."""

    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {"/robots.txt": answer(404, b"")}
        self.hits: dict[str, int] = {}
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}{path}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                path = data.split(b" ", 2)[1].decode("latin-1")
                self.hits[path] = self.hits.get(path, 0) + 1
                self.behaviours.get(path, answer(404, b""))(conn, self._stop)
            except OSError:
                pass  # the client went away first


def head(status: int, length: int) -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


def answer(status: int, body: bytes) -> Behaviour:
    def behave(conn: socket.socket, _stop: threading.Event) -> None:
        conn.sendall(head(status, len(body)) + body)

    return behave


def reset_after(body: bytes, sent: int) -> Behaviour:
    """Headers and `sent` body bytes, then an RST (SO_LINGER 0): "connection reset by peer"."""

    def behave(conn: socket.socket, _stop: threading.Event) -> None:
        conn.sendall(head(200, len(body)) + body[:sent])
        time.sleep(0.05)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return behave


def stall_after(body: bytes, sent: int) -> Behaviour:
    """Headers and `sent` body bytes, then nothing until the server stops."""

    def behave(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head(200, len(body)) + body[:sent])
        stop.wait(60)

    return behave


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


EN35, EN36, EN37 = (relations_path("en", i) for i in (35, 36, 37))
RAW = {  # path on the raw server -> the fault it serves in the second crawl
    "/en/content/41/reset-after-headers": lambda b: reset_after(b, 0),
    "/en/content/42/reset-mid-body": lambda b: reset_after(b, len(b) // 2),
    "/en/content/43/stall-mid-body": lambda b: stall_after(b, len(b) // 2),
}
# page -> (outcome, part of the error, requests in the fault crawl: retried faults ask twice)
EXPECTED = {
    EN35: ("extraction_failed", "body not found", 1),  # random bytes as text/html
    EN36: ("extraction_failed", "body not found", 1),  # random bytes, bogus charset
    EN37: ("changed", None, 1),  # 10 MB page: archived whole
    "/en/content/41/reset-after-headers": ("failed", "non-clean fashion", 2),
    "/en/content/42/reset-mid-body": ("failed", "non-clean fashion", 2),
    "/en/content/43/stall-mid-body": ("failed", "took longer than 2.0 seconds", 2),
}


def test_misbehaving_servers_are_recorded_and_the_crawl_goes_on(mfawatch, mirror, raw_server):
    rng = random.Random(SEED)
    body = political_page().encode()
    for path in RAW:
        raw_server.behaviours[path] = answer(200, body)
    raw_menu = [(raw_server.url(p), "Raw cooperation") for p in RAW]
    mirror.set(
        "/en", home_page(mission="seoul", lang="en", menu=[*relations_menu("en"), *raw_menu])
    )
    # Another port of the host is another site unless a start URL names it (issue 10).
    raw_server.behaviours["/en"] = answer(
        200, home_page(mission="seoul", lang="en", menu=raw_menu).encode()
    )
    sites = mfawatch.sites.read_text()
    mfawatch.sites.write_text(
        sites.replace(f'"{mirror.url("/az")}"', f'"{mirror.url("/az")}", "{raw_server.url("/en")}"')
    )
    mfawatch.crawl()
    before = {p: mfawatch.json("show", raw_server.url(p))["text"] for p in RAW}

    garbage = rng.randbytes(20_000)
    mirror.set_handler(EN35, lambda _r: Response(200, garbage, {"Content-Type": "text/html"}))
    bogus = {"Content-Type": "text/html; charset=x-no-such-charset"}
    mirror.set_handler(EN36, lambda _r: Response(200, rng.randbytes(20_000), bogus))
    mirror.set_handler(EN37, faults.huge_page())
    for path, fault in RAW.items():
        raw_server.behaviours[path] = fault(body)
    raw_server.hits.clear()
    mirror.clear_requests()
    started = time.monotonic()
    result = mfawatch.crawl("--set", "DOWNLOAD_TIMEOUT=2")
    assert time.monotonic() - started < 60
    assert result.code == 0 and "seoul (ok)" in result.stdout, result.stdout

    for path, (outcome, error, requests) in EXPECTED.items():
        on_raw = path in RAW
        url = raw_server.url(path) if on_raw else mirror.url(path)
        hits = raw_server.hits.get(path, 0) if on_raw else mirror.hits(path)
        last = mfawatch.json("history", url)["fetches"][-1]
        assert last["outcome"] == outcome, (path, last)
        if error is not None:
            assert error in (last["error"] or ""), (path, last)
        assert hits == requests, path
        if on_raw:  # a failed fetch changes nothing: the archived text stands
            assert mfawatch.json("show", url)["text"] == before[path]
    assert len(mfawatch.json("show", mirror.url(EN37))["text"]) > 9_000_000
    for lang, i in [("en", 38), *(("az", i) for i in (35, 36, 37, 38))]:
        fetches = mfawatch.json("history", mirror.url(relations_path(lang, i)))["fetches"]
        assert [f["outcome"] for f in fetches] == ["new", "unchanged"], (lang, i)
