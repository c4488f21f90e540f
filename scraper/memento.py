"""Any web archive that speaks Memento (RFC 7089): a URL's TimeMap, and each memento's bytes.

`backfill --archive URL` names a TimeMap endpoint, the URL that a page's address is appended to
(pywb: ``http://host/{collection}/timemap/link/``; Arquivo.pt, the UK Web Archive and other
Wayback-style archives have the same). The TimeMap (``application/link-format``) lists each
memento with its datetime; a TimeMap lists one URL, so each URL naming the page is asked for
(not a prefix), and it gives no digest, status or type: every memento is downloaded, judged
by what it serves. The original bytes are asked for as the Wayback convention names them
(``/{14-digit timestamp}id_/``), which pywb, OpenWayback and the archives built on them serve;
a memento URL without such a timestamp is a bad capture, never its rewritten replay taken for
the page. Requests go through the same rate-limited, retrying session as the Wayback Machine's
(scraper.wayback), 429 and Retry-After included, each answer read within the deadline.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests
from requests.utils import parse_header_links
from wayback import CdxRecord
from wayback.exceptions import WaybackException

from kernel.captures import cdx_digest
from kernel.config import Layout
from kernel.errors import ArchiveError, MfawatchError
from kernel.status import FetchSource
from kernel.text import printable
from scraper.wayback import (
    BACKOFF,
    MEMENTO_RATE,
    RETRIES,
    ArchiveSession,
    BadMemento,
    Downloaded,
    Relocated,
    archive_error,
    search_prefixes,
)

# A Wayback-style memento URL: its timestamp, and the replay modifier after it (mp_, if_, …).
_TIMESTAMP = re.compile(r"/(\d{14})(?:[a-z]{2}_)?/")
# What an archive adds to a memento's headers; the rest are the original response's.
_ARCHIVE_HEADERS = {"memento-datetime", "link", "content-length", "transfer-encoding",
                    "connection", "keep-alive", "content-location", "vary"}  # fmt: skip


def original_bytes_url(memento: str) -> str | None:
    """The memento's original-bytes (``id_``) URL, or None if it has no Wayback timestamp.

    >>> original_bytes_url("http://a.example/coll/20190101120000mp_/http://b.example/x")
    'http://a.example/coll/20190101120000id_/http://b.example/x'
    >>> original_bytes_url("http://a.example/memento/abc") is None
    True
    """
    match = _TIMESTAMP.search(memento)
    if match is None:
        return None
    return f"{memento[: match.start()]}/{match.group(1)}id_/{memento[match.end() :]}"


def timemap_mementos(text: str) -> list[tuple[str, str, dt.datetime]]:
    """A link-format TimeMap's mementos: (original URL, memento URL, datetime), in its order.

    >>> tm = '''<http://b.example/x>; rel="original",
    ... <http://a.example/tm/http://b.example/x>; rel="self"; type="application/link-format",
    ... <http://a.example/c/20190101120000/http://b.example/x>; rel="first memento";
    ...  datetime="Tue, 01 Jan 2019 12:00:00 GMT"'''
    >>> [(o, m, d.year) for o, m, d in timemap_mementos(tm)]
    [('http://b.example/x', 'http://a.example/c/20190101120000/http://b.example/x', 2019)]
    """
    links = parse_header_links(" ".join(text.split()))
    original = next((link["url"] for link in links if "original" in _rels(link)), "")
    found = []
    for link in links:
        if "memento" not in _rels(link) or "datetime" not in link:
            continue
        try:
            when = email.utils.parsedate_to_datetime(link["datetime"])
        except (TypeError, ValueError):
            continue  # not an HTTP date: not a memento to place in time
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        found.append((original, link["url"], when.astimezone(dt.UTC)))
    return found


def _rels(link: dict[str, str]) -> list[str]:
    return link.get("rel", "").split()


class TimeMaps:
    """One Memento archive, known by its TimeMap endpoint."""

    source = FetchSource.MEMENTO

    def __init__(
        self,
        endpoint: str,
        *,
        rate: float | None = None,
        timeout: float = 60.0,
        user_agent: str | None = None,
    ) -> None:
        try:
            parts = urlsplit(endpoint)
            parts.port  # noqa: B018 - a port out of range raises here
        except ValueError:
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MfawatchError(f"--archive is not an http(s) URL: {printable(endpoint)}")
        self.endpoint = endpoint
        self.origin = f"{parts.scheme}://{parts.netloc}"
        limit = rate if rate is not None else MEMENTO_RATE
        self.session = ArchiveSession(
            retries=RETRIES, backoff=BACKOFF, timeout=(min(timeout, 30.0), timeout),
            user_agent=user_agent, search_calls_per_second=limit, memento_calls_per_second=limit,
        )  # fmt: skip
        self.session.mount(self.origin + "/", Relocated(self.origin, timeout, self.origin))
        self.mementos: dict[tuple[str, dt.datetime], str] = {}  # listed → its memento URL

    def close(self) -> None:
        self.session.close()

    def lookups(self, layout: Layout, url: str) -> list[str]:
        """The page's own URL, and each prefix naming it as a URL (archives match a URL with
        either scheme and with or without ``www.``, not its slug)."""
        return list(dict.fromkeys([url, *(f"http://{p}" for p in search_prefixes(layout, url))]))

    def captures(
        self,
        url: str,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        *,
        urls_only: bool = False,
    ) -> Iterator[CdxRecord]:
        """The mementos the TimeMap of ``url`` lists, as index records (no digest or type)."""
        if urls_only:
            raise MfawatchError("--discover needs a CDX index (the Wayback Machine's): "
                                "a TimeMap lists one URL")  # fmt: skip
        asked = self.endpoint + url
        try:
            response = self.session.get(asked, allow_redirects=True)
        except (WaybackException, requests.RequestException) as exc:
            raise archive_error(exc, f"listing mementos of {url}") from None
        if response.status_code == 404:
            return  # the archive has none
        if response.status_code != 200:
            raise ArchiveError(f"listing mementos of {url}: HTTP {response.status_code}")
        text = response.content.decode("utf-8", "replace")
        if "rel=" not in text:
            raise ArchiveError(f"listing mementos of {url}: the answer is not a TimeMap")
        for original, memento, when in timemap_mementos(text):
            if (since and when < since) or (until and when > until):
                continue
            listed = original or url
            self.mementos[(listed, when)] = memento
            yield CdxRecord("", when, listed, "", None, "", None)

    def memento_url(self, record: CdxRecord) -> str:
        memento = self.mementos[(record.original, record.timestamp)]
        return original_bytes_url(memento) or memento

    def download(self, record: CdxRecord) -> Downloaded:
        """The memento's original bytes, redirects not followed."""
        memento = self.mementos[(record.original, record.timestamp)]
        url = original_bytes_url(memento)
        if url is None:
            raise BadMemento(f"the archive names no original bytes for {printable(memento)}")
        try:
            response = self.session.get(url, allow_redirects=False)
        except (WaybackException, requests.RequestException) as exc:
            raise archive_error(exc, f"downloading {url}") from None
        if "Memento-Datetime" not in response.headers:  # the archive's answer, not a memento
            if response.status_code >= 500:
                raise ArchiveError(f"the archive failed: HTTP {response.status_code} for {url}")
            raise BadMemento(f"HTTP {response.status_code}, not a memento")
        wire = getattr(response, "mfawatch_wire", response.content)
        return Downloaded(
            status=response.status_code,
            headers=_original_headers(response.headers),
            raw=response.content,
            digests=tuple(dict.fromkeys((cdx_digest(wire), cdx_digest(response.content)))),
            memento_url=url,
        )


def _original_headers(headers: requests.structures.CaseInsensitiveDict[str]) -> dict[str, str]:
    """The original response's headers: X-Archive-Orig-* where the archive renames them (as
    the Internet Archive does), else what it passed on, less its own."""
    renamed = {k[len("x-archive-orig-") :]: v for k, v in headers.lower_items()
               if k.startswith("x-archive-orig-")}  # fmt: skip
    kept = renamed or {k: v for k, v in headers.lower_items() if k not in _ARCHIVE_HEADERS}
    if "content-type" in headers:
        kept["content-type"] = headers["content-type"]
    return kept
