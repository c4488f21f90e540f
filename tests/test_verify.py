"""The verifiable log (issue 14, item 5): every fetch and review row chained as written, and
`mfawatch verify` naming each row edited in the database behind its back.

Runs on SQLite, and on PostgreSQL when MFAWATCH_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import datetime as dt
import threading
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from kernel.chain import fetch_link, link_hash
from kernel.detect import Seen
from kernel.text import bytes_hash, text_hash
from mfawatch.mirror import relations_path
from mfawatch.mirror.missions import page_text
from mfawatch.mirror.pages import relations_page
from storage.archive import FetchResult, record_fetch
from storage.db import alembic_config, close_database, make_engine, open_database
from storage.models import Body, ContentVersion, Fetch, Page
from storage.packing import pack
from storage.runs import start_run
from storage.verify import verify_archive

EN35 = relations_path("en", 35)
render = partial(relations_page, "seoul")


def edited_35() -> list[str]:
    paragraphs = list(page_text("seoul", "en", 35).paragraphs)
    paragraphs[4] = paragraphs[4].replace("about 70 documents", "about 80 documents")
    return paragraphs


def broken(result: Any) -> set[tuple[str, int]]:
    return {(b["table"], b["id"]) for b in result.json()["broken"]}


@pytest.fixture
def crawled(mfawatch: Any, mirror: Any) -> Any:
    """Two crawls of the mirror (the second finds an edit) and two decisions on the change."""
    mfawatch.crawl()
    mirror.set(EN35, render("en", 35, paragraphs=edited_35(), last_updated="15.03.2024"))
    mfawatch.crawl()
    [change] = mfawatch.json("changes")
    assert mfawatch("review", str(change["id"]), "--accept", "--note", "checked").code == 0
    assert mfawatch("review", str(change["id"]), "--dismiss").code == 0
    return mfawatch


@pytest.mark.crawl
def test_a_crawled_archive_verifies_and_each_edited_row_is_named(crawled: Any, db_url: str) -> None:
    result = crawled("verify", "--json")
    assert result.code == 0, result.stdout
    report = result.json()
    assert report["ok"] and report["broken"] == []
    assert report["reviews"] == 2 and report["change_chains"] == 1
    assert report["fetches"] > report["page_chains"] > 0
    assert report["bodies"] > 0 and report["versions"] > report["page_chains"] - 1
    assert report["chained_by_migration"] == []  # a new archive: chained as written
    assert "every chain and every hash holds" in crawled("verify").stdout

    engine = make_engine(db_url)
    try:
        with Session(engine) as session, session.begin():
            # A fetch's outcome and another's declared date, a body's bytes, a review's note.
            first, second = session.scalars(
                select(Fetch.id).where(Fetch.declared_date.is_not(None)).order_by(Fetch.id)
            ).all()[:2]
            session.execute(text("UPDATE fetches SET outcome = 'changed' WHERE id = :i"),
                            {"i": first})  # fmt: skip
            session.execute(text("UPDATE fetches SET declared_date = :d WHERE id = :i"),
                            {"d": dt.date(2001, 1, 1), "i": second})  # fmt: skip
            body = session.scalars(
                select(Body.id).where(Body.base_id.is_not(None)).order_by(Body.id)
            ).first()
            forged = pack(b"<html><p>Forged.</p></html>")  # unpacks, to other bytes
            session.execute(text("UPDATE bodies SET packed = :p WHERE id = :i"),
                            {"p": forged, "i": body})  # fmt: skip
            review = session.execute(text("SELECT min(id) FROM reviews")).scalar()
            session.execute(text("UPDATE reviews SET note = 'edited' WHERE id = :i"),
                            {"i": review})  # fmt: skip
    finally:
        engine.dispose()

    result = crawled("verify", "--json")
    assert result.code == 1
    assert broken(result) == {
        ("fetches", first),
        ("fetches", second),
        ("bodies", body),
        ("reviews", review),
    }
    shown = crawled("verify")
    assert shown.code == 1
    for line in (f"BROKEN fetch {first} ", f"BROKEN fetch {second} ", f"BROKEN body {body} ",
                 f"BROKEN review {review} (change "):  # fmt: skip
        assert line in shown.stdout
    assert "4 broken" in shown.stdout


def _archive(sessions: sessionmaker[Session], fetches: int = 3) -> None:
    """A page fetched a few times, through the per-page write path."""
    at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for n in range(fetches):
        with sessions.begin() as session:
            run_id = start_run(session, "seoul", "mfa.gov.az", "manual")
            body = f"Political cooperation\nAbout {70 + n // 2} documents."
            record_fetch(session, run_id, _fetched(at + dt.timedelta(days=n), body))


def _fetched(at: dt.datetime, body: str, key: str = "seoul.mfa.gov.az/en/content/35") -> Any:
    return FetchResult(
        site="seoul", key=key, url=f"https://{key}", lang="en", seen=Seen.CONTENT,
        fetched_at=at, http_status=200, raw=f"<html>{body}</html>".encode(),
        title="Political cooperation", text=body,
    )  # fmt: skip


def _rechain(session: Session, page_id: int) -> None:
    """What a careful forger does after editing a fetch: every later hash recomputed."""
    rows = session.execute(
        select(Fetch.id, Fetch.fetched_at, Fetch.http_status, Fetch.declared_date,
               Fetch.declared_time, Fetch.outcome, Fetch.error, Page.url, Body.raw_hash,
               ContentVersion.text_hash)
        .join(Page, Fetch.page_id == Page.id)
        .outerjoin(Body, Fetch.body_id == Body.id)
        .outerjoin(ContentVersion, Fetch.version_id == ContentVersion.id)
        .where(Fetch.page_id == page_id).order_by(Fetch.id)
    ).all()  # fmt: skip
    prev = None
    for row in rows:
        link = fetch_link(
            row._mapping, url=row.url, body_hash=row.raw_hash, text_hash=row.text_hash
        )
        prev = link_hash(link, prev)
        session.execute(update(Fetch).where(Fetch.id == row.id).values(chain_hash=prev))


@pytest.mark.parametrize("as_json", [False, True])
def test_lodged_heads_catch_a_chain_rewritten_from_the_edit_on(
    mfawatch: Any, sessions: sessionmaker[Session], tmp_path: Path, as_json: bool
) -> None:
    _archive(sessions)
    heads = tmp_path / "heads.txt"
    result = mfawatch("verify", "--heads", *(["--json"] if as_json else []))
    assert result.code == 0
    heads.write_text(result.stdout, encoding="utf-8")
    if not as_json:
        [comment, line] = result.stdout.splitlines()
        assert comment.startswith("# mfawatch chain heads at ")
        kind, fetch_id, digest, page = line.split(" ")
        assert (kind, page) == ("fetch", "seoul.mfa.gov.az/en/content/35")
        with sessions() as session:
            last = session.scalars(select(Fetch).order_by(Fetch.id.desc())).first()
            assert last is not None and (int(fetch_id), digest) == (last.id, last.chain_hash)
    assert mfawatch("verify", "--against", str(heads)).code == 0

    _archive(sessions, 1)  # the chain grows: the lodged head is still in it
    checked = mfawatch("verify", "--against", str(heads))
    assert checked.code == 0 and "1 lodged heads checked: every one" in checked.stdout

    with sessions.begin() as session:
        page_id, first = session.execute(
            select(Fetch.page_id, Fetch.id).order_by(Fetch.id).limit(1)
        ).one()
        session.execute(update(Fetch).where(Fetch.id == first).values(http_status=404))
        assert not verify_archive(session).ok
        _rechain(session, page_id)
    assert mfawatch("verify").code == 0  # the forger's chain holds on its own ...
    result = mfawatch("verify", "--against", str(heads), "--json")
    assert result.code == 1  # ... but no longer contains the head lodged before
    [why] = [b["why"] for b in result.json()["broken"]]
    assert "was rewritten" in why


def test_two_writers_of_one_page_do_not_fork_its_chain(sessions: sessionmaker[Session]) -> None:
    """Writers that both read the same head would each chain after it: the second's link
    would then not verify after the first's."""
    _archive(sessions, 1)
    at = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(offset: int) -> None:
        try:
            start.wait()
            for n in range(15):
                when = at + dt.timedelta(minutes=2 * n + offset)
                with sessions.begin() as session:
                    run_id = start_run(session, "seoul", "mfa.gov.az", "manual")
                    body = "Political cooperation\nAbout 70 documents."
                    record_fetch(session, run_id, _fetched(when, body))
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sessions() as session:
        found = verify_archive(session)
    assert found.fetches == 31
    assert found.broken == []


