"""Extraction of title, body and declared date from pages in the ministry's layout, and link
discovery from menus. Pages come from the mirror as strings; Scrapy responses are built by hand
(no server), as Scrapy's own parsing tests do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy import Request
from scrapy.http import HtmlResponse

from kernel.config import DEFAULT_SITES, load_config, load_layout, page_identity
from kernel.detect import Seen
from kernel.errors import ExtractionFailed, PageBlocked, PageGone
from mfawatch.mirror import Request as MirrorRequest
from mfawatch.mirror import content_page, embassy_site, faults, home_page, relations_menu
from mfawatch.mirror.pages import DATE_STYLES, RELATIONS_IDS, not_found_page
from mfawatch.mirror.texts import MOTTO, SEOUL_POLITICAL_EN, label, section_title
from scraper.extract import extract_page, parse_declared
from scraper.spiders.mfa import MfaSpider
from storage.archive import FetchResult

# The real page text (tests/fixtures/README.md says where it comes from).
SEED = Path(__file__).resolve().parent / "fixtures" / "seoul_political_en.txt"
POLITICAL = "/en/content/35/political-cooperation"
HOST = "https://seoul.mfa.gov.az"
RULES = load_layout("mfa.gov.az").extract
# A month-first site that writes the time ("10/03/2017 - 08:59" is 3 October).
US_RULES = dataclasses.replace(RULES, date_formats=("%m/%d/%Y - %H:%M",), date_order="MDY")


def body_of(handler: faults.Handler) -> bytes:
    return handler(MirrorRequest("GET", POLITICAL, {})).body


def page(lang: str = "en", **kwargs: object) -> str:
    args: dict[str, object] = {
        "mission": "seoul",
        "lang": lang,
        "title": "Political cooperation",
        "paragraphs": ["First paragraph.", "Second paragraph."],
        "last_updated": "28.02.2023",
    }
    args.update(kwargs)
    return content_page(**args)  # type: ignore[arg-type]


def seed_paragraphs() -> tuple[str, list[str]]:
    """The seed text as (title, paragraphs), without the date line and the archive link."""
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    title, rest = lines[0], lines[1:]
    assert rest[-2].startswith("Last updated:") and rest[-1] == "Search in archive"
    return title, rest[:-2]


# -- the real page -----------------------------------------------------------------------------


def test_seed_page_extracts_as_the_real_text() -> None:
    html = embassy_site("seoul")[POLITICAL]
    got = extract_page(html, RULES, "en")
    title, paragraphs = seed_paragraphs()
    assert got.title == title == "Political cooperation"
    assert got.paragraphs == paragraphs
    assert got.declared_raw == "28.02.2023"
    assert got.declared_date == dt.date(2023, 2, 28)
    assert got.note is None
    assert got.text == "\n".join([title, *paragraphs])


def test_every_mirrored_relations_page_extracts() -> None:
    # The mirror's pages mix date styles, missing dates and flag images: all must extract.
    for path, html in embassy_site("seoul").items():
        if "/content/" not in path:
            continue
        lang = path.split("/content/")[0].rsplit("/", 1)[-1]
        got = extract_page(html, RULES, lang)
        assert got.title and got.paragraphs, path


# -- the declared date -------------------------------------------------------------------------


@pytest.mark.parametrize("style", [*DATE_STYLES, "none"])
def test_every_date_style_gives_the_same_date_and_no_date_line(style: str) -> None:
    date = None if style == "none" else "28.02.2023"
    html = page(last_updated=date, date_style="own_element" if style == "none" else style)
    got = extract_page(html, RULES, "en")
    assert got.paragraphs == ["First paragraph.", "Second paragraph."]
    assert got.declared_date == (None if date is None else dt.date(2023, 2, 28))
    assert got.declared_raw == date
    assert "Last updated" not in got.text and "28.02.2023" not in got.text


@pytest.mark.parametrize(
    ("lang", "date_label"),
    [
        ("en", "Last updated"),
        ("en", "Last update"),
        ("az", "Son yenilənmə"),
        ("az", "Son yeniləmə"),
        ("ru", "Последнее обновление"),
        ("ru", "Обновлено"),
    ],
)
@pytest.mark.parametrize("style", DATE_STYLES)
def test_date_labels_per_language(lang: str, date_label: str, style: str) -> None:
    html = page(lang, last_updated="05.10.2022", date_style=style)
    html = html.replace(label(lang, "last_updated"), date_label)
    got = extract_page(html, RULES, lang)
    assert got.declared_date == dt.date(2022, 10, 5)
    assert not any(date_label in p for p in got.paragraphs)


def test_a_date_in_the_text_is_not_the_declared_date() -> None:
    # Only the labelled line declares the date; dates inside paragraphs are content.
    html = page(paragraphs=["Relations were established on 23.03.1992."], last_updated=None)
    got = extract_page(html, RULES, "en")
    assert got.declared_date is None
    assert got.paragraphs == ["Relations were established on 23.03.1992."]


def test_a_paragraph_mentioning_the_label_stays() -> None:
    # A sentence that happens to contain the words is content, not the date line.
    sentence = "Last updated: 01.01.2020 was the date of the old agreement, since replaced."
    got = extract_page(page(paragraphs=[sentence]), RULES, "en")
    assert sentence in got.paragraphs
    assert got.declared_date == dt.date(2023, 2, 28)


def test_a_sentence_mentioning_an_update_does_not_declare_the_date() -> None:
    sentence = "The protocol, updated 12.05.2019, remains in force."
    got = extract_page(page(paragraphs=["Intro.", sentence]), RULES, "en")
    assert got.declared_date == dt.date(2023, 2, 28)
    assert got.paragraphs == ["Intro.", sentence]


def test_impossible_date_keeps_raw_and_sets_a_note() -> None:
    got = extract_page(page(last_updated="31.02.2023"), RULES, "en")
    assert got.declared_raw == "31.02.2023"
    assert got.declared_date is None
    assert got.note and "31.02.2023" in got.note
    assert "31.02.2023" not in got.text


def test_the_layouts_format_reads_the_date_and_time_as_written() -> None:
    got = extract_page(page(last_updated="10/03/2017 - 08:59"), US_RULES, "en")
    assert got.declared_raw == "10/03/2017 - 08:59"
    assert (got.declared_date, got.declared_time) == (dt.date(2017, 10, 3), dt.time(8, 59))
    assert got.note is None
    assert "08:59" not in got.text  # the whole line is the date line, not content


@pytest.mark.parametrize(
    ("order", "raw", "date"),
    [
        ("MDY", "10/13/2017", dt.date(2017, 10, 13)),
        ("DMY", "13/10/2017", dt.date(2017, 10, 13)),
        ("MDY", "10/13/2017 8:59 PM", dt.date(2017, 10, 13)),
        ("YMD", "17/10/13", dt.date(2017, 10, 13)),
    ],
)
def test_a_date_outside_the_formats_is_read_in_the_layouts_order(
    order: str, raw: str, date: dt.date
) -> None:
    rules = dataclasses.replace(RULES, date_formats=(), date_order=order)
    got = extract_page(page(last_updated=raw), rules, "en")
    assert got.declared_date == date and got.note is None


@pytest.mark.parametrize("order", ["DMY", "MDY"])
@pytest.mark.parametrize("raw", ["03/10/2017", "10/03/2017 - 08:59", "2017-03-10"])
def test_an_ambiguous_date_outside_the_formats_is_kept_raw(order: str, raw: str) -> None:
    # 3 October or 10 March: no format of the layout says which, so no date is read.
    rules = dataclasses.replace(RULES, date_formats=("%d.%m.%Y",), date_order=order)
    got = extract_page(page(last_updated=raw), rules, "en")
    assert got.declared_raw == raw
    assert got.declared_date is None and got.declared_time is None
    assert got.note and raw in got.note and "ambiguous" in got.note


def test_a_date_whose_day_is_its_month_is_not_ambiguous() -> None:
    rules = dataclasses.replace(RULES, date_formats=(), date_order="MDY")
    assert extract_page(page(last_updated="05/05/2017"), rules, "en").declared_date == dt.date(
        2017, 5, 5
    )


def test_a_time_is_kept_only_when_the_page_gives_one() -> None:
    got = extract_page(page(last_updated="28.02.2023, 10:15"), RULES, "ru")
    assert (got.declared_date, got.declared_time) == (dt.date(2023, 2, 28), dt.time(10, 15))
    got = extract_page(page(last_updated="28 February 2023"), RULES, "en")
    assert (got.declared_date, got.declared_time) == (dt.date(2023, 2, 28), None)


def test_the_shipped_layout_reads_day_first() -> None:
    assert RULES.date_order == "DMY"
    assert extract_page(page(last_updated="03.10.2017"), RULES, "en").declared_date == dt.date(
        2017, 10, 3
    )


# -- what is not content -----------------------------------------------------------------------


def test_boilerplate_is_dropped() -> None:
    html = page(flag_alt="Waving Flag of the Czech Republic (Animated Gif)")
    got = extract_page(html, RULES, "en")
    # The title appears once, as the title; the body holds only the two paragraphs.
    assert got.paragraphs == ["First paragraph.", "Second paragraph."]
    text = got.text
    assert text.count("Political cooperation") == 1
    for noise in (
        MOTTO,
        "Müstəqilliyimiz",
        "Waving Flag",
        "Search in archive",
        "\u00a0",
        label("en", "relations"),
        label("en", "consular"),
        label("en", "rights"),
        label("en", "useful_links"),
        "cookies",
    ):
        assert noise not in text, noise


@pytest.mark.parametrize(
    ("selector", "dropped"),
    [
        *[(css, True) for css in ["p.aside", ".note.aside", "P.aside", "div > p.aside"]],
        *[(css, False) for css in ["p.Aside", ".note.Aside", "div > p.Aside", "h2"]],
        ("p:nth-of-type(4)", True),
    ],
)
def test_a_layout_may_drop_by_any_css_selector(selector: str, dropped: bool) -> None:
    # Simple selectors are matched in one walk, others by soupsieve: the same elements go. Tag
    # names ignore case, class names do not.
    html = page(paragraphs=["Kept.", "Aside.", "Kept too."])
    html = html.replace("<p>Aside.</p>", '<p class="aside note">Aside.</p>')
    rules = dataclasses.replace(RULES, drop=(*RULES.drop, selector))
    kept = ["Kept.", "Kept too."] if dropped else ["Kept.", "Aside.", "Kept too."]
    assert extract_page(html, rules, "en").paragraphs == kept


def test_a_body_paragraph_equal_to_the_title_later_on_is_kept() -> None:
    # Only the repeated title at the top is chrome; the same words further down are content.
    got = extract_page(page(paragraphs=["Intro.", "Political cooperation"]), RULES, "en")
    assert got.paragraphs == ["Intro.", "Political cooperation"]


def test_inline_markup_does_not_split_paragraphs() -> None:
    html = page().replace(
        "<p>First paragraph.</p>", "<p>First <strong>bold</strong> and <a href='#'>linked</a>.</p>"
    )
    got = extract_page(html, RULES, "en")
    assert got.paragraphs[0] == "First bold and linked."


def test_hostile_markup_never_survives_as_markup() -> None:
    hostile = (
        "<p>Safe words.<script>alert('x')</script></p>"
        '<p><img src="x" onerror="alert(1)">After image.</p>'
        "<style>p{display:none}</style>"
        '<p><iframe src="https://evil.invalid"></iframe>End.</p>'
    )
    html = page().replace("<p>First paragraph.</p>", hostile)
    got = extract_page(html, RULES, "en")
    assert "alert" not in got.text
    assert "onerror" not in got.text and "display:none" not in got.text
    assert "<" not in got.text
    assert got.paragraphs[:3] == ["Safe words.", "After image.", "End."]


def test_escaped_markup_in_the_text_stays_plain_text() -> None:
    # A page that *writes about* a tag shows it as text; that text is what the page said.
    shown = '<script>alert("x")</script>'
    got = extract_page(page(paragraphs=[shown]), RULES, "en")
    assert got.paragraphs == [shown]


# -- pages that are not content ----------------------------------------------------------------


def test_script_rendered_page_fails_extraction() -> None:
    html = body_of(faults.script_rendered()).decode("utf-8")
    with pytest.raises(ExtractionFailed) as caught:
        extract_page(html, RULES, "en")
    assert not isinstance(caught.value, PageGone)


@pytest.mark.parametrize("html", ["", "<html><body></body></html>", "\x00\x00 not html"])
def test_empty_or_garbage_fails_extraction(html: str) -> None:
    with pytest.raises(ExtractionFailed) as caught:
        extract_page(html, RULES, "en")
    assert not isinstance(caught.value, PageGone)


def test_wait_interstitial_fails_extraction() -> None:
    html = body_of(faults.wait_interstitial()).decode("utf-8")
    with pytest.raises(ExtractionFailed) as caught:
        extract_page(html, RULES, "en")
    assert not isinstance(caught.value, PageBlocked)  # this layout names no block screen


# The mid.ru layout's block screen, on this layout's pages.
BLOCKING = dataclasses.replace(RULES, blocked_text=load_layout("mid.ru").extract.blocked_text)


def test_a_block_screen_the_layout_names_is_page_blocked() -> None:
    html = body_of(faults.wait_interstitial()).decode("utf-8")
    with pytest.raises(PageBlocked, match="bot-protection page"):
        extract_page(html, BLOCKING, "en")
    # The layout's pattern is anchored: a page that says more than the line is no block screen.
    chrome = faults.political_page().replace("<p>", "<!--").replace("</p>", "-->")
    chrome = chrome.replace("<body>", f"<body>{faults.WAIT_TEXT}", 1)
    with pytest.raises(ExtractionFailed) as caught:
        extract_page(chrome, BLOCKING, "en")
    assert not isinstance(caught.value, PageBlocked)  # the chrome's text is not only the line


def test_block_text_is_never_looked_for_on_a_good_page() -> None:
    html = faults.political_page().replace("</p>", f" {faults.WAIT_TEXT}</p>", 1)
    assert extract_page(html, BLOCKING, "en").paragraphs


@pytest.mark.parametrize("lang", ["en", "az", "ru"])
def test_soft_404_is_page_gone(lang: str) -> None:
    with pytest.raises(PageGone):
        extract_page(not_found_page(mission="seoul", lang=lang), RULES, lang)


def test_renamed_inner_container_falls_back_to_its_parent() -> None:
    # The layout lists fallbacks: renaming only the innermost class must not lose the text.
    html = body_of(faults.redesigned()).decode("utf-8")
    assert faults.BODY_CLASS not in html
    got = extract_page(html, RULES, "en")
    assert got == extract_page(faults.political_page(), RULES, "en")


def test_redesign_fails_naming_what_was_tried() -> None:
    # Every body container renamed: nothing in the layout matches any more.
    html = faults.political_page().replace("section_articleInner_body", "section_article_text")
    with pytest.raises(ExtractionFailed) as caught:
        extract_page(html, RULES, "en")
    assert not isinstance(caught.value, PageGone)
    message = str(caught.value)
    assert "body not found" in message
    for selector in RULES.body:
        assert selector in message


def test_huge_page_extracts_every_paragraph() -> None:
    html = body_of(faults.huge_page(1_000_000)).decode("utf-8")
    got = extract_page(html, RULES, "en")
    # The mirror numbers its paragraphs: every one is there, in order, and nothing else.
    numbers = [int(p.split(".", 1)[0]) for p in got.paragraphs]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) > 1000
    assert got.declared_date == dt.date(2023, 2, 28)


def test_truncated_page_keeps_what_arrived() -> None:
    # Half a body is still text the page served; extraction must not crash on open tags.
    html = body_of(faults.truncated_html(fraction=0.6)).decode("utf-8")
    got = extract_page(html, RULES, "en")
    assert got.paragraphs and got.paragraphs[0] == SEOUL_POLITICAL_EN[0]


# -- through the spider ------------------------------------------------------------------------


@pytest.fixture
def spider() -> MfaSpider:
    return MfaSpider(config=str(DEFAULT_SITES), site="embassy-seoul")


def fetch_through(spider: MfaSpider, url: str, body: bytes, **kwargs: object) -> FetchResult:
    request = spider.page_request(spider.sites[0], url)
    assert request is not None
    response = HtmlResponse(url, body=body, request=request, **kwargs)  # type: ignore[arg-type]
    result = request.callback(response, **request.cb_kwargs)  # type: ignore[misc]
    assert isinstance(result, FetchResult)
    return result


def test_parse_page_gives_the_seed_text(spider: MfaSpider) -> None:
    html = embassy_site("seoul")[POLITICAL]
    result = fetch_through(spider, HOST + POLITICAL, html.encode("utf-8"))
    title, paragraphs = seed_paragraphs()
    assert result.seen is Seen.CONTENT
    assert result.key == "seoul.mfa.gov.az/en/content/35"
    assert result.text == "\n".join([title, *paragraphs])
    assert result.declared_date == dt.date(2023, 2, 28)
    assert result.raw == html.encode("utf-8")


def test_windows_1251_page_decodes(spider: MfaSpider) -> None:
    body = body_of(faults.windows_1251_page())
    assert "Политическое".encode("cp1251") in body  # really legacy-encoded bytes
    url = HOST + "/ru/content/35/politicheskoe-sotrudnichestvo"
    result = fetch_through(
        spider, url, body, headers={"Content-Type": "text/html; charset=windows-1251"}
    )
    assert result.seen is Seen.CONTENT
    assert result.title == section_title(35, "ru")
    assert result.declared_date is not None
    assert "\ufffd" not in (result.text or "")


def test_windows_1251_page_decodes_from_meta_alone(spider: MfaSpider) -> None:
    # Servers often send no charset in the header; the page's <meta> must be enough.
    body = body_of(faults.windows_1251_page())
    result = fetch_through(spider, HOST + "/ru/content/35", body)
    assert result.title == section_title(35, "ru")


def test_parse_page_soft_404_is_gone(spider: MfaSpider) -> None:
    body = not_found_page(mission="seoul", lang="en").encode()
    result = fetch_through(spider, HOST + POLITICAL, body)
    assert result.seen is Seen.GONE


def test_parse_page_redesign_is_extraction_failed(spider: MfaSpider) -> None:
    html = faults.political_page().replace("section_articleInner_body", "section_article_text")
    result = fetch_through(spider, HOST + POLITICAL, html.encode())
    assert result.seen is Seen.EXTRACTION_FAILED
    assert result.error and "body not found" in result.error


def test_parse_page_impossible_date_is_content_with_a_note(spider: MfaSpider) -> None:
    result = fetch_through(spider, HOST + POLITICAL, page(last_updated="31.02.2023").encode())
    assert result.seen is Seen.CONTENT
    assert result.declared_raw == "31.02.2023" and result.declared_date is None
    assert result.error and "31.02.2023" in result.error


def test_parse_page_ambiguous_date_is_content_with_a_note(spider: MfaSpider) -> None:
    # The shipped layout has no format with a time: 10/03/2017 - 08:59 is not read as March.
    raw = "10/03/2017 - 08:59"
    result = fetch_through(spider, HOST + POLITICAL, page(last_updated=raw).encode())
    assert result.seen is Seen.CONTENT
    assert result.declared_raw == raw
    assert result.declared_date is None and result.declared_time is None
    assert result.error and raw in result.error and "ambiguous" in result.error


def test_parse_page_keeps_the_declared_time(spider: MfaSpider) -> None:
    result = fetch_through(spider, HOST + POLITICAL, page(last_updated="28.02.2023 10:15").encode())
    assert (result.declared_date, result.declared_time) == (dt.date(2023, 2, 28), dt.time(10, 15))
    assert result.error is None


# -- link discovery ----------------------------------------------------------------------------


def menu_requests(spider: MfaSpider, url: str, html: str) -> list[Request]:
    response = HtmlResponse(url, body=html.encode("utf-8"), encoding="utf-8")
    return list(spider.parse_menu(response, spider.sites[0]))


@pytest.mark.parametrize("lang", ["en", "az"])
def test_home_page_menu_yields_exactly_the_relations_pages(spider: MfaSpider, lang: str) -> None:
    html = embassy_site("seoul")[f"/{lang}"]
    requests = menu_requests(spider, f"{HOST}/{lang}", html)
    layout = spider.sites[0].layout
    keys = sorted(str(page_identity(layout, r.url)[0]) for r in requests)  # type: ignore[index]
    assert keys == sorted(f"seoul.mfa.gov.az/{lang}/content/{i}" for i in RELATIONS_IDS)
    assert all(r.callback == spider.parse_page for r in requests)


def test_url_variants_of_one_page_are_requested_once(spider: MfaSpider) -> None:
    menu = [
        ("/en/content/35/political-cooperation", "Political cooperation"),
        ("https://www.seoul.mfa.gov.az/en/content/35", "Political cooperation"),
        ("/index.php/en/content/35/political-cooperation/", "Political cooperation"),
        ("http://seoul.mfa.gov.az/en/content/35/siyasi", "Political cooperation"),
        *relations_menu("en")[1:],
    ]
    html = home_page(mission="seoul", lang="en", menu=menu)
    requests = menu_requests(spider, f"{HOST}/en", html)
    assert len(requests) == len(RELATIONS_IDS)
    # Discovering the same pages again (another menu, a sibling page) asks for nothing new.
    assert menu_requests(spider, f"{HOST}/en", html) == []


def test_off_site_and_non_relations_links_are_ignored(spider: MfaSpider) -> None:
    # In the "Bilateral relations" section: other hosts, news, files. Outside it, the chrome's
    # own content links (About the Embassy, Consular issues, Contact) carry no keyword.
    menu = [
        ("https://bern.mfa.gov.az/en/content/35", "Political cooperation"),
        ("https://evil.example/en/content/35", "Political cooperation"),
        ("/en/news/12/political-cooperation-visit", "Political cooperation visit"),
        ("/files/shares/relations.pdf", "Relations (PDF)"),
    ]
    html = home_page(mission="seoul", lang="en", menu=menu)
    assert "/en/content/142/konsulluq-qeydiyyati" in html
    assert menu_requests(spider, f"{HOST}/en", html) == []


def requested_ids(spider: MfaSpider, url: str, html: str) -> list[str]:
    layout = spider.sites[0].layout
    return sorted(
        page_identity(layout, r.url)[0].key  # type: ignore[index]
        for r in menu_requests(spider, url, html)
    )


@pytest.mark.parametrize("lang", ["en", "az", "ru"])
def test_every_link_in_the_relations_section_is_a_page_whatever_its_text(
    spider: MfaSpider, lang: str
) -> None:
    # The heading says what the items are; their own texts carry no keyword.
    menu = [(f"/{lang}/content/40/diaspora", "Diaspora"), (f"/{lang}/content/41", "Agreements")]
    html = home_page(mission="seoul", lang=lang, menu=menu, langs=("az", "en", "ru"))
    assert label(lang, "relations") in html
    assert requested_ids(spider, f"{HOST}/{lang}", html) == ["content/40", "content/41"]


def test_a_keyword_link_outside_the_section_is_not_a_page_when_the_section_is_there(
    spider: MfaSpider,
) -> None:
    # Once the menus have the section, link texts decide nothing: a sidebar's "Cooperation
    # with students" under another heading is not a relations page.
    html = home_page(mission="seoul", lang="en", menu=[("/en/content/40", "Diaspora")])
    html = html.replace(
        '<aside class="col-lg-3 section_sidebar">',
        '<aside class="col-lg-3 section_sidebar"><h3>Students</h3>'
        '<ul><li><a href="/en/content/77">Cooperation with students</a></li></ul>',
    )
    assert requested_ids(spider, f"{HOST}/en", html) == ["content/40"]


def test_a_nested_section_counts_at_any_depth(spider: MfaSpider) -> None:
    # As on the ministry's 2018 menu: Foreign policy > Bilateral relations > the items.
    html = (
        '<html><body><nav><ul><li><a href="#">Foreign policy</a><ul>'
        '<li><a href="/en/content/3">Multilateral diplomacy</a></li>'
        '<li><a href="/en/content/33">Bilateral relations</a><ul>'
        '<li><a href="/en/content/40">Visits</a></li>'
        '<li><a href="/en/content/41">Humanitarian aid</a></li></ul></li>'
        "</ul></li></ul></nav></body></html>"
    )
    # The heading's own page counts too; an item of another heading does not.
    ids = ["content/33", "content/40", "content/41"]
    assert requested_ids(spider, f"{HOST}/en", html) == ids


def test_a_heading_that_is_not_a_link_still_makes_a_section(spider: MfaSpider) -> None:
    html = (
        "<html><body><nav><ul><li><span>Bilateral relations</span><ul>"
        '<li><a href="/en/content/40">Visits</a></li></ul></li>'
        '<li><a href="/en/content/41">Agreements on trade</a></li></ul></nav></body></html>'
    )
    assert requested_ids(spider, f"{HOST}/en", html) == ["content/40"]


def test_a_flat_menu_falls_back_to_the_link_text(spider: MfaSpider) -> None:
    html = (
        '<html><body><nav><ul><li><a href="/en/content/35">Political cooperation</a></li>'
        '<li><a href="/en/content/40">Diaspora</a></li>'
        '<li><a href="/en/content/36">Əməkdaşlıq</a></li></ul></nav></body></html>'
    )
    assert requested_ids(spider, f"{HOST}/en", html) == ["content/35", "content/36"]


def test_the_main_site_leaves_a_missions_pages_to_the_missions_site() -> None:
    # mfa.gov.az's domain covers seoul.mfa.gov.az, but that host is embassy-seoul's.
    spider = MfaSpider(config=str(DEFAULT_SITES), site="mfa-main")
    menu = [
        ("https://seoul.mfa.gov.az/en/content/35", "Political cooperation"),
        ("/en/category/avropa/cexiya", "Czechia"),
    ]
    html = home_page(mission="main", lang="en", menu=menu)
    requests = menu_requests(spider, "https://mfa.gov.az/en", html)
    assert [r.url for r in requests] == ["https://mfa.gov.az/en/category/avropa/cexiya"]


def test_default_config_has_the_seoul_site() -> None:
    # The spider tests above rely on the shipped sites file naming seoul.
    site = load_config(DEFAULT_SITES).site("embassy-seoul")
    assert "seoul.mfa.gov.az" in site.allowed_domains


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31)),
    fmt=st.sampled_from(RULES.date_formats),
    lang=st.sampled_from(["en", "az", "ru"]),
)
def test_declared_dates_in_the_sites_formats_read_as_dateparser_reads_them(
    day: dt.date, fmt: str, lang: str
) -> None:
    # The layout's own formats are read with strptime before dateparser is tried: both must
    # give the same date, so that the quick path never changes what a page declares.
    raw = day.strftime(fmt)
    assert parse_declared(raw, RULES.date_formats, lang, RULES.date_order).date == day
    assert _dateparser_date(raw, RULES.date_formats, lang, RULES.date_order) == day


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2040, 12, 31)),
    fmt=st.sampled_from(US_RULES.date_formats),
)
def test_month_first_dates_with_a_time_read_as_dateparser_reads_them(
    moment: dt.datetime, fmt: str
) -> None:
    # The same for a month-first layout whose pages give a time: the date and the minute.
    raw = moment.strftime(fmt)
    got = parse_declared(raw, US_RULES.date_formats, "en", US_RULES.date_order)
    assert (got.date, got.time) == (moment.date(), moment.time().replace(second=0, microsecond=0))
    assert _dateparser_date(raw, US_RULES.date_formats, "en", US_RULES.date_order) == moment.date()


def _dateparser_date(raw: str, formats: tuple[str, ...], lang: str, order: str) -> dt.date | None:
    import dateparser

    settings = {"STRICT_PARSING": True, "REQUIRE_PARTS": ["day", "month", "year"]}
    settings |= {"DATE_ORDER": order, "RETURN_AS_TIMEZONE_AWARE": False}
    parsed = dateparser.parse(raw, date_formats=list(formats), languages=[lang], settings=settings)
    return parsed.date() if parsed else None
