"""A site's first crawl, many pages at once: what record_fetch does for a page it has never
seen, in a few statements for a whole batch instead of a transaction each.

Only pages new to the archive during a site's baseline crawl come here: they are never a
change, so nothing but rows is at stake (storage.recorder sends everything else elsewhere).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from kernel.plan import FetchResult, Plan
from storage.archive import RunContext
from storage.content import pack_body
from storage.models import Body, ContentVersion, Page
from storage.packing import pack
from storage.search import index_versions


def store_new_pages(
    session: Session, run: RunContext, planned: Sequence[tuple[FetchResult, Plan]]
) -> list[tuple[int, int, int]]:
    """Pages, versions and bodies for fetches of new pages planned with a text and bytes
    (kernel.plan); the ids of each (page, version, body), in the order of ``planned``."""
    results = [result for result, _ in planned]
    plans = [plan for _, plan in planned]
    # Packing comes before the first write: on SQLite a write holds the database's one write
    # lock until commit, and the other processes of a `crawl --jobs N` wait for it.
    texts = [_text(r) for r in results]
    encoded = [text.encode() for text in texts]
    versions = [(p.version, pack(data)) for p, data in zip(plans, encoded, strict=True)]
    keyframe = run.site_keyframe(session)
    # With no keyframe yet, the first of these bodies becomes the site's: packed against its
    # own text only, it is the base of the others.
    base = keyframe[1] if keyframe else (results[0].raw or b"")
    bodies = [
        (p.body, pack_body(r.raw or b"", base if keyframe or i else b"", data))
        for i, (r, p, data) in enumerate(zip(results, plans, encoded, strict=True))
    ]
    page_ids = session.scalars(
        insert(Page).returning(Page.id, sort_by_parameter_order=True),
        [{"site_id": run.site_id, **p.page} for p in plans],
    ).all()
    version_ids = session.scalars(
        insert(ContentVersion).returning(ContentVersion.id, sort_by_parameter_order=True),
        [
            {
                "page_id": page_id,
                "text_hash": hashed,
                "title": r.title,
                "packed_text": packed,
                "base_id": None,
                "depth": 0,
                "first_seen_at": r.fetched_at,
            }
            for page_id, r, (hashed, packed) in zip(page_ids, results, versions, strict=True)
        ],
    ).all()
    session.execute(
        update(Page),
        [{"id": p, "current_version_id": v} for p, v in zip(page_ids, version_ids, strict=True)],
    )
    index_versions(
        session,
        [(v, r.title, text) for v, r, text in zip(version_ids, results, texts, strict=True)],
    )
    rows = [
        {
            "page_id": page_id,
            "raw_hash": raw_hash,
            "version_id": version_id,
            "base_id": None,
            "packed": packed,
            "first_seen_at": r.fetched_at,
        }
        for page_id, version_id, r, (raw_hash, packed) in zip(
            page_ids, version_ids, results, bodies, strict=True
        )
    ]
    body_ids: list[int] = []
    if keyframe is None:
        body_ids = _insert_bodies(session, rows[:1])
        run.stored_body(body_ids[0], base, has_text=True)
        rows = rows[1:]
    for row in rows:
        row["base_id"] = run.keyframe[0] if run.keyframe else None
    body_ids += _insert_bodies(session, rows)
    return list(zip(page_ids, version_ids, body_ids, strict=True))


def _insert_bodies(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    statement = insert(Body).returning(Body.id, sort_by_parameter_order=True)
    return list(session.scalars(statement, rows))


def _text(result: FetchResult) -> str:
    assert result.text is not None  # storage.recorder sends only fetches with a text
    return result.text
