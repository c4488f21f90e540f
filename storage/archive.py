"""The write path: record one fetch of one page, and the change it reveals.

Callers own the transaction (one per page): ``with Session.begin() as s: record_fetch(s, ...)``.
What the server and the page sent is made storable first (storage.storable).
An unchanged fetch costs one row: no diff, no copy of the content. New texts and new bytes are
packed against what the archive already has (storage.content).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from kernel.detect import (
    VOUCHED,
    ChangeKind,
    Known,
    Observation,
    PageStatus,
    Seen,
    classify_change,
)
from kernel.diffing import change_diff, diff_stats
from kernel.status import GOOD_OUTCOMES, Outcome
from kernel.text import bytes_hash, text_hash
from storage.content import find_body, new_body, new_version, read_text, site_keyframe
from storage.models import Body, Change, ContentVersion, Fetch, Page, Run
from storage.search import index_version
from storage.storable import storable


@dataclass
class FetchResult:
    """One fetch as the scraper saw it: the archive's input (and the Scrapy item)."""

    site: str
    key: str  # the page identity, see kernel.config.page_identity
    url: str
    lang: str
    seen: Seen
    fetched_at: dt.datetime
    final_url: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    raw: bytes | None = None
    title: str | None = None
    text: str | None = None  # the title line, then one paragraph a line
    declared_raw: str | None = None
    declared_date: dt.date | None = None
    error: str | None = None
    declared_time: dt.time | None = None  # when the declared text gives a time of day


@dataclass(frozen=True)
class Recorded:
    fetch_id: int | None  # None while it waits in a batch (storage.recorder)
    outcome: Outcome
    change_id: int | None
    change_kind: ChangeKind | None


@dataclass
class RunContext:
    """What each fetch of a run needs to know of it: read once per run by CrawlWriter."""

    run_id: int
    site_id: int
    site: str
    baseline: bool  # the site's first crawl: pages found are not changes
    keyframe: tuple[int, bytes] | None = None  # the site's first body (storage.content)

    @classmethod
    def load(cls, session: Session, run_id: int) -> RunContext:
        run = session.get_one(Run, run_id, options=[joinedload(Run.site)])
        return cls(run_id, run.site_id, run.site.name, run.site.baseline_at is None)


def record_fetch(session: Session, run: int | RunContext, result: FetchResult) -> Recorded:
    result = storable(result)
    if isinstance(run, int):
        run = RunContext.load(session, run)
    if run.site != result.site:
        raise ValueError(f"fetch of site {result.site!r} recorded in a run of {run.site!r}")
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
    known = None
    fresh = page is None
    if page is None:
        page = _new_page(run.site_id, result)
        session.add(page)
        session.flush()
    else:
        current = page.current_version
        digest = current.text_hash if current else None
        known = Known(PageStatus(page.status), digest, page.declared_date, page.declared_time)
    version = _version_for(session, page, result, fresh)
    body = _body_for(session, run, page, result, version, fresh)
    obs = _observation(page, result, version)
    verdict = classify_change(known, obs, baseline=run.baseline)
    if result.seen is Seen.CONTENT and version is not None and result.url != page.url:
        _move_page(session, page, result.url)

    fetch = Fetch(
        page_id=page.id,
        run_id=run.run_id,
        fetched_at=result.fetched_at,
        other_url=result.url if result.url != page.url else None,
        final_url=result.final_url if result.final_url != result.url else None,
        http_status=result.http_status,
        etag=result.etag,
        last_modified=result.last_modified,
        body_id=body.id if body else None,
        version_id=version.id if version else None,
        # A 304 vouches for the date too: the fetch shows the one it confirmed.
        declared_raw=page.declared_raw if result.seen in VOUCHED else result.declared_raw,
        declared_date=obs.declared,
        declared_time=obs.declared_time,
        outcome=_outcome(result.seen, page, version),
        error=result.error,
    )
    session.add(fetch)
    session.flush()
    change = None
    if verdict.kind is not None:
        change = _change(session, page, fetch, verdict.kind, version, obs)
    _update_page(page, result, verdict.status, version)
    change_id = change.id if change else None
    return Recorded(fetch.id, Outcome(fetch.outcome), change_id, verdict.kind)


def _new_page(site_id: int, result: FetchResult) -> Page:
    return Page(
        site_id=site_id,
        key=result.key,
        url=result.url,
        lang=result.lang,
        title=result.title,
        status=PageStatus.ACTIVE,
        first_seen_at=result.fetched_at,
        last_seen_at=result.fetched_at,
    )


