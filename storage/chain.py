"""The chain set as rows are written: every fetch and review row gets its hash here, and only
here (kernel.chain says what a hash covers).

A link is hashed against its chain's head, the last row of its page (or change) by id. Two
writers of one page must not both chain after the same head (the second's row would not verify
after the first's), so the head is read with the page held: PostgreSQL locks the page rows
until commit (a second writer waits, then reads the first's row); SQLite has one writer at a
time, taken here by a write that changes nothing, and reads the latest rows once it has it.
Crawls of a site also hold its lock (scraper.locks), but the chain does not rely on that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import false, func, select, update
from sqlalchemy.orm import Session

from kernel.chain import FETCH_VERSION, REVIEW_VERSION, FetchLink, ReviewLink, link_hash
from storage.models import Change, Fetch, Page, Review

CHUNK = 1000  # ids in one statement's IN list


def chain_fetches(session: Session, rows: Sequence[tuple[dict[str, Any], FetchLink]]) -> None:
    """Set ``chain_hash`` and ``chain_version`` in these fetch rows (each with its link), which
    are about to be inserted in this order in this transaction."""
    if not rows:
        return
    page_ids = sorted({row["page_id"] for row, _ in rows})
    hold(session, Page, page_ids)
    heads = _heads(session, Fetch, Fetch.page_id, page_ids)
    for row, link in rows:
        row["chain_hash"] = heads[row["page_id"]] = link_hash(link, heads.get(row["page_id"]))
        row["chain_version"] = FETCH_VERSION


def chain_review(session: Session, review: Review) -> None:
    """Set the chain of a review about to be flushed (its decided_at set)."""
    hold(session, Change, [review.change_id])
    prev = _heads(session, Review, Review.change_id, [review.change_id]).get(review.change_id)
    link = ReviewLink(
        review.change_id, review.status, review.note, review.reviewer, review.decided_at
    )
    review.chain_hash = link_hash(link, prev)
    review.chain_version = REVIEW_VERSION


def hold(session: Session, model: type[Page] | type[Change], ids: Iterable[int]) -> None:
    """Hold these rows (PostgreSQL) or the database's write lock (SQLite) until commit."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(model)
            .where(false())
            .values(id=model.id)
            .execution_options(synchronize_session=False)
        )
        return
    ids = sorted(ids)  # always in one order: two writers never wait for each other
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        session.execute(
            select(model.id).where(model.id.in_(chunk)).order_by(model.id).with_for_update()
        )


def _heads(
    session: Session, model: type[Fetch] | type[Review], chain: Any, keys: Sequence[int]
) -> dict[int, str]:
    """The last hash of each of these chains (a page's fetches, a change's reviews)."""
    heads: dict[int, str] = {}
    for start in range(0, len(keys), CHUNK):
        last = (
            select(func.max(model.id)).where(chain.in_(keys[start : start + CHUNK])).group_by(chain)
        )
        rows = session.execute(select(chain, model.chain_hash).where(model.id.in_(last)))
        heads.update({key: digest for key, digest in rows})
    return heads
