"""A site's first crawl, many pages at once: what record_fetch does for a page it has never
seen, in a few statements for a whole batch instead of a transaction each.

Only pages new to the archive during a site's baseline crawl come here: they are never a
change, so nothing but rows is at stake (storage.recorder sends everything else elsewhere).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from mfawatch.detect import PageStatus
from mfawatch.text import bytes_hash, text_hash
from storage.archive import FetchResult, RunContext
from storage.content import pack_body, site_keyframe
from storage.models import Body, ContentVersion, Page
from storage.packing import pack
from storage.search import index_versions


def store_new_pages(
    session: Session, run: RunContext, results: Sequence[FetchResult]
) -> list[tuple[int, int, int]]:
    """Pages, versions and bodies for fetches of new pages, each with text and bytes; the ids
    of each (page, version, body), in the order of ``results``."""
    page_ids = session.scalars(
        insert(Page).returning(Page.id, sort_by_parameter_order=True),
        [
            {
                "site_id": run.site_id,
                "key": r.key,
                "url": r.url,
                "lang": r.lang,
                "title": r.title,
                "status": PageStatus.ACTIVE,
                "first_seen_at": r.fetched_at,
                "last_seen_at": r.fetched_at,
                "declared_raw": r.declared_raw,
                "declared_date": r.declared_date,
                "etag": r.etag,
                "last_modified": r.last_modified,
            }
            for r in results
        ],
    ).all()
    texts = [_text(r).encode() for r in results]
    version_ids = session.scalars(
        insert(ContentVersion).returning(ContentVersion.id, sort_by_parameter_order=True),
        [
            {
                "page_id": page_id,
                "text_hash": text_hash(_text(r)),
                "title": r.title,
                "packed_text": pack(text),
                "base_id": None,
                "depth": 0,
                "first_seen_at": r.fetched_at,
            }
            for page_id, r, text in zip(page_ids, results, texts, strict=True)
        ],
    ).all()
    session.execute(
        update(Page),
        [{"id": p, "current_version_id": v} for p, v in zip(page_ids, version_ids, strict=True)],
    )
    index_versions(
        session, [(v, r.title, _text(r)) for v, r in zip(version_ids, results, strict=True)]
    )
    body_ids = _bodies(session, run, page_ids, version_ids, results, texts)
    return list(zip(page_ids, version_ids, body_ids, strict=True))


def _bodies(
    session: Session,
    run: RunContext,
    page_ids: Sequence[int],
    version_ids: Sequence[int],
    results: Sequence[FetchResult],
    texts: list[bytes],
) -> list[int]:
    rows = list(zip(page_ids, version_ids, results, texts, strict=True))
    ids: list[int] = []
    if run.keyframe is None:
        run.keyframe = site_keyframe(session, run.site_id)
    if run.keyframe is None:  # the site's first body: the base of all the others
        first = rows.pop(0)
        ids += _insert_bodies(session, [first], None, b"")
        run.keyframe = (ids[0], first[2].raw or b"")
    if rows:
        ids += _insert_bodies(session, rows, *run.keyframe)
    return ids


def _insert_bodies(
    session: Session,
    rows: list[tuple[int, int, FetchResult, bytes]],
    base_id: int | None,
    base: bytes,
) -> list[int]:
    """Bodies packed as storage.content.new_body packs them: against the base and the text."""
    values = [
        {
            "page_id": page_id,
            "raw_hash": bytes_hash(result.raw or b""),
            "version_id": version_id,
            "base_id": base_id,
            "packed": pack_body(result.raw or b"", base, text),
            "first_seen_at": result.fetched_at,
        }
        for page_id, version_id, result, text in rows
    ]
    return list(
        session.scalars(insert(Body).returning(Body.id, sort_by_parameter_order=True), values)
    )


def _text(result: FetchResult) -> str:
    assert result.text is not None  # storage.recorder sends only fetches with a text
    return result.text
