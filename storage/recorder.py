"""A crawl's writer: what cannot be a change in small batches, the rest one page at a time.

Most fetches of a re-crawl find the text they found last time, and a site's first crawl finds
only new pages, which are its baseline, not changes. Such fetches are written together, up to
BATCH_SIZE or BATCH_SECONDS old (storage.baseline stores the new pages); anything that may be
a change goes through record_fetch in a transaction of its own, after the batch before it. A
crawl killed mid-batch loses at most that batch (its run is then marked interrupted; the next
crawl fetches those pages again); never a change, never anything stored before.

Every fetch is made storable first (storage.storable). Should the database refuse one all the
same, it is recorded as a failed fetch saying why, and costs no other page its record: a
refused batch is written again one fetch per transaction to find it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kernel.chain import fetch_link
from kernel.detect import PageStatus, Seen
from kernel.plan import PageSnapshot, Plan, plan_fetch
from kernel.text import printable
from storage.archive import FetchResult, Recorded, RunContext, fetch_row, record_fetch
from storage.baseline import store_new_pages
from storage.chain import chain_fetches
from storage.models import Body, ContentVersion, Fetch, Page

log = logging.getLogger(__name__)

BATCH_SIZE = 100
BATCH_SECONDS = 1.0


# What a page's row may get from a fetch written in a batch: anything more goes through
# record_fetch.
_BATCHED_PAGE = {"last_seen_at", "etag", "last_modified"}


@dataclass
class _Waiting:
    """A fetch waiting for its batch, with its plan and the ids it writes (a page new in the
    baseline has none yet: storage.baseline stores it)."""

    result: FetchResult
    plan: Plan
    ids: tuple[int, int, int | None] | None = None  # page, version, body
    page: dict[str, Any] | None = None  # the page's update, by primary key


@dataclass
class _Standing:
    """A page as the archive had it when the crawl started."""

    page_id: int
    version_id: int | None
    known: PageSnapshot


class CrawlWriter:
    """Records one run's fetches (one site's)."""

    def __init__(self, sessions: sessionmaker[Session], run_id: int) -> None:
        self.sessions = sessions
        self.run_id = run_id
        self._waiting: list[_Waiting] = []  # in crawl order
        self._keys: set[str] = set()  # pages recorded (or waiting) in this crawl
        self._since = 0.0
        self.dropped = 0  # batched fetches lost to a database error (not one refusing them)
        with sessions() as session:
            self.run = RunContext.load(session, run_id)
            self._standing = _standing(session, self.run.site_id)
            self._bodies = _bodies(session, self.run.site_id)
        self.site = self.run.site
        self.baseline = self.run.baseline

    def record(self, result: FetchResult) -> Recorded:
        result = self.run.admit(result)
        seen_before = result.key in self._keys
        self._keys.add(result.key)
        entry = None if seen_before else self._batched(result)
        if entry is not None:
            if len(self._waiting) >= BATCH_SIZE or time.monotonic() - self._since > BATCH_SECONDS:
                self.flush()
            if not self._waiting:
                self._since = time.monotonic()
            self._waiting.append(entry)
            return Recorded(None, entry.plan.outcome, None, None)
        self.flush()  # rows keep the order of the crawl
        self._standing.pop(result.key, None)  # from here on the database knows better
        try:
            with self.sessions.begin() as session:
                return record_fetch(session, self.run, result)
        except DBAPIError as exc:
            self.run.keyframe = None  # it may have been stored by the transaction undone
            if not _refusal(exc):
                raise
            return self._refused(result, exc)
        except Exception:
            self.run.keyframe = None
            raise

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def flush(self) -> None:
        """Write the waiting fetches; those lost to a database error are counted in `dropped`,
        and the error raised.

        A batch the database refuses is written again, one fetch per transaction; a fetch it
        refuses then is recorded as a failed fetch with the database's reason."""
        if not self._waiting:
            return
        waiting, self._waiting = self._waiting, []
        try:
            with self.sessions.begin() as session:
                self._write(session, waiting)
            return
        except SQLAlchemyError as exc:
            self.run.keyframe = None  # it may have been stored by the transaction undone
            if not _refusal(exc):
                self.dropped += len(waiting)
                raise
        refused: SQLAlchemyError | None = None
        for done, entry in enumerate(waiting):
            try:
                self._write_alone(entry)
            except SQLAlchemyError as exc:
                self.run.keyframe = None
                if not _refusal(exc):
                    self.dropped += len(waiting) - done
                    raise
                self.dropped += 1  # even its failure was refused: it alone is lost
                refused = refused or exc
        if refused is not None:
            raise refused

    def _write(self, session: Session, waiting: Sequence[_Waiting]) -> None:
        new = [(entry.result, entry.plan) for entry in waiting if entry.ids is None]
        stored = iter(store_new_pages(session, self.run, new) if new else [])
        fetches, pages, links = [], [], []
        for entry in waiting:
            ids: tuple[int, int, int | None] = entry.ids or next(stored)
            page_id, version_id, body_id = ids
            if entry.page is not None:
                pages.append(entry.page)
            row = fetch_row(entry.plan, self.run_id, page_id, body_id, version_id)
            fetches.append(row)
            body_hash = entry.plan.body if body_id is not None else None
            link = fetch_link(row, url=entry.result.url, body_hash=body_hash,
                              text_hash=entry.plan.version)  # fmt: skip
            links.append((row, link))
        chain_fetches(session, links)
        session.execute(insert(Fetch), fetches)
        if pages:
            session.execute(update(Page), pages)  # by primary key

    def _write_alone(self, entry: _Waiting) -> None:
        """One fetch in a transaction of its own; if the database refuses it, its failure."""
        try:
            with self.sessions.begin() as session:
                self._write(session, [entry])
        except DBAPIError as exc:
            self.run.keyframe = None
            if not _refusal(exc):
                raise
            self._refused(entry.result, exc)

    def _refused(self, result: FetchResult, exc: DBAPIError) -> Recorded:
        """Record a fetch the database refused as a failed fetch saying why (if the database
        refuses that too, its error is raised)."""
        why = _reason(exc)
        refused = FetchResult(
            site=result.site, key=result.key, url=result.url, lang=result.lang,
            seen=Seen.FAILED, fetched_at=result.fetched_at, http_status=result.http_status,
            error=f"not archived, the database refused it: {why}",
        )  # fmt: skip
        self._standing.pop(result.key, None)  # the database knows better now
        with self.sessions.begin() as session:
            recorded = record_fetch(session, self.run, refused)
        log.error("could not archive %s: %s", printable(result.url), why)
        return recorded

    def _batched(self, result: FetchResult) -> _Waiting | None:
        """The fetch to wait for its batch, if its plan cannot be a change and writes rows
        only: a page new to the archive in the site's first crawl, or one as it stood."""
        page = self._standing.get(result.key)
        if page is None and not self.baseline:
            return None
        plan = plan_fetch(page.known if page else None, result, baseline=self.baseline)
        if plan.kind is not None:
            return None
        if page is None:  # new in the baseline: its page, text and bytes go in bulk
            return _Waiting(result, plan) if plan.new_text and plan.body else None
        return self._as_it_stood(result, plan, page)

    def _as_it_stood(self, result: FetchResult, plan: Plan, page: _Standing) -> _Waiting | None:
        """The fetch to wait, if it writes a fetch row of the text and bytes the page has."""
        if page.version_id is None or plan.version is None or plan.new_text:
            return None  # not the text the page stood with
        if not set(plan.page) <= _BATCHED_PAGE:
            return None
        body_id = None
        if plan.body is not None:
            body_id = self._bodies.get((page.page_id, plan.body))
            if body_id is None:  # new bytes: a body to store
                return None
        # The same columns for every page of a batch: one statement updates them all.
        update = {"id": page.page_id, "etag": page.known.etag}
        update |= {"last_modified": page.known.last_modified, **plan.page}
        return _Waiting(result, plan, (page.page_id, page.version_id, body_id), update)


