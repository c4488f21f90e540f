"""What a fetch received, read back for export: its body's bytes (checked against the hash
recorded when they arrived) and its response head.

Every reader of raw evidence goes through here, so that no byte leaves the archive unchecked:
`mfawatch body`, the WARC export and the evidence bundle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from kernel.errors import ArchiveDamaged, NotFound
from kernel.text import bytes_hash
from storage.content import read_bodies
from storage.headers import unpack_head
from storage.models import Fetch, Page, Site

CHUNK = 200  # fetches whose bodies are read together


@dataclass(frozen=True)
class Received:
    fetch: Fetch
    body: bytes | None  # none for a fetch that kept no body (a 304, a timeout, a 5xx)
    head: bytes | None  # the kernel.headers block; none when it was not kept

    @property
    def raw_hash(self) -> str | None:
        return self.fetch.body.raw_hash if self.fetch.body is not None else None


def get_fetch(session: Session, fetch_id: int) -> Fetch:
    fetch = session.get(Fetch, fetch_id, options=[joinedload(Fetch.page), joinedload(Fetch.body)])
    if fetch is None:
        raise NotFound(f"no fetch {fetch_id} (see `mfawatch history URL --json`)")
    return fetch


def received(session: Session, fetch: Fetch) -> Received:
    return next(iter(received_many(session, [fetch])))


def received_many(session: Session, fetches: Sequence[Fetch]) -> Iterator[Received]:
    """Each fetch with what it received, in order; bodies read a chunk at a time."""
    for start in range(0, len(fetches), CHUNK):
        chunk = fetches[start : start + CHUNK]
        bodies = [f.body for f in chunk if f.body is not None]
        raw = dict(zip([b.id for b in bodies], read_bodies(session, bodies), strict=True))
        for fetch in chunk:
            body = raw.get(fetch.body.id) if fetch.body is not None else None
            if fetch.body is not None and body is not None:
                checked(body, fetch.body.raw_hash, f"the body of fetch {fetch.id}")
            head = unpack_head(fetch.headers) if fetch.headers is not None else None
            yield Received(fetch, body, head)


def checked(data: bytes, recorded: str, what: str) -> bytes:
    """``data`` if it hashes to ``recorded``; else the archive was altered or damaged."""
    actual = bytes_hash(data)
    if actual != recorded:
        raise ArchiveDamaged(
            f"{what} does not match its recorded SHA-256 (recorded {recorded}, "
            f"the stored bytes give {actual}): the archive was altered or damaged"
        )
    return data


def select_fetches(
    session: Session,
    *,
    site: str | None = None,
    page_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    ids: Sequence[int] | None = None,
) -> Sequence[Fetch]:
    """Fetches that got a response (an HTTP status), oldest first, by these filters."""
    query = (
        select(Fetch)
        .join(Page, Fetch.page_id == Page.id)
        .where(Fetch.http_status.is_not(None))
        .options(joinedload(Fetch.page), joinedload(Fetch.body))
        .order_by(Fetch.fetched_at, Fetch.id)
    )
    if site is not None:
        query = query.join(Site, Page.site_id == Site.id).where(Site.name == site)
    if page_id is not None:
        query = query.where(Fetch.page_id == page_id)
    if since is not None:
        query = query.where(Fetch.fetched_at >= since)
    if until is not None:
        query = query.where(Fetch.fetched_at <= until)
    if ids is not None:
        query = query.where(Fetch.id.in_(ids))
    return session.scalars(query).unique().all()
