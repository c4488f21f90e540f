"""One change as every front end shows it (CLI, reports, the review app): plain data, JSON-ready.

Callers pass ORM rows loaded in their own session; nothing here queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # hints only: the diff engine loads when a diff is asked for
    from kernel.diffing import Piece
    from storage.models import Change


def iso(value: dt.date | dt.datetime | dt.time | None) -> str | None:
    return value.isoformat() if value is not None else None


def declared_text(date: str | dt.date | None, time: str | dt.time | None = None) -> str | None:
    """A declared value as people read it: the date, then the time when the page gave one.

    >>> declared_text(dt.date(2017, 10, 3), dt.time(8, 59)), declared_text("2017-10-03", None)
    ('2017-10-03 08:59', '2017-10-03')
    >>> declared_text("2017-10-03", "08:59:30"), declared_text(None, None)
    ('2017-10-03 08:59:30', None)
    """
    if date is None:
        return None
    if time is None:
        return str(date)
    clock = time if isinstance(time, dt.time) else dt.time.fromisoformat(time)
    return f"{date} {clock.isoformat('seconds' if clock.second else 'minutes')}"


def change_summary(change: Change) -> dict[str, Any]:
    """The fields of a change in lists; needs change.page and change.page.site loaded."""
    return {
        "id": change.id,
        "url": change.page.url,
        "page_id": change.page_id,
        "page_key": change.page.key,
        "site": change.page.site.name,
        "lang": change.page.lang,
        "title": change.page.title,
        "kind": change.kind,
        "status": change.status,
        "detected_at": iso(change.detected_at),
        "old_last_updated": iso(change.old_declared),
        "old_last_updated_time": iso(change.old_declared_time),
        "new_last_updated": iso(change.new_declared),
        "new_last_updated_time": iso(change.new_declared_time),
        "words_added": change.words_added,
        "words_removed": change.words_removed,
        "historical": change.historical,
        # The declared date against the page's history (kernel.datecheck), or None.
        "date_flag": change.date_flag,
        "date_note": change.date_note,
        "date_proof_fetch_id": change.date_proof_fetch_id,
    }


# What stands on the "after" side of a change that has no text after it.
AFTER = {"removed": "removed"}


def change_pieces(change: Change, texts: Mapping[int, str]) -> list[Piece]:
    """The word diff of a change, the one its words were counted from (a removal's "after"
    is AFTER's word, not text). ``texts`` by version id: storage.queries.change_texts."""
    from kernel.diffing import change_diff

    old_text = texts[change.old_version_id] if change.old_version_id is not None else None
    new_text = texts[change.new_version_id] if change.new_version_id is not None else None
    return change_diff(change.kind, old_text, new_text)


def fetch_note(http_status: int | None, outcome: str, error: str | None) -> str:
    """The new fetch in one line, each fact once: "HTTP 404, gone", not "HTTP 404, gone: HTTP 404".

    >>> fetch_note(404, "gone", "HTTP 404")
    'HTTP 404, gone'
    >>> fetch_note(200, "extraction_failed", "body not found")
    'HTTP 200, extraction_failed: body not found'
    >>> fetch_note(None, "failed", "connection refused")
    'failed: connection refused'
    """
    note = f"HTTP {http_status}, {outcome}" if http_status else outcome
    if error and error != f"HTTP {http_status}":
        note += f": {error}"
    return note


def change_detail(change: Change) -> dict[str, Any]:
    """Everything about one change, but the diff; needs storage.queries.get_change's loading."""
    data = change_summary(change)
    data["old_version_id"] = change.old_version_id
    data["new_version_id"] = change.new_version_id
    data["window"] = {
        "last_seen_old": iso(change.old_fetch.fetched_at) if change.old_fetch else None,
        "first_seen_new": iso(change.new_fetch.fetched_at),
    }
    fetch = change.new_fetch
    data["after"] = AFTER.get(change.kind)
    data["new_fetch"] = {
        "http_status": fetch.http_status,
        "outcome": fetch.outcome,
        "error": fetch.error,
        "note": fetch_note(fetch.http_status, fetch.outcome, fetch.error),
    }
    proof = change.date_proof_fetch
    data["date_proof"] = proof and {
        "fetch_id": proof.id,
        "fetched_at": iso(proof.fetched_at),
        "source": proof.source,
        "archive_url": proof.archive_url,
    }
    data["reviews"] = [
        {"status": r.status, "note": r.note, "reviewer": r.reviewer, "at": iso(r.decided_at)}
        for r in change.reviews
    ]
    return data


def diff_json(pieces: list[Piece]) -> list[dict[str, str]]:
    return [{"op": p.op.name.lower(), "text": p.text} for p in pieces]
