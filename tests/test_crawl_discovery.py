"""Relations pages are found by their menu section and in sitemaps (issue 12, item 1): a page
in the "Bilateral relations" submenu is archived whatever its link text; one that only a
sitemap lists is archived too; a keyword-free link outside the section is not.

Real crawls (in a subprocess) against the offline mirror, as in test_crawl_polite.py.
"""

from __future__ import annotations

import pytest

from mfawatch.mirror import MirrorServer, content_page, home_page, relations_menu
from mfawatch.mirror.sitemaps import robots_txt, sitemap_index, urlset

# In the section, no keyword in their texts: the old link_text rule never found them.
SECTION_EXTRA = [("/en/content/40/diaspora", "Diaspora"), ("/en/content/41", "Agreements")]
# The chrome's own content link outside the section ("About the Embassy"): not a relations page.
OUTSIDE = "/en/content/2"
# Linked by no menu: only the sitemap lists it.
SITEMAP_ONLY = "/en/content/50/visits"
SITEMAP_LAYOUT = """
[layouts.mine]
extends = "mfa.gov.az"
sitemaps = ["/robots.txt"]
"""


def page(title: str) -> str:
    return content_page(
        mission="seoul", lang="en", title=title, paragraphs=[f"{title} of the two countries."],
        last_updated="01.03.2023",
    )  # fmt: skip


def keys(mfawatch) -> set[str]:
    return {p["key"] for p in mfawatch.json("pages")}


@pytest.fixture
def sectioned(mirror: MirrorServer) -> MirrorServer:
    """The English home page's "Bilateral relations" section with two more items; every
    content page that could be found is served, so that a wrong discovery shows."""
    menu = [*relations_menu("en"), *SECTION_EXTRA]
    mirror.set("/en", home_page(mission="seoul", lang="en", menu=menu))
    for path, title in [*SECTION_EXTRA, (OUTSIDE, "About the Embassy")]:
        mirror.set(path, page(title))
    return mirror


def test_section_pages_are_archived_whatever_their_link_text(mfawatch, sectioned):
    mfawatch.crawl()
    host = sectioned.url("/").split("//")[1].rstrip("/")
    found = keys(mfawatch)
    assert {f"{host}/en/content/40", f"{host}/en/content/41"} <= found
    assert len(found) == 10  # the 8 pages of both languages' sections, and these two
    assert (
        "Diaspora of the two countries."
        in mfawatch.json("show", sectioned.url("/en/content/40"))["text"]
    )
    # Outside the section, keyword-free: never even asked for.
    assert sectioned.hits(OUTSIDE) == 0


def test_a_page_only_a_sitemap_lists_is_archived(mfawatch, mirror, elsewhere):
    sites = mfawatch.sites.read_text(encoding="utf-8")
    mfawatch.sites.write_text(
        sites.replace('layout = "mfa.gov.az"', 'layout = "mine"') + SITEMAP_LAYOUT, "utf-8"
    )
    mirror.set(
        "/robots.txt",
        robots_txt([mirror.url("/sitemap_index.xml")]),
        content_type="text/plain; charset=utf-8",
    )
    mirror.set(
        "/sitemap_index.xml",
        sitemap_index([mirror.url("/sitemap-pages.xml"), elsewhere.url("/sitemap.xml")]),
        content_type="application/xml",
    )
    listed = [SITEMAP_ONLY, "/en/news/12/visit", OUTSIDE]  # a page; not one (news); a page
    mirror.set(
        "/sitemap-pages.xml",
        urlset([*map(mirror.url, listed), elsewhere.url("/en/content/60")]),
        content_type="application/xml",
    )
    for path in (SITEMAP_ONLY, OUTSIDE):
        mirror.set(path, page("Visits"))
    mfawatch.crawl()
    host = mirror.url("/").split("//")[1].rstrip("/")
    found = keys(mfawatch)
    # A sitemap page matching a rule is watched, whatever its text; menus still count.
    assert {f"{host}/en/content/50", f"{host}/en/content/2"} <= found
    assert len(found) == 10
    assert mirror.hits("/en/news/12/visit") == 0
    assert elsewhere.requests == []  # another host's sitemap and pages: never asked