def _standing(session: Session, site_id: int) -> dict[str, _Standing]:
    rows = session.execute(
        select(
            Page.key,
            Page.id,
            Page.current_version_id,
            Page.url,
            Page.status,
            ContentVersion.text_hash,
            Page.title,
            Page.declared_raw,
            Page.declared_date,
            Page.declared_time,
            Page.etag,
            Page.last_modified,
            Page.declared_source,
        )
        .outerjoin(ContentVersion, Page.current_version_id == ContentVersion.id)
        .where(Page.site_id == site_id)
    )
    return {
        key: _Standing(page_id, version_id, PageSnapshot(url, PageStatus(status), *rest))
        for key, page_id, version_id, url, status, *rest in rows
    }


def _refusal(exc: SQLAlchemyError) -> bool:
    """Whether the database refused the values written, rather than failing itself (full,
    locked, gone: then writing anything else fails too)."""
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    if isinstance(exc, OperationalError):  # but a value over one of PostgreSQL's limits
        return str(getattr(exc.orig, "sqlstate", "")).startswith("54")
    return True


def _reason(exc: DBAPIError) -> str:
    """The database's own first line about an error, escaped."""
    lines = str(exc.orig).strip().splitlines()
    return printable(lines[0] if lines else type(exc.orig).__name__)


def _bodies(session: Session, site_id: int) -> dict[tuple[int, str], int]:
    """Bytes the archive has of this site's pages, by page and hash."""
    rows = session.execute(
        select(Body.page_id, Body.raw_hash, Body.id)
        .join(Page, Body.page_id == Page.id)
        .where(Page.site_id == site_id)
    )
    return {(page_id, raw_hash): body_id for page_id, raw_hash, body_id in rows}
