"""Declared dates from the layout's date sources (extract.date_sources): the label line, <meta>
values, JSON-LD, <time datetime> and the Last-Modified header, tried in order; hostile values;
the sites file's checks; `layout check`; and crawls of the mirror where a page has only a
machine-readable date, whose source history shows (SQLite, or PostgreSQL when
MFAWATCH_TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse

from kernel.config import LAYOUTS_DIR, load_config, load_layout
from kernel.detect import Seen
from kernel.errors import ConfigError
from mfawatch.mirror import content_page, relations_path
from mfawatch.mirror.pages import relations_page
from scraper.dates import MAX_JSONLD_CHARS, read_http_date, read_iso
from scraper.extract import Extracted, Trace, extract_page
from scraper.spiders.mfa import MfaSpider
from storage.archive import FetchResult
from tests.conftest import Mfawatch, write_sites

RULES = load_layout("mfa.gov.az").extract
EVERY = ("label", "meta:article:modified_time", "jsonld:dateModified", "time")
META = "meta:article:modified_time"


def rules(*sources: str, **changed: Any) -> Any:
    return dataclasses.replace(RULES, date_sources=sources, **changed)


def page(head: str = "", last_updated: str | None = None, article: str = "") -> str:
    """A content page in the shipped layout, with ``head`` in its <head> and the markup
    ``article`` in the article's text."""
    html = content_page(
        mission="seoul", lang="en", title="Political cooperation",
        paragraphs=["First paragraph.", "Second paragraph."], last_updated=last_updated,
    )  # fmt: skip
    assert html.count("</head>") == 1 and html.count("Second paragraph.") == 1
    html = html.replace("Second paragraph.", f"Second paragraph.{article}")
    return html.replace("</head>", f"{head}</head>")


def meta(content: str, attribute: str = "property", name: str = "article:modified_time") -> str:
    return f'<meta {attribute}="{name}" content="{content}">'


def jsonld(data: Any) -> str:
    text = data if isinstance(data, str) else json.dumps(data)
    return f'<script type="application/ld+json">{text}</script>'


def declared(got: Extracted) -> tuple[Any, ...]:
    return got.declared_source, got.declared_raw, got.declared_date, got.declared_time


FEB28 = dt.date(2023, 2, 28)


# -- each source -------------------------------------------------------------------------------


def test_the_label_line_comes_first_in_the_shipped_layout() -> None:
    assert RULES.date_sources == ("label", META, "jsonld:dateModified")
    html = page(meta("2024-05-01T09:00:00+04:00"), last_updated="28.02.2023")
    assert declared(extract_page(html, RULES, "en")) == ("label", "28.02.2023", FEB28, None)


def test_a_meta_date_keeps_its_date_and_time_as_written() -> None:
    html = page(meta("2023-02-28T23:30:05+04:00"))
    got = extract_page(html, RULES, "en")
    # The zone is dropped, as a label's time is kept without one: not moved to UTC (which
    # would be another day here).
    assert declared(got) == (META, "2023-02-28T23:30:05+04:00", FEB28, dt.time(23, 30, 5))
    assert got.note is None


@pytest.mark.parametrize(
    "tag",
    [
        meta("2023-02-28", "name"),
        meta("2023-02-28", "itemprop"),
        meta("2023-02-28", "property", "Article:Modified_Time"),  # names without case
        meta("", "property") + meta("2023-02-28", "name"),  # an empty one is no value
    ],
)
def test_a_meta_is_found_by_property_name_or_itemprop(tag: str) -> None:
    assert declared(extract_page(page(tag), rules(META), "en"))[2:] == (FEB28, None)


def test_a_meta_matching_a_date_format_is_read_by_it_exactly() -> None:
    got = extract_page(page(meta("28.02.2023", "name", "date")), rules("meta:date"), "en")
    assert declared(got) == ("meta:date", "28.02.2023", FEB28, None)


@pytest.mark.parametrize(
    "data",
    [
        {"@context": "https://schema.org", "dateModified": "2023-02-28T10:15:00Z"},
        {
            "@graph": [
                {"@type": "WebSite"},
                {"@type": "WebPage", "dateModified": "2023-02-28T10:15"},
            ]
        },
        [{"@type": "Organization"}, {"@type": "Article", "dateModified": "2023-02-28 10:15"}],
        {"dateModified": {"@value": "2023-02-28T10:15:00", "@type": "DateTime"}},
        {"dateModified": [7, "2023-02-28T10:15:00"]},
    ],
)
def test_jsonld_date_modified_anywhere_in_the_block(data: Any) -> None:
    got = extract_page(page(jsonld(data)), rules("jsonld:dateModified"), "en")
    assert (got.declared_source, got.declared_date, got.declared_time) == (
        "jsonld:dateModified", FEB28, dt.time(10, 15),
    )  # fmt: skip


