"""The Wayback Machine through EDGI's `wayback` package: a page's captures, and their bytes.

The package's WaybackSession rate-limits each API, retries with exponential backoff, and here
also retries a 429 after its Retry-After (it raises one at once otherwise). Its client knows
the archive only as https://web.archive.org (module constants; a memento URL is recognised by
that host): so the archive's address is set by mounting an adapter for that origin, which
sends every request to the configured archive (MFAWATCH_WAYBACK_URL) and hands the responses
back under web.archive.org's names, Location and Link headers included. Nothing global is
patched. The adapter also reads each answer itself: at most MAX_BYTES, within a deadline
(a memento that never ends is an error, not a hang), keeping the bytes as sent for the
digest check (the archive's digest is of the payload, which an encoding may hide).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import string
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError
from wayback import CdxRecord, Mode, WaybackClient, WaybackSession
from wayback.exceptions import (
    BlockedByRobotsError,
    BlockedSiteError,
    MementoPlaybackError,
    RateLimitError,
    WaybackException,
    WaybackRetryError,
)

from kernel.captures import cdx_digest
from kernel.config import Layout, page_identity
from kernel.errors import ArchiveError, ArchiveUnreachable, MfawatchError
from kernel.status import FetchSource
from kernel.text import printable

log = logging.getLogger(__name__)

DEFAULT_URL = "https://web.archive.org"
CANONICAL = "https://web.archive.org"  # the only address the wayback package knows
# The Internet Archive asks for at most 60 requests a minute to its pages and fewer to its
# CDX search (the package keeps to 80% of the limits it was given): one memento a second and
# one search every 2.5 s is well under both. --rate sets both.
MEMENTO_RATE = 1.0
SEARCH_RATE = 0.4
RETRIES = 3
BACKOFF = 2.0  # seconds: retries wait 0, 2, 4 s (or what Retry-After says)
MAX_BYTES = 16 * 1024 * 1024  # as a crawl's page cap
MAX_RETRY_AFTER = 300.0  # a longer Retry-After ends the backfill (ArchiveUnreachable)


@dataclass(frozen=True)
class Downloaded:
    """One capture's memento: the original response as the archive replays it."""

    status: int
    headers: dict[str, str]  # the original response's (X-Archive-Orig-*), and its type
    raw: bytes  # decoded as a browser would
    digests: tuple[str, ...]  # CDX digests of the bytes as sent and as decoded
    memento_url: str  # at the configured archive


def archive_url(value: str | None = None) -> str:
    """The archive's base URL: ``value``, else $MFAWATCH_WAYBACK_URL, else the Internet Archive.

    >>> archive_url("http://127.0.0.1:8080/")
    'http://127.0.0.1:8080'
    """
    url = (value or os.environ.get("MFAWATCH_WAYBACK_URL") or DEFAULT_URL).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise MfawatchError(f"MFAWATCH_WAYBACK_URL is not an http(s) URL: {url!r}")
    return url


def search_prefixes(layout: Layout, url: str) -> list[str]:
    """The URL prefixes whose captures may be of this page: the path up to the last part of
    its identity (so with or without the slug), with and without each prefix the layout strips.
    The archive's index ignores the scheme and ``www.``.

    >>> from kernel.config import load_layout
    >>> search_prefixes(load_layout("mfa.gov.az"),
    ...                 "https://www.seoul.mfa.gov.az/en/content/35/political-cooperation")
    ['seoul.mfa.gov.az/en/content/35', 'seoul.mfa.gov.az/index.php/en/content/35']
    """
    found = page_identity(layout, url)
    if found is None:
        raise MfawatchError(f"not a page of its layout {layout.name!r}: {printable(url)}")
    page, rule = found
    path = urlsplit(url).path or "/"
    for prefix in layout.strip_path_prefixes:
        if path.startswith(prefix + "/"):
            path = path[len(prefix) :]
    match = rule.url_pattern.match(path)
    assert match is not None  # page_identity matched it
    names = {name for _, name, _, _ in string.Formatter().parse(rule.identity) if name}
    ends = [match.end(n) for n in names | {"lang"} if match.groupdict().get(n) is not None]
    core = path[: max(ends)] if ends else path
    return [f"{page.host}{prefix}{core}" for prefix in ("", *layout.strip_path_prefixes)]


class BadMemento(ArchiveError):
    """Raised by Wayback.download when the archive cannot replay a capture (its own error for
    it, not a failure of the archive): a bad capture."""


