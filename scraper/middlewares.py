"""Scrapy components of mfawatch's own: a backoff before each retry (Scrapy retries at once),
robots.txt obeyed by every request as RFC 9309 says, and no page's fetch lost to a redirect (a
duplicate filter that keeps them, off-site redirects stopped where the spider sees them).

A site is its hosts (``allowed_domains`` and their subdomains) on its ports: the port of the
URL's scheme (80, 443) or one that a start URL names. Another port of the same host is another
server, so it is off the site.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.dupefilters import RFPDupeFilter
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object
from twisted.internet.defer import Deferred

from kernel.headers import head_block

if TYPE_CHECKING:
    from kernel.config import Site

log = logging.getLogger(__name__)
_SCHEME_PORTS = {"http": 80, "https": 443}


def _port(url: str) -> int | None:
    parts = urlsplit(url)
    try:
        return parts.port or _SCHEME_PORTS.get(parts.scheme)
    except ValueError:  # not a number, or out of range
        return None


def network_errors(crawler: Crawler) -> tuple[type[BaseException], ...]:
    """The exceptions that mean the server was not reached, or hung up: those Scrapy retries."""
    errors = crawler.settings.getlist("RETRY_EXCEPTIONS")
    return tuple(load_object(e) if isinstance(e, str) else e for e in errors)


def on_site(url: str, site: Site) -> bool:
    """Whether ``url`` is on ``site``: one of its hosts, on one of its ports.

    >>> from kernel.config import Site, load_layout
    >>> site = Site("s", load_layout("mfa.gov.az"), ("http://127.0.0.1:8001/en",), ("127.0.0.1",))
    >>> [on_site(u, site) for u in ("http://127.0.0.1:8001/x", "http://127.0.0.1:8002/x",
    ...                             "http://127.0.0.1/x", "http://127.0.0.2:8001/x")]
    [True, False, True, False]
    """
    host = (urlsplit(url).hostname or "").lower()
    if not any(host == d or host.endswith("." + d) for d in site.allowed_domains):
        return False
    port = _port(url)
    return port is not None and (
        port == _SCHEME_PORTS.get(urlsplit(url).scheme) or port in map(_port, site.start_urls)
    )


class RetryBackoffMiddleware:
    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        base = crawler.settings.getfloat("MFAWATCH_RETRY_BACKOFF")
        if base <= 0:
            raise NotConfigured
        return cls(base, crawler.settings.getfloat("MFAWATCH_RETRY_BACKOFF_MAX", 60.0))

    async def process_request(self, request: Request) -> None:
        retries = request.meta.get("retry_times", 0)
        if retries:
            await asyncio.sleep(min(self.base * 2 ** (retries - 1), self.cap))


class DisallowAll(RobotParser):
    """The rules of a robots.txt that could not be read: nothing may be fetched (RFC 9309
    section 2.3.1.4: a 5xx answer or an unreachable server means complete disallow)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    @classmethod
    def from_crawler(cls, crawler: Crawler, robotstxt_body: bytes) -> Self:
        return cls(robotstxt_body.decode("utf-8", "replace"))

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return False


