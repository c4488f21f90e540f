"""What the review app asks of the archive: the queue in review order, the next change to
review, a page's versions, diffs ready to show. Functions of a Session the request owns.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException, Path, Request
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, load_only, sessionmaker

from kernel.detect import ChangeKind, kind_rank
from kernel.diffing import Piece
from kernel.errors import NotFound
from kernel.status import REVIEW_FILTERS
from kernel.text import printable
from mfawatch.htmldiff import inline_html, side_by_side_html
from storage.models import Change, ContentVersion, Page, Site
from storage.queries import list_changes

STATUSES = REVIEW_FILTERS
# The schema's ids are INTEGER columns, 1 to 2**31 - 1 on PostgreSQL: a number outside names
# nothing, and must not reach the database driver (SQLite's overflows past 2**63, a 500).
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]  # a path parameter: the pages 404, the API 422


def get_session(request: Request) -> Iterator[Session]:
    """One short session per request (a FastAPI dependency); closed when the response is done."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions() as session:
        yield session


@dataclass(frozen=True)
class Filters:
    status: str = "pending"
    kind: str | None = None
    site: str | None = None
    lang: str | None = None
    since: dt.date | None = None

    @classmethod
    def parse(cls, status: str, kind: str, site: str, lang: str, since: str) -> Filters:
        """The queue's filters as a GET form sends them: an empty field means no filter."""
        status = status or "pending"
        if status not in STATUSES:
            raise HTTPException(400, f"status must be one of {', '.join(STATUSES)}")
        if kind and kind not in set(ChangeKind):
            raise HTTPException(400, f"kind must be one of {', '.join(ChangeKind)}")
        try:
            day = dt.date.fromisoformat(since) if since else None
        except ValueError:
            raise HTTPException(400, f"since must be a date, YYYY-MM-DD (not {since!r})") from None
        return cls(status, kind or None, site or None, lang or None, day)


def review_order(change: Change) -> tuple[int, float, int]:
    """The queue's order: the kinds that most need a human first, then the newest."""
    return (kind_rank(change.kind), -change.detected_at.timestamp(), -change.id)


def queue(session: Session, filters: Filters) -> tuple[list[Change], Counter[str]]:
    """The changes that pass the filters in review order, and counts per kind (every kind:
    the counts are there to choose the kind filter)."""
    since = dt.datetime.combine(filters.since, dt.time.min, dt.UTC) if filters.since else None
    rows = list_changes(session, status=filters.status, site=filters.site, since=since)
    if filters.lang:
        rows = [c for c in rows if c.page.lang == filters.lang]
    counts = Counter(c.kind for c in rows)
    chosen = [c for c in rows if filters.kind in (None, c.kind)]
    return sorted(chosen, key=review_order), counts


def next_pending(session: Session, after: Change) -> int | None:
    """The pending change that follows ``after`` in queue order (wrapping to the top)."""
    others = sorted(
        (c for c in list_changes(session, status="pending") if c.id != after.id), key=review_order
    )
    later = [c for c in others if review_order(c) > review_order(after)]
    return (later or others)[0].id if others else None


def choices(session: Session) -> tuple[Sequence[str], Sequence[str]]:
    """The sites and languages the archive holds, for the filter form."""
    sites = session.scalars(select(Site.name).order_by(Site.name)).all()
    langs = session.scalars(select(Page.lang).distinct().order_by(Page.lang)).all()
    return sites, langs


def get_page(session: Session, page_id: int) -> Page:
    page = session.get(Page, page_id) if 1 <= page_id <= MAX_ID else None
    if page is None:
        raise NotFound(f"no page with id {page_id}")
    return page


def get_version(session: Session, version_id: int) -> ContentVersion:
    version = session.get(ContentVersion, version_id) if 1 <= version_id <= MAX_ID else None
    if version is None:
        raise NotFound(f"no archived version with id {version_id}")
    return version


def page_versions(session: Session, page_id: int) -> Sequence[ContentVersion]:
    """Every text a page has had, oldest first (without the raw HTML: lists need none)."""
    return session.scalars(
        select(ContentVersion)
        .options(
            load_only(ContentVersion.id, ContentVersion.first_seen_at, ContentVersion.text_hash)
        )
        .where(ContentVersion.page_id == page_id)
        .order_by(ContentVersion.first_seen_at, ContentVersion.id)
    ).all()


@dataclass(frozen=True)
class DiffBlocks:
    old: Markup
    new: Markup
    inline: Markup


def diff_blocks(pieces: list[Piece]) -> DiffBlocks:
    """The word diff as HTML (escaped by mfawatch.htmldiff), control characters made visible."""
    side = side_by_side_html(pieces)
    return DiffBlocks(
        old=Markup(printable(side.old)),
        new=Markup(printable(side.new)),
        inline=Markup(printable(inline_html(pieces))),
    )


def live_url(url: str) -> str | None:
    """The URL if a browser may follow it: http(s) only, never javascript: or data:.

    >>> live_url("https://seoul.mfa.gov.az/en"), live_url("javascript:alert(1)")
    ('https://seoul.mfa.gov.az/en', None)
    """
    safe = url.lower().startswith(("http://", "https://")) and printable(url) == url
    return url if safe and not any(ch.isspace() for ch in url) else None


def reviewer() -> str | None:
    """The OS user running the app, as the CLI records it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