def test_jsonld_outer_objects_come_before_nested_ones_and_blocks_in_order() -> None:
    nested = {"publisher": {"dateModified": "2020-01-01"}, "dateModified": "2023-02-28"}
    html = page(jsonld("not json {") + jsonld(nested) + jsonld({"dateModified": "2021-01-01"}))
    assert extract_page(html, rules("jsonld:dateModified"), "en").declared_date == FEB28


@pytest.mark.parametrize(
    "block",
    [
        "[" * 100_000 + "]" * 100_000,  # nests past the recursion limit
        "1" * 5_000,  # past int's digit limit
        '"2023-02-28"',  # a bare string, not an object
        "42",
        "null",
        "[1, 2, [3, [4]]]",
        '{"dateModified": 20230228}',
        '{"dateModified": {"value": "2023-02-28"}}',
        '{"dateModified": [1, 2]}',
        '{"dateModified": null}',
        '{"dateModified": "' + "9" * 500 + '"}',
        '{"dateModified": "2023-02-28"',  # cut off
        json.dumps({"x": "y" * MAX_JSONLD_CHARS, "dateModified": "2023-02-28"}),  # too big
        "<!-- " + json.dumps({"dateModified": "2023-02-28"}) + " -->",
    ],
)
def test_hostile_jsonld_is_no_date_never_an_error(block: str) -> None:
    html = page(jsonld(block))
    got = extract_page(html, rules("jsonld:dateModified"), "en")
    assert declared(got) == (None, None, None, None)
    # A good block after it is still read.
    after = html.replace("</head>", jsonld({"dateModified": "2023-02-28"}) + "</head>")
    assert extract_page(after, rules("jsonld:dateModified"), "en").declared_date == FEB28


def test_many_objects_are_looked_into_only_up_to_a_bound() -> None:
    # The date sits past 10 000 empty objects: not looked for, and quickly so.
    data = [{} for _ in range(20_000)] + [{"dateModified": "2023-02-28"}]
    got = extract_page(page(jsonld(data)), rules("jsonld:dateModified"), "en")
    assert got.declared_date is None


def test_time_datetime_is_read_inside_the_date_scope_only() -> None:
    inside = '<time datetime="2023-02-28T08:59">28 February</time>'
    scoped = rules("time", date_scope=(".section_articleInner",))
    got = extract_page(page(article=inside), scoped, "en")
    assert declared(got) == ("time", "2023-02-28T08:59", FEB28, dt.time(8, 59))
    # A <time> in the header, outside the scope, is not the page's date.
    outside = page(head="").replace("<body>", '<body><time datetime="2020-01-01">x</time>', 1)
    assert extract_page(outside, scoped, "en").declared_date is None
    # An empty datetime is passed over for the next <time>.
    two = '<time datetime=" ">x</time><time datetime="2023-02-28">y</time>'
    assert extract_page(page(article=two), scoped, "en").declared_date == FEB28


def test_last_modified_is_read_only_when_the_layout_asks() -> None:
    header = "Tue, 28 Feb 2023 10:15:00 GMT"
    html = page()
    assert extract_page(html, RULES, "en", last_modified=header).declared_date is None
    got = extract_page(html, rules("label", "header:Last-Modified"), "en", last_modified=header)
    assert declared(got) == ("header:Last-Modified", header, FEB28, dt.time(10, 15))
    bad = extract_page(html, rules("header:Last-Modified"), "en", last_modified="yesterday")
    assert declared(bad) == ("header:Last-Modified", "yesterday", None, None)
    assert bad.note == "declared date 'yesterday' (header:Last-Modified) is not an HTTP date"


# -- order -------------------------------------------------------------------------------------

BOTH = meta("2023-02-27") + jsonld({"dateModified": "2023-02-26"})


@pytest.mark.parametrize(
    ("sources", "source", "date"),
    [
        (("label", META, "jsonld:dateModified"), "label", FEB28),
        ((META, "label", "jsonld:dateModified"), META, dt.date(2023, 2, 27)),
        (("jsonld:dateModified", META, "label"), "jsonld:dateModified", dt.date(2023, 2, 26)),
        (("meta:nothing-here", "jsonld:nothing", "label"), "label", FEB28),
    ],
)
def test_sources_are_tried_in_the_order_given(sources: tuple[str, ...], source: str, date: Any):
    got = extract_page(page(BOTH, last_updated="28.02.2023"), rules(*sources), "en")
    assert (got.declared_source, got.declared_date) == (source, date)


