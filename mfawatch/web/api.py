"""The JSON API under /api/: the same queue, changes, pages, versions and search as the pages.

Writes (reviews) need a bearer token or the X-CSRF-Token header (mfawatch.web.security).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from kernel.detect import ChangeKind
from mfawatch.changeview import change_detail, change_pieces, change_summary, diff_json
from mfawatch.web import data
from mfawatch.web.schemas import (
    ChangeDetail,
    ChangeSummary,
    PageDetail,
    PageSummary,
    ReviewIn,
    SearchHit,
    TimelineFetch,
    Version,
    VersionRef,
)
from mfawatch.web.security import check_api_csrf
from storage.content import read_text
from storage.models import Page
from storage.queries import change_texts, get_change, list_pages, page_history, review_change
from storage.search import MARK_END, MARK_START, search_versions

router = APIRouter(prefix="/api", tags=["api"])
SessionDep = Annotated[Session, Depends(data.get_session)]
_MARKED = re.compile(f"{MARK_START}(.*?){MARK_END}", re.DOTALL)


@router.get("/changes", response_model=list[ChangeSummary])
def changes(
    session: SessionDep,
    status: Literal["pending", "accepted", "dismissed", "all"] = "pending",
    kind: ChangeKind | None = None,
    site: str | None = None,
    lang: str | None = None,
    since: Annotated[dt.date | None, Query(description="Detected on or after")] = None,
) -> list[ChangeSummary]:
    """The review queue: the kinds that most need a human first, then the newest."""
    filters = data.Filters(status, kind, site, lang, since)
    rows, _counts = data.queue(session, filters)
    return [ChangeSummary.model_validate(change_summary(c)) for c in rows]


@router.get("/changes/{change_id}", response_model=ChangeDetail)
def change(change_id: data.Id, session: SessionDep) -> ChangeDetail:
    found = get_change(session, change_id)
    detail = change_detail(found)
    detail["diff"] = diff_json(change_pieces(found, change_texts(session, [found])))
    return ChangeDetail.model_validate(detail)


@router.post(
    "/changes/{change_id}/review",
    response_model=ChangeSummary,
    dependencies=[Depends(check_api_csrf)],
)
def review(change_id: data.Id, decision: ReviewIn, session: SessionDep) -> ChangeSummary:
    """Record a decision (every one is kept); "pending" puts the change back in the queue."""
    found = review_change(
        session, change_id, decision.decision, decision.note or None, data.reviewer()
    )
    summary = ChangeSummary.model_validate(change_summary(found))
    session.commit()
    return summary


@router.get("/pages", response_model=list[PageSummary])
def pages(session: SessionDep, site: str | None = None) -> list[PageSummary]:
    return [_page_summary(p) for p in list_pages(session, site)]


@router.get("/pages/{page_id}", response_model=PageDetail)
def page(page_id: data.Id, session: SessionDep) -> PageDetail:
    """A page, every fetch of it (the timeline) and every text it has had."""
    found = data.get_page(session, page_id)
    timeline = [
        TimelineFetch(
            id=f.id,
            fetched_at=f.fetched_at,
            http_status=f.http_status,
            last_updated=f.declared_date,
            last_updated_time=f.declared_time,
            last_updated_raw=f.declared_raw,
            last_updated_source=f.declared_source,
            outcome=f.outcome,
            version_id=f.version_id,
            content_hash=digest,
            error=f.error,
            url=f.url,
            final_url=f.final_url,
            source=f.source,
            archive_url=f.archive_url,
        )
        for f, digest in page_history(session, page_id)
    ]
    versions = [
        VersionRef(id=v.id, first_seen_at=v.first_seen_at, content_hash=v.text_hash)
        for v in data.page_versions(session, page_id)
    ]
    return PageDetail(**_page_summary(found).model_dump(), timeline=timeline, versions=versions)


@router.get("/versions/{version_id}", response_model=Version)
def version(version_id: data.Id, session: SessionDep) -> Version:
    found = data.get_version(session, version_id)
    page_url = data.get_page(session, found.page_id).url
    return Version(
        id=found.id, page_id=found.page_id, url=page_url, title=found.title,
        first_seen_at=found.first_seen_at, content_hash=found.text_hash,
        text=read_text(session, found),
    )  # fmt: skip


@router.get("/search", response_model=list[SearchHit])
def search(session: SessionDep, q: str = "") -> list[SearchHit]:
    """Every archived version that holds all the words of ``q`` (query syntax is ignored)."""
    return [
        SearchHit(
            version_id=hit.version_id,
            page_id=hit.page_id,
            page_key=hit.page_key,
            url=hit.url,
            title=hit.title,
            first_seen_at=hit.first_seen_at,
            first_seen_by=hit.first_seen_by,
            snippet=hit.snippet.replace(MARK_START, "").replace(MARK_END, ""),
            matches=_MARKED.findall(hit.snippet),
        )
        for hit in search_versions(session, q)
    ]


def _page_summary(page: Page) -> PageSummary:
    return PageSummary(
        id=page.id, url=page.url, key=page.key, site=page.site.name, lang=page.lang,
        title=page.title, status=page.status, last_updated=page.declared_date,
        last_updated_time=page.declared_time,
        first_seen_at=page.first_seen_at, last_seen_at=page.last_seen_at,
        current_version_id=page.current_version_id,
    )  # fmt: skip
