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

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kernel.detect import VOUCHED, Known, Observation, PageStatus, Seen, classify_change
from kernel.status import Outcome
from kernel.text import bytes_hash, printable, text_hash
from storage.archive import FetchResult, Recorded, RunContext, record_fetch
from storage.baseline import store_new_pages
from storage.models import Body, ContentVersion, Fetch, Page
from storage.storable import storable

log = logging.getLogger(__name__)

BATCH_SIZE = 100
BATCH_SECONDS = 1.0


@dataclass
class _Waiting:
    """A fetch waiting for its batch, with its row and its page's update if it is unchanged
    (a page new in the baseline has neither yet)."""

    result: FetchResult
    rows: tuple[dict[str, Any], dict[str, Any]] | None = None


@dataclass
class _Standing:
    """A page as the archive had it when the crawl started."""

    page_id: int
    url: str
    status: str
    version_id: int | None
    text_hash: str | None
    declared_raw: str | None
    declared_date: dt.date | None
    declared_time: dt.time | None
    etag: str | None
    last_modified: str | None


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
        result = storable(result)
        if result.site != self.site:
            raise ValueError(f"fetch of site {result.site!r} recorded in a run of {self.site!r}")
        seen_before = result.key in self._keys
        self._keys.add(result.key)
        entry = None if seen_before else self._unchanged(result) or self._new_in_baseline(result)
        if entry is not None:
            if len(self._waiting) >= BATCH_SIZE or time.monotonic() - self._since > BATCH_SECONDS:
                self.flush()
            if not self._waiting:
                self._since = time.monotonic()
            self._waiting.append(entry)
            outcome = Outcome(entry.rows[0]["outcome"]) if entry.rows else Outcome.NEW
            return Recorded(None, outcome, None, None)
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
        new = [entry.result for entry in waiting if entry.rows is None]
        stored = iter(store_new_pages(session, self.run, new) if new else [])
        fetches, pages = [], []
        for entry in waiting:
            if entry.rows is None:
                fetches.append(self._row(entry.result, *next(stored), Outcome.NEW))
            else:
                fetches.append(entry.rows[0])
                pages.append(entry.rows[1])
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

    def _new_in_baseline(self, result: FetchResult) -> _Waiting | None:
        """The fetch to wait, if it is of a page new to the archive in the site's first crawl."""
        if not self.baseline or result.key in self._standing:
            return None
        if result.seen is not Seen.CONTENT or result.text is None or result.raw is None:
            return None
        return _Waiting(result)

    def _row(
        self,
        result: FetchResult,
        page_id: int,
        version_id: int,
        body_id: int | None,
        outcome: Outcome,
        declared: tuple[str | None, dt.date | None, dt.time | None] | None = None,
    ) -> dict[str, Any]:
        """A fetch row as record_fetch writes it; ``declared`` when it is not the result's."""
        declared_raw, declared_date, declared_time = declared or (
            result.declared_raw,
            result.declared_date,
            result.declared_time,
        )
        return {
            "page_id": page_id,
            "run_id": self.run_id,
            "fetched_at": result.fetched_at,
            "other_url": None,
            "final_url": result.final_url if result.final_url != result.url else None,
            "http_status": result.http_status,
            "etag": result.etag,
            "last_modified": result.last_modified,
            "body_id": body_id,
            "version_id": version_id,
            "declared_raw": declared_raw,
            "declared_date": declared_date,
            "declared_time": declared_time,
            "outcome": outcome,
            "error": result.error,
        }

    def _unchanged(self, result: FetchResult) -> _Waiting | None:
        """The fetch's row and its page's update, if it shows the page exactly as it stood."""
        page = self._standing.get(result.key)
        if page is None or page.version_id is None or result.url != page.url:
            return None
        seen = self._as_before(result, page)
        if seen is None:
            return None
        body_id, obs = seen
        known = Known(
            PageStatus(page.status), page.text_hash, page.declared_date, page.declared_time
        )
        verdict = classify_change(known, obs, baseline=self.baseline)
        if verdict.kind is not None or verdict.status != page.status:
            return None
        declared_raw = page.declared_raw if result.seen in VOUCHED else result.declared_raw
        if declared_raw != page.declared_raw:  # the same date written another way
            return None
        outcome = Outcome.NOT_MODIFIED if result.seen is Seen.NOT_MODIFIED else Outcome.UNCHANGED
        declared = (declared_raw, obs.declared, obs.declared_time)
        fetch = self._row(result, page.page_id, page.version_id, body_id, outcome, declared)
        page.etag = result.etag or page.etag
        page.last_modified = result.last_modified or page.last_modified
        update = {
            "id": page.page_id,
            "last_seen_at": result.fetched_at,
            "etag": page.etag,
            "last_modified": page.last_modified,
        }
        return _Waiting(result, (fetch, update))

    def _as_before(
        self, result: FetchResult, page: _Standing
    ) -> tuple[int | None, Observation] | None:
        """The body and what the fetch observed, if neither is new to the archive."""
        body_id = None
        if result.seen is Seen.CONTENT or result.seen is Seen.SAME_BYTES:
            body_id = self._bodies.get((page.page_id, bytes_hash(result.raw or b"")))
            if body_id is None:  # new bytes: a body to store
                return None
        if result.seen in VOUCHED:
            obs = Observation(result.seen, page.text_hash, page.declared_date, page.declared_time)
            return body_id, obs
        if result.seen is Seen.CONTENT and result.text is not None:
            if text_hash(result.text) != page.text_hash:
                return None
            obs = Observation(
                Seen.CONTENT, page.text_hash, result.declared_date, result.declared_time
            )
            return body_id, obs
        return None


def _standing(session: Session, site_id: int) -> dict[str, _Standing]:
    rows = session.execute(
        select(
            Page.key,
            Page.id,
            Page.url,
            Page.status,
            Page.current_version_id,
            ContentVersion.text_hash,
            Page.declared_raw,
            Page.declared_date,
            Page.declared_time,
            Page.etag,
            Page.last_modified,
        )
        .outerjoin(ContentVersion, Page.current_version_id == ContentVersion.id)
        .where(Page.site_id == site_id)
    )
    return {key: _Standing(*rest) for key, *rest in rows}


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
