"""Verifying the archive: every chain recomputed from the stored rows, every body's and text's
hash from the stored bytes.

The rows are read in batches, by id (a keyset, never the whole table at once), so the time is
proportional to the archive and the memory to one batch plus one head per chain. A chain is
broken where a row's stored hash is not the hash of its values after the row before it: its
values were changed, or the row before it was (or was deleted). Each chain's first break is
reported; it is then followed from the stored hash, so one edited row is one break.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from backports.zstd import ZstdError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kernel.chain import FetchLink, ReviewLink, fetch_link, link_hash
from kernel.text import bytes_hash, printable, text_hash
from storage.content import read_bodies, texts_by_id
from storage.models import Body, ChainBackfill, Change, ContentVersion, Fetch, Page, Review, Site
from storage.queries import check_site

_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")  # of any columns

BATCH = 10_000  # rows of the log read at once
CONTENT_BATCH = 500  # bodies or texts unpacked at once
# What unpacking damaged bytes raises (zstd's error, text that is no longer UTF-8, a base gone).
DAMAGED = (ZstdError, UnicodeDecodeError, KeyError)


@dataclass(frozen=True)
class Break:
    """A row that does not verify."""

    table: str  # fetches, reviews, bodies, versions
    row_id: int
    chain: str  # the page's key, or "change N"
    why: str


NOUNS = {"fetches": "fetch", "reviews": "review"}  # a chain's table, as heads name it


@dataclass(frozen=True)
class Head:
    """The last link of a chain: lodged elsewhere, it proves the rows before it unchanged."""

    table: str  # fetches (a page's chain) or reviews (a change's)
    chain: str  # the page's key, or "change N"
    row_id: int
    hash: str


@dataclass
class Verification:
    fetches: int = 0
    reviews: int = 0
    bodies: int = 0
    versions: int = 0
    broken: list[Break] = field(default_factory=list)
    heads: list[Head] = field(default_factory=list)
    backfills: list[ChainBackfill] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


def verify_archive(session: Session, site: str | None = None) -> Verification:
    """Every chain and every stored hash of the archive (or of one site)."""
    site_id = None
    if site is not None:
        check_site(session, site)
        site_id = session.scalar(select(Site.id).where(Site.name == site))
    pages = session.execute(_of_site(select(Page.id, Page.key), site_id))
    keys: dict[int, str] = {row.id: row.key for row in pages}
    found = Verification()
    found.backfills = list(session.scalars(select(ChainBackfill).order_by(ChainBackfill.id)))
    _fetch_chains(session, site_id, keys, found)
    _review_chains(session, site_id, found)
    _bodies(session, site_id, keys, found)
    _versions(session, site_id, keys, found)
    return found


def check_heads(session: Session, lodged: Iterable[Head]) -> list[Break]:
    """Heads lodged earlier that the chains no longer hold: their rows rewritten or gone."""
    broken = []
    for head in lodged:
        model = Fetch if head.table == "fetches" else Review
        now = session.scalar(select(model.chain_hash).where(model.id == head.row_id))
        if now is None:
            why = "is no longer in the archive"
        elif now != head.hash:
            why = f"was rewritten: its chain hash is now {now}, lodged {head.hash}"
        else:
            continue
        what = "fetch" if head.table == "fetches" else "review"
        why = f"the head lodged for {head.chain}, {what} {head.row_id}, {why}"
        broken.append(Break(head.table, head.row_id, head.chain, why))
    return broken


@dataclass(frozen=True)
class Chained:
    """A fetch's place in its page's chain: what was hashed, after which hash, to what."""

    link: FetchLink
    prev: str | None  # the chain hash of the page's fetch before it (by id); None: the first
    hash: str  # the stored chain hash
    version: int


def fetches_chained(session: Session, fetch_ids: Sequence[int]) -> dict[int, Chained]:
    """The links of a few fetches, as verify recomputes them (for an evidence bundle)."""
    found = {}
    rows: Iterable[Any] = session.execute(_fetch_query().where(Fetch.id.in_(fetch_ids)))
    for row in rows:
        before = (
            select(func.max(Fetch.id))
            .where(Fetch.page_id == row.page_id, Fetch.id < row.id)
            .scalar_subquery()
        )
        prev = session.scalar(select(Fetch.chain_hash).where(Fetch.id == before))
        link = fetch_link(
            row._mapping, url=row.requested, body_hash=row.raw_hash, text_hash=row.text_hash
        )
        found[row.id] = Chained(link, prev, row.chain_hash, row.chain_version)
    return found


def page_head(session: Session, page_id: int) -> Head | None:
    """The current head of a page's chain: its last fetch by id (None: no fetch yet)."""
    last = select(func.max(Fetch.id)).where(Fetch.page_id == page_id).scalar_subquery()
    row = session.execute(
        select(Fetch.id, Fetch.chain_hash, Page.key)
        .join(Page, Fetch.page_id == Page.id)
        .where(Fetch.id == last)
    ).first()
    return Head("fetches", row.key, row.id, row.chain_hash) if row is not None else None