RFC_DISALLOW = "RFC 9309 §2.3.1.4"


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware, made to follow RFC 9309 where Scrapy allows everything:

    - every request that waited for a host's robots.txt gets its rules (Scrapy 2.19 hands the
      parsed file to the first waiting request only; the Deferred they all await passes None
      on to the others, which then go out unchecked);
    - a 5xx answer, or no answer (refused, DNS failure, reset, timeout), after Scrapy's
      retries, disallows everything on that host for the crawl (section 2.3.1.4); the reason
      goes into each page's fetch error and the site's run note;
    - a 4xx answer allows everything whatever its body says (section 2.3.1.3).

    Redirects of robots.txt are followed by RedirectMiddleware, up to REDIRECT_MAX_TIMES (5,
    as section 2.3.1.2 asks), to another host too, and the file found applies to the host
    asked. Past that, robots.txt counts as unavailable: allowed, as Scrapy does.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._network_errors = network_errors(crawler)
        # Scrapy logs a robots.txt download error with a traceback (naming the page that
        # waited); a network error gets the one line _robots_error writes instead.
        logging.getLogger(RobotsTxtMiddleware.__module__).addFilter(self._no_network_traceback)

    def _no_network_traceback(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, self._network_errors)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = await super().robot_parser(request)
        if parser is None:
            # The one wait is over and its result is stored, whichever request saw it first.
            stored = self._parsers.get(urlparse_cached(request).netloc)
            if not isinstance(stored, Deferred):
                return stored
        return parser

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if isinstance(rp, DisallowAll):
            self._stats.inc_value("robotstxt/forbidden")
            raise IgnoreRequest(f"not fetched: {rp.reason} ({RFC_DISALLOW}: disallow all)")
        super().process_request_2(rp, request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            self._disallow(netloc, f"robots.txt of {netloc} answered {response.status}")
            return
        if response.status >= 400:
            response = response.replace(body=b"")  # "unavailable": no rules at all
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest):  # too many redirects: unavailable, allowed
            log.warning("robots.txt of %s: %s; taken as unavailable (allow all)", netloc, exc)
            super()._robots_error(exc, netloc)
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        why = (str(exc) or type(exc).__name__).rstrip(".")
        if isinstance(exc, self._network_errors):
            self._disallow(netloc, f"{netloc} unreachable ({why}), robots.txt not read")
        else:  # not the network's doing, but unread all the same: the safe side
            self._disallow(netloc, f"robots.txt of {netloc} not read ({why})")

    def _disallow(self, netloc: str, reason: str) -> None:
        log.warning("%s: nothing fetched from it (%s)", reason, RFC_DISALLOW)
        spider: Any = self.crawler.spider
        if hasattr(spider, "add_note"):
            spider.add_note(netloc, f"{reason}: nothing fetched ({RFC_DISALLOW})")
        waiting = self._parsers[netloc]
        self._parsers[netloc] = verdict = DisallowAll(reason)
        if isinstance(waiting, Deferred):
            waiting.callback(verdict)


class PageDupeFilter(RFPDupeFilter):
    """Scrapy's duplicate filter, except for page fetches and their redirects.

    The spider asks for each page once, by identity. Filtering by URL would silently drop a
    page redirected to a URL already seen (a removed page sent to the home page, a redirect
    loop), and its fetch would never be recorded.
    """

    def request_seen(self, request: Request) -> bool:
        if "mfawatch_start_url" in request.meta:
            return False
        return super().request_seen(request)


class OffsiteRedirect(IgnoreRequest):
    """Raised by OffsiteRedirectMiddleware for a page redirected to another site."""

    def __init__(self, target: str) -> None:
        super().__init__(f"redirected off-site to {target}")
        self.target = target


class OffsiteRedirectMiddleware:
    """Stop a redirect off the site (another host, or another port) before RedirectMiddleware
    follows it.

    Scrapy drops an off-site redirect when it is scheduled, without calling the request's
    errback, and only by host: a page's fetch would go unrecorded, a redirect to another port
    followed. Raising here reaches the spider's errback (a page's is recorded as a removal).
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if request.meta.get("dont_obey_robotstxt") and urlparse_cached(request).path == (
            "/robots.txt"
        ):
            # robots.txt may live on another host (RFC 9309 §2.3.1.2): Scrapy's off-site
            # filter lets this redirect chain through, REDIRECT_MAX_TIMES still bounds it.
            request.meta["allow_offsite"] = True
            return response
        site = request.cb_kwargs.get("site")
        if (
            response.status in (301, 302, 303, 307, 308)
            and location
            and site is not None
            and not request.meta.get("dont_redirect")
        ):
            target = response.urljoin(location.decode("latin-1"))
            if not on_site(target, site):
                raise OffsiteRedirect(target)
        return response


class ResponseHeadMiddleware:
    """Keep a page's response head (kernel.headers) as the server sent it, for the archive.

    It sits just before HttpCompressionMiddleware (590) on the way in: that one takes
    Content-Encoding out once it has decoded the body, and the head kept must say what was
    received. The spider reads it from the request's meta (``mfawatch_head``).
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls()

    def process_response(self, request: Request, response: Response) -> Response:
        if "mfawatch_start_url" in request.meta:  # a page's request, not robots.txt's
            request.meta["mfawatch_head"] = response_head(response)
        return response


def response_head(response: Response) -> bytes:
    """The head block of a Scrapy response, values as bytes received."""
    pairs = [(name, value) for name, values in response.headers.items() for value in values]
    return head_block(response.protocol, response.status, pairs)
