"""Scrapy components of mfawatch's own: a backoff before each retry (Scrapy retries at once),
robots.txt obeyed by every request, and no page's fetch lost to a redirect (a duplicate filter
that keeps them, off-site redirects stopped where the spider sees them).
"""

from __future__ import annotations

import asyncio
from typing import Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.dupefilters import RFPDupeFilter
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


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


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware, but every request that waited for a host's robots.txt
    gets its rules.

    Scrapy 2.19 hands the parsed file to the first waiting request only; the Deferred they all
    await passes None on to the others, which then go out unchecked (the crawl's first
    requests, sent at once, are exactly the ones that wait).
    """

    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = await super().robot_parser(request)
        if parser is None:
            # The one wait is over and its result is stored, whichever request saw it first.
            stored = self._parsers.get(urlparse_cached(request).netloc)
            if not isinstance(stored, Deferred):
                return stored
        return parser


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
    """Stop a page's redirect to another site before RedirectMiddleware follows it.

    Scrapy drops an off-site redirect when it is scheduled, without calling the request's
    errback: the page's fetch would go unrecorded. Raising here reaches the spider's errback.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if (
            response.status in (301, 302, 303, 307, 308)
            and location
            and "mfawatch_start_url" in request.meta
            and not request.meta.get("dont_redirect")
        ):
            target = response.urljoin(location.decode("latin-1"))
            host = (urlsplit(target).hostname or "").lower()
            domains = getattr(self.crawler.spider, "allowed_domains", None) or []
            if domains and not any(host == d or host.endswith("." + d) for d in domains):
                raise OffsiteRedirect(target)
        return response