def test_a_source_whose_value_is_no_date_gives_way_to_the_next() -> None:
    html = page(meta("31.02.2023") + jsonld({"dateModified": "2023-02-28"}), "31.02.2023")
    got = extract_page(html, rules("label", META, "jsonld:dateModified"), "en")
    assert declared(got) == ("jsonld:dateModified", "2023-02-28", FEB28, None)
    assert got.note is None


def test_when_no_source_gives_a_date_the_first_value_is_kept_with_its_note() -> None:
    html = page(meta("someday") + jsonld({"dateModified": "2023-02-30"}))
    got = extract_page(html, rules("label", META, "jsonld:dateModified"), "en")
    assert declared(got) == (META, "someday", None, None)
    assert got.note == (
        "declared date 'someday' (meta:article:modified_time) is not ISO 8601, nor in the "
        "layout's date_formats"
    )


def test_no_sources_no_date_but_the_date_line_is_still_boilerplate() -> None:
    got = extract_page(page(meta("2023-02-28"), last_updated="28.02.2023"), rules(), "en")
    assert declared(got) == (None, None, None, None)
    assert all("Last updated" not in p for p in got.paragraphs)


@pytest.mark.parametrize(
    "raw",
    [
        "2023-02-30", "2023-13-01", "2023-02-28T25:00", "2023-02-28T10:61", "2023-02-28T24:00",
        "2023-02-28T10:15+99:00", "2023-02-28T10:15+04:75", "2023-W09-2", "2023-059",
        "20230228", "2023-02", "2023", "28 Feb 2023 junk", "2023-02-28T10:15:00Z junk",
        "2023-02-28T", "PT4H", "0000-00-00", "-2023-02-28", "２０２３-02-28", "\u202e2023-02-28",
    ],
)  # fmt: skip
def test_bad_iso_values_are_no_date(raw: str) -> None:
    assert read_iso(raw) is None
    got = extract_page(page(meta(raw)), rules(META), "en")
    assert (got.declared_source, got.declared_raw, got.declared_date) == (META, raw, None)
    assert got.note is not None and "is not ISO 8601" in got.note


@pytest.mark.parametrize("raw", ["", "   ", "x" * 101, "2023-02-28" + "0" * 200])
def test_an_empty_or_oversized_value_is_no_value(raw: str) -> None:
    got = extract_page(page(meta(raw)), rules(META), "en")
    assert declared(got) == (None, None, None, None) and got.note is None


def test_http_dates_are_read_strictly() -> None:
    assert read_http_date("Tue, 28 Feb 2023 10:15:00 GMT") == (FEB28, dt.time(10, 15))
    for raw in ("", "Tue, 31 Feb 2023 10:15:00 GMT", "2023-02-28", "\x00", "Tue, 28 Feb 99999"):
        assert read_http_date(raw) is None, raw


# -- the trace (layout check) ------------------------------------------------------------------


def test_a_trace_shows_every_source_and_which_was_used() -> None:
    trace = Trace()
    html = page(meta("2023-02-27T10:00+04:00"), last_updated="28.02.2023")
    got = extract_page(html, rules(*EVERY), "en", trace)
    assert got.declared_source == trace.date_source == "label"
    assert [(t.source, t.raw) for t in trace.date_tried] == [
        ("label", "28.02.2023"), (META, "2023-02-27T10:00+04:00"),
        ("jsonld:dateModified", None), ("time", None),
    ]  # fmt: skip
    assert trace.date_label == "Last updated"
    assert trace.date_tried[1].declared is not None
    assert trace.date_tried[1].declared.matched == "ISO 8601"


def test_layout_check_says_which_source_matched(mfawatch: Mfawatch, tmp_path: Path) -> None:
    saved = tmp_path / "page.html"
    saved.write_text(page(meta("2023-02-28T10:15:00+04:00")), encoding="utf-8")
    report = mfawatch.json("layout", "check", str(saved), "--lang", "en")
    date = report["date"]
    assert (date["source"], date["raw"], date["date"], date["time"], date["format"]) == (
        META, "2023-02-28T10:15:00+04:00", "2023-02-28", "10:15:00", "ISO 8601",
    )  # fmt: skip
    assert [s["source"] for s in report["date_sources"]] == list(RULES.date_sources)
    assert [s["raw"] is not None for s in report["date_sources"]] == [False, True, False]
    screen = " ".join(mfawatch("layout", "check", str(saved), "--lang", "en").stdout.split())
    assert (
        "date 2023-02-28T10:15:00+04:00 → 2023-02-28 10:15:00 (from meta:article:modified_time, "
        "format 'ISO 8601')" in screen
    )
    assert "label nothing there" in screen
    assert (
        "meta:article:modified_time 2023-02-28T10:15:00+04:00 → " in screen and "← used" in screen
    )


