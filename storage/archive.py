"""The write path: record one fetch of one page, and the change it reveals.

Callers own the transaction (one per page): ``with Session.begin() as s: record_fetch(s, ...)``.
What the server and the page sent is made storable first (storage.storable). What the fetch
means and which rows it writes is kernel.plan's to decide; this module carries the plan out
(as storage.recorder and storage.baseline do for fetches written in batches).
An unchanged fetch costs one row: no diff, no copy of the content. New texts and new bytes are
packed against what the archive already has (storage.content).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, joinedload

from kernel.chain import fetch_link
from kernel.detect import ChangeKind, PageStatus
from kernel.diffing import change_diff, diff_stats
from kernel.plan import FetchResult, PageSnapshot, Plan, plan_fetch
from kernel.status import GOOD_OUTCOMES, FetchSource, Outcome, ReviewStatus
from storage import content
from storage.chain import chain_fetches
from storage.content import find_body, new_body, new_version, read_text
from storage.datecheck import check_dates
from storage.headers import pack_head
from storage.models import Body, Change, ContentVersion, Fetch, Page, Run
from storage.search import index_version
from storage.storable import storable

__all__ = ["FetchResult", "Outcome", "Recorded", "RunContext", "record_fetch"]


@dataclass(frozen=True)
class Recorded:
    fetch_id: int | None  # None while it waits in a batch (storage.recorder)
    outcome: Outcome
    change_id: int | None
    change_kind: ChangeKind | None


@dataclass
class RunContext:
    """What each fetch of a run needs to know of it: read once per run by CrawlWriter."""

    run_id: int | None  # None: not a crawl's (an archive's captures, mfawatch backfill)
    site_id: int
    site: str
    baseline: bool  # the site's first crawl: pages found are not changes
    keyframe: tuple[int, bytes] | None = None  # the site's first body (storage.content)

    @classmethod
    def load(cls, session: Session, run_id: int) -> RunContext:
        run = session.get_one(Run, run_id, options=[joinedload(Run.site)])
        return cls(run_id, run.site_id, run.site.name, run.site.baseline_at is None)

    def admit(self, result: FetchResult) -> FetchResult:
        """The fetch made storable, once it is known to be of this run's site."""
        if result.site != self.site:
            raise ValueError(f"fetch of site {result.site!r} recorded in a run of {self.site!r}")
        return storable(result)

    def site_keyframe(self, session: Session) -> tuple[int, bytes] | None:
        """The site's keyframe (storage.content.site_keyframe), read once it exists."""
        if self.keyframe is None:
            self.keyframe = content.site_keyframe(session, self.site_id)
        return self.keyframe

    def stored_body(self, body_id: int, raw: bytes, *, has_text: bool) -> None:
        """A body just stored: the site's first with a text is the base of the others."""
        if self.keyframe is None and has_text:
            self.keyframe = (body_id, raw)


def record_fetch(session: Session, run: int | RunContext, result: FetchResult) -> Recorded:
    if isinstance(run, int):
        run = RunContext.load(session, run)
    result = run.admit(result)
    # The current version's hash is all an unchanged fetch needs: its text and raw HTML are
    # loaded only when a change is diffed.
    page = session.scalar(
        select(Page)
        .where(Page.key == result.key)
        .options(
            joinedload(Page.current_version).load_only(
                ContentVersion.id, ContentVersion.text_hash, ContentVersion.depth
            )
        )
    )
    plan = plan_fetch(snapshot(page) if page else None, result, baseline=run.baseline)
    return carry_out(session, run, page, result, plan)


def snapshot(page: Page) -> PageSnapshot:
    current = page.current_version
    return PageSnapshot(
        url=page.url,
        status=PageStatus(page.status),
        text_hash=current.text_hash if current else None,
        title=page.title,
        declared_raw=page.declared_raw,
        declared_date=page.declared_date,
        declared_time=page.declared_time,
        etag=page.etag,
        last_modified=page.last_modified,
        declared_source=page.declared_source,
    )


def carry_out(
    session: Session, run: RunContext, page: Page | None, result: FetchResult, plan: Plan
) -> Recorded:
    """Write what ``plan`` says, ``page`` being the page it was planned on (None: a new one)."""
    fresh = page is None
    if page is None:
        page = Page(site_id=run.site_id, **plan.page)
        session.add(page)
        session.flush()
    version = _version_for(session, page, result, plan, fresh)
    body = body_of(session, run, page, result, plan, version, fresh=fresh)
    if not fresh and "url" in plan.page:
        _move_page(session, page, plan.page["url"])
    ids = (body.id if body else None, version.id if version else None)
    row = fetch_row(plan, run.run_id, page.id, *ids)
    link = fetch_link(
        row,
        url=result.url,  # the row's, or (the same) its page's
        body_hash=body.raw_hash if body else None,
        text_hash=version.text_hash if version else None,
    )
    chain_fetches(session, [(row, link)])
    fetch = Fetch(**row)
    session.add(fetch)
    session.flush()
    change = None
    if plan.kind is not None:
        change = _change(session, page, fetch, plan, version)
        if fetch.source == FetchSource.LIVE and _has_captures(session, page.id):
            check_dates(session, page.id)  # a live change against the archive's past
    if not fresh:
        for name, value in plan.page.items():
            setattr(page, name, value)
    if plan.new_text:
        page.current_version = version
        page.current_version_id = version.id if version else None
    change_id = change.id if change else None
    return Recorded(fetch.id, plan.outcome, change_id, plan.kind)


