"""The read path (and review decisions): what the CLI, reports and the web app ask."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

from kernel.errors import AlreadyDecided, NotFound
from kernel.status import GOOD_OUTCOMES, REVIEW_STATES, Outcome
from storage.chain import chain_review
from storage.models import (
    Body,
    Change,
    ContentVersion,
    Fetch,
    Page,
    Review,
    Run,
    Site,
    utcnow,
)
from storage.storable import page_key

# Ids are 64-bit integers in both databases; a larger number names nothing (and SQLite's
# driver would raise OverflowError on it).
MAX_ID = 2**63 - 1


def _is_id(number: int) -> bool:
    return 0 < number <= MAX_ID


def check_site(session: Session, name: str) -> None:
    """A --site filter must name a site of the archive: a typo must not look like "nothing"."""
    names = session.scalars(select(Site.name).order_by(Site.name)).all()
    if name not in names:
        known = f"its sites: {', '.join(names)}" if names else "it has no sites yet"
        raise NotFound(f"no site {name!r} in the archive ({known})")


@dataclass(frozen=True)
class KnownPage:
    key: str
    url: str
    status: str
    etag: str | None
    last_modified: str | None
    raw_hash: str | None = None  # the bytes of the last good fetch
    layout_hash: str | None = None  # the layout they were extracted with


def known_pages(session: Session, site_name: str) -> list[KnownPage]:
    """Pages the archive has for a site: every crawl re-checks them, linked or not."""
    # The latest in time: an archive's captures (mfawatch backfill) may have later ids.
    last_good = (
        select(Fetch.id)
        .where(Fetch.page_id == Page.id, Fetch.outcome.in_(GOOD_OUTCOMES))
        .where(Fetch.body_id.is_not(None))
        .order_by(Fetch.fetched_at.desc(), Fetch.id.desc())
        .limit(1)
        .correlate(Page)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Page.key,
            Page.url,
            Page.status,
            Page.etag,
            Page.last_modified,
            Body.raw_hash,
            Run.layout_hash,
        )
        .join(Site, Page.site_id == Site.id)
        .outerjoin(Fetch, Fetch.id == last_good)
        .outerjoin(Body, Fetch.body_id == Body.id)
        .outerjoin(Run, Fetch.run_id == Run.id)
        .where(Site.name == site_name)
        .order_by(Page.id)
    )
    return [KnownPage(*row) for row in rows]


def resolve_page(session: Session, ref: str, identify: Callable[[str], str | None]) -> Page:
    """A page by its URL (any variant of it), its identity key, or its id."""
    page = session.scalar(select(Page).where(Page.url == ref))
    if page is None:
        key = page_key(identify(ref) or ref)
        page = session.scalar(select(Page).where(Page.key == key))
    if page is None and ref.isdigit() and _is_id(int(ref)):
        page = session.get(Page, int(ref))
    if page is None:
        raise NotFound(f"no archived page for {ref!r} (see `mfawatch pages`)")
    return page


def list_changes(
    session: Session,
    *,
    status: str = "pending",
    kind: str | None = None,
    site: str | None = None,
    since: dt.datetime | None = None,
    limit: int | None = None,
    historical: bool | None = None,  # True: only those found in an archive's past; False: none
) -> Sequence[Change]:
    query = (
        select(Change)
        .join(Change.page)
        .join(Page.site)
        .options(joinedload(Change.page).joinedload(Page.site))
        .order_by(Change.detected_at.desc(), Change.id.desc())
    )
    if status != "all":
        query = query.where(Change.status == status)
    if kind:
        query = query.where(Change.kind == kind)
    if site:
        query = query.where(Site.name == site)
    if since:
        query = query.where(Change.detected_at >= since)
    if historical is not None:
        query = query.where(Change.historical.is_(historical))
    if limit:
        query = query.limit(limit)
    return session.scalars(query).all()


def get_change(session: Session, change_id: int) -> Change:
    change = (
        None
        if not _is_id(change_id)
        else session.get(
            Change,
            change_id,
            options=[
                joinedload(Change.page).joinedload(Page.site),
                joinedload(Change.old_fetch),
                joinedload(Change.new_fetch),
            ],
        )
    )
    if change is None:
        raise NotFound(f"no change with id {change_id} (see `mfawatch changes --status all`)")
    return change


def change_texts(session: Session, changes: Iterable[Change]) -> dict[int, str]:
    """The texts on either side of these changes, by version id: one query for all of them."""
    from storage.content import texts_by_id  # zstd loads when a text is asked for

    ids = {v for c in changes for v in (c.old_version_id, c.new_version_id) if v is not None}
    return texts_by_id(session, ids)


def review_change(
    session: Session,
    change_id: int,
    status: str,
    note: str | None,
    reviewer: str | None,
    *,
    again: bool = True,
) -> Change:
    """Record a decision; the history keeps every one, the change shows the latest.

    With ``again`` false, a decision the change already has (accepting an accepted change)
    raises AlreadyDecided and records nothing. The status then moves in one conditional
    UPDATE: of two reviewers making the same decision at once, the second is told.
    """
    if status not in REVIEW_STATES:
        raise ValueError(f"review status must be one of {REVIEW_STATES}")
    if again:
        change = get_change(session, change_id)
        change.status = status
    else:
        moved = 0
        if _is_id(change_id):
            result = session.execute(
                update(Change)
                .where(Change.id == change_id, Change.status != status)
                .values(status=status)
                .execution_options(synchronize_session=False)
            )
            moved = cast("CursorResult[Any]", result).rowcount
        change = get_change(session, change_id)
        if not moved:
            raise AlreadyDecided(f"change #{change_id} is already {status}; nothing recorded")
        session.refresh(change, ["status"])
    review = Review(
        change_id=change.id, status=status, note=note, reviewer=reviewer, decided_at=utcnow()
    )
    chain_review(session, review)
    review.change = change
    session.add(review)
    session.flush()
    return change


def page_history(session: Session, page_id: int) -> Sequence[tuple[Fetch, str | None]]:
    """Every fetch of a page, oldest first, with the hash of the text it saw."""
    rows = session.execute(
        select(Fetch, ContentVersion.text_hash)
        .outerjoin(ContentVersion, Fetch.version_id == ContentVersion.id)
        .where(Fetch.page_id == page_id)
        .options(joinedload(Fetch.body).load_only(Body.raw_hash))
        .order_by(Fetch.fetched_at, Fetch.id)
    )
    return [(fetch, digest) for fetch, digest in rows]


def version_at(
    session: Session, page_id: int, at: dt.datetime | None
) -> tuple[Fetch, ContentVersion | None]:
    """The last fetch that told what the page said at ``at`` (now if None), and that text.

    Failed fetches tell nothing about the text and are passed over; a page that was gone at
    ``at`` comes back with no version.
    """
    query = select(Fetch).where(
        Fetch.page_id == page_id, Fetch.outcome.in_((*GOOD_OUTCOMES, Outcome.GONE))
    )
    if at is not None:
        query = query.where(Fetch.fetched_at <= at)
    fetch = session.scalar(query.order_by(Fetch.fetched_at.desc(), Fetch.id.desc()).limit(1))
    if fetch is None:
        when = f"on or before {at.isoformat()}" if at else "yet"
        raise NotFound(f"the archive has no text of this page {when}")
    version = session.get(ContentVersion, fetch.version_id) if fetch.version_id else None
    return fetch, version


def version_raw(session: Session, version_id: int) -> bytes:
    """The bytes this text was first extracted from."""
    from storage.content import read_body

    body = session.scalar(
        select(Body).where(Body.version_id == version_id).order_by(Body.id).limit(1)
    )
    if body is None:
        raise NotFound(f"no archived bytes for version {version_id}")
    return read_body(session, body)


def date_flags(session: Session, page_ids: Sequence[int] | None = None) -> dict[int, Change]:
    """Each page's latest change whose declared date its history belies (kernel.datecheck)."""
    query = select(Change).where(Change.date_flag.is_not(None))
    if page_ids is not None:
        query = query.where(Change.page_id.in_(page_ids))
    latest: dict[int, Change] = {}
    for change in session.scalars(query.order_by(Change.detected_at, Change.id)):
        latest[change.page_id] = change
    return latest


def list_pages(session: Session, site: str | None = None) -> Sequence[Page]:
    query = (
        select(Page).join(Page.site).options(joinedload(Page.site)).order_by(Site.name, Page.key)
    )
    if site:
        query = query.where(Site.name == site)
    return session.scalars(query).all()