def _fetch_query() -> Select[*tuple[Any, ...]]:
    """Fetch rows with what their links hash (the URL requested, the body's and text's
    hashes)."""
    return (
        select(
            Fetch.id,
            Fetch.page_id,
            Fetch.fetched_at,
            func.coalesce(Fetch.other_url, Page.url).label("requested"),
            Fetch.http_status,
            Body.raw_hash,
            ContentVersion.text_hash,
            Fetch.declared_date,
            Fetch.declared_time,
            Fetch.outcome,
            Fetch.error,
            Fetch.chain_hash,
            Fetch.chain_version,
        )
        .join(Page, Fetch.page_id == Page.id)
        .outerjoin(Body, Fetch.body_id == Body.id)
        .outerjoin(ContentVersion, Fetch.version_id == ContentVersion.id)
    )


def _fetch_chains(
    session: Session, site_id: int | None, keys: dict[int, str], found: Verification
) -> None:
    chains = _Chains("fetches", "fetch")
    for row in _batches(session, _of_site(_fetch_query(), site_id), Fetch.id, BATCH):
        link = fetch_link(
            row._mapping, url=row.requested, body_hash=row.raw_hash, text_hash=row.text_hash
        )
        chains.check(row.id, keys[row.page_id], link, row.chain_hash, row.chain_version)
    found.fetches = chains.rows
    found.broken += chains.broken
    found.heads += chains.heads()


def _review_chains(session: Session, site_id: int | None, found: Verification) -> None:
    query = select(Review).join(Change, Review.change_id == Change.id)
    if site_id is not None:
        query = query.join(Page, Change.page_id == Page.id).where(Page.site_id == site_id)
    chains = _Chains("reviews", "review")
    for review in _batches(session, query, Review.id, BATCH, scalars=True):
        link = ReviewLink(
            review.change_id, review.status, review.note, review.reviewer, review.decided_at
        )
        chain = f"change {review.change_id}"
        chains.check(review.id, chain, link, review.chain_hash, review.chain_version)
        session.expunge(review)
    found.reviews = chains.rows
    found.broken += chains.broken
    found.heads += chains.heads()


class _Chains:
    """The chains of one table as its rows come, in id order."""

    def __init__(self, table: str, noun: str) -> None:
        self.table, self.noun = table, noun
        self.last: dict[str, tuple[int, str]] = {}  # chain -> its last row's id and hash
        self.broken: list[Break] = []
        self._reported: set[str] = set()
        self.rows = 0

    def check(self, row_id: int, chain: str, link: Any, stored: str, version: int) -> None:
        self.rows += 1
        before = self.last.get(chain)
        self.last[chain] = (row_id, stored)
        try:
            expected = link_hash(link, before[1] if before else None, version)
        except ValueError as exc:  # a version this mfawatch does not know
            self._break(row_id, chain, str(exc))
            return
        if expected == stored:
            return
        after = f"after {self.noun} {before[0]}" if before else f"as its chain's first {self.noun}"
        self._break(
            row_id,
            chain,
            f"its values {after} hash to {expected}, but it says {stored}: this {self.noun} "
            f"was changed, or the {self.noun} before it was (or deleted)",
        )

    def _break(self, row_id: int, chain: str, why: str) -> None:
        if chain not in self._reported:  # a chain's first break only
            self._reported.add(chain)
            self.broken.append(Break(self.table, row_id, chain, why))

    def heads(self) -> list[Head]:
        heads = [Head(self.table, chain, i, digest) for chain, (i, digest) in self.last.items()]
        return sorted(heads, key=lambda head: head.chain)


