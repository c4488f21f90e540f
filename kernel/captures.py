"""Web archives' captures of a page: their identity, and the judgement of a bad one.

A capture is an observation of the page at the time the archive made it: it enters the archive
as a fetch (mfawatch backfill), through the same extraction and fetch plan as a crawl. What an
archive serves is hostile input too, and some of it is not the page at all: the archive's own
error page, a redirect it recorded, a bot-protection interstitial the site showed its crawler,
a payload cut short, bytes that are not the ones it indexed. Those are recorded as failed
fetches saying why (EDGI's web-monitoring skips such "low quality" captures the same way), and
never taken for the page's text, nor for its removal.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from kernel.status import FetchSource


@dataclass(frozen=True)
class Capture:
    """One capture of a page in a web archive."""

    source: FetchSource
    url: str  # the memento's URL at the archive (archive, timestamp and original URL)
    digest: str | None  # the archive's digest of the payload (CDX: base32 of its SHA-1)

    @property
    def key(self) -> str:
        """The capture's identity (archive, timestamp, URL, digest): unique in the archive,
        so that a re-run or a resumed backfill never records a capture twice.

        >>> a = Capture(FetchSource.WAYBACK, "https://web.archive.org/web/2019id_/u", "ABC")
        >>> len(a.key), a.key == Capture(a.source, a.url, "ABD").key
        (64, False)
        """
        identity = f"{self.source}\n{self.url}\n{self.digest or ''}"
        return hashlib.sha256(identity.encode(errors="surrogatepass")).hexdigest()


def cdx_digest(data: bytes) -> str:
    """The digest a CDX index gives a payload: the base32 of its SHA-1.

    >>> cdx_digest(b"")
    '3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ'
    """
    return base64.b32encode(hashlib.sha1(data).digest()).decode()


# Pages that are not the site's page but what stood in front of it, or the archive's own
# page: matched in the <title>, or by markers in the markup that only such pages carry.
_STAND_IN_TITLES = re.compile(
    r"(?i)just a moment|attention required|access denied|403 forbidden|request rejected"
    r"|service unavailable|wayback machine|ddos[- ]guard|are you a robot|security check"
)
_STAND_IN_MARKERS = (
    b"cf-browser-verification",
    b"/cdn-cgi/challenge-platform",
    b"_incapsula_resource",
    b"got an http 30",  # the Wayback Machine's page for a redirect it recorded
    b"wayback machine doesn't have that page archived",
)
_TITLE = re.compile(rb"(?is)<title[^>]*>(.*?)</title")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def listed_problem(status: int | None, mimetype: str | None) -> str | None:
    """Why a capture, as the archive's index lists it, is not worth downloading.

    >>> listed_problem(301, "text/html")
    'the archive recorded a redirect (HTTP 301), not the page'
    >>> listed_problem(200, "application/pdf")
    'not an HTML page (application/pdf)'
    >>> listed_problem(200, "text/html") is None and listed_problem(None, "warc/revisit") is None
    True
    """
    if status is not None and 300 <= status < 400:
        return f"the archive recorded a redirect (HTTP {status}), not the page"
    kind = (mimetype or "").split(";")[0].strip().lower()
    if kind and kind not in (*_HTML_TYPES, "warc/revisit", "unk", "-"):
        return f"not an HTML page ({kind})"
    return None


def capture_problem(  # noqa: PLR0911 - one return per rule reads best
    status: int, content_type: str | None, raw: bytes, digests: tuple[str, ...], listed: str | None
) -> str | None:
    """Why a downloaded capture is not the page as the site served it, or None.

    ``digests`` are those of the bytes as sent and as decoded (one of them must be the one the
    index ``listed``); 4xx/5xx statuses are left to the crawl's own rules (a 404 is a removal).

    >>> page = b"<html><title>Political cooperation</title><p>Text</p></html>"
    >>> capture_problem(200, "text/html", page, (cdx_digest(page),), cdx_digest(page)) is None
    True
    >>> capture_problem(200, "text/html", page, (cdx_digest(page),), "AAAA")
    "the capture's bytes do not match the archive's digest (AAAA)"
    >>> capture_problem(200, "text/html", page[:30], (), None)
    'truncated: the capture ends before </html>'
    >>> capture_problem(200, "text/html", b"<title>Just a moment...</title></html>", (), None)
    'not the page: Just a moment...'
    """
    if 300 <= status < 400:
        return f"the archive recorded a redirect (HTTP {status}), not the page"
    if listed and listed not in ("-", "") and listed.upper() not in digests:
        return f"the capture's bytes do not match the archive's digest ({listed})"
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind and kind not in _HTML_TYPES:
        return f"not an HTML page ({kind})"
    if status >= 400:
        return None
    title = _TITLE.search(raw[:65536])
    shown = title.group(1).decode("utf-8", "replace").strip() if title else ""
    if shown and _STAND_IN_TITLES.search(shown):
        return f"not the page: {' '.join(shown.split())[:80]}"
    head = raw[:65536].lower()
    for marker in _STAND_IN_MARKERS:
        if marker in head:
            return f"not the page: an archive or bot-protection page ({marker.decode()})"
    if b"</html" not in raw[-65536:].lower():
        return "truncated: the capture ends before </html>"
    return None