def test_bad_input_is_one_line(
    mfawatch: Any, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    _archive(sessions, 1)
    result = mfawatch("verify", "--site", "nowhere")
    assert result.code == 2 and result.stderr.startswith("mfawatch: error: no site 'nowhere'")
    bad = tmp_path / "bad.txt"
    for content in ("fetch x y z\n", "fetch 1 nothex seoul\n", "# nothing\n", "{}"):
        bad.write_text(content, encoding="utf-8")
        result = mfawatch("verify", "--against", str(bad))
        assert result.code == 2, content
        assert result.stderr.startswith("mfawatch: error: ") and result.stderr.count("\n") == 1
    result = mfawatch("verify", "--against", str(tmp_path / "missing.txt"))
    assert result.code == 2


def test_migration_chains_the_rows_it_finds(db_url: str, mfawatch: Any) -> None:
    """An archive from before the chain: the migration chains its rows from their stored
    values, says so, and verify then says which rows it vouches for since when."""
    engine: Engine = make_engine(db_url)
    try:
        config = alembic_config(engine)
        command.upgrade(config, "0007")
        _old_archive(engine)
        command.upgrade(config, "head")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM fetches WHERE chain_hash IS NULL"
                                     )).scalar() == 0  # fmt: skip
    finally:
        engine.dispose()
    factory = open_database(db_url)
    try:
        with factory() as session:
            found = verify_archive(session)
    finally:
        close_database(factory)
    assert found.ok and (found.fetches, found.reviews, found.bodies, found.versions) == (4, 2, 2, 2)
    [backfill] = found.backfills
    assert (backfill.revision, backfill.fetches, backfill.last_fetch_id) == ("0013", 4, 4)
    assert (backfill.reviews, backfill.last_review_id) == (2, 2)
    shown = mfawatch("verify")
    assert shown.code == 0
    assert "4 fetches (ids up to 4) and 2 review decisions (ids up to 2) were written before " \
        "the chain existed and were chained by migration 0013 at " in shown.stdout  # fmt: skip
    assert mfawatch.json("verify")["chained_by_migration"][0]["fetches"] == 4