def _has_captures(session: Session, page_id: int) -> bool:
    captured = exists().where(Fetch.page_id == page_id, Fetch.source != FetchSource.LIVE)
    return bool(session.scalar(select(captured)))


def fetch_row(
    plan: Plan, run_id: int | None, page_id: int, body_id: int | None, version_id: int | None
) -> dict[str, Any]:
    """The fetch row a plan writes, with the ids the executor found or stored."""
    ids = {"page_id": page_id, "run_id": run_id, "body_id": body_id, "version_id": version_id}
    row = {**ids, **plan.fetch}
    if row.get("headers") is not None:
        row["headers"] = pack_head(row["headers"])
    return row


def _version_for(
    session: Session, page: Page, result: FetchResult, plan: Plan, fresh: bool
) -> ContentVersion | None:
    """The version this fetch saw, stored now if this page never had that text."""
    if not plan.new_text:
        return page.current_version if plan.version is not None else None
    return version_of(session, page, result, plan, base=page.current_version, fresh=fresh)


def version_of(
    session: Session,
    page: Page,
    result: FetchResult,
    plan: Plan,
    *,
    base: ContentVersion | None,
    fresh: bool = False,
) -> ContentVersion:
    """The page's version of the planned text, stored now (packed against ``base``) if the
    page never had it. A text found again earlier than it was first seen (a web archive's
    capture, recorded after later fetches) is first seen then. ``fresh``: a page stored just
    now has no versions to look for."""
    assert plan.version is not None  # a text is planned
    version = None
    if not fresh:
        version = session.scalar(
            select(ContentVersion).where(
                ContentVersion.page_id == page.id, ContentVersion.text_hash == plan.version
            )
        )
    if version is not None:
        version.first_seen_at = min(version.first_seen_at, result.fetched_at)
        return version
    assert result.text is not None  # a text not stored yet is this fetch's own
    version = new_version(
        page, result.text, text_hash=plan.version, title=result.title,
        first_seen_at=result.fetched_at, base=base,
    )  # fmt: skip
    session.add(version)
    session.flush()
    index_version(session, version.id, result.title, result.text)
    return version


def body_of(
    session: Session,
    run: RunContext,
    page: Page,
    result: FetchResult,
    plan: Plan,
    version: ContentVersion | None,
    *,
    fresh: bool = False,
) -> Body | None:
    """The body of these bytes, stored now if this page never sent them (first seen earlier,
    as a version is, when a capture brings them again before)."""
    if plan.body is None or result.raw is None:
        return None
    body = None if fresh else find_body(session, page.id, plan.body)
    if body is not None:
        body.first_seen_at = min(body.first_seen_at, result.fetched_at)
        return body
    body = new_body(
        page, result.raw, raw_hash=plan.body,
        version=version if plan.body_has_text else None,
        first_seen_at=result.fetched_at, keyframe=run.site_keyframe(session),
    )  # fmt: skip
    session.add(body)
    session.flush()
    run.stored_body(body.id, result.raw, has_text=body.version_id is not None)
    return body


def _move_page(session: Session, page: Page, url: str) -> None:
    """The page now answers at another URL: earlier fetches keep the one they used."""
    session.execute(
        update(Fetch)
        .where(Fetch.page_id == page.id, Fetch.other_url.is_(None))
        .values(other_url=page.url)
    )
    page.url = url


def _change(
    session: Session, page: Page, fetch: Fetch, plan: Plan, version: ContentVersion | None
) -> Change:
    assert plan.kind is not None
    old, new = page.current_version, version
    # Counted from the diff the change is shown with (a removal: its last text deleted).
    added, removed = diff_stats(
        change_diff(
            plan.kind,
            read_text(session, old) if old else None,
            read_text(session, new) if new else None,
        )
    )
    # The last good fetch before this one in time (an archive's captures may be recorded
    # after fetches that came later, so not the highest id).
    last_good = session.execute(
        select(Fetch.id, Fetch.source)
        .where(Fetch.page_id == page.id, Fetch.id != fetch.id, Fetch.outcome.in_(GOOD_OUTCOMES))
        .where(Fetch.fetched_at <= fetch.fetched_at)
        .order_by(Fetch.fetched_at.desc(), Fetch.id.desc())
        .limit(1)
    ).first()
    # A change whose window starts (or ends) at an archive's capture happened before watching
    # began: historical, and not queued (mfawatch backfill queues them when asked).
    sources = {plan.fetch.get("source", FetchSource.LIVE), last_good[1] if last_good else None}
    historical = bool(sources - {FetchSource.LIVE, None})
    old_declared, old_time, new_declared, new_time = plan.declared_move
    change = Change(
        page_id=page.id,
        kind=plan.kind,
        status=ReviewStatus.UNQUEUED if historical else ReviewStatus.PENDING,
        historical=historical,
        detected_at=fetch.fetched_at,
        old_version_id=old.id if old else None,
        new_version_id=new.id if new else None,
        old_fetch_id=last_good[0] if last_good else None,
        new_fetch_id=fetch.id,
        old_declared=old_declared,
        new_declared=new_declared,
        old_declared_time=old_time,
        new_declared_time=new_time,
        words_added=added,
        words_removed=removed,
    )
    session.add(change)
    session.flush()
    return change
