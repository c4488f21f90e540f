"""The ministry's own country pages (issue 12, item 2): /{lang}/category/{region}/{country}
for any region slug, as long as the link sits under the "Bilateral relations" heading or a
region's heading; the other two-level categories of the main site (news, the missions list)
are not country pages.

A real crawl of the main site's home pages, served by the mirror in the ministry's chrome.
"""

from __future__ import annotations

import pytest

from mfawatch.mirror import MirrorServer, content_page
from mfawatch.mirror.chrome import page_shell

# Under "Bilateral relations" on /en: regions the old list of region slugs did not know too.
EN_COUNTRIES = [
    ("/en/category/avropa/cexiya", "Czechia"),
    ("/en/category/mdb/rusiya", "Russia"),
    ("/en/category/cenubi-qafqaz/gurcustan", "Georgia"),
]
# On /az, the countries sit in a region's own menu ("Avropa"), not under the section.
AZ_COUNTRIES = [("/az/category/avropa/cexiya", "Çexiya")]
# Two-level categories under other headings: never country pages.
OTHERS = [
    ("/en/category/news/press-releases", "Press releases"),
    ("/en/category/azerbaijani-missions-abroad/embassies", "Embassies"),
    ("/az/category/xeberler/resmi-xronika", "Rəsmi xronika"),
]


def sidebar(*groups: tuple[str, list[tuple[str, str]]]) -> str:
    """A sidebar menu of headed lists, as the main site's category pages carry."""
    return '<div class="section_sidebar">' + "".join(
        f'<div class="section_sidebar_title">{heading}</div><ul>'
        + "".join(f'<li><a href="{href}">{text}</a></li>' for href, text in links)
        + "</ul>"
        for heading, links in groups
    ) + "</div>"  # fmt: skip


@pytest.fixture
def main_site(mirror: MirrorServer) -> MirrorServer:
    en_side = sidebar(("News", OTHERS[:1]), ("Missions", OTHERS[1:2]))
    az_side = sidebar(("Avropa", AZ_COUNTRIES), ("Xəbərlər", OTHERS[2:]))
    for lang, menu, side in (("en", EN_COUNTRIES, en_side), ("az", [], az_side)):
        mirror.set(
            f"/{lang}",
            page_shell(mission="main", lang=lang, title="Home", main=side, menu=menu),
        )
    for path, title in [*EN_COUNTRIES, *AZ_COUNTRIES, *OTHERS]:
        mirror.set(
            path,
            content_page(
                mission="main", lang=path[1:3], title=title,
                paragraphs=[f"Relations with {title}."], last_updated="01.03.2023",
            ),
        )  # fmt: skip
    return mirror


def test_every_region_s_country_pages_and_nothing_else(mfawatch, main_site):
    mfawatch.crawl()
    host = main_site.url("/").split("//")[1].rstrip("/")
    found = {p["key"] for p in mfawatch.json("pages")}
    assert found == {f"{host}{path}" for path, _ in [*EN_COUNTRIES, *AZ_COUNTRIES]}
    for path, _ in OTHERS:
        assert main_site.hits(path) == 0, path
    shown = mfawatch.json("show", main_site.url("/en/category/mdb/rusiya"))
    assert "Relations with Russia." in shown["text"]


def test_layout_check_says_why_a_news_category_is_not_a_country(mfawatch, main_site):
    report = mfawatch("layout", "check", main_site.url("/en"), "--json").json()
    why = {link["url"].removeprefix(main_site.base_url): link["rejected"]
           for link in report["menu_links"]}  # fmt: skip
    assert why["/en/category/mdb/rusiya"] is None
    assert why["/en/category/news/press-releases"] == "section"
    assert why["/en/category/azerbaijani-missions-abroad/embassies"] == "section"
