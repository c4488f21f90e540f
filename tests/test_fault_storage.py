"""The fault suite, storage side: a database locked by another writer, a disk that fills up,
and property-based tests of what the archive decides (classification, normalization).

Each storage test runs on SQLite and on PostgreSQL with the same promises; the fault is made
the way that database really fails (a file lock or a table lock; a full filesystem or a
`disk_full` error from the server).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from html import escape
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import load_layout
from kernel.detect import ChangeKind, Known, Observation, PageStatus, Seen, classify_change
from kernel.text import text_hash
from mfawatch.mirror import MirrorServer, content_page, faults, html_response, relations_path
from mfawatch.mirror.missions import page_text
from mfawatch.mirror.texts import section_title
from scraper.extract import extract_page
from storage.archive import FetchResult, Recorded, record_fetch
from storage.db import make_engine
from storage.models import Change, ContentVersion, Fetch, Run, utcnow
from storage.recorder import CrawlWriter
from storage.runs import start_run

REPO = Path(__file__).resolve().parents[1]
PAGES = [(lang, i) for lang in ("en", "az") for i in (35, 36, 37, 38)]
K = ChangeKind


def dialect(db_url: str) -> str:
    return make_url(db_url).get_backend_name()


def fetch_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Fetch)) or 0


def run_rows(sessions: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with sessions() as session:
        return [(r.status, r.note) for r in session.scalars(select(Run).order_by(Run.id))]


# -- another writer holds the lock ----------------------------------------------------------


@contextmanager
def sqlite_write_lock(db_url: str) -> Iterator[None]:
    """BEGIN EXCLUSIVE on the database file: every other writer waits (readers go on: WAL)."""
    conn = sqlite3.connect(make_url(db_url).database, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
        conn.execute("COMMIT")
    finally:
        conn.close()


@contextmanager
def postgresql_table_lock(db_url: str) -> Iterator[None]:
    """LOCK TABLE fetches IN EXCLUSIVE MODE: inserts wait, reads go on."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("LOCK TABLE fetches IN EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()


WRITE_LOCKS: dict[str, Callable[[str], AbstractContextManager[None]]] = {
    "sqlite": sqlite_write_lock,
    "postgresql": postgresql_table_lock,
}


@pytest.mark.crawl
def test_a_crawl_waits_for_another_writer_and_loses_no_fetch(mfawatch, mirror, sessions, db_url):
    for lang, i in PAGES:  # one page every half second: the crawl outlasts the lock
        path = relations_path(lang, i)
        page = static_page(lang, i)
        mirror.set_handler(path, faults.slow(0.5, lambda _r, page=page: page))
    command = [sys.executable, "-m", "mfawatch", "--db", db_url, "-c", str(mfawatch.sites),
               "crawl", "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
               "--set", "DOWNLOAD_TIMEOUT=30"]  # fmt: skip
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as crawl:
        try:
            deadline = time.monotonic() + 60
            while fetch_count(sessions) == 0:
                assert crawl.poll() is None and time.monotonic() < deadline, "no fetch stored"
                time.sleep(0.02)
            with WRITE_LOCKS[dialect(db_url)](db_url):
                held = fetch_count(sessions)
                for _ in range(30):  # ~3 s: nothing gets in, the crawl waits
                    time.sleep(0.1)
                    assert fetch_count(sessions) == held
                assert crawl.poll() is None, "the crawl ended while the database was locked"
            assert held < len(PAGES), "the lock came too late to be in the crawl's way"
            output, _ = crawl.communicate(timeout=60)
        finally:
            crawl.kill()
    assert crawl.returncode == 0, output
    assert run_rows(sessions) == [("ok", None)]
    assert fetch_count(sessions) == len(PAGES)  # every fetch recorded, none dropped


def static_page(lang: str, i: int) -> Any:
    text_ = page_text("seoul", lang, i)
    html = content_page(
        mission="seoul",
        lang=lang,
        title=section_title(i, lang),
        paragraphs=list(text_.paragraphs),
        last_updated=text_.last_updated,
        date_style=text_.date_style,
    )
    return html_response(html)


# -- the disk fills up ------------------------------------------------------------------------


def grown_site(mirror: MirrorServer, words: int) -> None:
    """Every page gains `words` new words (hundreds of KB): the next versions need room."""
    for lang, i in PAGES:
        text_ = page_text("seoul", lang, i)
        extra = " ".join(f"w{lang}{i}x{n * 7919 % 100003}" for n in range(words))
        html = content_page(
            mission="seoul",
            lang=lang,
            title=section_title(i, lang),
            paragraphs=[*text_.paragraphs, extra],
            last_updated=text_.last_updated,
            date_style=text_.date_style,
        )
        mirror.set(relations_path(lang, i), html)