def _version_for(
    session: Session, page: Page, result: FetchResult, fresh: bool
) -> ContentVersion | None:
    """The version this fetch saw, stored now if this page never had that text."""
    if result.seen in VOUCHED:
        return page.current_version
    if result.seen is not Seen.CONTENT or result.text is None:
        return None
    digest = text_hash(result.text)
    current = page.current_version
    if current is not None and current.text_hash == digest:
        return current
    version = None
    if not fresh:  # a page stored just now has no versions yet
        version = session.scalar(
            select(ContentVersion).where(
                ContentVersion.page_id == page.id, ContentVersion.text_hash == digest
            )
        )
    if version is not None:
        return version
    version = new_version(
        page,
        result.text,
        text_hash=digest,
        title=result.title,
        first_seen_at=result.fetched_at,
        base=current,
    )
    session.add(version)
    session.flush()
    index_version(session, version.id, result.title, result.text)
    return version


# What a fetch brought back is the page's own body: archived even when extraction failed.
_BODY_SEEN = (Seen.CONTENT, Seen.SAME_BYTES, Seen.EXTRACTION_FAILED)


def _body_for(
    session: Session,
    run: RunContext,
    page: Page,
    result: FetchResult,
    version: ContentVersion | None,
    fresh: bool,
) -> Body | None:
    """The body of these bytes, stored now if this page never sent them."""
    if result.raw is None or result.seen not in _BODY_SEEN:
        return None
    raw_hash = bytes_hash(result.raw)
    body = None if fresh else find_body(session, page.id, raw_hash)
    if body is None:
        if run.keyframe is None:
            run.keyframe = site_keyframe(session, run.site_id)
        body = new_body(
            page,
            result.raw,
            raw_hash=raw_hash,
            version=version if result.seen is Seen.CONTENT else None,
            first_seen_at=result.fetched_at,
            keyframe=run.keyframe,
        )
        session.add(body)
        session.flush()
        if run.keyframe is None and body.version_id is not None:
            run.keyframe = (body.id, result.raw)
    return body


def _move_page(session: Session, page: Page, url: str) -> None:
    """The page now answers at another URL: earlier fetches keep the one they used."""
    session.execute(
        update(Fetch)
        .where(Fetch.page_id == page.id, Fetch.other_url.is_(None))
        .values(other_url=page.url)
    )
    page.url = url


def _observation(page: Page, result: FetchResult, version: ContentVersion | None) -> Observation:
    if result.seen in VOUCHED:  # nothing changed since the last good fetch, date included
        digest = version.text_hash if version else None
        return Observation(result.seen, digest, page.declared_date, page.declared_time)
    if result.seen is Seen.CONTENT and version is not None:
        return Observation(
            Seen.CONTENT, version.text_hash, result.declared_date, result.declared_time
        )
    return Observation(result.seen)


def _outcome(seen: Seen, page: Page, version: ContentVersion | None) -> Outcome:
    if seen is Seen.CONTENT:
        if page.current_version_id is None:
            return Outcome.NEW
        same = version is not None and version.id == page.current_version_id
        return Outcome.UNCHANGED if same else Outcome.CHANGED
    if seen is Seen.SAME_BYTES:
        return Outcome.UNCHANGED
    return Outcome(seen.value)


def _change(
    session: Session,
    page: Page,
    fetch: Fetch,
    kind: ChangeKind,
    version: ContentVersion | None,
    obs: Observation,
) -> Change:
    old, new = page.current_version, version
    # Counted from the diff the change is shown with (a removal: its last text deleted).
    added, removed = diff_stats(
        change_diff(
            kind, read_text(session, old) if old else None, read_text(session, new) if new else None
        )
    )
    last_good = session.scalar(
        select(func.max(Fetch.id)).where(
            Fetch.page_id == page.id, Fetch.id != fetch.id, Fetch.outcome.in_(GOOD_OUTCOMES)
        )
    )
    change = Change(
        page_id=page.id,
        kind=kind,
        status="pending",
        detected_at=fetch.fetched_at,
        old_version_id=old.id if old else None,
        new_version_id=new.id if new else None,
        old_fetch_id=last_good,
        new_fetch_id=fetch.id,
        old_declared=page.declared_date,
        new_declared=obs.declared,
        old_declared_time=page.declared_time,
        new_declared_time=obs.declared_time,
        words_added=added,
        words_removed=removed,
    )
    session.add(change)
    session.flush()
    return change


def _update_page(
    page: Page, result: FetchResult, status: PageStatus, version: ContentVersion | None
) -> None:
    page.status = status
    page.last_seen_at = result.fetched_at
    if result.seen is Seen.CONTENT and version is not None:
        page.current_version = version
        page.current_version_id = version.id
        page.title = result.title or page.title
        page.declared_raw = result.declared_raw
        page.declared_date = result.declared_date
        page.declared_time = result.declared_time
    if result.seen is Seen.CONTENT or result.seen in VOUCHED:
        page.etag = result.etag or page.etag
        page.last_modified = result.last_modified or page.last_modified
    elif result.seen is Seen.GONE:
        page.etag = page.last_modified = None
