"""The fetch plan: what one fetch means and what rows it writes, decided once, without I/O.

Every way a fetch enters the archive (one transaction per page, the crawl's batch writer, the
bulk writer of a site's first crawl) builds a PageSnapshot of what the archive knows of the page,
calls plan_fetch, and carries the plan out. Ids are the executor's: a plan names versions by
their text hash and bodies by their bytes' hash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kernel.captures import Capture
from kernel.config import LABEL_SOURCE
from kernel.detect import VOUCHED, ChangeKind, Known, Observation, PageStatus, Seen, classify_change
from kernel.status import FetchSource, Outcome
from kernel.text import bytes_hash
from kernel.text import text_hash as hash_text


@dataclass
class FetchResult:
    """One fetch as the scraper saw it: the archive's input (and the Scrapy item)."""

    site: str
    key: str  # the page identity, see kernel.config.page_identity
    url: str
    lang: str
    seen: Seen
    fetched_at: dt.datetime
    final_url: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    raw: bytes | None = None
    title: str | None = None
    text: str | None = None  # the title line, then one paragraph a line
    declared_raw: str | None = None
    declared_date: dt.date | None = None
    error: str | None = None
    declared_time: dt.time | None = None  # when the declared text gives a time of day
    # Not a failure, a warning: "drift: ..." (the layout's fallback matched), "blocked: ...".
    note: str | None = None
    # The layout's date source the declared value came from (kernel.config.DATE_SOURCE).
    declared_source: str | None = None
    capture: Capture | None = None  # a web archive's capture of the page, not a crawl
    # The response's status line and headers as received: a kernel.headers block.
    headers: bytes | None = None

    # The hashes are computed once per text and per body, however many ask; kept apart from
    # the fields (a Scrapy item's), and taken again if the text or the bytes are replaced.
    @property
    def text_hash(self) -> str | None:
        return None if self.text is None else self._hashed("text", self.text, hash_text)

    @property
    def raw_hash(self) -> str | None:
        return None if self.raw is None else self._hashed("raw", self.raw, bytes_hash)

    def _hashed(self, name: str, value: Any, digest: Callable[[Any], str]) -> str:
        memo = self.__dict__.get(f"_{name}_hash")
        if memo is None or memo[0] is not value:
            memo = self.__dict__[f"_{name}_hash"] = (value, digest(value))
        return str(memo[1])


@dataclass(frozen=True)
class PageSnapshot:
    """What the archive knows of a page before a fetch (its columns' names)."""

    url: str
    status: PageStatus
    text_hash: str | None  # the current version's; None if the page never had a text
    title: str | None = None
    declared_raw: str | None = None
    declared_date: dt.date | None = None
    declared_time: dt.time | None = None
    etag: str | None = None
    last_modified: str | None = None
    declared_source: str | None = None


@dataclass(frozen=True)
class Plan:
    """What a fetch comes to and what to write for it."""

    outcome: Outcome
    kind: ChangeKind | None  # the change to record, if any
    # The fetch row's columns but its ids (page, run, version, body).
    fetch: dict[str, Any]
    # The page's columns to set: every one for a new page, else those that change, and
    # last_seen_at. A "url" of a known page moves it (earlier fetches keep the one they used).
    page: dict[str, Any]
    version: str | None  # the text hash of the version the fetch saw, if it saw one
    # The version is not the page's current one: one of its older ones, or stored now; it
    # becomes the current one.
    new_text: bool
    body: str | None  # the hash of the bytes the fetch brought back, stored if new to the page
    body_has_text: bool  # a body stored now is packed with (and names) the version's text
    # The change row's declared values, old and new (when kind is not None).
    declared_move: tuple[dt.date | None, dt.time | None, dt.date | None, dt.time | None]


# What a fetch brought back is the page's own body: archived even when extraction failed.
_BODY_SEEN = (Seen.CONTENT, Seen.SAME_BYTES, Seen.EXTRACTION_FAILED)


