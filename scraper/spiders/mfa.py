"""The crawl: discover relations pages from each site's menus, fetch each once, and hand every
fetch (good or bad) to the archive pipeline as a FetchResult.

    scrapy crawl mfa [-a config=sites.toml] [-a site=embassy-seoul]
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any, NamedTuple, Self
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import ResponseDataLossError
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from kernel.config import (
    Config,
    PageId,
    Site,
    layout_fingerprint,
    load_config,
    page_identity,
    url_host,
)
from kernel.detect import Seen
from kernel.errors import ExtractionFailed, PageBlocked, PageGone
from kernel.text import bytes_hash
from scraper.blocked import block_note
from scraper.discovery import (
    MAX_SITEMAP_DEPTH,
    menu_links,
    read_sitemap,
    sitemap_starts,
    unlinked_reason,
)
from scraper.extract import extract_page
from scraper.logs import escape_log_records
from scraper.middlewares import OffsiteRedirect, network_errors, on_site, response_head
from storage.archive import FetchResult
from storage.queries import KnownPage

log = logging.getLogger(__name__)

# Statuses the spider wants to see itself; redirects stay with RedirectMiddleware.
PAGE_STATUSES = [
    304, 400, 401, 403, 404, 405, 406, 410, 429, 451, 500, 502, 503, 504, 520, 521, 522, 523, 524,
]  # fmt: skip


class _Known(NamedTuple):
    """What the archive knows of a page: its validators, and the bytes last extracted."""

    etag: str | None
    last_modified: str | None
    seen_bytes: str | None


_UNKNOWN = _Known(None, None, None)


class MfaSpider(Spider):
    name = "mfa"

    def __init__(self, config: Config | str | None = None, site: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        # A Config from scraper.crawl (read once per process), or a sites file's path.
        self.config: Config = config if isinstance(config, Config) else load_config(config)
        names = [n for n in (site or "").split(",") if n]
        self.sites: list[Site] = [self.config.site(n) for n in names] or list(self.config.sites)
        self.allowed_domains = sorted({d for s in self.sites for d in s.allowed_domains})
        self._requested: set[str] = set()  # page identities asked for in this crawl
        # A host belongs to the one site that starts on it: the main site (mfa.gov.az, whose
        # subdomains are its domain too) does not take a mission's pages from its menus.
        self._host_owner = {
            url_host(u): s.name for s in self.config.sites for u in s.start_urls
        }  # fmt: skip
        self._known: dict[str, _Known] = {}  # by page identity
        self._known_urls: dict[str, list[str]] = {}  # each site's archived pages, from know()
        # Why a site's pages were not fetched (robots.txt unreadable, ...): its run's note.
        self.notes: dict[str, list[str]] = {}
        self._answered: set[str] = set()  # sites whose server answered at least once
        self._unreached: dict[str, str] = {}  # a site's first network failure
        self._network_errors: tuple[type[BaseException], ...] = ()
        # What discovery saw of each site, for its run's health (storage.runs.Discovery): the
        # relations pages menus and sitemaps gave, and each start page that gave none, and why.
        self.linked: Counter[str] = Counter()
        self.unlinked: dict[str, list[str]] = defaultdict(list)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        escape_log_records()  # before anything from the network is logged
        spider = super().from_crawler(crawler, *args, **kwargs)
        # The sites file's [settings] rank above settings.py and below -s on the command line.
        settings = crawler.settings
        settings.setdict(spider.config.settings, priority="spider")
        spider._network_errors = network_errors(crawler)
        if spider.config.contact:
            agent = user_agent(settings.get("USER_AGENT"), spider.config.contact)
            settings.set("USER_AGENT", agent, priority="spider")
        return spider

    async def start(self) -> AsyncIterator[Request]:
        for site in self.sites:
            for url in site.start_urls:
                yield Request(
                    url, callback=self.parse_menu, errback=self.menu_failed,
                    cb_kwargs={"site": site},
                )  # fmt: skip
            for url in sitemap_starts(site):
                yield self.sitemap_request(site, url, depth=0)
            # Known pages are re-checked even when no menu links them any more: that is how a
            # removal is seen.
            for url in self._known_urls.get(site.name, []):
                request = self.page_request(site, url)
                if request is not None:
                    yield request

    def know(self, known: dict[str, list[KnownPage]]) -> None:
        """The archive's pages of each site, handed by the pipeline as it opens (before start()
        is read): each is re-checked, and asked for with what the archive knows of it, whichever
        finds the page first, this list or a menu (Scrapy reads menus while it still pulls from
        start()). The spider itself reads no database."""
        for site in self.sites:
            fingerprint = layout_fingerprint(site.layout)
            for page in known.get(site.name, []):
                found = page_identity(site.layout, page.url)
                if found is None:
                    continue
                # Bytes already extracted with this very layout need no second extraction.
                seen_bytes = page.raw_hash if page.layout_hash == fingerprint else None
                validators = _Known(page.etag, page.last_modified, seen_bytes)
                self._known.setdefault(str(found[0]), validators)
        self._known_urls = {name: [page.url for page in pages] for name, pages in known.items()}

    def parse_menu(self, response: Response, site: Site) -> Iterator[Request]:
        """Relations pages linked from a start page's menus."""
        self._answered.add(site.name)
        if not isinstance(response, TextResponse):
            return
        links = list(menu_links(response, site))
        for link in links:
            if link.page is not None:
                self.linked[site.name] += 1
                request = self._request(site, link.url, link.page)
                if request is not None:
                    yield request
        if not any(link.page for link in links):
            blocked = block_note(response)
            why = f"start page {response.url}: {blocked}" if blocked else None
            self.unlinked[site.name].append(why or unlinked_reason(response, site, links))

    def sitemap_request(self, site: Site, url: str, depth: int) -> Request:
        return Request(
            url, callback=self.parse_sitemap, errback=self.sitemap_failed,
            cb_kwargs={"site": site, "depth": depth},
        )  # fmt: skip

    def parse_sitemap(self, response: Response, site: Site, depth: int) -> Iterator[Request]:
        """Relations pages listed in a sitemap (the menus may not link them), and the sitemaps
        that a robots.txt or sitemap index names; only those on the site itself."""
        self._answered.add(site.name)
        links = read_sitemap(response, site.layout, self.settings.getint("DOWNLOAD_MAXSIZE"))
        if links is None:
            log.warning("sitemap %s not read: neither a sitemap nor a sitemap index", response.url)
            return
        if links.sitemaps and depth >= MAX_SITEMAP_DEPTH:
            log.warning("sitemap %s not followed: sitemaps nested too deep", response.url)
            return
        for url in links.sitemaps:
            if on_site(url, site):
                yield self.sitemap_request(site, url, depth + 1)
        for url in filter(partial(on_site, site=site), links.pages):
            self.linked[site.name] += 1
            request = self.page_request(site, url)
            if request is not None:
                yield request

    def sitemap_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        log.warning("sitemap %s not read: %s", request.url, _reason(failure))
        self._failed(request.cb_kwargs["site"], failure)

    def menu_failed(self, failure: Failure) -> None:
        """A start page that could not be read: one line, no traceback (its pages, known ones
        excepted, stay unknown for this crawl)."""
        request = failure.request  # type: ignore[attr-defined]
        log.warning("menus of %s not read: %s", request.url, _reason(failure))
        self._failed(request.cb_kwargs["site"], failure)
        if isinstance(failure.value, HttpError):  # a block is why its menus linked nothing
            why = block_note(failure.value.response)
            if why:
                self.unlinked[request.cb_kwargs["site"].name].append(
                    f"start page {request.url}: {why}"
                )

    def _failed(self, site: Site, failure: Failure) -> None:
        if isinstance(failure.value, self._network_errors):
            self._unreached.setdefault(site.name, _reason(failure))

    def closed(self, reason: str) -> None:
        # Called before the pipeline closes the runs: a site that never answered gets a note
        # (with robots.txt obeyed, its robots.txt said so already).
        for name, why in self._unreached.items():
            if name not in self._answered and not self.notes.get(name):
                self.notes[name] = [f"site unreachable: {why}"]

    def add_note(self, netloc: str, note: str) -> None:
        """Note why pages of the sites served from ``netloc`` (host[:port]) were not fetched."""
        for site in self.sites:
            notes = self.notes.get(site.name, [])
            if note not in notes and on_site(
                f"{urlsplit(site.start_urls[0]).scheme}://{netloc}/", site
            ):
                self.notes[site.name] = [*notes, note]

    def page_request(self, site: Site, url: str) -> Request | None:
        """The request for a relations page, or None if it is not one or was asked for."""
        found = page_identity(site.layout, url)
        return None if found is None else self._request(site, url, found[0])

    def _request(self, site: Site, url: str, page: PageId) -> Request | None:
        key = str(page)
        if key in self._requested or self._host_owner.get(page.host, site.name) != site.name:
            return None
        self._requested.add(key)
        known = self._known.get(key, _UNKNOWN)
        headers = {}
        if known.etag:
            headers["If-None-Match"] = known.etag
        if known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        return Request(
            url,
            headers=headers,
            callback=self.parse_page,
            errback=self.fetch_failed,
            cb_kwargs={"site": site, "key": key, "lang": page.lang},
            meta={
                "handle_httpstatus_list": PAGE_STATUSES,
                "mfawatch_start_url": url,
                "mfawatch_seen_bytes": known.seen_bytes,
            },
        )

    def parse_page(self, response: Response, site: Site, key: str, lang: str) -> FetchResult:
        self._answered.add(site.name)
        # One item, returned: a generator callback would have Scrapy read this method's source
        # (inspect, ast) for every response, to warn about `return value` in a generator.
        result = self._result(response.meta["mfawatch_start_url"], site, key, lang)
        result.final_url = response.url
        result.http_status = response.status
        result.etag = _header(response, b"ETag")
        result.last_modified = _header(response, b"Last-Modified")
        result.raw = response.body if response.status != 304 else None  # a 304 has no body
        result.headers = response.meta.get("mfawatch_head") or response_head(response)
        observe(result, response, site, response.meta.get("mfawatch_seen_bytes"))
        return result

    def fetch_failed(self, failure: Failure) -> FetchResult:
        request = failure.request  # type: ignore[attr-defined]
        kwargs = request.cb_kwargs
        result = self._result(
            request.meta["mfawatch_start_url"], kwargs["site"], kwargs["key"], kwargs["lang"]
        )
        result.final_url = request.url
        if isinstance(failure.value, OffsiteRedirect):
            result.final_url = failure.value.target
            result.seen, result.error = Seen.GONE, str(failure.value)
        else:
            result.seen, result.error = Seen.FAILED, _reason(failure)
            self._failed(kwargs["site"], failure)
        # The pipeline's line for the page says it, once.
        return result

    def _result(self, url: str, site: Site, key: str, lang: str) -> FetchResult:
        return FetchResult(
            site=site.name, key=key, url=url, lang=lang, seen=Seen.FAILED,
            fetched_at=dt.datetime.now(dt.UTC),
        )  # fmt: skip