def _bodies(
    session: Session, site_id: int | None, keys: dict[int, str], found: Verification
) -> None:
    query = _of_site(select(Body).join(Page, Body.page_id == Page.id), site_id)
    batch: list[Body] = []
    for body in _batches(session, query, Body.id, CONTENT_BATCH, scalars=True):
        batch.append(body)
        if len(batch) == CONTENT_BATCH:
            _check_bodies(session, batch, keys, found)
            batch = []
    _check_bodies(session, batch, keys, found)


def _check_bodies(
    session: Session, bodies: Sequence[Body], keys: dict[int, str], found: Verification
) -> None:
    found.bodies += len(bodies)
    for body, raw in _unpacked(bodies, lambda some: read_bodies(session, some), found, keys):
        if bytes_hash(raw) != body.raw_hash:
            why = f"its bytes hash to {bytes_hash(raw)}, but it says {body.raw_hash}"
            found.broken.append(Break("bodies", body.id, keys[body.page_id], why))
    for body in bodies:
        session.expunge(body)


def _versions(
    session: Session, site_id: int | None, keys: dict[int, str], found: Verification
) -> None:
    query = select(ContentVersion.id, ContentVersion.page_id, ContentVersion.text_hash).join(
        Page, ContentVersion.page_id == Page.id
    )
    batch: list[Any] = []
    for row in _batches(session, _of_site(query, site_id), ContentVersion.id, CONTENT_BATCH):
        batch.append(row)
        if len(batch) == CONTENT_BATCH:
            _check_versions(session, batch, keys, found)
            batch = []
    _check_versions(session, batch, keys, found)


def _check_versions(
    session: Session, rows: Sequence[Any], keys: dict[int, str], found: Verification
) -> None:
    found.versions += len(rows)

    def read(some: Sequence[Any]) -> list[str]:
        texts = texts_by_id(session, [row.id for row in some])
        return [texts[row.id] for row in some]

    for row, text in _unpacked(rows, read, found, keys):
        if text_hash(text) != row.text_hash:
            why = f"its text hashes to {text_hash(text)}, but it says {row.text_hash}"
            found.broken.append(Break("versions", row.id, keys[row.page_id], why))


def _unpacked(
    rows: Sequence[Any],
    read: Callable[[Sequence[Any]], Sequence[Any]],
    found: Verification,
    keys: dict[int, str],
) -> Iterator[tuple[Any, Any]]:
    """Each row with its unpacked content; a row that cannot be unpacked is a break."""
    if not rows:
        return
    try:
        yield from zip(rows, read(rows), strict=True)
        return
    except DAMAGED:
        pass  # one of them: find which, one by one
    table = "bodies" if isinstance(rows[0], Body) else "versions"
    for row in rows:
        try:
            content = read([row])[0]
        except DAMAGED as exc:
            why = f"its packed bytes (or those of its base) cannot be unpacked: {exc!r}"
            found.broken.append(Break(table, row.id, keys[row.page_id], why))
            continue
        yield row, content


def _of_site(query: _Query, site_id: int | None) -> _Query:
    return query if site_id is None else query.where(Page.site_id == site_id)


def _batches(
    session: Session, query: Select[*tuple[Any, ...]], key: Any, size: int, *, scalars: bool = False
) -> Iterator[Any]:
    """The rows of ``query`` in ``key`` order, ``size`` at a time (a keyset: each batch is a
    range of the primary key)."""
    last = 0
    while True:
        batch = query.where(key > last).order_by(key).limit(size)
        rows = list(session.scalars(batch) if scalars else session.execute(batch))
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def backfill_note(backfill: ChainBackfill) -> str:
    """What a backfill means, in one sentence."""
    at = backfill.chained_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = []
    if backfill.fetches:
        parts.append(f"{backfill.fetches} fetches (ids up to {backfill.last_fetch_id})")
    if backfill.reviews:
        parts.append(f"{backfill.reviews} review decisions (ids up to {backfill.last_review_id})")
    return (
        f"{' and '.join(parts)} were written before the chain existed and were chained by "
        f"migration {backfill.revision} at {at}, from their stored values: the chain vouches "
        "for them since then, not before"
    )


def heads_text(heads: list[Head]) -> str:
    """Heads, one a line (`fetch ID HASH PAGE-KEY`, `review ID HASH change N`), as --against
    reads them back."""
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [f"# mfawatch chain heads at {at}: {len(heads)} chains; check: verify --against FILE"]
    lines += [f"{NOUNS[h.table]} {h.row_id} {h.hash} {printable(h.chain)}" for h in heads]
    return "\n".join(lines) + "\n"
