"""A page's past from a web archive: captures recorded as fetches before watching began.

Each capture is planned like a crawled fetch (kernel.plan.plan_fetch), against the page's state
at the capture's time: the state left by the latest fetch before it. Two cases:

- the page has no live fetch yet (a backfill before the first crawl): its row *is* its history
  so far, and a capture is recorded exactly as a crawl's fetch is (storage.archive);
- the page has live fetches: captures go in before the first of them, the state before each is
  read from the captures recorded before it, and the page's row (its live state) is left
  alone. Once a page's captures are in, ``link_to_live`` records the change between the last
  capture and the first live fetch, if there is one.

Captures are taken in time order, each after the page's last recorded capture and before its
first live fetch (scraper.backfill skips the others), so no change recorded earlier has to be
undone. Every change found this way is historical (storage.models.Change.historical) and not
queued unless asked. Callers own the transaction, one per capture.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session, joinedload

from kernel.chain import fetch_link
from kernel.detect import ChangeKind, Known, Observation, PageStatus, Seen, classify_change
from kernel.diffing import change_diff, diff_stats
from kernel.plan import FetchResult, PageSnapshot, plan_fetch
from kernel.status import GOOD_OUTCOMES, FetchSource, Outcome, ReviewStatus
from storage.archive import Recorded, RunContext, body_of, fetch_row, record_fetch, version_of
from storage.chain import chain_fetches
from storage.content import read_text
from storage.models import Change, ContentVersion, Fetch, Page, Review, Site


@dataclass
class Timeline:
    """What the archive has of a page, as a backfill needs it."""

    page_id: int | None = None
    first_live: dt.datetime | None = None  # its first crawled fetch
    last_capture: dt.datetime | None = None  # its latest recorded capture
    captures: set[str] = field(default_factory=set)  # archive keys recorded (kernel.captures)
    bodies: dict[str, int] = field(default_factory=dict)  # archive digest → body of its bytes


def timeline(session: Session, key: str) -> Timeline:
    page_id = session.scalar(select(Page.id).where(Page.key == key))
    if page_id is None:
        return Timeline()
    live = Fetch.source == FetchSource.LIVE
    first_live = session.scalar(
        select(func.min(Fetch.fetched_at)).where(Fetch.page_id == page_id, live)
    )
    found = Timeline(page_id, first_live)
    rows = session.execute(
        select(Fetch.fetched_at, Fetch.archive_key, Fetch.archive_digest, Fetch.body_id).where(
            Fetch.page_id == page_id, ~live
        )
    )
    for at, key_, digest, body_id in rows:
        found.last_capture = at if found.last_capture is None else max(found.last_capture, at)
        if key_:
            found.captures.add(key_)
        if digest and body_id is not None:
            found.bodies[digest] = body_id
    return found


def capture_context(session: Session, site: str, layout: str) -> RunContext:
    """What each capture of a site is recorded with: no run (a backfill is not a crawl, and
    never a site's baseline), and first sights that are no change (nothing to compare with)."""
    row = session.scalar(select(Site).where(Site.name == site))
    if row is None:
        row = Site(name=site, layout=layout)
        session.add(row)
        session.flush()
    return RunContext(run_id=None, site_id=row.id, site=site, baseline=True)


def record_capture(
    session: Session, run: RunContext, result: FetchResult, *, queue: bool = False
) -> Recorded:
    """Record one capture (``result.capture`` set) at its time in the page's history."""
    result = run.admit(result)
    page = session.scalar(
        select(Page).where(Page.key == result.key).options(joinedload(Page.current_version))
    )
    live = page is not None and session.scalar(
        select(exists().where(Fetch.page_id == page.id, Fetch.source == FetchSource.LIVE))
    )
    if page is None or not live:
        recorded = record_fetch(session, run, result)
    else:
        recorded = _before_live(session, run, page, result)
    if queue and recorded.change_id is not None:
        session.get_one(Change, recorded.change_id).status = ReviewStatus.PENDING
    return recorded


def link_to_live(session: Session, key: str, *, queue: bool = False) -> ChangeKind | None:
    """The change from a page's last capture to its first live fetch, recorded (historical)
    if there is one; one recorded before and not reviewed is replaced. Returns its kind."""
    page = session.scalar(select(Page).where(Page.key == key))
    if page is None:
        return None
    first = session.scalar(
        select(Fetch)
        .where(Fetch.page_id == page.id, Fetch.source == FetchSource.LIVE)
        .where(Fetch.outcome != Outcome.FAILED)
        .order_by(Fetch.fetched_at, Fetch.id)
        .limit(1)
    )
    if first is None:
        return None
    before = state_before(session, page, first.fetched_at, captures_only=True)
    if before is None:
        return None
    known, last_good, old_version = before
    bridges = select(Change.id).where(Change.page_id == page.id, Change.new_fetch_id == first.id)
    bridges = bridges.where(Change.historical.is_(True))
    reviewed = bridges.where(exists().where(Review.change_id == Change.id))
    if session.scalar(reviewed.limit(1)) is not None:
        return None  # a reviewer decided on it: kept as it is
    stale = session.scalars(bridges).all()
    if stale:
        session.execute(delete(Change).where(Change.id.in_(stale)))
    obs = _observed(session, first)
    was = Known(known.status, known.text_hash, known.declared_date, known.declared_time)
    kind = classify_change(was, obs, baseline=True).kind
    if kind is None:
        return None
    new_version = session.get(ContentVersion, first.version_id) if first.version_id else None
    declared = (known.declared_date, known.declared_time, obs.declared, obs.declared_time)
    _add_change(session, page, kind, (old_version, new_version), (last_good, first), declared,
                queue=queue)  # fmt: skip
    return kind


def mark_unlinked(session: Session, key: str) -> bool:
    """A page found only in a web archive, on a site that has been crawled: today's menus do
    not link it (a crawl fetches every page they link), so it is recorded as removed, as of
    its last capture (its last_seen_at). No change is recorded: no fetch saw it go. The next
    crawl re-checks it all the same (a known page): a 404 keeps it removed, an answer with
    its text is a `restored` change. Returns whether the page was marked."""
    page = session.scalar(select(Page).where(Page.key == key))
    if page is None or page.status != PageStatus.ACTIVE:
        return False  # gone at its last capture already, or never with a text
    live = (
        select(Fetch.id)
        .join(Page, Fetch.page_id == Page.id)
        .where(Fetch.source == FetchSource.LIVE)
    )
    if session.scalar(live.where(Fetch.page_id == page.id).limit(1)) is not None:
        return False
    if session.scalar(live.where(Page.site_id == page.site_id).limit(1)) is None:
        return False  # the site never crawled: whether its menus link the page is unknown
    page.status = PageStatus.REMOVED
    return True


def state_before(
    session: Session, page: Page, at: dt.datetime, *, captures_only: bool = False
) -> tuple[PageSnapshot, int | None, ContentVersion | None] | None:
    """The page as the latest fetch at or before ``at`` left it (failed fetches tell nothing),
    with its last good fetch and version; None if nothing is known of it by then."""
    query = select(Fetch).where(Fetch.page_id == page.id, Fetch.fetched_at <= at)
    if captures_only:
        query = query.where(Fetch.source != FetchSource.LIVE)
    latest = query.order_by(Fetch.fetched_at.desc(), Fetch.id.desc()).limit(1)
    last = session.scalar(latest.where(Fetch.outcome != Outcome.FAILED))
    if last is None:
        return None
    good = session.scalar(
        latest.where(Fetch.outcome.in_(GOOD_OUTCOMES), Fetch.version_id.is_not(None))
    )
    version = session.get(ContentVersion, good.version_id) if good and good.version_id else None
    status = {Outcome.GONE: PageStatus.REMOVED, Outcome.EXTRACTION_FAILED: PageStatus.BROKEN}
    snapshot = PageSnapshot(
        url=page.url,
        status=status.get(Outcome(last.outcome), PageStatus.ACTIVE),
        text_hash=version.text_hash if version else None,
        title=version.title if version else None,
        declared_raw=good.declared_raw if good else None,
        declared_date=good.declared_date if good else None,
        declared_time=good.declared_time if good else None,
    )
    return snapshot, good.id if good else None, version


def _before_live(session: Session, run: RunContext, page: Page, result: FetchResult) -> Recorded:
    """A capture of a page that has live fetches: planned against the captures before it."""
    before = state_before(session, page, result.fetched_at, captures_only=True)
    known, last_good, old_version = before if before else (None, None, None)
    plan = plan_fetch(known, result, baseline=True)
    version = None
    if plan.version is not None:
        base = old_version or page.current_version
        version = version_of(session, page, result, plan, base=base)
    body = body_of(session, run, page, result, plan, version)
    row = fetch_row(plan, None, page.id, body.id if body else None, version.id if version else None)
    row["other_url"] = result.url if result.url != page.url else None  # the page's row stays
    link = fetch_link(
        row,
        url=result.url,
        body_hash=body.raw_hash if body else None,
        text_hash=version.text_hash if version else None,
    )
    chain_fetches(session, [(row, link)])  # appended to the page's chain: the log is by id
    fetch = Fetch(**row)
    session.add(fetch)
    session.flush()
    page.first_seen_at = min(page.first_seen_at, result.fetched_at)
    change_id = None
    if plan.kind is not None:
        change = _add_change(session, page, plan.kind, (old_version, version),
                             (last_good, fetch), plan.declared_move)  # fmt: skip
        change_id = change.id
    return Recorded(fetch.id, plan.outcome, change_id, plan.kind)


def _observed(session: Session, fetch: Fetch) -> Observation:
    """What a recorded fetch saw, as the classification takes it."""
    outcome = Outcome(fetch.outcome)
    if outcome is Outcome.GONE:
        return Observation(Seen.GONE)
    if outcome is Outcome.EXTRACTION_FAILED or fetch.version_id is None:
        return Observation(Seen.EXTRACTION_FAILED)
    digest = session.scalar(
        select(ContentVersion.text_hash).where(ContentVersion.id == fetch.version_id)
    )
    return Observation(Seen.CONTENT, digest, fetch.declared_date, fetch.declared_time)


def _add_change(
    session: Session,
    page: Page,
    kind: ChangeKind,
    versions: tuple[ContentVersion | None, ContentVersion | None],
    fetches: tuple[int | None, Fetch],
    declared: tuple[dt.date | None, dt.time | None, dt.date | None, dt.time | None],
    *,
    queue: bool = False,
) -> Change:
    old, new = versions
    added, removed = diff_stats(
        change_diff(
            kind,
            read_text(session, old) if old else None,
            read_text(session, new) if new else None,
        )
    )
    change = Change(
        page_id=page.id,
        kind=kind,
        status=ReviewStatus.PENDING if queue else ReviewStatus.UNQUEUED,
        historical=True,
        detected_at=fetches[1].fetched_at,
        old_version_id=old.id if old else None,
        new_version_id=new.id if new else None,
        old_fetch_id=fetches[0],
        new_fetch_id=fetches[1].id,
        old_declared=declared[0],
        old_declared_time=declared[1],
        new_declared=declared[2],
        new_declared_time=declared[3],
        words_added=added,
        words_removed=removed,
    )
    session.add(change)
    session.flush()
    return change