@contextmanager
def small_filesystem(where: Path, size: str = "4m") -> Iterator[bool]:
    """A tiny tmpfs at `where` if this process may mount one (root); False if not."""
    where.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], check=False)


PAGE_CAP_HOOK = """\
import sqlite3, sqlite3.dbapi2
_connect = sqlite3.connect
def connect(*args, **kwargs):
    conn = _connect(*args, **kwargs)
    conn.execute("PRAGMA max_page_count = {pages}")
    return conn
sqlite3.connect = sqlite3.dbapi2.connect = connect
"""


# A run row may fit in a page the database has: SQLite's own error for a full disk, raised
# where the write of a new run would need room that is not there.
NO_ROOM_HOOK = """\
import sqlite3, sqlite3.dbapi2
_connect = sqlite3.connect
class Cursor(sqlite3.Cursor):
    def execute(self, sql, *args):
        if sql.lstrip().upper().startswith("INSERT INTO RUNS"):
            full = sqlite3.OperationalError("database or disk is full")
            full.sqlite_errorcode, full.sqlite_errorname = sqlite3.SQLITE_FULL, "SQLITE_FULL"
            raise full
        return super().execute(sql, *args)
class Connection(sqlite3.Connection):
    def cursor(self, factory=Cursor):
        return super().cursor(factory)
def connect(*args, **kwargs):
    return _connect(*args, **{**kwargs, "factory": Connection})
sqlite3.connect = sqlite3.dbapi2.connect = connect
"""


def fill_sqlite(db_path: Path, mounted: bool, monkeypatch: Any, room: int = 96 * 1024) -> None:
    """Leave the database no room to grow: fill the tmpfs it lives on to `room` bytes of free
    space (by default room for the WAL index and a run row, not for a new version), or,
    without a mount, cap its page count in every process through a sitecustomize hook. With
    no room, a hook refuses a new run as a full disk would (on a full tmpfs SQLite may still
    find room for one in its WAL)."""
    if mounted and room:
        stat = os.statvfs(db_path.parent)
        free = stat.f_bavail * stat.f_frsize
        with open(db_path.parent / "filler", "wb") as filler:
            filler.write(b"\0" * max(free - room, 0))
        return
    with sqlite3.connect(db_path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0] + 8
    hook = db_path.parent / "hook"
    hook.mkdir()
    source = PAGE_CAP_HOOK.format(pages=pages) if room else NO_ROOM_HOOK
    (hook / "sitecustomize.py").write_text(source, encoding="utf-8")
    paths = [str(hook), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, paths)))


DISK_FULL_TRIGGER = """\
CREATE FUNCTION refuse_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'could not extend file "base/16384/16399": No space left on device'
    USING ERRCODE = 'disk_full', HINT = 'Check free disk space.';
END $$;
CREATE TRIGGER disk_full BEFORE INSERT ON versions
  FOR EACH ROW EXECUTE FUNCTION refuse_disk_full();
CREATE TRIGGER disk_full BEFORE INSERT ON fetches
  FOR EACH ROW EXECUTE FUNCTION refuse_disk_full();
"""
NO_RUN_TRIGGER = """\
CREATE TRIGGER disk_full BEFORE INSERT ON runs
  FOR EACH ROW EXECUTE FUNCTION refuse_disk_full();
"""
# What the run's note must name, per database.
FULL_MESSAGE = {"sqlite": "database or disk is full", "postgresql": "No space left on device"}


@pytest.fixture
def disk_full(db_url: str, tmp_path: Path, monkeypatch: Any) -> Iterator[tuple[str, Callable]]:
    """(database URL, fill): a database whose next writes fail for want of space."""
    if dialect(db_url) == "postgresql":

        def fill_postgresql(room: int | None = None) -> None:
            engine = make_engine(db_url)
            with engine.begin() as conn:
                conn.exec_driver_sql(DISK_FULL_TRIGGER)
                if room == 0:  # not even a run row
                    conn.exec_driver_sql(NO_RUN_TRIGGER)
            engine.dispose()

        yield db_url, fill_postgresql
        return
    with small_filesystem(tmp_path / "small") as mounted:
        db_path = tmp_path / "small" / "archive.db"
        yield (
            f"sqlite:///{db_path}",
            lambda **room: fill_sqlite(db_path, mounted, monkeypatch, **room),
        )