def test_layout_check_without_any_date_names_the_sources_tried(
    mfawatch: Mfawatch, tmp_path: Path
) -> None:
    saved = tmp_path / "page.html"
    saved.write_text(page(), encoding="utf-8")
    result = mfawatch("layout", "check", str(saved), "--lang", "en")
    screen = " ".join(result.stdout.split())
    assert (
        "date none found (tried label, meta:article:modified_time, jsonld:dateModified)" in screen
    )


# -- the sites file ----------------------------------------------------------------------------


def layout_with(tmp_path: Path, sources: str) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(
        '[[sites]]\nname = "s"\nlayout = "mine"\nstart_urls = ["https://seoul.mfa.gov.az/en"]\n'
        '[layouts.mine]\nextends = "mfa.gov.az"\n[layouts.mine.extract]\n'
        f"date_sources = {sources}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ('["labels"]', "extract.date_sources: unknown source 'labels' (expected \"label\""),
        ('["header:Date"]', "unknown source 'header:Date'"),
        ('["meta:"]', "unknown source 'meta:'"),
        ('["meta:a b"]', "unknown source 'meta:a b'"),
        ('["jsonld:\\u0000"]', "unknown source 'jsonld:\\x00'"),
        (f'["meta:{"x" * 100}"]', "unknown source 'meta:xxxxxx"),
        ('"label"', "extract.date_sources: expected a list of strings, got 'label'"),
        ('["label", 1]', "extract.date_sources: expected a list of strings"),
        ('["label", "LABEL"]', "extract.date_sources: 'label' is listed twice"),
    ],
)
def test_bad_date_sources_are_one_line_errors(tmp_path: Path, sources: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(layout_with(tmp_path, sources))
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert "layout 'mine'" in str(caught.value)


def test_date_sources_as_written_header_names_without_case(tmp_path: Path) -> None:
    config = load_config(layout_with(tmp_path, '["Time", "header:last-modified", "meta:DC.Date"]'))
    assert config.sites[0].layout.extract.date_sources == (
        "time", "header:Last-Modified", "meta:DC.Date",
    )  # fmt: skip


def test_a_layout_without_date_sources_reads_the_label_only(tmp_path: Path) -> None:
    raw = (LAYOUTS_DIR / "mfa.gov.az.toml").read_text(encoding="utf-8")
    assert "date_sources" in raw
    path = tmp_path / "sites.toml"
    path.write_text(
        '[[sites]]\nname = "s"\nlayout = "bare"\nstart_urls = ["https://x.example/en"]\n'
        "[layouts.bare]\n[[layouts.bare.pages]]\n"
        "url_pattern = '^/(?P<lang>[a-z]{2})/(?P<id>\\d+)$'\nidentity = '{id}'\n"
        '[layouts.bare.extract]\nbody = ["main"]\n',
        encoding="utf-8",
    )
    assert load_config(path).sites[0].layout.extract.date_sources == ("label",)


# -- the spider --------------------------------------------------------------------------------


def test_the_spider_reads_last_modified_when_the_layout_asks(tmp_path: Path) -> None:
    spider = MfaSpider(config=str(layout_with(tmp_path, '["header:Last-Modified"]')), site="s")
    url = "https://seoul.mfa.gov.az/en/content/35/political-cooperation"
    request = spider.page_request(spider.sites[0], url)
    assert request is not None
    response = HtmlResponse(
        url, body=page().encode(), request=request,
        headers={"Last-Modified": "Tue, 28 Feb 2023 10:15:00 GMT"},
    )  # fmt: skip
    result = request.callback(response, **request.cb_kwargs)  # type: ignore[misc]
    assert isinstance(result, FetchResult) and result.seen is Seen.CONTENT
    assert (result.declared_source, result.declared_date, result.declared_time) == (
        "header:Last-Modified", FEB28, dt.time(10, 15),
    )  # fmt: skip


# -- crawls ------------------------------------------------------------------------------------

EN35 = relations_path("en", 35)
PAGES = [(lang, i) for lang in ("en", "az") for i in (35, 36, 37, 38)]


def with_meta(lang: str, section_id: int, when: str, *, label: bool = False) -> str:
    """A mirrored relations page with an article:modified_time, and without its label line
    unless ``label``."""
    changed: dict[str, Any] = {} if label else {"last_updated": None}
    html = relations_page("seoul", lang, section_id, **changed)
    return html.replace("</head>", meta(when) + "</head>", 1)


def fetches(mfawatch: Mfawatch, mirror: Any, path: str) -> list[dict[str, Any]]:
    return mfawatch.json("history", mirror.url(path))["fetches"]


@pytest.mark.crawl
def test_a_page_with_only_a_meta_date_is_dated_and_history_says_from_where(
    mfawatch: Mfawatch, mirror: Any
) -> None:
    mirror.set(EN35, with_meta("en", 35, "2023-02-28T10:15:00+04:00"))
    mfawatch.crawl()
    first = fetches(mfawatch, mirror, EN35)[-1]
    assert (first["last_updated"], first["last_updated_time"], first["last_updated_source"]) == (
        "2023-02-28", "10:15:00", META,
    )  # fmt: skip
    assert first["last_updated_raw"] == "2023-02-28T10:15:00+04:00"
    # The other pages keep their label line.
    other = fetches(mfawatch, mirror, relations_path("en", 36))[-1]
    assert other["last_updated_source"] == "label"
    pages = {p["url"]: p["last_updated_source"] for p in mfawatch.json("pages")}
    assert pages[mirror.url(EN35)] == META

    # The meta date moves, the text does not: a date_only change, as a label's move is.
    mirror.set(EN35, with_meta("en", 35, "2023-03-05T09:00:00+04:00"))
    mfawatch.crawl()
    found = mfawatch.json("changes", "--status", "all")
    assert [(c["kind"], c["url"]) for c in found] == [("date_only", mirror.url(EN35))]
    assert (found[0]["old_last_updated"], found[0]["new_last_updated"]) == (
        "2023-02-28", "2023-03-05",
    )  # fmt: skip
    latest = fetches(mfawatch, mirror, EN35)[-1]
    assert (latest["last_updated"], latest["last_updated_source"]) == ("2023-03-05", META)

    table = mfawatch("history", mirror.url(EN35))
    assert table.code == 0
    assert "meta:article:modified_time" in table.stdout and "from" in table.stdout


@pytest.mark.crawl
def test_a_label_line_that_vanishes_behind_a_meta_date_still_makes_the_run_unhealthy(
    mfawatch: Mfawatch, mirror: Any
) -> None:
    for lang, i in PAGES:  # the label and a meta with the same date
        mirror.set(relations_path(lang, i), with_meta(lang, i, "2099-01-01", label=True))
    mfawatch.crawl()
    before = fetches(mfawatch, mirror, EN35)[-1]
    assert before["last_updated_source"] == "label"
    for lang, i in PAGES:  # a redesign drops the visible line; the meta stays
        mirror.set(relations_path(lang, i), with_meta(lang, i, "2099-01-01"))
    result = mfawatch.crawl(check=False)
    assert result.code == 1 and "seoul (unhealthy)" in result.stdout
    run = mfawatch.json("runs")[0]
    assert run["note"] == 'the "last updated" line vanished from 6 of 6 pages that had it'
    after = fetches(mfawatch, mirror, EN35)[-1]
    assert (after["last_updated"], after["last_updated_source"]) == ("2099-01-01", META)


HEADER_LAYOUT = """
[layouts."mfa-dated"]
extends = "mfa.gov.az"
[layouts."mfa-dated".extract]
date_sources = ["header:Last-Modified"]
"""


@pytest.mark.crawl
def test_last_modified_as_an_opt_in_source_and_a_304_keeps_it(
    mfawatch: Mfawatch, mirror: Any, tmp_path: Path
) -> None:
    sites = write_sites(tmp_path / "dated.toml", mirror, extra=HEADER_LAYOUT)
    sites.write_text(sites.read_text().replace('"mfa.gov.az"\nstart', '"mfa-dated"\nstart'))
    dated = Mfawatch(mfawatch.db_url, sites)
    stamp = "Tue, 28 Feb 2023 10:15:00 GMT"
    mirror.set(EN35, relations_page("seoul", "en", 35), last_modified=stamp)
    dated.crawl()
    dated.crawl()  # answered 304: the fetch keeps the page's declared value and its source
    rows = fetches(dated, mirror, EN35)
    assert [r["outcome"] for r in rows] == ["new", "not_modified"]
    for row in rows:
        assert (row["last_updated"], row["last_updated_time"], row["last_updated_source"]) == (
            "2023-02-28", "10:15:00", "header:Last-Modified",
        )  # fmt: skip
    # Another page without the header has no date: the label line is not in this layout's list.
    other = fetches(dated, mirror, relations_path("en", 36))[-1]
    assert (other["last_updated"], other["last_updated_source"]) == (None, None)