def user_agent(agent: str, contact: str | None) -> str:
    """The User-Agent the crawl sends: the project's, with the sites file's contact."""
    return f"{agent} +{contact}" if contact else agent


def observe(result: FetchResult, response: Response, site: Site, seen_bytes: str | None) -> None:
    """Fill in what the response says about the page."""
    status = response.status
    if status == 304:
        result.seen = Seen.NOT_MODIFIED
        return
    if status in (404, 410):
        result.seen, result.error = Seen.GONE, f"HTTP {status}"
        return
    if status >= 400:
        result.seen, result.error = Seen.FAILED, f"HTTP {status}"
        result.note = block_note(response)
        return
    moved_to = page_identity(site.layout, response.url)
    if moved_to is None or str(moved_to[0]) != result.key:
        result.seen, result.error = Seen.GONE, f"redirected away to {response.url}"
        return
    if not isinstance(response, TextResponse):
        kind = _header(response, b"Content-Type") or "no content type"
        result.seen, result.error = Seen.FAILED, f"not a text page ({kind})"
        return
    if seen_bytes is not None and bytes_hash(response.body) == seen_bytes:
        result.seen = Seen.SAME_BYTES
        return
    try:
        page = extract_page(
            response.text, site.layout.extract, result.lang, last_modified=result.last_modified
        )
    except PageGone as exc:
        result.seen, result.error = Seen.GONE, str(exc)
    except PageBlocked as exc:  # a block changes nothing, as a 403 does
        result.seen, result.error = Seen.FAILED, str(exc)
        result.note = block_note(response) or "blocked: the layout's block screen"
    except ExtractionFailed as exc:
        result.seen, result.error = Seen.EXTRACTION_FAILED, str(exc)
        result.note = block_note(response)  # not the layout's fault: no page to extract
    else:
        result.seen = Seen.CONTENT
        result.title, result.text = page.title, page.text
        result.declared_raw, result.declared_date = page.declared_raw, page.declared_date
        result.declared_time, result.declared_source = page.declared_time, page.declared_source
        result.error = page.note
        result.note = "; ".join(f"drift: {why}" for why in page.drift) or None


def _reason(failure: Failure) -> str:
    """A failed request's error in one line: the exception's name and message."""
    name = type(failure.value).__name__
    message = failure.getErrorMessage() or _unsaid(failure.value) or name
    return message if isinstance(failure.value, OffsiteRedirect) else f"{name}: {message}"


def _unsaid(exc: BaseException | None) -> str | None:
    """What an exception without a message means; Scrapy's ResponseDataLossError says nothing,
    its cause tells how the connection ended (a reset is lost "in a non-clean fashion")."""
    if not isinstance(exc, ResponseDataLossError):
        return None
    reasons = getattr(exc.__cause__, "reasons", None) or []
    how = "; ".join(m for m in (r.getErrorMessage() for r in reasons) if m)
    return "the connection ended before the whole body arrived" + (f" ({how})" if how else "")


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