@pytest.mark.crawl
def test_a_full_disk_fails_the_crawl_clearly_and_keeps_the_archive(
    mfawatch, mirror, db_url, disk_full
):
    url, fill = disk_full
    archive = dataclasses.replace(mfawatch, db_url=url)
    archive.crawl()
    urls = [mirror.url(relations_path(lang, i)) for lang, i in PAGES]
    before = {u: (archive.json("show", u), archive.json("history", u)) for u in urls}
    queue = archive.json("changes", "--status", "all")

    fill()
    grown_site(mirror, words=20_000)
    result = archive.crawl(check=False)
    assert result.code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "seoul (failed)" in result.stdout
    [runs_now, baseline] = archive.json("runs")
    assert baseline["status"] == "ok"
    assert runs_now["status"] == "failed"
    assert FULL_MESSAGE[dialect(db_url)] in runs_now["note"], runs_now["note"]
    assert f"{len(PAGES)} fetches could not be archived" in runs_now["note"]
    # Everything committed before still answers, unchanged.
    for u, (shown, history) in before.items():
        assert archive.json("show", u) == shown
        assert archive.json("history", u) == history
    assert archive.json("changes", "--status", "all") == queue


# -- properties: the declared-date rule, through the pure rule and through the archive ---------

DATES = st.one_of(
    st.none(),
    st.sampled_from([dt.date(2023, 2, 28), dt.date(2023, 3, 5), dt.date(2024, 1, 10)]),
    st.dates(dt.date(2015, 1, 1), dt.date(2030, 12, 31)),
)


def declared_date_rule(text_changed: bool, old: dt.date | None, new: dt.date | None) -> Any:
    """The rule as the README states it (a date that appears counts as moving forward)."""
    if old is not None and new is not None and new < old:
        return K.DATE_REGRESSED
    if text_changed:
        forward = new is not None and (old is None or new > old)
        return K.CONTENT_UPDATED if forward else K.SILENT_EDIT
    return None if old == new else K.DATE_ONLY


@given(
    st.sampled_from([PageStatus.ACTIVE, PageStatus.BROKEN]),
    st.sampled_from("ab"),
    st.sampled_from("ab"),
    DATES,
    DATES,
    st.booleans(),
)
def test_any_previous_state_and_observation_follow_the_rule(
    status, old_hash, new_hash, old, new, baseline
):
    # A broken page is compared with its last good version, as an active one is.
    verdict = classify_change(
        Known(status, old_hash, old), Observation(Seen.CONTENT, new_hash, new), baseline=baseline
    )
    assert verdict.kind == declared_date_rule(old_hash != new_hash, old, new)
    assert verdict.status is PageStatus.ACTIVE


TEXTS = ["Alpha beta gamma.", "Alpha beta gamma delta.", "Entirely “other” words."]


def resaved(text_: str) -> str:
    """The same text as a CMS re-save leaves it: other spaces, &nbsp;, straight quotes."""
    return "  " + text_.replace(" ", " \u00a0").replace("“", '"').replace("”", '"') + "\n\n"


@st.composite
def fetch_sequence(draw: st.DrawFn) -> list[tuple[int, bool, dt.date | None]]:
    return draw(
        st.lists(st.tuples(st.integers(0, 2), st.booleans(), DATES), min_size=2, max_size=5)
    )


@pytest.mark.parametrize("writer", ["record_fetch", "CrawlWriter"])
def test_the_archive_records_the_kind_the_rule_gives(sessions, writer):
    """Random sequences of fetches of one page, through record_fetch or the crawl's writer (a
    run a fetch, which batches what cannot be a change) into the database: each change has the
    rule's kind and the versions it compares, on SQLite and PostgreSQL."""
    with sessions.begin() as session:
        run_id = start_run(session, "prop", "mfa.gov.az", "manual")
        session.get_one(Run, run_id).site.baseline_at = utcnow()  # past the baseline
    pages = iter(range(10**6))

    def record(result: FetchResult) -> Recorded:
        if writer == "record_fetch":
            with sessions.begin() as session:
                return record_fetch(session, run_id, result)
        crawl = CrawlWriter(sessions, run_id)
        recorded = crawl.record(result)
        crawl.flush()
        return recorded

    @settings(max_examples=40, deadline=None)
    @given(fetch_sequence())
    def check(steps: list[tuple[int, bool, dt.date | None]]) -> None:
        key = f"prop.example/en/content/{next(pages)}"
        previous: tuple[str, dt.date | None] | None = None
        for choice, noisy, declared in steps:
            text_ = resaved(TEXTS[choice]) if noisy else TEXTS[choice]
            result = FetchResult(
                site="prop", key=key, url=f"http://{key}", lang="en", seen=Seen.CONTENT,
                fetched_at=utcnow(), http_status=200, raw=text_.encode(), title="T",
                text=text_, declared_date=declared,
            )  # fmt: skip
            recorded = record(result)
            with sessions.begin() as session:
                change = session.get(Change, recorded.change_id) if recorded.change_id else None
                versions = {
                    v.id: v.text_hash
                    for v in session.scalars(select(ContentVersion))
                    if change and v.id in (change.old_version_id, change.new_version_id)
                }
            digest = text_hash(text_)
            if previous is None:
                assert recorded.change_kind is K.NEW_PAGE
            else:
                rule = declared_date_rule(previous[0] != digest, previous[1], declared)
                assert recorded.change_kind == rule, (steps, previous)
            if change is not None:  # the change holds the versions it compares
                assert versions.get(change.new_version_id) == digest
                if previous is not None:
                    assert versions.get(change.old_version_id) == previous[0]
            previous = (digest, declared)

    check()


