"""`mfawatch layout check`: what a layout sees on one page (issue 12 §4), on saved mirror pages
and on pages served by the mirror on 127.0.0.1, through the crawl's own extraction. It writes
nothing: the archive stays without tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect

from kernel.config import load_layout
from mfawatch.mirror import MirrorServer, content_page, embassy_site, faults
from mfawatch.mirror import Request as MirrorRequest
from mfawatch.mirror.faults import BODY_CLASS
from scraper.extract import extract_page
from tests.conftest import Mfawatch, write_sites

POLITICAL = "/en/content/35/political-cooperation"
RULES = load_layout("mfa.gov.az").extract
BODY_SELECTORS = list(RULES.body)


def saved(tmp_path: Path, html: str | bytes, name: str = "page.html") -> str:
    path = tmp_path / name
    path.write_bytes(html if isinstance(html, bytes) else html.encode("utf-8"))
    return str(path)


def political() -> str:
    return embassy_site("seoul")[POLITICAL]


def redesigned() -> str:
    return faults.redesigned()(MirrorRequest("GET", POLITICAL, {})).body.decode("utf-8")


def no_tables(db_url: str) -> bool:
    engine = create_engine(db_url)
    try:
        return inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_a_good_page_shows_title_date_paragraphs_and_selectors(
    mfawatch: Any, tmp_path: Path, db_url: str
) -> None:
    html = political()
    report = mfawatch.json("layout", "check", saved(tmp_path, html))
    crawl = extract_page(html, RULES, "en")  # what the crawl archives from the same page
    assert report["outcome"] == "ok" and report["error"] is None
    assert report["title"] == {
        "text": "Political cooperation", "selector": RULES.title[0], "index": 0, "fallback": False,
    }  # fmt: skip
    assert report["body"]["matched"] == {"selector": BODY_SELECTORS[0], "index": 0,
                                         "fallback": False}  # fmt: skip
    assert report["body"]["tried"] == BODY_SELECTORS[:1]
    date = report["date"]
    assert (date["raw"], date["date"], date["label"], date["format"]) == (
        "28.02.2023", "2023-02-28", "Last updated", "%d.%m.%Y",
    )  # fmt: skip
    assert date["scope"]["selector"] == RULES.date_scope[0]
    assert report["paragraphs"] == crawl.paragraphs and len(crawl.paragraphs) == 10
    assert {"rule": "repeats the title", "text": "Political cooperation"} in report["dropped"]
    assert report["lang"] == {"code": "en", "chosen": "from <html lang>"}
    assert "only layout" in report["layout"]["chosen"]

    screen = mfawatch("layout", "check", saved(tmp_path, html))
    assert screen.code == 0, screen.stderr
    assert "title Political cooperation  (h1.section_articleInner_header--title, first choice)" in (
        screen.stdout
    )
    assert "date 28.02.2023 → 2023-02-28  (label 'Last updated', format '%d.%m.%Y'" in screen.stdout
    assert crawl.paragraphs[0] in screen.stdout
    assert no_tables(db_url)


def test_boilerplate_shows_the_rule_that_dropped_it(mfawatch: Any, tmp_path: Path) -> None:
    html = political().replace(
        f'<div class="{BODY_CLASS}">',
        f'<div class="{BODY_CLASS}"><div class="share">Share on X</div><p>Print</p>',
    )
    report = mfawatch.json("layout", "check", saved(tmp_path, html))
    assert {"rule": "drop .share", "text": "Share on X"} in report["dropped"]
    assert {"rule": f"drop_text {RULES.drop_text[3].pattern}", "text": "Print"} in report["dropped"]
    assert "Share on X" not in report["paragraphs"] and "Print" not in report["paragraphs"]


def test_a_redesign_shows_the_fallback_that_matched(mfawatch: Any, tmp_path: Path) -> None:
    report = mfawatch.json("layout", "check", saved(tmp_path, redesigned()))
    assert report["outcome"] == "ok"
    assert report["body"]["matched"] == {"selector": BODY_SELECTORS[1], "index": 1,
                                         "fallback": True}  # fmt: skip
    assert report["body"]["tried"] == BODY_SELECTORS[:2]
    # The wider block holds the date line too: dropped, and said so.
    assert {"rule": "date line", "text": "Last updated: 28.02.2023"} in report["dropped"]
    screen = " ".join(mfawatch("layout", "check", saved(tmp_path, redesigned())).stdout.split())
    tried = ", ".join(BODY_SELECTORS[:2])
    assert f"body {BODY_SELECTORS[1]}, fallback #2 (tried in order: {tried})" in screen


def test_a_redesign_that_no_selector_matches_says_what_was_tried(
    mfawatch: Any, tmp_path: Path
) -> None:
    html = redesigned().replace("section_articleInner_body", "section_story")
    result = mfawatch("layout", "check", saved(tmp_path, html), "--json")
    assert result.code == 1, result.stderr
    report = result.json()
    assert report["outcome"] == "extraction_failed"
    assert report["error"].startswith("body not found (tried ")
    assert report["body"] == {"matched": None, "tried": BODY_SELECTORS, "selectors": BODY_SELECTORS}
    assert report["title"]["text"] == "Political cooperation"  # what still matches is shown
    assert report["paragraphs"] == []
    screen = mfawatch("layout", "check", saved(tmp_path, html))
    assert screen.code == 1
    assert "outcome extraction_failed: body not found" in screen.stdout
    assert "body no selector matched  (tried: " in screen.stdout
    assert "date not looked for (no body)" in screen.stdout  # the crawl stops at the body


def test_menu_links_are_kept_or_rejected_with_the_reason(mfawatch: Any, tmp_path: Path) -> None:
    html = political().replace(
        "</nav>",
        '<a href="https://elsewhere.example/en/content/35/x">Political cooperation</a></nav>',
        1,
    )
    report = mfawatch.json(
        "layout", "check", saved(tmp_path, html), "--url", "https://seoul.mfa.gov.az" + POLITICAL
    )
    assert "site 'embassy-seoul'" not in report["layout"]["chosen"]  # the test's sites file
    links = {(link["url"], link["rejected"]) for link in report["menu_links"]}
    base = "https://seoul.mfa.gov.az"
    assert (f"{base}/en/content/35/political-cooperation", None) in links
    # The menus have the "Bilateral relations" section: a page outside it is not one.
    assert (f"{base}/en/content/5/contact", "section") in links
    assert (f"{base}/en/category/news", "pattern") in links
    assert ("https://elsewhere.example/en/content/35/x", "off-site") in links
    kept = [link for link in report["menu_links"] if link["kept"]]
    assert {link["key"] for link in kept} == {
        f"seoul.mfa.gov.az/en/content/{n}" for n in (35, 36, 37, 38)
    }


def test_a_flat_menu_rejects_a_link_whose_text_is_not_a_relations_one(
    mfawatch: Any, tmp_path: Path
) -> None:
    # No "Bilateral relations" heading anywhere: the rule's link_text decides.
    html = (
        '<html lang="en"><body><nav><ul>'
        '<li><a href="/en/content/35/political-cooperation">Political cooperation</a></li>'
        '<li><a href="/en/content/40/diaspora">Diaspora</a></li>'
        "</ul></nav></body></html>"
    )
    args = ("layout", "check", saved(tmp_path, html), "--url", "https://seoul.mfa.gov.az/en")
    result = mfawatch(*args, "--json")  # exit 1: a menu page has no article to extract
    assert result.code == 1, result.stderr
    links = {link["url"]: link for link in result.json()["menu_links"]}
    base = "https://seoul.mfa.gov.az/en/content"
    assert links[f"{base}/35/political-cooperation"]["kept"]
    diaspora = links[f"{base}/40/diaspora"]
    assert (diaspora["kept"], diaspora["rule"], diaspora["rejected"]) == (False, "content", "text")
    screen = " ".join(mfawatch(*args).stdout.split())
    assert (
        "Diaspora │ https://seoul.mfa.gov.az/en/content/40/diaspora │ link text does not" in screen
    )


def test_a_served_url_is_fetched_once_after_robots_txt(
    mfawatch: Any, mirror: MirrorServer, db_url: str
) -> None:
    report = mfawatch.json("layout", "check", mirror.url(POLITICAL))
    assert report["outcome"] == "ok"
    assert report["layout"]["chosen"].startswith("site 'seoul' of ")
    assert report["lang"] == {"code": "en", "chosen": "from the URL"}
    assert report["source"]["http_status"] == 200
    assert [r.path for r in mirror.requests] == ["/robots.txt", POLITICAL]
    agents = {r.headers["user-agent"] for r in mirror.requests}
    assert agents == {"mfawatch/0.1 (archiver of public bilateral-relations pages) "
                      "+tests@mfawatch.invalid"}  # fmt: skip
    host = mirror.base_url.removeprefix("http://")
    kept = {link["key"] for link in report["menu_links"] if link["kept"]}
    assert f"{host}/en/content/35" in kept
    assert no_tables(db_url)


@pytest.mark.parametrize(
    ("robots", "status", "message"),
    [
        ("User-agent: *\nDisallow: /en/content/35\n", 200, "disallows"),
        ("User-agent: mfawatch\nDisallow: /\n", 200, "disallows"),
        ("down", 503, "answered 503: not fetched (RFC 9309"),
    ],
)
def test_robots_txt_that_disallows_the_page_stops_the_check(
    mfawatch: Any, mirror: MirrorServer, robots: str, status: int, message: str
) -> None:
    mirror.set("/robots.txt", robots, status=status, content_type="text/plain")
    result = mfawatch("layout", "check", mirror.url(POLITICAL))
    assert result.code == 2
    assert result.stderr.startswith("mfawatch: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert mirror.hits(POLITICAL) == 0 and result.stdout == ""


def test_a_robots_txt_that_is_missing_allows_it(mfawatch: Any, mirror: MirrorServer) -> None:
    mirror.remove("/robots.txt")  # 404: RFC 9309 §2.3.1.3, no rules at all
    assert mfawatch.json("layout", "check", mirror.url(POLITICAL))["outcome"] == "ok"


def test_a_redirect_is_followed_after_asking_robots_txt(
    mfawatch: Any, mirror: MirrorServer
) -> None:
    mirror.redirect("/old", POLITICAL)
    mirror.set(
        "/robots.txt", "User-agent: *\nDisallow: /en/content/35\n", content_type="text/plain"
    )
    result = mfawatch("layout", "check", mirror.url("/old"))
    assert result.code == 2 and "disallows" in result.stderr
    assert mirror.hits(POLITICAL) == 0 and mirror.hits("/old") == 1


def test_the_json_has_one_shape(mfawatch: Any, tmp_path: Path) -> None:
    report = mfawatch.json("layout", "check", saved(tmp_path, political()), "--lang", "az")
    assert set(report) == {
        "source", "layout", "lang", "outcome", "error", "note", "title", "body", "date",
        "date_sources", "paragraphs", "dropped", "menu_links",
    }  # fmt: skip
    assert report["lang"] == {"code": "az", "chosen": "--lang"}
    shape = {"source", "raw", "date", "time", "label", "format", "scope", "note"}
    assert set(report["date"]) == shape
    assert all(set(tried) == shape for tried in report["date_sources"])
    assert set(report["menu_links"][0]) == {"url", "text", "kept", "rule", "rejected", "key"}
    assert set(report["dropped"][0]) == {"rule", "text"}


def test_hostile_text_is_shown_not_obeyed(mfawatch: Any, tmp_path: Path) -> None:
    hostile = "Evil \x1b[2J\x1b]0;pwned\x07 [red]boom[/red] \u202eright"
    html = content_page(
        mission="seoul", lang="en", title=hostile, paragraphs=[f"Body {hostile}", "More [bold]."],
        last_updated="28.02.2023", menu=[("/en/content/35/x", f"Political cooperation {hostile}")],
    )  # fmt: skip
    screen = mfawatch("layout", "check", saved(tmp_path, html))
    assert screen.code == 0, screen.stderr
    assert not any(c in screen.stdout for c in "\x1b\x07\u202e")
    assert r"Evil \x1b[2J\x1b]0;pwned\x07 [red]boom[/red] \u202eright" in screen.stdout
    assert "More [bold]." in screen.stdout
    raw = mfawatch("layout", "check", saved(tmp_path, html), "--json").stdout
    assert "\x1b" not in raw and report_title(raw) == hostile


def report_title(raw: str) -> str:
    import json

    title: str = json.loads(raw)["title"]["text"]
    return title


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/missing.html"], "cannot read '{tmp}/missing.html': No such file or directory"),
        (
            ["{page}", "--layout", "nope"],
            "unknown layout 'nope' (known: mfa.am, mfa.gov.az, mid.ru)",
        ),
        (["http://127.0.0.1:9/en"], "cannot reach http://127.0.0.1:9/robots.txt"),
        (["{page}", "--url", "ftp://x/y"], "--url must be an http(s) URL"),
    ],
)
def test_bad_input_is_one_line(
    mfawatch: Any, tmp_path: Path, args: list[str], message: str
) -> None:
    page = saved(tmp_path, political())
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{page}", page) for a in args]
    result = mfawatch("layout", "check", *argv)
    assert result.code == 2
    expected = f"mfawatch: error: {message.replace('{tmp}', str(tmp_path))}"
    assert result.stderr.startswith(expected) and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_custom_layout_of_the_sites_file_is_tried_by_name(
    db_url: str, tmp_path: Path, mirror: MirrorServer
) -> None:
    # A layout no site uses yet, with a drop selector BeautifulSoup's selector engine compiles
    # (not a simple one) and a date that only dateparser reads.
    extra = (
        '[layouts."trial"]\nextends = "mfa.gov.az"\n[layouts."trial".extract]\n'
        'drop = ["div.share > span"]\n'
    )
    sites = write_sites(tmp_path / "sites.toml", mirror, extra=extra)
    html = content_page(
        mission="seoul", lang="ru", title="Политическое сотрудничество",
        paragraphs=["Первый абзац.", "Второй абзац."], last_updated="28 февраля 2023",
    )  # fmt: skip
    share = '<div class="share"><span>Поделиться</span></div>'
    html = html.replace("<p>Первый абзац.</p>", f"{share}<p>Первый абзац.</p>")
    report = Mfawatch(db_url, sites).json(
        "layout", "check", saved(tmp_path, html), "--layout", "trial"
    )
    assert report["layout"] == {"name": "trial", "chosen": "--layout"}
    assert {"rule": "drop div.share > span", "text": "Поделиться"} in report["dropped"]
    assert report["paragraphs"] == ["Первый абзац.", "Второй абзац."]
    date = report["date"]
    assert (date["raw"], date["date"], date["format"]) == (
        "28 февраля 2023",
        "2023-02-28",
        "dateparser",
    )
    assert date["label"] in RULES.date_labels["ru"]