def plan_fetch(known: PageSnapshot | None, result: FetchResult, *, baseline: bool) -> Plan:
    """The plan for ``result`` given what the archive knew of its page (None: never seen).

    >>> at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> fetch = FetchResult("s", "k", "u", "en", Seen.CONTENT, at, text="T", raw=b"<p>T</p>")
    >>> plan = plan_fetch(None, fetch, baseline=False)
    >>> plan.outcome, plan.kind, plan.new_text
    (<Outcome.NEW: 'new'>, <ChangeKind.NEW_PAGE: 'new_page'>, True)
    >>> was = PageSnapshot("u", PageStatus.ACTIVE, fetch.text_hash)
    >>> again = plan_fetch(was, fetch, baseline=False)
    >>> again.outcome, again.kind, again.new_text, sorted(again.page)
    (<Outcome.UNCHANGED: 'unchanged'>, None, False, ['last_seen_at'])
    """
    current = known.text_hash if known else None
    vouched = result.seen in VOUCHED
    content = result.seen is Seen.CONTENT and result.text is not None
    if vouched:  # nothing changed since the last good fetch, the declared date included
        version = current
        declared = _declared(known)
        obs = Observation(result.seen, version, declared[1], declared[2])
    elif content:
        version = result.text_hash
        declared = (
            result.declared_raw,
            result.declared_date,
            result.declared_time,
            result.declared_source,
        )
        obs = Observation(Seen.CONTENT, version, result.declared_date, result.declared_time)
    else:
        version = None
        declared = (result.declared_raw, None, None, result.declared_source)
        obs = Observation(result.seen)
    before = (
        Known(known.status, current, known.declared_date, known.declared_time) if known else None
    )
    verdict = classify_change(before, obs, baseline=baseline)
    new_text = content and version != current
    page = _page_update(known, result, verdict.status, content)
    url = known.url if known and "url" not in page else result.url
    outcome = _outcome(result.seen, current, version)
    fetch = {
        "fetched_at": result.fetched_at,
        "other_url": result.url if result.url != url else None,
        "final_url": result.final_url if result.final_url != result.url else None,
        "http_status": result.http_status,
        "etag": result.etag,
        "last_modified": result.last_modified,
        "declared_raw": declared[0],
        "declared_date": declared[1],
        "declared_time": declared[2],
        "declared_source": declared[3],
        "outcome": outcome,
        "error": result.error,
        "note": _fetch_note(known, result, new_text),
        **_capture_columns(result.capture),
        "headers": result.headers,  # the block; the executor packs it (storage.archive)
    }
    has_body = result.raw is not None and result.seen in _BODY_SEEN
    return Plan(
        outcome=outcome,
        kind=verdict.kind,
        fetch=fetch,
        page=page,
        version=version,
        new_text=new_text,
        body=result.raw_hash if has_body else None,
        body_has_text=result.seen is Seen.CONTENT and version is not None,
        declared_move=(
            known.declared_date if known else None,
            known.declared_time if known else None,
            obs.declared,
            obs.declared_time,
        ),
    )


def _fetch_note(known: PageSnapshot | None, result: FetchResult, new_text: bool) -> str | None:
    """The fetch's note: the scraper's, and layout drift of the date line: a text the same as
    the page's version, whose date line, there last time, was not found this time.

    >>> at = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> fetch = FetchResult("s", "k", "u", "en", Seen.CONTENT, at, text="T")
    >>> was = PageSnapshot("u", PageStatus.ACTIVE, fetch.text_hash, declared_raw="28.02.2023")
    >>> _fetch_note(was, fetch, new_text=False)
    'drift: date line not found, the text unchanged (last time: "28.02.2023")'
    """
    notes = [result.note] if result.note else []
    same_text = result.seen is Seen.CONTENT and result.text is not None and not new_text
    if same_text and known and _label_lost(known, result):
        was = (known.declared_raw or "").replace('"', "'")
        notes.append(f'drift: date line not found, the text unchanged (last time: "{was}")')
    return "; ".join(notes) or None


def _label_lost(known: PageSnapshot, result: FetchResult) -> bool:
    """The visible date line was there last time and is not now (a date found in the page's
    metadata instead does not make up for it: storage.runs counts the same)."""
    had = known.declared_raw is not None and known.declared_source in (None, LABEL_SOURCE)
    return had and (result.declared_raw is None or result.declared_source != LABEL_SOURCE)


def _capture_columns(capture: Capture | None) -> dict[str, Any]:
    """A fetch's source, and the identity of the archive's capture it was (if one)."""
    if capture is None:
        return {"source": FetchSource.LIVE, "archive_url": None, "archive_digest": None,
                "archive_key": None}  # fmt: skip
    return {
        "source": capture.source,
        "archive_url": capture.url,
        "archive_digest": capture.digest,
        "archive_key": capture.key,
    }


def _declared(
    known: PageSnapshot | None,
) -> tuple[str | None, dt.date | None, dt.time | None, str | None]:
    if known is None:
        return None, None, None, None
    return known.declared_raw, known.declared_date, known.declared_time, known.declared_source


def _outcome(seen: Seen, current: str | None, version: str | None) -> Outcome:
    if seen is Seen.CONTENT:
        if current is None:
            return Outcome.NEW
        return Outcome.UNCHANGED if version == current else Outcome.CHANGED
    if seen is Seen.SAME_BYTES:
        return Outcome.UNCHANGED
    return Outcome(seen.value)


def _page_update(
    known: PageSnapshot | None, result: FetchResult, status: PageStatus, content: bool
) -> dict[str, Any]:
    was = known or PageSnapshot(result.url, PageStatus.ACTIVE, None, title=result.title)
    after: dict[str, Any] = {"status": status}
    if content:  # the page as this text shows it
        after["url"] = result.url
        after["title"] = result.title or was.title
        after["declared_raw"] = result.declared_raw
        after["declared_date"] = result.declared_date
        after["declared_time"] = result.declared_time
        after["declared_source"] = result.declared_source
    if content or result.seen in VOUCHED:  # validators of a good response, for the next one
        after["etag"] = result.etag or was.etag
        after["last_modified"] = result.last_modified or was.last_modified
    elif result.seen is Seen.GONE:
        after["etag"] = after["last_modified"] = None
    if known is None:
        return {
            "key": result.key,
            "url": result.url,
            "lang": result.lang,
            "title": result.title,
            "first_seen_at": result.fetched_at,
            "last_seen_at": result.fetched_at,
            "declared_raw": None,
            "declared_date": None,
            "declared_time": None,
            "declared_source": None,
            "etag": None,
            "last_modified": None,
            **after,
        }
    changed = {name: value for name, value in after.items() if getattr(known, name) != value}
    return {**changed, "last_seen_at": result.fetched_at}
