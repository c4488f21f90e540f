"""One page fetched politely outside a crawl, as the crawl would fetch it: robots.txt first
(and again for each redirect's host), the crawl's User-Agent and contact, its timeout. For
`mfawatch layout check URL` and for reading directories' list pages before a crawl (a
reactor cannot run twice in one process, and these come before the crawl's).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kernel.errors import MfawatchError
from kernel.text import printable

if TYPE_CHECKING:
    from kernel.config import Config

# A page larger than this is not a relations page (the crawl's DOWNLOAD_MAXSIZE is larger,
# but a check reads one page into memory to show it).
MAX_BYTES = 20_000_000
# Redirects followed for one page, as RFC 9309 asks for robots.txt and Scrapy does (5).
MAX_REDIRECTS = 5


@dataclass
class Fetched:
    source: dict[str, Any]  # where the page came from, for the report
    url: str | None  # the page's address (a FILE's only when known)
    body: bytes
    content_type: str | None = None
    last_modified: str | None = None  # the header, for a layout that reads dates from it


def is_url(target: str) -> bool:
    """Whether ``target`` is an http(s) URL; one that does not parse is an error, not a file."""
    try:
        parts = urlsplit(target)
        parts.port  # noqa: B018 - a port out of range raises here
    except ValueError as exc:
        raise MfawatchError(f"not a URL that parses ({exc}): {printable(target)}") from None
    return parts.scheme.lower() in ("http", "https")


def fetch_page(url: str, config: Config) -> Fetched:
    """One polite GET: robots.txt is read first (and again for each redirect's host), with the
    User-Agent and contact of the crawl."""
    from scraper.settings import USER_AGENT
    from scraper.spiders.mfa import user_agent

    agent = user_agent(str(config.settings.get("USER_AGENT", USER_AGENT)), config.contact)
    timeout = float(config.settings.get("DOWNLOAD_TIMEOUT", 30))
    # As Scrapy's RobotsTxtMiddleware: ROBOTSTXT_USER_AGENT, else the User-Agent sent.
    robots = _Robots(agent, str(config.settings.get("ROBOTSTXT_USER_AGENT") or agent), timeout)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        robots.check(current)
        status, headers, body, location = _get(current, agent, timeout)
        if location is None:
            break
        current = urllib.parse.urljoin(current, location)
        if not is_url(current):
            raise MfawatchError(f"{printable(url)} redirects to {printable(current)!r}")
    else:
        raise MfawatchError(f"{printable(url)}: more than {MAX_REDIRECTS} redirects")
    if status >= 400:
        raise MfawatchError(f"{printable(current)} answered HTTP {status}")
    source = {"kind": "url", "url": url, "final_url": current, "http_status": status,
              "robots_txt": "allows it", "user_agent": agent}  # fmt: skip
    return Fetched(source, current, body, headers.get("Content-Type"), headers.get("Last-Modified"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # followed by fetch_page, which asks robots.txt first


def _get(url: str, agent: str, timeout: float) -> tuple[int, dict[str, str], bytes, str | None]:
    """Status, headers, body and (for a redirect) Location of one GET, without following."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        response = exc  # an answer all the same: 3xx, 4xx, 5xx
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise MfawatchError(f"cannot reach {printable(url)}: {printable(str(reason))}") from None
    with response:
        try:
            body = response.read(MAX_BYTES + 1)
        except OSError as exc:
            raise MfawatchError(f"{printable(url)}: {printable(str(exc))}") from None
        status = response.status or 0
        headers = {k: v for k, v in response.headers.items()}
    if len(body) > MAX_BYTES:
        raise MfawatchError(f"{printable(url)}: larger than {MAX_BYTES} bytes")
    location = headers.get("Location") if 300 <= status < 400 else None
    return status, headers, body, location


class _Robots:
    """robots.txt per host, read as the crawl reads it (scraper.middlewares): Protego, the
    crawl's parser; 4xx allows all; 5xx or no answer disallows all (RFC 9309 §2.3.1)."""

    def __init__(self, agent: str, robots_agent: str, timeout: float) -> None:
        self.agent = agent
        self.robots_agent = robots_agent
        self.timeout = timeout
        self._rules: dict[str, Any] = {}

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        netloc = parts.netloc
        if netloc not in self._rules:
            self._rules[netloc] = self._read(f"{parts.scheme}://{netloc}/robots.txt")
        rules = self._rules[netloc]
        if not rules.can_fetch(url, self.robots_agent):
            raise MfawatchError(f"robots.txt of {printable(netloc)} disallows {printable(url)}")

    def _read(self, robots_url: str) -> Any:
        from protego import Protego

        status, _, body, _ = _get(robots_url, self.agent, self.timeout)
        if status >= 500 or 300 <= status < 400:
            # (A redirected robots.txt is not followed here: taken as unreadable, disallowed.)
            raise MfawatchError(
                f"robots.txt {printable(robots_url)} answered {status}: not fetched "
                "(RFC 9309 §2.3.1.4: disallow all)"
            )
        text = "" if status >= 400 else body.decode("utf-8", "replace")
        return Protego.parse(text)
