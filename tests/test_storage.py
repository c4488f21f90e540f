"""The archive's write path (record_fetch) and read path, fed FetchResult objects directly.

Runs on SQLite, and on PostgreSQL when MFAWATCH_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kernel.detect import ChangeKind, PageStatus, Seen
from kernel.errors import NotFound
from kernel.plan import PageSnapshot, Plan, plan_fetch
from kernel.text import bytes_hash
from storage import archive, content
from storage.archive import FetchResult, Outcome, Recorded, record_fetch
from storage.content import read_bodies, read_body, read_text, read_texts, texts_by_id
from storage.models import Body, Change, ContentVersion, Fetch, Page, Review, Run, Site
from storage.packing import MAX_DEPTH
from storage.queries import change_texts, get_change, page_history, review_change, version_at
from storage.recorder import CrawlWriter
from storage.runs import finish_run, start_run
from storage.search import search_versions

KEY = "seoul.mfa.gov.az/en/content/35"
URL = "https://seoul.mfa.gov.az/en/content/35/political-cooperation"
TEXT_A = "Political cooperation\nRelations were established in 1992.\nAbout 70 documents."
TEXT_B = "Political cooperation\nRelations were established in 1992.\nAbout 75 documents."
D1, D2 = dt.date(2023, 2, 28), dt.date(2023, 3, 5)
T0 = dt.datetime(2024, 1, 1, 6, 0, tzinfo=dt.UTC)
K = ChangeKind


class Archive:
    """Crawls as the pipeline runs them (through CrawlWriter, which batches unchanged fetches),
    or one record_fetch transaction per fetch: every test here holds for both."""

    def __init__(
        self, sessions: sessionmaker[Session], site: str = "seoul", batched: bool = True
    ) -> None:
        self.sessions = sessions
        self.site = site
        self.batched = batched
        self.clock = T0

    def tick(self) -> dt.datetime:
        self.clock += dt.timedelta(hours=1)
        return self.clock

    def fetch(
        self,
        seen: Seen = Seen.CONTENT,
        text: str | None = TEXT_A,
        declared: dt.date | None = D1,
        *,
        key: str = KEY,
        raw: bytes | None = None,
        **extra: object,
    ) -> FetchResult:
        has_text = seen is Seen.CONTENT
        result = FetchResult(
            site=self.site,
            key=key,
            url=URL if key == KEY else f"https://{key}",
            lang="en",
            seen=seen,
            fetched_at=self.tick(),
            http_status={Seen.GONE: 404, Seen.FAILED: 503, Seen.NOT_MODIFIED: 304}.get(seen, 200),
            raw=(raw if raw is not None else f"<html>{text}</html>".encode()) if has_text else None,
            title=text.split("\n")[0] if has_text and text else None,
            text=text if has_text else None,
            declared_raw=declared.strftime("%d.%m.%Y") if has_text and declared else None,
            declared_date=declared if has_text else None,
        )
        for name, value in extra.items():
            setattr(result, name, value)
        return result

    def run(self, *results: FetchResult, status: str = "ok") -> list[Recorded]:
        with self.sessions.begin() as session:
            run_id = start_run(session, self.site, "mfa.gov.az", "manual")
        recorded = []
        if self.batched:
            writer = CrawlWriter(self.sessions, run_id)
            recorded = [writer.record(result) for result in results]
            writer.flush()
        for result in [] if self.batched else results:
            with self.sessions.begin() as session:
                recorded.append(record_fetch(session, run_id, result))
        with self.sessions.begin() as session:
            finish_run(session, run_id, status)
        return recorded

    def counts(self) -> dict[str, int]:
        with self.sessions() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Page, Fetch, ContentVersion, Change, Review, Run)
            }

    def page(self, key: str = KEY) -> Page:
        with self.sessions() as session:
            page = session.scalar(select(Page).where(Page.key == key))
            assert page is not None
            return page


@pytest.fixture(params=["batched", "one-by-one"])
def arc(sessions: sessionmaker[Session], request: pytest.FixtureRequest) -> Archive:
    return Archive(sessions, batched=request.param == "batched")


# -- baseline and each kind --------------------------------------------------------------------


def test_baseline_records_pages_without_changes(arc: Archive) -> None:
    [rec] = arc.run(arc.fetch())
    assert rec.outcome is Outcome.NEW and rec.change_kind is None and rec.change_id is None
    page = arc.page()
    assert page.status == PageStatus.ACTIVE
    assert page.declared_date == D1 and page.declared_raw == "28.02.2023"
    assert page.title == "Political cooperation"
    assert arc.counts() == {
        "pages": 1, "fetches": 1, "versions": 1, "changes": 0, "reviews": 0, "runs": 1,
    }  # fmt: skip


def test_unchanged_fetch_adds_one_fetch_row_only(arc: Archive) -> None:
    arc.run(arc.fetch())
    before = arc.counts()
    [rec] = arc.run(arc.fetch())
    assert rec.outcome is Outcome.UNCHANGED and rec.change_kind is None
    after = arc.counts()
    assert after["fetches"] == before["fetches"] + 1
    assert after["versions"] == before["versions"]
    assert after["changes"] == before["changes"]


@pytest.mark.parametrize(
    ("second", "kind", "outcome"),
    [
        ((Seen.CONTENT, TEXT_B, D2), K.CONTENT_UPDATED, Outcome.CHANGED),
        ((Seen.CONTENT, TEXT_B, D1), K.SILENT_EDIT, Outcome.CHANGED),
        ((Seen.CONTENT, TEXT_B, None), K.SILENT_EDIT, Outcome.CHANGED),
        ((Seen.CONTENT, TEXT_A, D2), K.DATE_ONLY, Outcome.UNCHANGED),
        ((Seen.CONTENT, TEXT_A, dt.date(2022, 1, 1)), K.DATE_REGRESSED, Outcome.UNCHANGED),
        ((Seen.GONE, None, None), K.REMOVED, Outcome.GONE),
        ((Seen.EXTRACTION_FAILED, None, None), K.EXTRACTION_FAILED, Outcome.EXTRACTION_FAILED),
        ((Seen.FAILED, None, None), None, Outcome.FAILED),
        ((Seen.NOT_MODIFIED, None, None), None, Outcome.NOT_MODIFIED),
    ],
)
def test_each_kind_after_the_baseline(
    arc: Archive, second: tuple[Seen, str | None, dt.date | None], kind: K | None, outcome: Outcome
) -> None:
    arc.run(arc.fetch())
    [rec] = arc.run(arc.fetch(*second))
    assert (rec.change_kind, rec.outcome) == (kind, outcome)
    assert arc.counts()["changes"] == (0 if kind is None else 1)
    if kind is not None:
        with arc.sessions() as session:
            change = get_change(session, rec.change_id or 0)
            assert change.kind == kind and change.status == "pending"
            assert (
                change.old_version is not None and read_text(session, change.old_version) == TEXT_A
            )
            assert change.old_declared == D1
            assert change.new_declared == second[2]


def test_words_added_and_removed_are_counted(arc: Archive) -> None:
    arc.run(arc.fetch())
    [rec] = arc.run(arc.fetch(text=TEXT_A + "\nTwo new.", declared=D2))
    with arc.sessions() as session:
        change = get_change(session, rec.change_id or 0)
        assert (change.words_added, change.words_removed) == (2, 0)


def test_new_page_after_baseline(arc: Archive) -> None:
    arc.run(arc.fetch())
    other = "seoul.mfa.gov.az/en/content/36"
    recs = arc.run(arc.fetch(), arc.fetch(text="Economic cooperation\nTrade.", key=other))
    assert [r.change_kind for r in recs] == [None, K.NEW_PAGE]


def test_removed_then_restored(arc: Archive) -> None:
    arc.run(arc.fetch())
    removed = arc.run(arc.fetch(Seen.GONE))
    still = arc.run(arc.fetch(Seen.GONE))
    back = arc.run(arc.fetch())
    assert [r[0].change_kind for r in (removed, still, back)] == [K.REMOVED, None, K.RESTORED]
    page = arc.page()
    assert page.status == PageStatus.ACTIVE and page.etag is None
    assert arc.counts()["versions"] == 1


def test_broken_then_same_text_is_no_change(arc: Archive) -> None:
    arc.run(arc.fetch())
    broke = arc.run(arc.fetch(Seen.EXTRACTION_FAILED), arc.fetch(Seen.EXTRACTION_FAILED))
    fixed = arc.run(arc.fetch())
    assert [r.change_kind for r in broke] == [K.EXTRACTION_FAILED, None]
    assert fixed[0].change_kind is None
    # The broken spell never replaced the text: the page still shows version A.
    page = arc.page()
    assert page.status == PageStatus.ACTIVE
    assert arc.counts()["versions"] == 1


def test_broken_then_other_text_compares_with_the_last_good(arc: Archive) -> None:
    arc.run(arc.fetch())
    arc.run(arc.fetch(Seen.EXTRACTION_FAILED))
    [rec] = arc.run(arc.fetch(text=TEXT_B, declared=D2))
    assert rec.change_kind is K.CONTENT_UPDATED
    with arc.sessions() as session:
        change = get_change(session, rec.change_id or 0)
        assert change.old_version and read_text(session, change.old_version) == TEXT_A
        assert change.new_version and read_text(session, change.new_version) == TEXT_B
        assert (change.words_added, change.words_removed) == (1, 1)


def test_not_modified_vouches_for_the_date(arc: Archive) -> None:
    arc.run(arc.fetch(etag='"v1"'))
    [rec] = arc.run(arc.fetch(Seen.NOT_MODIFIED))
    assert rec.outcome is Outcome.NOT_MODIFIED
    with arc.sessions() as session:
        fetch = session.scalars(select(Fetch).order_by(Fetch.id.desc())).first()
        assert fetch is not None and fetch.outcome == Outcome.NOT_MODIFIED
        assert fetch.declared_date == D1 and fetch.declared_raw == "28.02.2023"
        assert fetch.version_id == arc.page().current_version_id
    assert arc.page().etag == '"v1"'


def timed(arc: Archive, text: str, date: dt.date, time: dt.time | None) -> FetchResult:
    raw = date.strftime("%d.%m.%Y") + (time.strftime(" %H:%M") if time else "")
    return arc.fetch(text=text, declared=date, declared_raw=raw, declared_time=time)


@pytest.mark.parametrize(
    ("first", "second", "kind"),
    [
        # The time decides on the same date when both have one.
        ((D1, dt.time(8, 59)), (TEXT_A, D1, dt.time(17, 30)), K.DATE_ONLY),
        ((D1, dt.time(17, 30)), (TEXT_A, D1, dt.time(8, 59)), K.DATE_REGRESSED),
        ((D1, dt.time(8, 59)), (TEXT_B, D1, dt.time(17, 30)), K.CONTENT_UPDATED),
        # A date alone and a date-time on that date: the same date, neither moved.
        ((D1, None), (TEXT_A, D1, dt.time(8, 59)), None),
        ((D1, None), (TEXT_B, D1, dt.time(8, 59)), K.SILENT_EDIT),
        ((D1, dt.time(8, 59)), (TEXT_A, D1, None), None),
        # Another date: the dates decide, whatever the hours.
        ((D1, dt.time(23, 0)), (TEXT_B, D2, dt.time(1, 0)), K.CONTENT_UPDATED),
    ],
)
def test_a_declared_time_is_kept_and_compared(
    arc: Archive,
    first: tuple[dt.date, dt.time | None],
    second: tuple[str, dt.date, dt.time | None],
    kind: K | None,
) -> None:
    arc.run(timed(arc, TEXT_A, *first))
    [rec] = arc.run(timed(arc, *second))
    assert rec.change_kind == kind
    with arc.sessions() as session:
        fetches = session.scalars(select(Fetch).order_by(Fetch.id)).all()
        assert [(f.declared_date, f.declared_time) for f in fetches] == [first, second[1:]]
        if kind is not None:
            change = get_change(session, rec.change_id or 0)
            assert (change.old_declared, change.old_declared_time) == first
            assert (change.new_declared, change.new_declared_time) == second[1:]
    page = arc.page()
    assert (page.declared_date, page.declared_time) == second[1:]


def test_not_modified_vouches_for_the_declared_time(arc: Archive) -> None:
    arc.run(timed(arc, TEXT_A, D1, dt.time(8, 59)))
    [rec] = arc.run(arc.fetch(Seen.NOT_MODIFIED))
    assert rec.outcome is Outcome.NOT_MODIFIED and rec.change_kind is None
    with arc.sessions() as session:
        fetch = session.scalars(select(Fetch).order_by(Fetch.id.desc())).first()
        assert fetch is not None
        assert (fetch.declared_date, fetch.declared_time) == (D1, dt.time(8, 59))


# -- versions and raw HTML ---------------------------------------------------------------------


def test_versions_dedup_by_normalized_text(arc: Archive) -> None:
    noisy = TEXT_A.replace(" ", "\u00a0", 2).replace("1992.", "1992.\u200b") + "\n\n"
    arc.run(arc.fetch())
    recs = arc.run(arc.fetch(text=noisy), arc.fetch(text=TEXT_B), arc.fetch(text=TEXT_A))
    assert [r.outcome for r in recs] == [Outcome.UNCHANGED, Outcome.CHANGED, Outcome.CHANGED]
    with arc.sessions() as session:
        versions = session.scalars(select(ContentVersion).order_by(ContentVersion.id)).all()
        assert read_texts(session, versions) == [TEXT_A, TEXT_B]
        fetches = session.scalars(select(Fetch).order_by(Fetch.id)).all()
        ids = [f.version_id for f in fetches]
        assert ids == [versions[0].id, versions[0].id, versions[1].id, versions[0].id]
        # Back to A: the change goes from B to the stored A, no new copy.
        back = get_change(session, recs[2].change_id or 0)
        assert (back.old_version_id, back.new_version_id) == (versions[1].id, versions[0].id)


def test_same_text_on_two_pages_is_two_versions(arc: Archive) -> None:
    other = "seoul.mfa.gov.az/az/content/35"
    arc.run(arc.fetch(), arc.fetch(key=other))
    assert arc.counts()["versions"] == 2


def test_every_distinct_body_is_kept_packed(arc: Archive) -> None:
    raw_a = ("<html><p>" + TEXT_A + "</p>" + "x" * 5000 + "</html>").encode()
    raw_b = ("<html><p>" + TEXT_B + "</p>" + "y" * 5000 + "</html>").encode()
    token = raw_a + b"<!-- new token -->"  # new bytes, the same text
    arc.run(arc.fetch(raw=raw_a))
    arc.run(arc.fetch(raw=token), arc.fetch(text=TEXT_B, raw=raw_b))
    arc.run(arc.fetch(text=TEXT_B, raw=raw_b))
    with arc.sessions() as session:  # a new session: nothing read back from a cache
        bodies = session.scalars(select(Body).order_by(Body.id)).all()
        assert read_bodies(session, bodies) == [raw_a, token, raw_b]
        # Packed against the first body and their own text, the others are a few bytes.
        assert len(bodies[0].packed) < 200 and all(len(b.packed) < 120 for b in bodies[1:])
        # Every fetch points at the bytes it saw.
        hashes = [f.raw_hash for f in session.scalars(select(Fetch).order_by(Fetch.id))]
        assert hashes == [bytes_hash(r) for r in (raw_a, token, raw_b, raw_b)]


def test_texts_read_back_across_chains_of_packed_versions(arc: Archive) -> None:
    texts = [f"{TEXT_A}\nEdit number {i} of the political paragraph." for i in range(MAX_DEPTH + 4)]
    for text in texts:
        arc.run(arc.fetch(text=text))
    with arc.sessions() as session:
        versions = session.scalars(select(ContentVersion).order_by(ContentVersion.id)).all()
        assert read_texts(session, versions) == texts
        depths = [v.depth for v in versions]
        assert max(depths) == MAX_DEPTH - 1 and depths[MAX_DEPTH] == 0  # the chain was cut


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements the session's engine runs inside the block."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_text_deep_in_its_chain_is_read_in_a_query_or_two(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each text is packed against the one before it: unpacking the last needs them all.
    arc = Archive(sessions)
    texts = [f"{TEXT_A}\nEdit number {i} of the political paragraph." for i in range(MAX_DEPTH)]
    raws = [f"<html><nav>menu</nav><p>{t}</p></html>".encode() for t in texts]
    for text, raw in zip(texts, raws, strict=True):
        arc.run(arc.fetch(text=text, raw=raw))
    order = (ContentVersion.depth, ContentVersion.id)
    with arc.sessions() as session:  # new sessions: nothing read back from a cache
        deepest = session.scalars(select(ContentVersion).order_by(*order)).all()[-1]
        assert deepest.depth == MAX_DEPTH - 1
        with statements(session) as ran:
            assert read_text(session, deepest) == texts[-1]
        assert len(ran) <= 2, ran
    with arc.sessions() as session:
        versions = session.scalars(select(ContentVersion).order_by(*order)).all()
        with statements(session) as ran:
            assert read_texts(session, versions) == texts  # every chain at once
        assert len(ran) <= 2, ran
        with statements(session) as ran:
            by_id = texts_by_id(session, [v.id for v in versions[::-1]])
        assert len(ran) <= 2 and [by_id[v.id] for v in versions] == texts, ran
    with arc.sessions() as session:
        bodies = session.scalars(select(Body).order_by(Body.id)).all()
        with statements(session) as ran:
            assert read_body(session, bodies[-1]) == raws[-1]  # its keyframe and two texts
        assert len(ran) <= 2, ran
        with statements(session) as ran:
            assert read_bodies(session, bodies) == raws
        assert len(ran) <= 2, ran
    with arc.sessions() as session:  # what a report of every change reads for its diffs
        changes = session.scalars(select(Change)).all()
        with statements(session) as ran:
            texts_of = change_texts(session, changes)
        assert len(changes) == MAX_DEPTH - 1 and len(ran) <= 2, ran
        assert texts_of == {v.id: t for v, t in zip(versions, texts, strict=True)}
    with arc.sessions() as session:  # many ids are read a chunk a statement, the same texts
        monkeypatch.setattr(content, "CHUNK", 5)
        by_id = texts_by_id(session, (v.id for v in versions))
        assert [by_id[v.id] for v in versions] == texts


# -- change window and reviews -----------------------------------------------------------------


def test_change_window_spans_the_last_good_fetch(arc: Archive) -> None:
    arc.run(arc.fetch())
    last_good = arc.fetch()  # unchanged: a batched row has no id until written
    arc.run(last_good, arc.fetch(Seen.FAILED), arc.fetch(Seen.EXTRACTION_FAILED))
    [changed] = arc.run(arc.fetch(text=TEXT_B, declared=D2))
    with arc.sessions() as session:
        change = get_change(session, changed.change_id or 0)
        assert change.old_fetch and change.old_fetch.fetched_at == last_good.fetched_at
        assert change.new_fetch_id == changed.fetch_id
        assert change.old_fetch and change.old_fetch.fetched_at < change.new_fetch.fetched_at
        assert change.detected_at == change.new_fetch.fetched_at


def test_review_history_keeps_every_decision(arc: Archive) -> None:
    arc.run(arc.fetch())
    [rec] = arc.run(arc.fetch(text=TEXT_B))
    change_id = rec.change_id or 0
    decisions = [
        ("accepted", "ok", "ana"),
        ("dismissed", "typo fix", "bob"),
        ("pending", None, None),
    ]
    for status, note, who in decisions:
        with arc.sessions.begin() as session:
            review_change(session, change_id, status, note, who)
    with arc.sessions() as session:
        change = get_change(session, change_id)
        assert change.status == "pending"
        assert [(r.status, r.note, r.reviewer) for r in change.reviews] == decisions
    with arc.sessions.begin() as session, pytest.raises(ValueError):
        review_change(session, change_id, "approved", None, None)
    with arc.sessions.begin() as session, pytest.raises(NotFound):
        review_change(session, 9999, "accepted", None, None)


# -- reading the past --------------------------------------------------------------------------


def test_version_at(arc: Archive) -> None:
    arc.run(arc.fetch())  # T0+1h: A
    arc.run(arc.fetch(text=TEXT_B))  # +2h: B
    arc.run(arc.fetch(Seen.FAILED))  # +3h: tells nothing
    arc.run(arc.fetch(Seen.GONE))  # +4h: gone
    arc.run(arc.fetch(Seen.FAILED))  # +5h
    page_id = arc.page().id
    hour = dt.timedelta(hours=1)
    with arc.sessions() as session:
        with pytest.raises(NotFound):
            version_at(session, page_id, T0)
        _, v = version_at(session, page_id, T0 + hour)
        assert v is not None and read_text(session, v) == TEXT_A
        _, v = version_at(session, page_id, T0 + 2 * hour - dt.timedelta(seconds=1))
        assert v is not None and read_text(session, v) == TEXT_A
        fetch, v = version_at(session, page_id, T0 + 3.5 * hour)
        assert (
            v is not None and read_text(session, v) == TEXT_B and fetch.outcome == Outcome.CHANGED
        )
        for at in (T0 + 4 * hour, T0 + 10 * hour, None):
            fetch, v = version_at(session, page_id, at)
            assert v is None and fetch.outcome == Outcome.GONE


def test_page_history_lists_every_fetch(arc: Archive) -> None:
    arc.run(arc.fetch(), arc.fetch(Seen.FAILED))
    arc.run(arc.fetch(text=TEXT_B))
    with arc.sessions() as session:
        history = page_history(session, arc.page().id)
        assert [f.outcome for f, _ in history] == ["new", "failed", "changed"]
        assert history[1][1] is None and history[0][1] != history[2][1]


def test_fetch_times_come_back_utc_aware(arc: Archive) -> None:
    arc.run(
        arc.fetch(fetched_at=dt.datetime(2024, 6, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=9))))
    )
    with arc.sessions() as session:
        fetched = session.scalar(select(Fetch.fetched_at))
        assert fetched == dt.datetime(2024, 6, 1, 3, tzinfo=dt.UTC)
        assert fetched is not None and fetched.utcoffset() == dt.timedelta(0)


# -- runs and transactions ---------------------------------------------------------------------


def baseline_at(arc: Archive) -> dt.datetime | None:
    with arc.sessions() as session:
        return session.scalar(select(Site.baseline_at).where(Site.name == arc.site))


@pytest.mark.parametrize("status", ["failed", "interrupted"])
def test_baseline_is_set_only_by_a_whole_crawl(arc: Archive, status: str) -> None:
    arc.run(arc.fetch(), status=status)
    assert baseline_at(arc) is None
    # The crawl did not finish: the next one is still the baseline and reports nothing new.
    other = "seoul.mfa.gov.az/en/content/36"
    recs = arc.run(arc.fetch(), arc.fetch(text="Economic\nTrade.", key=other))
    assert [r.change_kind for r in recs] == [None, None]
    first = baseline_at(arc)
    assert first is not None
    arc.run(arc.fetch())
    assert baseline_at(arc) == first  # later crawls do not move it
    with arc.sessions() as session:
        statuses = session.scalars(select(Run.status).order_by(Run.id)).all()
        assert statuses == [status, "ok", "ok"]
        assert all(session.scalars(select(Run.finished_at)).all())


def test_fetch_for_another_sites_run_writes_nothing(arc: Archive) -> None:
    arc.run(arc.fetch())
    with arc.sessions.begin() as session:
        bern_run = start_run(session, "bern", "mfa.gov.az", "manual")
    before = arc.counts()
    with pytest.raises(ValueError, match="bern"), arc.sessions.begin() as session:
        record_fetch(session, bern_run, arc.fetch(text=TEXT_B))
    assert arc.counts() == before


def test_failure_midway_leaves_nothing_half_written(
    arc: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The version and fetch rows are flushed before the change is built: a failure there
    # must take them back with it.
    arc.run(arc.fetch())
    with arc.sessions.begin() as session:
        run_id = start_run(session, "seoul", "mfa.gov.az", "manual")
    before = arc.counts()
    page_before = arc.page()

    def broken_diff(kind: str, old: str | None, new: str | None) -> list[object]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(archive, "change_diff", broken_diff)
    with pytest.raises(RuntimeError), arc.sessions.begin() as session:
        record_fetch(session, run_id, arc.fetch(text=TEXT_B, declared=D2))
    assert arc.counts() == before
    page = arc.page()
    assert page.current_version_id == page_before.current_version_id
    assert page.declared_date == D1 and page.last_seen_at == page_before.last_seen_at
    # And the page records normally once the fault is gone.
    monkeypatch.undo()
    with arc.sessions.begin() as session:
        rec = record_fetch(session, run_id, arc.fetch(text=TEXT_B, declared=D2))
    assert rec.change_kind is K.CONTENT_UPDATED


# -- the crawl's writer ------------------------------------------------------------------------


def test_unchanged_fetches_wait_for_a_change_and_keep_the_crawl_order(
    sessions: sessionmaker[Session],
) -> None:
    arc = Archive(sessions)
    arc.run(*(arc.fetch(key=f"{KEY}{i}") for i in range(3)))
    with sessions.begin() as session:
        run_id = start_run(session, arc.site, "mfa.gov.az", "manual")
    writer = CrawlWriter(sessions, run_id)
    same = [arc.fetch(key=f"{KEY}{i}") for i in range(2)]
    assert [writer.record(r).outcome for r in same] == [Outcome.UNCHANGED] * 2
    assert writer.waiting == 2 and arc.counts()["fetches"] == 3  # nothing written yet
    edited = arc.fetch(key=f"{KEY}2", text=TEXT_B)
    assert writer.record(edited).change_kind is K.SILENT_EDIT
    assert writer.waiting == 0 and arc.counts()["fetches"] == 6
    with sessions() as session:
        rows = session.scalars(select(Fetch).where(Fetch.run_id == run_id).order_by(Fetch.id))
        assert [f.fetched_at for f in rows] == [r.fetched_at for r in (*same, edited)]
        page = session.scalar(select(Page).where(Page.key == f"{KEY}0"))
        assert page is not None and page.last_seen_at == same[0].fetched_at


def test_a_batch_lost_to_a_database_error_is_counted(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    arc = Archive(sessions)
    arc.run(arc.fetch())
    with sessions.begin() as session:
        run_id = start_run(session, arc.site, "mfa.gov.az", "manual")
    writer = CrawlWriter(sessions, run_id)
    writer.record(arc.fetch())
    writer.sessions = sessionmaker(create_engine(f"sqlite:///{tmp_path}/missing/archive.db"))
    with pytest.raises(SQLAlchemyError):
        writer.flush()
    assert (writer.waiting, writer.dropped) == (0, 1)
    assert arc.counts()["fetches"] == 1  # what was stored before is all there


def test_a_baseline_batch_stores_what_one_by_one_would(sessions: sessionmaker[Session]) -> None:
    arc = Archive(sessions)
    raws = [f"<html><nav>menu</nav><p>{TEXT_A} {i}</p></html>".encode() for i in range(3)]
    texts = [f"{TEXT_A}\nPage {i} of the site." for i in range(3)]
    pairs = enumerate(zip(texts, raws, strict=True))
    results = [arc.fetch(key=f"{KEY}{i}", text=text, raw=raw) for i, (text, raw) in pairs]
    assert [r.outcome for r in arc.run(*results)] == [Outcome.NEW] * 3
    with arc.sessions() as session:
        pages = session.scalars(select(Page).order_by(Page.id)).all()
        assert read_texts(session, [p.current_version for p in pages if p.current_version]) == texts
        assert [(p.url, p.status, p.declared_date) for p in pages] == [
            (f"https://{KEY}{i}", "active", D1) for i in range(3)
        ]
        bodies = session.scalars(select(Body).order_by(Body.id)).all()
        assert read_bodies(session, bodies) == raws
        assert [b.base_id for b in bodies] == [None, bodies[0].id, bodies[0].id]
        fetches = session.scalars(select(Fetch).order_by(Fetch.id)).all()
        assert [(f.page_id, f.body_id, f.outcome) for f in fetches] == [
            (p.id, b.id, "new") for p, b in zip(pages, bodies, strict=True)
        ]
        assert [h.page_id for h in search_versions(session, "Page 1 of the site")] == [pages[1].id]


# -- every executor carries out the one plan (kernel.plan) -------------------------------------

PLAN_TEXTS = ["Visits\nThe minister visited Seoul.", "Visits\nThe minister visited Busan.", "Trade"]
PLAN_DECLARED = [None, (D1, "28.02.2023"), (D1, "2023-02-28"), (D2, "05.03.2023")]
PLAN_SEEN = [Seen.CONTENT] * 4 + [Seen.NOT_MODIFIED, Seen.SAME_BYTES, Seen.GONE]
PLAN_SEEN += [Seen.EXTRACTION_FAILED, Seen.FAILED]
FETCH_STEPS = st.tuples(
    st.integers(0, 2),  # the page
    st.sampled_from(PLAN_SEEN),
    st.integers(0, 2),  # its text
    st.booleans(),  # the text as a re-save spells it: the same version, another title
    st.integers(0, len(PLAN_DECLARED) - 1),
    st.integers(0, 2),  # its bytes
    st.booleans(),  # answered at another URL
    st.sampled_from([None, "e1", "e2"]),  # ETag
)
CRAWLS = st.lists(
    st.tuples(st.lists(FETCH_STEPS, min_size=1, max_size=5), st.sampled_from(["ok", "failed"])),
    min_size=1,
    max_size=3,
)


def plan_fetch_of(site: str, step: tuple[Any, ...], at: dt.datetime) -> FetchResult:
    page, seen, text_i, resaved, declared_i, raw_i, moved, etag = step
    host = f"{site}.example/en/{page}"
    content = seen is Seen.CONTENT
    text = PLAN_TEXTS[text_i].replace(" ", "  ") + "\n" if resaved else PLAN_TEXTS[text_i]
    declared = PLAN_DECLARED[declared_i] if content else None
    has_raw = seen in (Seen.CONTENT, Seen.SAME_BYTES, Seen.EXTRACTION_FAILED)
    return FetchResult(
        site=site, key=host, url=f"http://{host}" + ("/moved" if moved else ""), lang="en",
        seen=seen, fetched_at=at, etag=etag, final_url=f"http://{host}/final" if moved else None,
        http_status={Seen.GONE: 404, Seen.FAILED: 503, Seen.NOT_MODIFIED: 304}.get(seen, 200),
        raw=f"<html>bytes {raw_i}</html>".encode() if has_raw else None,
        title=text.split("\n")[0] if content else None, text=text if content else None,
        declared_date=declared[0] if declared else None,
        declared_raw=declared[1] if declared else None,
        error="broken" if seen in (Seen.EXTRACTION_FAILED, Seen.FAILED) else None,
    )  # fmt: skip


class PlanModel:
    """The plans carried out in memory: what every executor must have stored."""

    def __init__(self) -> None:
        self.pages: dict[str, dict[str, Any]] = {}
        self.fetches: list[dict[str, Any]] = []
        self.versions: set[tuple[str, str]] = set()
        self.bodies: set[tuple[str, str]] = set()
        self.changes: list[tuple[Any, ...]] = []

    def record(self, result: FetchResult, baseline: bool) -> Plan:
        page = self.pages.get(result.key)
        known = None
        if page is not None:
            known = PageSnapshot(**{f.name: page[f.name] for f in dataclasses.fields(PageSnapshot)})
        plan = plan_fetch(known, result, baseline=baseline)
        if known is not None and "url" in plan.page:  # moved: earlier fetches keep their URL
            for row in self.fetches:
                if row["page"] == result.key and row["other_url"] is None:
                    row["other_url"] = known.url
        self.fetches.append({"page": result.key, "version": plan.version, "body": plan.body})
        self.fetches[-1].update(plan.fetch)
        page = self.pages.setdefault(result.key, {"text_hash": None})
        page.update(plan.page)
        if plan.new_text:
            assert plan.version is not None
            self.versions.add((result.key, plan.version))
        if plan.body is not None:
            self.bodies.add((result.key, plan.body))
        if plan.kind is not None:
            self.changes.append(
                (result.key, plan.kind, page["text_hash"], plan.version, result.fetched_at)
            )
        if plan.new_text:
            page["text_hash"] = plan.version
        return plan


PAGE_COLUMNS = ("key", "url", "lang", "title", "status", "first_seen_at", "last_seen_at")
PAGE_COLUMNS += ("declared_raw", "declared_date", "declared_time", "etag", "last_modified")
FETCH_COLUMNS = ("fetched_at", "other_url", "final_url", "http_status", "etag", "last_modified")
FETCH_COLUMNS += ("declared_raw", "declared_date", "declared_time", "outcome", "error")


def stored(sessions: sessionmaker[Session], site: str) -> dict[str, Any]:
    """A site's rows, with the site's name and the ids taken out (ids depend on the writer)."""

    def plain(value: object) -> object:
        return value.replace(site, "site") if isinstance(value, str) else value

    with sessions() as session:
        pages = session.scalars(select(Page).join(Site).where(Site.name == site)).all()
        key = {p.id: plain(p.key) for p in pages}
        versions = session.scalars(
            select(ContentVersion).where(ContentVersion.page_id.in_(key))
        ).all()
        hashes = {v.id: v.text_hash for v in versions}
        bodies = session.scalars(select(Body).where(Body.page_id.in_(key))).all()
        raw = {b.id: (key[b.page_id], b.raw_hash) for b in bodies}
        fetches = session.scalars(
            select(Fetch).where(Fetch.page_id.in_(key)).order_by(Fetch.id)
        ).all()
        when = {f.id: f.fetched_at for f in fetches}
        changes = session.scalars(
            select(Change).where(Change.page_id.in_(key)).order_by(Change.id)
        ).all()
        return {
            "pages": sorted(
                (*(plain(getattr(p, c)) for c in PAGE_COLUMNS), hashes.get(p.current_version_id))
                for p in pages
            ),
            "fetches": [
                (
                    key[f.page_id],
                    *(plain(getattr(f, c)) for c in FETCH_COLUMNS),
                    hashes.get(f.version_id),
                    raw[f.body_id][1] if f.body_id else None,
                )
                for f in fetches
            ],
            "versions": sorted(
                (
                    key[v.page_id],
                    v.text_hash,
                    v.title,
                    v.first_seen_at,
                    v.depth,
                    hashes.get(v.base_id) if v.base_id else None,
                )
                for v in versions
            ),
            "bodies": sorted(
                (
                    *raw[b.id],
                    hashes.get(b.version_id) if b.version_id else None,
                    raw[b.base_id] if b.base_id else None,
                    b.first_seen_at,
                )
                for b in bodies
            ),
            "changes": [
                (
                    key[c.page_id],
                    c.kind,
                    c.status,
                    c.detected_at,
                    hashes.get(c.old_version_id),
                    hashes.get(c.new_version_id),
                    when.get(c.old_fetch_id),
                    when[c.new_fetch_id],
                    c.old_declared,
                    c.new_declared,
                    c.old_declared_time,
                    c.new_declared_time,
                    c.words_added,
                    c.words_removed,
                )
                for c in changes
            ],
        }


def expected(model: PlanModel, site: str) -> dict[str, Any]:
    def plain(value: object) -> object:
        return value.replace(site, "site") if isinstance(value, str) else value

    return {
        "pages": sorted(
            (*(plain(p[c]) for c in PAGE_COLUMNS), p["text_hash"]) for p in model.pages.values()
        ),
        "fetches": [
            (plain(f["page"]), *(plain(f[c]) for c in FETCH_COLUMNS), f["version"], f["body"])
            for f in model.fetches
        ],
        "versions": sorted((plain(k), h) for k, h in model.versions),
        "bodies": sorted((plain(k), h) for k, h in model.bodies),
        "changes": [(plain(k), *rest) for k, *rest in model.changes],
    }


def test_every_writer_stores_what_the_plan_says(sessions: sessionmaker[Session]) -> None:
    """Random crawls of a few pages written one transaction a fetch (record_fetch), through
    the crawl's writer (batches, and the bulk writer of a site's first crawl) and in memory by
    the plan alone: the same rows, row for row."""
    examples = iter(range(10**6))

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(CRAWLS)
    def check(crawls: list[tuple[list[tuple[Any, ...]], str]]) -> None:
        n = next(examples)
        sites = {"one-by-one": f"o{n:06}", "batched": f"b{n:06}"}
        model, at = PlanModel(), T0
        for steps, status in crawls:
            runs = {}
            with sessions.begin() as session:
                for how, site in sites.items():
                    runs[how] = start_run(session, site, "mfa.gov.az", "manual")
                baseline = archive.RunContext.load(session, runs["batched"]).baseline
            writer = CrawlWriter(sessions, runs["batched"])
            for step in steps:
                at += dt.timedelta(minutes=1)
                plan = model.record(plan_fetch_of(f"m{n:06}", step, at), baseline)
                alone = plan_fetch_of(sites["one-by-one"], step, at)
                with sessions.begin() as session:
                    one = record_fetch(session, runs["one-by-one"], alone)
                batched = writer.record(plan_fetch_of(sites["batched"], step, at))
                assert (one.outcome, one.change_kind) == (plan.outcome, plan.kind)
                assert batched.outcome is plan.outcome
                assert batched.change_kind is plan.kind or batched.fetch_id is None
            writer.flush()
            with sessions.begin() as session:
                for run_id in runs.values():
                    finish_run(session, run_id, status)
        rows = {how: stored(sessions, site) for how, site in sites.items()}
        assert rows["batched"] == rows["one-by-one"]
        planned = expected(model, f"m{n:06}")
        for table in ("pages", "fetches"):
            assert rows["batched"][table] == planned[table]
        assert [v[:2] for v in rows["batched"]["versions"]] == planned["versions"]
        assert [b[:2] for b in rows["batched"]["bodies"]] == planned["bodies"]
        changes = [(*c[:2], *c[4:6], c[7]) for c in rows["batched"]["changes"]]
        assert changes == planned["changes"]  # kind, old and new version, new fetch

    check()
