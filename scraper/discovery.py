"""Where relations pages are found: the links of a start page's menus, and a site's sitemaps.

Menus nest: a section heading (often a link to "#") sits just before the list of its items, and
the items under one heading share no keyword ("Diaspora", "Agreements"): the heading says what
they are. A page rule that names its section takes every link under that heading; a page whose
menus have no such heading (a flat menu) falls back to the rule's ``link_text``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class MenuLink:
    url: str
    page: PageId
    rule: PageRule
    text: str
    headings: frozenset[str]  # as section_key() folds them


def menu_pages(response: TextResponse, site: Site) -> Iterator[tuple[str, PageId]]:
    """(URL, identity) of each relations page linked from the menus of a start page."""
    links = list(_menu_links(response, site))
    present = frozenset().union(*(link.headings for link in links))
    for link in links:
        if _is_relations_page(link, present):
            yield link.url, link.page


def _menu_links(response: TextResponse, site: Site) -> Iterator[MenuLink]:
    # One union query: menus nest (a nav inside a header), each link counts once.
    for link in response.css(", ".join(f"{css} a[href]" for css in site.layout.menus)):
        url = response.urljoin(link.attrib["href"])
        found = page_identity(site.layout, url)
        if found is None or not on_site(url, site):
            continue
        yield MenuLink(
            url=url,
            page=found[0],
            rule=found[1],
            text=" ".join(link.css("::text").getall()),
            headings=_headings(link),
        )


def _headings(link: Selector) -> frozenset[str]:
    return frozenset(
        key for key in (section_key(h.xpath("string()").get() or "") for h in link.xpath(_HEADINGS))
        if key
    )  # fmt: skip


def _is_relations_page(link: MenuLink, present: frozenset[str]) -> bool:
    rule = link.rule
    section = rule.section_keys()
    if section & present:  # this page's menus have the section: it alone decides
        # (the heading itself, when it is a link to a page, is the section's own page)
        return bool(section & (link.headings | {section_key(link.text)}))
    if rule.link_text is not None:  # a flat menu
        return bool(rule.link_text.search(link.text))
    return not section  # a rule without section nor link_text takes every match


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