class Relocated(HTTPAdapter):
    """web.archive.org as the wayback package addresses it, served by the configured archive;
    each answer read within the deadline and the size cap (scraper.memento's archives too)."""

    def __init__(self, base: str, deadline: float, canonical: str = CANONICAL) -> None:
        super().__init__()
        self.base = base
        self.deadline = deadline
        self.canonical = canonical  # the origin asked for; the same as base: only the reading

    def send(  # type: ignore[override]  # the same arguments, passed on as they come
        self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        asked = request.url or ""
        request.url = self.base + asked[len(self.canonical) :]
        try:  # streamed: _read reads the body itself
            response = super().send(request, stream=True, **kwargs)
        finally:
            request.url = asked
        response.url = asked
        for name in ("Location", "Link", "Content-Location"):
            if name in response.headers:
                response.headers[name] = response.headers[name].replace(self.base, self.canonical)
        self._read(response)
        return response

    def _read(self, response: requests.Response) -> None:
        """The body read now, within the deadline and the size cap."""
        start, parts, size = time.monotonic(), [], 0
        try:
            while chunk := response.raw.read1(65536, decode_content=False):
                parts.append(chunk)
                size += len(chunk)
                if size > MAX_BYTES:
                    raise requests.ConnectionError(
                        f"the archive's answer is over {MAX_BYTES} bytes"
                    )
                if time.monotonic() - start > self.deadline:
                    raise requests.ConnectionError(
                        f"the archive's answer did not end within {self.deadline:g} s"
                    )
        except ReadTimeoutError as exc:
            raise requests.ReadTimeout(f"the archive stopped sending: {exc}") from None
        except Urllib3Error as exc:
            raise requests.ConnectionError(f"the archive's answer was cut off: {exc}") from None
        finally:
            response.raw.release_conn()
        wire = b"".join(parts)
        response._content = _decoded(wire, response.headers.get("Content-Encoding", ""))
        response._content_consumed = True
        response.headers.pop("Content-Encoding", None)  # decoded already
        response.mfawatch_wire = wire  # type: ignore[attr-defined]


def _decoded(wire: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(wire, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            try:
                return zlib.decompress(wire)
            except zlib.error:
                return zlib.decompress(wire, -zlib.MAX_WBITS)
    except zlib.error as exc:
        raise requests.ConnectionError(f"the archive's answer does not decode: {exc}") from None
    return wire


class ArchiveSession(WaybackSession):
    """The package's session, retrying a 429 as it retries a 5xx (after its Retry-After)."""

    retryable_statuses = WaybackSession.retryable_statuses | {429}

    def get_retry_delay(self, retries: int, response: Any = None) -> float:
        delay = float(super().get_retry_delay(retries, response))
        if delay > MAX_RETRY_AFTER:
            raise ArchiveUnreachable(f"the archive asks to wait {delay:g} s: try again later")
        return delay


class Wayback:
    """A Wayback Machine (or one that speaks its CDX API and id_ mementos)."""

    source = FetchSource.WAYBACK

    def __init__(
        self,
        base: str | None = None,
        *,
        rate: float | None = None,
        timeout: float = 60.0,
        user_agent: str | None = None,
    ) -> None:
        self.base = archive_url(base)
        session = ArchiveSession(
            retries=RETRIES,
            backoff=BACKOFF,
            timeout=(min(timeout, 30.0), timeout),
            user_agent=user_agent,
            search_calls_per_second=rate if rate is not None else SEARCH_RATE,
            memento_calls_per_second=rate if rate is not None else MEMENTO_RATE,
        )
        session.mount(CANONICAL + "/", Relocated(self.base, timeout))
        self.client = WaybackClient(session=session)

    def close(self) -> None:
        self.client.close()

    def lookups(self, layout: Layout, url: str) -> list[str]:
        """What to list for the page at ``url``: the prefixes of every URL naming it."""
        return search_prefixes(layout, url)

    def captures(
        self,
        prefix: str,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        *,
        urls_only: bool = False,
    ) -> Iterator[CdxRecord]:
        """Every capture the index lists under ``prefix``, paged with resume keys; with
        ``urls_only``, the first capture that answered 200 of each URL (the index collapses
        the rest, so listing a whole section costs one line a URL)."""
        try:
            # Its "malformed URL" filter would drop hosts such as 127.0.0.1 (one-letter last
            # label); each record's URL must name the page anyway (scraper.backfill).
            yield from self.client.search(
                prefix, match_type="prefix", from_date=since, to_date=until,
                skip_malformed_results=False, collapse="urlkey" if urls_only else None,
                filter_field="statuscode:200" if urls_only else None,
            )  # fmt: skip
        except (WaybackException, requests.RequestException) as exc:
            raise archive_error(exc, f"listing captures of {prefix}") from None

    def download(self, record: CdxRecord) -> Downloaded:
        """The capture's original bytes (its id_ memento), redirects not followed."""
        try:
            memento = self.client.get_memento(
                record, mode=Mode.original, exact=True, follow_redirects=False
            )
        except (BlockedSiteError, BlockedByRobotsError) as exc:
            raise ArchiveError(f"the archive does not replay it: {exc}") from None
        except MementoPlaybackError as exc:
            if re.match(r"5\d\d error", str(exc)):  # the archive failing, not the capture
                raise ArchiveError(f"the archive failed: {exc}") from None
            raise BadMemento(str(exc)) from None
        except (WaybackException, requests.RequestException) as exc:
            raise archive_error(exc, f"downloading {record.raw_url}") from None
        response = memento._raw
        wire = getattr(response, "mfawatch_wire", memento.content)
        raw = memento.content
        return Downloaded(
            status=memento.status_code,
            headers={k: v for k, v in memento.headers.items()},
            raw=raw,
            digests=tuple(dict.fromkeys((cdx_digest(wire), cdx_digest(raw)))),
            memento_url=self.base + memento.memento_url[len(CANONICAL) :],
        )

    def memento_url(self, record: CdxRecord) -> str:
        """Where the archive serves this capture's original bytes."""
        return self.base + record.raw_url[len(CANONICAL) :]


def archive_error(exc: BaseException, doing: str) -> ArchiveError:
    """One line for what went wrong with the archive; unreachable when nothing can go on."""
    why = printable(" ".join(str(exc).split()))[:300]
    if isinstance(exc, RateLimitError):
        return ArchiveUnreachable(f"{doing}: the archive keeps answering 429 (rate limited)")
    refused = "NewConnectionError" in why or "Connection refused" in why
    if isinstance(exc, WaybackRetryError) or (
        isinstance(exc, requests.ConnectionError) and refused
    ):
        return ArchiveUnreachable(f"{doing}: the archive cannot be reached ({why})")
    return ArchiveError(f"{doing}: {why}")