def _old_archive(engine: Engine) -> None:
    """Two pages with two fetches each, a change with two decisions, as 0007 stored them."""
    at = "2026-01-01 00:00:00"
    with engine.begin() as conn:
        run = conn.execute
        run(text("INSERT INTO sites (id, name, layout, created_at) VALUES (1, 'seoul', 'l', :at)"),
            {"at": at})  # fmt: skip
        for page in (1, 2):
            body = f"Title\nText of page {page}."
            raw = f"<html><p>{body}</p></html>".encode()
            run(
                text(
                    "INSERT INTO pages (id, site_id, key, url, lang, status, first_seen_at, "
                    "last_seen_at) VALUES (:p, 1, :k, :u, 'en', 'active', :at, :at)"
                ),
                {"p": page, "k": f"h/en/{page}", "u": f"https://h/en/{page}", "at": at},
            )
            run(
                text(
                    "INSERT INTO versions (id, page_id, text_hash, title, packed_text, depth, "
                    "first_seen_at) VALUES (:p, :p, :h, 'Title', :t, 0, :at)"
                ),
                {"p": page, "h": text_hash(body), "t": pack(body.encode()), "at": at},
            )
            run(
                text(
                    "INSERT INTO bodies (id, page_id, raw_hash, version_id, packed, "
                    "first_seen_at) VALUES (:p, :p, :h, :p, :b, :at)"
                ),
                {"p": page, "h": bytes_hash(raw), "b": pack(raw, body.encode()), "at": at},
            )
        for page in (1, 2, 1, 2):
            run(
                text(
                    "INSERT INTO fetches (page_id, fetched_at, http_status, body_id, "
                    "version_id, declared_date, outcome) "
                    "VALUES (:p, :at, 200, :p, :p, :d, 'unchanged')"
                ),
                {"p": page, "at": at, "d": dt.date(2025, 12, 1)},
            )
        run(
            text(
                "INSERT INTO changes (id, page_id, kind, status, detected_at, new_fetch_id, "
                "words_added, words_removed) VALUES (1, 1, 'silent_edit', 'dismissed', :at, "
                "3, 1, 1)"
            ),
            {"at": at},
        )
        for status in ("accepted", "dismissed"):
            run(text("INSERT INTO reviews (change_id, decided_at, status, note, reviewer) "
                     "VALUES (1, :at, :s, 'n', 'me')"), {"at": at, "s": status})  # fmt: skip
