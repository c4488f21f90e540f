"""The verifiable log: each fetch's hash covers what it recorded and the hash of the fetch
before it; each review decision's, what was decided and the decision before it.

One chain per page (its fetches in the order they were written, by id) and one per change (its
decisions, by id). Per page, not per site: writers of different pages of a site (the crawl's
batches, a backfill from web archives) never wait for each other, and the order of rows within a
batch of many pages does not matter. By id, not by fetch time: the log is append-only, and a
backfill adds fetches with past times at its end. Rewriting one row means rewriting every later
hash of its chain, so a chain's head, lodged elsewhere, proves the rows before it unchanged.

The serialization is versioned: a row keeps the version it was hashed with, and adding a field
to the chain is a new version (new rows get it, old rows verify as they were written).

A link is hashed as SHA-256 (hex) of a JSON object in canonical form (RFC 8785 for these
values: keys sorted, no white space, UTF-8, only the escapes JSON requires): ``chain`` (what is
chained), ``v`` (the version), ``prev`` (the previous link's hash; null for the first) and the
fields of that version. Times are UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; dates ``YYYY-MM-DD``;
times of day ``HH:MM:SS.ffffff``; absent values null.

>>> at = dt.datetime(2024, 1, 1, 6, 0, tzinfo=dt.UTC)
>>> link = FetchLink(at, "https://h/en/1", 200, "ab", "cd", dt.date(2023, 2, 28), None, "new")
>>> text = canonical(link, None).decode()
>>> print(text.replace(',"', ', "'))  # doctest: +NORMALIZE_WHITESPACE
{"body_hash":"ab", "chain":"fetch", "declared_date":"2023-02-28", "declared_time":null,
"error":null, "fetched_at":"2024-01-01T06:00:00.000000Z", "http_status":200, "outcome":"new",
"prev":null, "text_hash":"cd", "url":"https://h/en/1", "v":1}
>>> first = link_hash(link, None)
>>> first == hashlib.sha256(canonical(link, None)).hexdigest()
True
>>> later = FetchLink(at, "https://h/en/1", 304, None, "cd", None, None, "not_modified")
>>> link_hash(later, first) != link_hash(later, None)  # the previous link is part of it
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The version new rows are hashed with; each version's fields, in FIELDS.
FETCH_VERSION = 1
REVIEW_VERSION = 1


@dataclass(frozen=True)
class FetchLink:
    """What a fetch's hash covers (a fetch row's values, with its body's and text's hashes)."""

    fetched_at: dt.datetime
    url: str  # the URL requested (the row's, or its page's)
    http_status: int | None
    body_hash: str | None  # SHA-256 of the bytes received (bodies.raw_hash)
    text_hash: str | None  # the version's (versions.text_hash)
    declared_date: dt.date | None
    declared_time: dt.time | None
    outcome: str
    error: str | None = None


@dataclass(frozen=True)
class ReviewLink:
    """What a review decision's hash covers."""

    change_id: int
    status: str
    note: str | None
    reviewer: str | None
    decided_at: dt.datetime


# (what is chained, version) -> the fields hashed. A new field is a new version here, never a
# change to an old one: rows hashed with it must still verify.
FIELDS: dict[tuple[str, int], tuple[str, ...]] = {
    ("fetch", 1): (
        "fetched_at",
        "url",
        "http_status",
        "body_hash",
        "text_hash",
        "declared_date",
        "declared_time",
        "outcome",
        "error",
    ),
    ("review", 1): ("change_id", "status", "note", "reviewer", "decided_at"),
}


def fetch_link(
    row: Mapping[str, Any], *, url: str, body_hash: str | None, text_hash: str | None
) -> FetchLink:
    """The link of a fetch row (a row to write or a row read: the columns' names)."""
    return FetchLink(
        fetched_at=row["fetched_at"],
        url=url,
        http_status=row["http_status"],
        body_hash=body_hash,
        text_hash=text_hash,
        declared_date=row["declared_date"],
        declared_time=row["declared_time"],
        outcome=str(row["outcome"]),
        error=row["error"],
    )


def canonical(link: FetchLink | ReviewLink, prev: str | None, version: int | None = None) -> bytes:
    """The bytes hashed for ``link`` after ``prev``, in ``version`` (default: the current)."""
    chain = "fetch" if isinstance(link, FetchLink) else "review"
    if version is None:
        version = FETCH_VERSION if chain == "fetch" else REVIEW_VERSION
    fields = FIELDS.get((chain, version))
    if fields is None:
        raise ValueError(f"no chain version {version} for {chain}es")
    data: dict[str, Any] = {"chain": chain, "v": version, "prev": prev}
    for name in fields:
        data[name] = _value(getattr(link, name))
    text = _ENCODER.encode(data)
    # A lone surrogate cannot be stored anyway; hashed all the same rather than raising.
    return text.encode("utf-8", "surrogatepass")


def link_hash(link: FetchLink | ReviewLink, prev: str | None, version: int | None = None) -> str:
    """The chain hash of ``link`` after the link hashed ``prev``."""
    return hashlib.sha256(canonical(link, prev, version)).hexdigest()


def _value(value: Any) -> Any:
    """A value as the serialization writes it.

    >>> _value(dt.datetime(2024, 1, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=4))))
    '2024-01-01T06:00:00.000000Z'
    >>> _value(dt.time(8, 59)), _value(dt.date(2017, 10, 3)), _value(None), _value(200)
    ('08:59:00.000000', '2017-10-03', None, 200)
    """
    kind = type(value)
    if value is None or kind is str or kind is int:  # the most of them: checked first
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be chained; use UTC-aware datetimes")
        if value.utcoffset():
            value = value.astimezone(dt.UTC)
        # isoformat is several times quicker than strftime, and gives the same digits.
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, str):  # a StrEnum: its value
        return str(value)
    if isinstance(value, int) and kind is not bool:
        return int(value)
    raise TypeError(f"cannot chain a {kind.__name__}")


# Built once: json.dumps with options builds an encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
