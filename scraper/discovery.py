"""Where relations pages are found: the links of a start page's menus, and a site's sitemaps.

Menus nest: a section heading (often a link to "#") sits just before the list of its items, and
the items under one heading share no keyword ("Diaspora", "Agreements"): the heading says what
they are. A page rule that names its section takes every link under that heading; a page whose
menus have no such heading (a flat menu) falls back to the rule's ``link_text``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

import lxml.etree
from parsel import Selector
from scrapy.http import Response, TextResponse
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from kernel.config import Layout, PageId, PageRule, Site, page_identity, section_key
from scraper.middlewares import on_site

# The headings a link sits under: for each element around it that holds a list or block of
# items (not a list item, not the link), the element just before it, unless that is a sibling
# item. <li><a href="#">Bilateral relations</a><ul><li><a href="/en/content/35">...
# gives "Bilateral relations"; nested submenus give each level's heading.
_HEADINGS = (
    "ancestor::*[not(self::li or self::a or self::body or self::html)]"
    "/preceding-sibling::*[1][not(self::li)]"
)
# Sitemap indexes may name indexes: this deep and no deeper (robots.txt, index, sitemap, ...).
MAX_SITEMAP_DEPTH = 4


class MenuLink(NamedTuple):
    """A link found in a start page's menus: the page it is, or why it is not one."""

    url: str
    text: str
    page: PageId | None  # None when rejected
    rule: str | None  # the page rule whose pattern matched
    rejected: str | None  # "pattern", "off-site", "section" or "text"


def menu_links(response: TextResponse, site: Site) -> Iterator[MenuLink]:
    """Every link of the menus of a start page, kept as a relations page or rejected with the
    reason: the crawl follows the kept ones, `mfawatch layout check` shows them all."""
    found = list(_candidates(response, site))
    present = frozenset().union(
        *(c.headings for c in found if c.rule is not None and on_site(c.url, site))
    )
    for c in found:
        if c.rule is None:
            yield MenuLink(c.url, c.text, None, None, "pattern")
        elif not on_site(c.url, site):
            yield MenuLink(c.url, c.text, None, c.rule.name, "off-site")
        else:
            rejected = _rejected(c, c.rule, present)
            page = None if rejected else c.page
            yield MenuLink(c.url, c.text, page, c.rule.name, rejected)


def unlinked_reason(response: TextResponse, site: Site, links: list[MenuLink]) -> str:
    """Why a start page's menus linked no relations page: the menu selectors that matched
    nothing there, and what the others held (for an unhealthy run's note)."""
    menus = site.layout.menus
    if not menus:
        return f"start page {response.url}: the layout names no menus"
    missing = [css for css in menus if not response.css(css)]
    if len(missing) == len(menus):
        return f"start page {response.url}: no menu ({', '.join(missing)} matched nothing)"
    why = f"{len(links)} links in its menus, none a relations page"
    if missing:
        why += f"; {', '.join(missing)} matched nothing"
    return f"start page {response.url}: {why}"


def menu_pages(response: TextResponse, site: Site) -> Iterator[tuple[str, PageId]]:
    """(URL, identity) of each relations page linked from the menus of a start page."""
    for link in menu_links(response, site):
        if link.page is not None:
            yield link.url, link.page


@dataclass(frozen=True)
class _Candidate:
    url: str
    text: str
    page: PageId | None
    rule: PageRule | None
    headings: frozenset[str]  # as section_key() folds them


def _candidates(response: TextResponse, site: Site) -> Iterator[_Candidate]:
    # One union query: menus nest (a nav inside a header), each link counts once.
    for link in response.css(", ".join(f"{css} a[href]" for css in site.layout.menus)):
        url = response.urljoin(link.attrib["href"])
        found = page_identity(site.layout, url)
        yield _Candidate(
            url=url,
            text=" ".join(link.css("::text").getall()),
            page=found[0] if found else None,
            rule=found[1] if found else None,
            headings=_headings(link) if found else frozenset(),
        )


def _headings(link: Selector) -> frozenset[str]:
    return frozenset(
        key for key in (section_key(h.xpath("string()").get() or "") for h in link.xpath(_HEADINGS))
        if key
    )  # fmt: skip


def _rejected(link: _Candidate, rule: PageRule, present: frozenset[str]) -> str | None:
    """Why a link that matches a rule's pattern is not a relations page (None: it is one)."""
    section = rule.section_keys()
    if section & present:  # this page's menus have the section: it alone decides
        # (the heading itself, when it is a link to a page, is the section's own page)
        return None if section & (link.headings | {section_key(link.text)}) else "section"
    if rule.link_text is not None:  # a flat menu
        return None if rule.link_text.search(link.text) else "text"
    return "section" if section else None  # neither: every match is one


def sitemap_starts(site: Site) -> list[str]:
    """The URLs of the sitemaps the layout asks for, on each host and port the site starts on."""
    origins = dict.fromkeys(
        f"{parts.scheme}://{parts.netloc}" for parts in map(urlsplit, site.start_urls)
    )
    return [origin + path for origin in origins for path in site.layout.sitemaps]


@dataclass(frozen=True)
class SitemapLinks:
    """What a robots.txt, sitemap or sitemap index gave: more sitemaps, and page URLs."""

    sitemaps: list[str]
    pages: list[str]


def read_sitemap(response: Response, layout: Layout, max_size: int) -> SitemapLinks | None:
    """The links of a robots.txt (its Sitemap: lines), sitemap index or sitemap, parsed by
    Scrapy; only pages that the layout's rules take. None if the body is neither."""
    if urlsplit(response.url).path.endswith("/robots.txt"):
        urls = list(sitemap_urls_from_robots(response.body, base_url=response.url))
        return SitemapLinks(sitemaps=urls, pages=[])
    body = response.body
    if gzip_magic_number(response):  # a .xml.gz file (not Content-Encoding: that is undone)
        try:
            body = gunzip(body, max_size=max_size)
        except ValueError:  # bigger than DOWNLOAD_MAXSIZE, or not gzip after all
            return None
    try:
        sitemap = Sitemap(body)
    except (lxml.etree.LxmlError, StopIteration):  # empty, or not XML at all
        return None
    locs = [response.urljoin(str(entry["loc"])) for entry in sitemap if entry.get("loc")]
    if sitemap.type == "sitemapindex":
        return SitemapLinks(sitemaps=locs, pages=[])
    if sitemap.type == "urlset":
        return SitemapLinks(sitemaps=[], pages=[u for u in locs if page_identity(layout, u)])
    return None