# -- properties: normalization noise in the HTML never changes the text's hash --------------

LAYOUT = load_layout("mfa.gov.az")
# No digits: a random paragraph must never look like a "Last updated: …" line.
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzəüöğışçабвгджз,.;!?-", min_size=1, max_size=7)
PARAGRAPHS = st.lists(st.lists(WORD, min_size=1, max_size=12), min_size=1, max_size=5)
GAPS = [" ", "  ", "\n      ", "\t", "&nbsp;", "&#160;", "\u00a0", " &nbsp; ", "\r\n "]
EDGES = ["", " ", "\n  ", "&nbsp;", "&#8203;", "\ufeff"]
QUOTES = [("“", "”"), ("&ldquo;", "&rdquo;"), ("«", "»"), ("&laquo;", "&raquo;"), ('"', '"')]
SPACERS = ["", "\n<p>&nbsp;</p>", "\n<p> </p>", "\n<p>\n</p>"]


def page_html(paragraphs: list[str]) -> str:
    """A relations page whose body paragraphs are the given HTML `<p>` elements."""
    html = content_page(
        mission="seoul", lang="en", title="Political cooperation",
        paragraphs=[f"PARAGRAPH{i}" for i in range(len(paragraphs))],
        last_updated="28.02.2023",
    )  # fmt: skip
    for i, paragraph in enumerate(paragraphs):
        html = html.replace(f"<p>PARAGRAPH{i}</p>", paragraph, 1)
    return html


def plain(paragraphs: list[list[str]], quoted: list[bool]) -> str:
    return page_html(
        [
            "<p>" + escape(('"{}"' if q else "{}").format(" ".join(words))) + "</p>"
            for words, q in zip(paragraphs, quoted, strict=True)
        ]
    )


def noisy(draw: st.DrawFn, paragraphs: list[list[str]], quoted: list[bool]) -> str:
    """The same paragraphs as a CMS re-save writes them: other white space, &nbsp;, invisible
    characters, curly quotes, empty spacer paragraphs."""
    rendered = []
    for words, q in zip(paragraphs, quoted, strict=True):
        inner = escape(words[0]) + "".join(
            draw(st.sampled_from(GAPS)) + escape(w) for w in words[1:]
        )
        if q:
            left, right = draw(st.sampled_from(QUOTES))
            inner = f"{left}{inner}{right}"
        edge = st.sampled_from(EDGES)
        rendered.append(f"<p>{draw(edge)}{inner}{draw(edge)}</p>{draw(st.sampled_from(SPACERS))}")
    return page_html(rendered)


def extracted_hash(html: str) -> str:
    return text_hash(extract_page(html, LAYOUT.extract, "en").text)


@given(PARAGRAPHS, st.data())
def test_html_noise_never_changes_the_hash_and_a_word_edit_always_does(paragraphs, data):
    quoted = [data.draw(st.booleans()) for _ in paragraphs]
    original = extracted_hash(plain(paragraphs, quoted))
    assert extracted_hash(noisy(data.draw, paragraphs, quoted)) == original
    # One real edit of one word, in an equally noisy re-save: always a new hash.
    i = data.draw(st.integers(0, len(paragraphs) - 1))
    j = data.draw(st.integers(0, len(paragraphs[i]) - 1))
    words = list(paragraphs[i])
    edit = data.draw(st.sampled_from(["replace", "delete", "insert"]))
    if edit == "replace":
        words[j] += "x"
    elif edit == "delete":
        del words[j]
    else:
        words.insert(j, "new")
    edited = [*paragraphs[:i], words, *paragraphs[i + 1 :]]
    if not words:  # the paragraph is gone, and with it its quotes
        edited, quoted = edited[:i] + edited[i + 1 :], quoted[:i] + quoted[i + 1 :]
    if edited:
        assert extracted_hash(noisy(data.draw, edited, quoted)) != original
