"""Two more ministries as layouts only (issue 12, item 8): the Armenian MFA (`mfa.am`) and the
Russian MFA (`mid.ru`), each a TOML file in kernel/layouts/ and nothing else of its own.

Their saved pages (tests/fixtures/mfa.am/, tests/fixtures/mid.ru/) carry the quirks the
ministries are known for: Russian dates with genitive month names ("5 марта 2021"), two <h1>
on a page, a page whose text a script draws (empty body), and mid.ru's bot screen ("Data
processing... Please, wait."). `mfawatch layout check` reads each file offline; then a real
crawl of the same pages served on two loopback hosts archives them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kernel.config import load_layout
from mfawatch.mirror import MirrorServer
from tests.conftest import FAST, Mfawatch
from tests.support import fixture_site

FIXTURES = Path(__file__).with_name("fixtures")
ARMENIA, RUSSIA = FIXTURES / "mfa.am", FIXTURES / "mid.ru"
BLOCKED = "blocked by a bot-protection page ('Data processing... Please, wait.')"


def check(mfawatch: Mfawatch, file: Path, layout: str, url: str) -> tuple[int, dict[str, Any]]:
    result = mfawatch("layout", "check", str(file), "--layout", layout, "--url", url, "--json")
    assert result.stderr == ""
    return result.code, result.json()


def kept(report: dict[str, Any]) -> list[str]:
    return [link["key"] for link in report["menu_links"] if link["kept"]]


def test_the_layouts_are_shipped_files() -> None:
    for name in ("mfa.am", "mid.ru"):
        assert load_layout(name).name == name


# -- layout check on the saved pages -----------------------------------------------------------


def test_armenia_start_page_links_every_country(mfawatch: Mfawatch) -> None:
    _, report = check(
        mfawatch, ARMENIA / "en/bilateral-relations/index.html", "mfa.am",
        "https://www.mfa.am/en/bilateral-relations/",
    )  # fmt: skip
    assert kept(report) == [f"mfa.am/en/bilateral-relations/{c}" for c in ("fr", "de", "us")]
    # Multilateral pages (the EU in the country list, the UN in the menu) are not countries.
    rejected = {link["url"]: link["rejected"] for link in report["menu_links"]}
    assert rejected["https://www.mfa.am/en/multilateral-relations/eu"] == "pattern"
    assert rejected["https://www.mfa.am/en/multilateral-relations/un"] == "pattern"


@pytest.mark.parametrize(
    ("page", "title", "raw", "label", "fmt"),
    [
        ("en/bilateral-relations/fr.html", "France", "5 March 2021", "Last updated", "%d %B %Y"),
        # The genitive month name, read in the page's language.
        ("ru/bilateral-relations/fr.html", "Франция", "5 марта 2021", "Обновлено", "dateparser"),
    ],
)
def test_armenia_country_page_has_title_text_and_date(
    mfawatch: Mfawatch, page: str, title: str, raw: str, label: str, fmt: str
) -> None:
    code, report = check(mfawatch, ARMENIA / page, "mfa.am", f"https://www.mfa.am/{page[:-5]}")
    assert code == 0 and report["outcome"] == "ok"
    assert report["title"]["text"] == title
    date = report["date"]
    assert (date["raw"], date["date"], date["label"], date["format"]) == (
        raw, "2021-03-05", label, fmt,
    )  # fmt: skip
    assert report["paragraphs"][0].startswith(("Diplomatic relations", "Дипломатические"))
    assert [d["rule"] for d in report["dropped"]] == ["drop .share"]


def test_armenia_page_without_a_date_line_extracts_without_one(mfawatch: Mfawatch) -> None:
    code, report = check(
        mfawatch, ARMENIA / "en/bilateral-relations/de.html", "mfa.am",
        "https://www.mfa.am/en/bilateral-relations/de",
    )  # fmt: skip
    assert code == 0 and report["date"] is None
    assert {"rule": "repeats the title", "text": "Germany"} in report["dropped"]


def test_a_script_rendered_page_is_an_extraction_failure(mfawatch: Mfawatch) -> None:
    code, report = check(
        mfawatch, ARMENIA / "en/bilateral-relations/us.html", "mfa.am",
        "https://www.mfa.am/en/bilateral-relations/us",
    )  # fmt: skip
    assert code == 1 and report["outcome"] == "extraction_failed"
    assert report["error"].startswith("body is empty")
    assert report["title"]["text"] == "United States of America" and report["paragraphs"] == []


def test_russia_takes_the_title_from_the_second_h1(mfawatch: Mfawatch) -> None:
    page = RUSSIA / "ru/maps/am/1710911/index.html"
    assert page.read_text(encoding="utf-8").count("<h1") == 2
    code, report = check(mfawatch, page, "mid.ru", "https://mid.ru/ru/maps/am/1710911/")
    assert code == 0
    assert report["title"]["text"] == "Российско-армянские отношения"  # not the ministry's name
    date = report["date"]
    assert (date["raw"], date["date"], date["label"]) == (
        "5 марта 2021", "2021-03-05", "Дата изменения",
    )  # fmt: skip
    assert len(report["paragraphs"]) == 3
    assert {d["rule"] for d in report["dropped"]} == {"drop .share-block", "drop .print-link"}


def test_russia_country_page_keeps_only_the_bilateral_section(mfawatch: Mfawatch) -> None:
    _, report = check(mfawatch, RUSSIA / "ru/maps/am/index.html", "mid.ru",
                      "https://mid.ru/ru/maps/am/")  # fmt: skip
    assert kept(report) == [f"mid.ru/ru/maps/am/{n}" for n in (1710911, 1720154, 1745230)]
    # The embassy and consulate share the URL shape, under another heading.
    rejected = [link["rejected"] for link in report["menu_links"] if "Посольство" in link["text"]]
    assert rejected == ["section"]


def test_russia_interstitial_is_a_block_not_a_page(mfawatch: Mfawatch) -> None:
    code, report = check(mfawatch, RUSSIA / "interstitial.html", "mid.ru",
                         "https://mid.ru/ru/maps/am/1720154/")  # fmt: skip
    assert code == 1
    assert (report["outcome"], report["error"]) == ("blocked", BLOCKED)
    screen = mfawatch("layout", "check", str(RUSSIA / "interstitial.html"), "--layout", "mid.ru")
    assert f"outcome blocked: {BLOCKED}" in screen.stdout


# -- a crawl of both ministries, served ---------------------------------------------------------


@pytest.fixture
def ministries() -> Iterator[tuple[MirrorServer, MirrorServer]]:
    with MirrorServer() as armenia, MirrorServer(host="127.0.0.2") as russia:
        armenia.set_site(fixture_site(ARMENIA))
        russia.set_site(fixture_site(RUSSIA))
        yield armenia, russia


@pytest.fixture
def crawler(db_url: str, tmp_path: Path, ministries: tuple[MirrorServer, MirrorServer]) -> Mfawatch:
    armenia, russia = ministries
    settings = "\n".join(f"{name} = {json.dumps(value)}" for name, value in FAST.items())
    starts = [armenia.url("/en/bilateral-relations/"), armenia.url("/ru/bilateral-relations/")]
    sites = tmp_path / "sites.toml"
    sites.write_text(
        f'contact = "tests@mfawatch.invalid"\n[settings]\n{settings}\n'
        f'[[sites]]\nname = "am"\nlayout = "mfa.am"\nstart_urls = {json.dumps(starts)}\n'
        f'[[sites]]\nname = "ru"\nlayout = "mid.ru"\n'
        f'start_urls = ["{russia.url("/ru/maps/am/")}"]\n',
        encoding="utf-8",
    )
    return Mfawatch(db_url, sites)


def fetches(mfawatch: Mfawatch, url: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = mfawatch.json("history", url)["fetches"]
    return result


def test_a_crawl_archives_both_ministries(
    crawler: Mfawatch, ministries: tuple[MirrorServer, MirrorServer]
) -> None:
    armenia, russia = ministries
    crawler.crawl()
    pages = {p["key"].split("/", 1)[1]: p for p in crawler.json("pages")}
    assert set(pages) == {
        "en/bilateral-relations/fr", "en/bilateral-relations/de", "en/bilateral-relations/us",
        "ru/bilateral-relations/fr",
        "ru/maps/am/1710911", "ru/maps/am/1720154", "ru/maps/am/1745230",
    }  # fmt: skip
    # Title, text and the declared date where the page has one.
    declared = {key: (p["title"], p["last_updated"]) for key, p in pages.items()}
    assert declared == {
        "en/bilateral-relations/fr": ("France", "2021-03-05"),
        "en/bilateral-relations/de": ("Germany", None),
        "en/bilateral-relations/us": (None, None),
        "ru/bilateral-relations/fr": ("Франция", "2021-03-05"),
        "ru/maps/am/1710911": ("Российско-армянские отношения", "2021-03-05"),
        "ru/maps/am/1720154": ("Договорно-правовая база", None),
        "ru/maps/am/1745230": ("Межрегиональное сотрудничество", "2023-12-19"),
    }
    shown = crawler.json("show", russia.url("/ru/maps/am/1710911/"))
    assert shown["text"].splitlines()[0] == "Российско-армянские отношения"
    assert "Договор о дружбе, сотрудничестве и взаимной помощи" in shown["text"]
    assert "Поделиться" not in shown["text"] and "Министерство" not in shown["text"]
    # The script-drawn page: a failed extraction, no text, no change.
    us = armenia.url("/en/bilateral-relations/us")
    [failed] = fetches(crawler, us)
    assert failed["outcome"] == "extraction_failed" and "body is empty" in failed["error"]
    assert pages["en/bilateral-relations/us"]["status"] == "broken"
    # The embassies under another heading were never asked for.
    assert russia.hits("/ru/maps/am/1709920/") == 0
    assert crawler.json("changes", "--status", "all") == []  # the baseline queues nothing


def test_an_interstitial_is_recorded_as_blocked_not_as_a_change(
    crawler: Mfawatch, ministries: tuple[MirrorServer, MirrorServer]
) -> None:
    _, russia = ministries
    crawler.crawl()
    page = russia.url("/ru/maps/am/1720154/")
    before = crawler.json("show", page)
    russia.set("/ru/maps/am/1720154/", (RUSSIA / "interstitial.html").read_bytes())
    crawler.crawl()
    last = fetches(crawler, page)[-1]
    assert (last["outcome"], last["http_status"], last["error"]) == ("failed", 200, BLOCKED)
    assert crawler.json("history", page)["status"] == "active"
    assert crawler.json("changes", "--status", "all") == []
    assert crawler.json("show", page)["text"] == before["text"]
    # The block lifts: the same text, nothing recorded.
    russia.set_site(fixture_site(RUSSIA))
    crawler.crawl()
    assert fetches(crawler, page)[-1]["outcome"] == "unchanged"
    assert crawler.json("changes", "--status", "all") == []
