"""The sites file and layouts: what loads, what a custom layout changes, what each mistake says,
and how URLs map to page identities.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kernel.config import (
    DEFAULT_SITES,
    SETTINGS,
    load_config,
    load_layout,
    page_identity,
    setting_problem,
)
from kernel.errors import ConfigError
from mfawatch.cli import app

LAYOUT = load_layout("mfa.gov.az")

SITE = """
[[sites]]
name = "seoul"
layout = "{layout}"
start_urls = ["https://seoul.mfa.gov.az/en"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message, "messages are one line"
    assert str(path) in message, "messages name the file"
    return message


# -- what loads --------------------------------------------------------------------------------


def test_shipped_sites_file_loads() -> None:
    config = load_config(DEFAULT_SITES)
    names = [s.name for s in config.sites]
    assert "embassy-seoul" in names
    assert len(names) == len(set(names))
    seoul = config.site("embassy-seoul")
    assert seoul.layout.name == "mfa.gov.az"
    assert seoul.start_urls
    assert seoul.allowed_domains == ("seoul.mfa.gov.az",)
    # No made-up contact: whoever runs the crawl sets their own (a crawl says how).
    assert config.contact is None
    assert "contact =" not in DEFAULT_SITES.read_text(encoding="utf-8").replace("# contact", "")


def test_shipped_sites_file_watches_the_ministrys_country_pages() -> None:
    main = load_config(DEFAULT_SITES).site("mfa-main")
    assert main.start_urls == tuple(f"https://mfa.gov.az/{lang}" for lang in ("en", "az", "ru"))
    for lang in ("en", "az", "ru"):
        found = page_identity(main.layout, f"https://mfa.gov.az/{lang}/category/avropa/cexiya")
        assert found is not None and str(found[0]) == f"mfa.gov.az/{lang}/category/avropa/cexiya"


def test_environment_variable_picks_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, SITE.format(layout="mfa.gov.az"))
    monkeypatch.setenv("MFAWATCH_CONFIG", str(path))
    assert [s.name for s in load_config().sites] == ["seoul"]


def test_unknown_site_name_lists_the_known_ones() -> None:
    config = load_config(DEFAULT_SITES)
    with pytest.raises(ConfigError, match="embassy-seoul"):
        config.site("embassy-atlantis")


def test_custom_layout_replaces_only_the_body(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        SITE.format(layout="mine")
        + """
[layouts.mine]
extends = "mfa.gov.az"

[layouts.mine.extract]
body = ["div.section_article_text"]
""",
    )
    layout = load_config(path).site("seoul").layout
    assert layout.name == "mine"
    assert layout.extract.body == ("div.section_article_text",)
    # Everything else is the built-in layout's.
    base = LAYOUT.extract
    assert layout.extract.title == base.title
    assert layout.extract.date_labels == base.date_labels
    assert layout.extract.drop_text == base.drop_text
    assert layout.extract.date_formats == base.date_formats
    assert layout.pages == LAYOUT.pages
    assert layout.menus == LAYOUT.menus
    assert layout.strip_path_prefixes == LAYOUT.strip_path_prefixes


def test_custom_layout_can_extend_a_custom_layout(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        SITE.format(layout="child")
        + """
[layouts.parent]
extends = "mfa.gov.az"
menus = ["nav"]

[layouts.child]
extends = "parent"
[layouts.child.extract]
title = ["h2"]
""",
    )
    layout = load_config(path).site("seoul").layout
    assert layout.menus == ("nav",)
    assert layout.extract.title == ("h2",)
    assert layout.extract.body == LAYOUT.extract.body


# -- mistakes ----------------------------------------------------------------------------------


def test_bad_toml(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[[sites]\nname = 'x'\n")
    assert "TOML" in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match=r"nowhere\.toml"):
        load_config(path)


def test_no_sites(tmp_path: Path) -> None:
    assert "[[sites]]" in load_error(tmp_path, 'contact = "me@example.org"\n')


def test_duplicate_site_names(tmp_path: Path) -> None:
    text = SITE.format(layout="mfa.gov.az") * 2
    message = load_error(tmp_path, text)
    assert "unique" in message and "seoul" in message


def test_unknown_layout(tmp_path: Path) -> None:
    message = load_error(tmp_path, SITE.format(layout="mfa.gov.tr"))
    assert "unknown layout 'mfa.gov.tr'" in message
    assert "mfa.gov.az" in message  # says which layouts exist


@pytest.mark.parametrize(
    "url", ["seoul.mfa.gov.az/en", "ftp://seoul.mfa.gov.az/en", "https:///en", "not a url"]
)
def test_bad_start_url(tmp_path: Path, url: str) -> None:
    text = SITE.format(layout="mfa.gov.az").replace("https://seoul.mfa.gov.az/en", url)
    message = load_error(tmp_path, text)
    assert "http(s) URL" in message and repr(url) in message


def test_empty_start_urls(tmp_path: Path) -> None:
    text = SITE.format(layout="mfa.gov.az").replace('["https://seoul.mfa.gov.az/en"]', "[]")
    assert "start_urls" in load_error(tmp_path, text)


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("[layouts.mine.extract]", 'drop_text = ["(unclosed"]'),
        ("[layouts.mine.extract]", 'not_found_text = ["[z-a]"]'),
        ("[layouts.mine.extract]", 'blocked_text = ["(?P<"]'),
        ("[[layouts.mine.pages]]", "url_pattern = '^/(?P<lang>[a-z]{2})/(' \nidentity = 'x'"),
    ],
)
def test_bad_regex(tmp_path: Path, table: str, key: str) -> None:
    text = SITE.format(layout="mine") + f'[layouts.mine]\nextends = "mfa.gov.az"\n{table}\n{key}\n'
    message = load_error(tmp_path, text)
    assert "bad regular expression" in message
    assert "'mine'" in message


def test_page_rule_without_a_lang_group(tmp_path: Path) -> None:
    text = (
        SITE.format(layout="mine")
        + '[layouts.mine]\nextends = "mfa.gov.az"\n[[layouts.mine.pages]]\n'
        + "url_pattern = '^/content/(?P<id>\\d+)$'\nidentity = 'content/{id}'\n"
    )
    assert "lang" in load_error(tmp_path, text)


def test_identity_naming_a_missing_group(tmp_path: Path) -> None:
    text = (
        SITE.format(layout="mine")
        + '[layouts.mine]\nextends = "mfa.gov.az"\n[[layouts.mine.pages]]\n'
        + "url_pattern = '^/(?P<lang>[a-z]{2})/(?P<id>\\d+)$'\nidentity = 'content/{slug}'\n"
    )
    assert "slug" in load_error(tmp_path, text)


def test_layout_extending_itself(tmp_path: Path) -> None:
    text = SITE.format(layout="loop") + '[layouts.loop]\nextends = "loop"\n'
    assert "extends itself" in load_error(tmp_path, text)


def test_layouts_extending_each_other(tmp_path: Path) -> None:
    text = SITE.format(layout="a") + '[layouts.a]\nextends = "b"\n[layouts.b]\nextends = "a"\n'
    assert "extends itself" in load_error(tmp_path, text)


def test_bad_site_name(tmp_path: Path) -> None:
    text = SITE.format(layout="mfa.gov.az").replace('"seoul"', '"has spaces"')
    assert "name" in load_error(tmp_path, text)


def test_a_layout_gives_its_date_order(tmp_path: Path) -> None:
    assert LAYOUT.extract.date_order == "DMY"  # mfa.gov.az writes 28.02.2023
    extract = '[layouts.mine]\nextends = "mfa.gov.az"\n[layouts.mine.extract]\ndate_order = "{}"\n'
    path = write(tmp_path, SITE.format(layout="mine") + extract.format("MDY"))
    assert load_config(path).site("seoul").layout.extract.date_order == "MDY"
    message = load_error(tmp_path, SITE.format(layout="mine") + extract.format("mdy"))
    assert "date_order must be one of DMY, MDY, YMD" in message and "'mdy'" in message


def test_labels_must_be_lists(tmp_path: Path) -> None:
    # A plain string where a list belongs would otherwise be read letter by letter.
    text = (
        SITE.format(layout="mine")
        + '[layouts.mine]\nextends = "mfa.gov.az"\n[layouts.mine.extract]\nbody = "div.x"\n'
    )
    assert "list of strings" in load_error(tmp_path, text)


# -- page identity -----------------------------------------------------------------------------


def key_of(url: str) -> str | None:
    found = page_identity(LAYOUT, url)
    return None if found is None else str(found[0])


@pytest.mark.parametrize(
    "url",
    [
        "https://seoul.mfa.gov.az/en/content/35/political-cooperation",
        "https://www.seoul.mfa.gov.az/en/content/35/political-cooperation",
        "https://seoul.mfa.gov.az/index.php/en/content/35/political-cooperation",
        "https://seoul.mfa.gov.az/en/content/35",
        "https://seoul.mfa.gov.az/en/content/35/",
        "https://seoul.mfa.gov.az/en/content/35/political-cooperation/",
        "http://seoul.mfa.gov.az/en/content/35/political-cooperation",
        "https://SEOUL.mfa.gov.az/en/content/35/siyasi-emekdasliq",
        "http://www.seoul.mfa.gov.az/index.php/en/content/35/",
        "https://seoul.mfa.gov.az/en/content/35/political-cooperation#top",
    ],
)
def test_url_variants_are_one_page(url: str) -> None:
    assert key_of(url) == "seoul.mfa.gov.az/en/content/35"


def test_identity_keeps_host_language_and_id_apart() -> None:
    keys = {
        key_of("https://seoul.mfa.gov.az/en/content/35"),
        key_of("https://seoul.mfa.gov.az/az/content/35"),
        key_of("https://seoul.mfa.gov.az/en/content/36"),
        key_of("https://bern.mfa.gov.az/en/content/35"),
    }
    assert len(keys) == 4


def test_country_pages() -> None:
    assert key_of("https://mfa.gov.az/en/category/avropa/cexiya") == (
        "mfa.gov.az/en/category/avropa/cexiya"
    )
    assert key_of("http://www.mfa.gov.az/index.php/en/category/avropa/cexiya/") == (
        "mfa.gov.az/en/category/avropa/cexiya"
    )
    found = page_identity(LAYOUT, "https://mfa.gov.az/az/category/asiya/koreya")
    assert found is not None and found[1].name == "country" and found[0].lang == "az"


@pytest.mark.parametrize(
    "url",
    [
        "https://seoul.mfa.gov.az/en",
        "https://seoul.mfa.gov.az/",
        "https://seoul.mfa.gov.az/en/news/12/visit",
        "https://seoul.mfa.gov.az/en/category/news",
        "https://seoul.mfa.gov.az/en/category/news?page=2",
        "https://mfa.gov.az/en/category/avropa",
        "https://seoul.mfa.gov.az/files/shares/agreement.pdf",
        "https://seoul.mfa.gov.az/en/content/abc",
        "https://seoul.mfa.gov.az/en/content/35/a/b",
        "https://seoul.mfa.gov.az/english/content/35",
        "mailto:seoul@mission.mfa.gov.az",
    ],
)
def test_other_urls_are_not_relations_pages(url: str) -> None:
    assert key_of(url) is None


def test_link_text_rule_separates_relations_from_other_content() -> None:
    # /content/{id} also holds consular and contact pages: the link text decides.
    _, rule = page_identity(LAYOUT, "https://seoul.mfa.gov.az/en/content/142") or (None, None)
    assert rule is not None and rule.link_text is not None
    for text in ("Political cooperation", "Siyasi əməkdaşlıq", "Политическое сотрудничество"):
        assert rule.link_text.search(text), text
    for text in ("Consular issues", "Contact", "Konsulluq məsələləri"):
        assert not rule.link_text.search(text), text


# -- every mistake, through the real command ---------------------------------------------------

# One site, on a port nothing listens on: a mistake the file's reading misses would show as a
# crawl (and its tracebacks) instead of one line.
GOOD = """\
[[sites]]
name = "seoul"
layout = "mine"
start_urls = ["http://127.0.0.1:9/en"]

[layouts.mine]
extends = "mfa.gov.az"
"""
MINE = '[layouts.mine]\nextends = "mfa.gov.az"\n'
PAGES = (
    "[[layouts.mine.pages]]\nurl_pattern = '^/(?P<lang>[a-z]{2})/content/(?P<id>\\d+)$'\n"
    "identity = 'content/{id}'\n"
)


def mine(extra: str) -> str:
    """GOOD with ``extra`` added to the layout's table."""
    return GOOD.replace(MINE, MINE + extra)


def extract(line: str) -> str:
    return GOOD + f"[layouts.mine.extract]\n{line}\n"


BAD_SITES: dict[str, str | bytes] = {
    # selectors: each list, compiled as the crawl would
    "css-body": extract('body = ["div..article"]'),
    "css-title-pseudo-element": extract('title = ["h1::foo"]'),
    "css-date_scope": extract('date_scope = ["main >"]'),
    "css-drop": extract('drop = ["p:has("]'),
    "css-drop-pseudo-element": extract('drop = ["p::text"]'),
    "css-menus": mine('menus = ["nav["]\n'),
    "css-menus-pseudo-element": mine('menus = ["nav::text"]\n'),
    # unknown keys, at every level
    "key-top": 'notfy = ["json://localhost"]\n' + GOOD,
    "key-site": GOOD.replace("start_urls", 'start_url = ["http://127.0.0.1:9/az"]\nstart_urls'),
    "key-layout": GOOD.replace("extends =", "extend ="),
    "key-extract": extract('bodyy = ["div.x"]'),
    "key-pages": GOOD + PAGES.replace("identity", "identiti"),
    # wrong types
    "type-notify": "notify = 5\n" + GOOD,
    "type-contact": "contact = 5\n" + GOOD,
    "type-schedule": GOOD.replace("layout =", "schedule = 6\nlayout ="),
    "type-date_labels": extract('date_labels = ["a"]'),
    "type-date_labels-language": extract('date_labels = {en = "Updated"}'),
    "type-extract": mine('extract = "nope"\n'),
    "type-pages": mine("pages = 5\n"),
    "type-menus": mine('menus = "nav"\n'),
    "extends-unknown": GOOD.replace('extends = "mfa.gov.az"', 'extends = "mfa.gov.tr"'),
    "type-extends": GOOD.replace('extends = "mfa.gov.az"', "extends = 1"),
    "type-layout-table": GOOD.replace(MINE, "[layouts]\nmine = 5\n"),
    "type-allowed_domains": GOOD.replace("layout =", "allowed_domains = 5\nlayout ="),
    "date_order": extract('date_order = "DDMMYY"'),
    # patterns
    "identity-missing-group": GOOD + PAGES.replace("content/{id}", "content/{slug}"),
    "identity-positional": GOOD + PAGES.replace("content/{id}", "content/{0}"),
    "identity-attribute": GOOD + PAGES.replace("content/{id}", "content/{id.real}"),
    "identity-unclosed": GOOD + PAGES.replace("content/{id}", "content/{id"),
    "regex-url_pattern": GOOD + PAGES.replace("content/(?P<id>", "content/((?P<id>"),
    "regex-link_text": GOOD + PAGES + "link_text = '(?i)[z-a]'\n",
    # menu sections and sitemaps
    "type-section": GOOD + PAGES + 'section = "Bilateral relations"\n',
    "type-section-language": GOOD + PAGES + 'section = {en = "Bilateral relations"}\n',
    "empty-section": GOOD + PAGES + "section = {}\n",
    "empty-section-heading": GOOD + PAGES + 'section = {en = ["  "]}\n',
    "key-section": GOOD + PAGES + 'sections = {en = ["Bilateral relations"]}\n',
    "type-sitemaps": mine('sitemaps = "/robots.txt"\n'),
    "url-sitemaps": mine('sitemaps = ["https://elsewhere.example/sitemap.xml"]\n'),
    "key-sitemaps": mine('sitemap = ["/robots.txt"]\n'),
    "regex-drop_text": extract('drop_text = ["(unclosed"]'),
    # start URLs
    "url-ipv6": GOOD.replace("http://127.0.0.1:9/en", "http://[::1/en"),
    "url-port": GOOD.replace("127.0.0.1:9", "127.0.0.1:99999"),
    "url-port-word": GOOD.replace("127.0.0.1:9", "127.0.0.1:http"),
    # bytes
    "not-utf8": GOOD.encode().replace(b'"seoul"', b'"seoul\xe9"'),
    # settings mfawatch or Scrapy read as numbers or switches
    "setting-download_delay": '[settings]\nDOWNLOAD_DELAY = "abc"\n' + GOOD,
    "setting-download_timeout": "[settings]\nDOWNLOAD_TIMEOUT = -5\n" + GOOD,
    "setting-concurrent_requests": "[settings]\nCONCURRENT_REQUESTS = 0\n" + GOOD,
    "setting-retry_times": "[settings]\nRETRY_TIMES = 1.5\n" + GOOD,
    "setting-robotstxt_obey": '[settings]\nROBOTSTXT_OBEY = "no"\n' + GOOD,
    "setting-backoff": "[settings]\nMFAWATCH_RETRY_BACKOFF = inf\n" + GOOD,
    # two sites on one host
    "shared-host": GOOD
    + GOOD.replace('"seoul"', '"seoul-again"').replace("/en", "/az").replace(MINE, ""),
}


@pytest.mark.parametrize("command", [["crawl"], ["schedule", "--every", "6h"]])
@pytest.mark.parametrize("case", sorted(BAD_SITES))
def test_a_bad_sites_file_is_one_line_from_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, command: list[str]
) -> None:
    # The two commands that read the sites file: it is checked as a whole, before anything
    # runs. In process, as the query tests run the command: an exception escaping it is the
    # traceback a user would see.
    path = tmp_path / "sites.toml"
    content = BAD_SITES[case]
    path.write_bytes(content if isinstance(content, bytes) else content.encode())

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a bad sites file got as far as opening the database")

    monkeypatch.setattr("storage.db.open_database", never)  # nor a crawl, nor the service
    args = ["--db", f"sqlite:///{tmp_path}/never.db", "--config", str(path), *command]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mfawatch: error: {path}: "), result.stderr


def test_a_bad_sites_file_in_a_real_process(tmp_path: Path) -> None:
    path = write(tmp_path, BAD_SITES["css-body"])
    proc = subprocess.run(
        [sys.executable, "-m", "mfawatch", "--db", f"sqlite:///{tmp_path}/never.db", "--config",
         str(path), "crawl"],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        f"mfawatch: error: {path}: layout 'mine': extract.body: bad CSS selector "
        "'div..article': Expected ident, got <DELIM '.' at 4>\n"
    )


def test_the_good_sites_file_of_those_cases_loads(tmp_path: Path) -> None:
    # Each case is this file with one mistake: the mistake is what is refused.
    load_config(write(tmp_path, GOOD + PAGES))
    section = 'section = {en = ["Bilateral relations"]}\n'
    config = load_config(write(tmp_path, mine('sitemaps = ["/robots.txt"]\n') + PAGES + section))
    layout = config.sites[0].layout
    assert layout.sitemaps == ("/robots.txt",)
    assert layout.pages[0].section == {"en": ("Bilateral relations",)}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("type-section", "pages #1.section: expected a table of menu headings by language"),
        ("type-section-language", "pages #1.section.en: expected a list of strings"),
        ("url-sitemaps", "sitemaps: 'https://elsewhere.example/sitemap.xml' is not a path on"),
        ("key-sitemaps", "unknown key 'sitemap' (did you mean 'sitemaps'?)"),
    ],
)
def test_a_bad_section_or_sitemap_says_which_key(tmp_path: Path, case: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, BAD_SITES[case]))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "css",
    [
        "div.section_articleInner_body", "h1::text", "a::attr(href)", "a::attr('href')",
        "ul.menu > li:nth-child(2n+1) a[href^='/en']", "p:not(.share)", "h1, h2",
        "div..x", "h1::foo", "a::attr()", "a::attr(href, x)", "a::text b", "p:nth-child(x)",
        "p:hover", "p:has(b)", "main >", "", "[", "a::text, b::attr(x)",
    ],
)  # fmt: skip
def test_selectors_are_checked_as_parsel_compiles_them(tmp_path: Path, css: str) -> None:
    # The check uses cssselect without parsel (too slow to import for a query command): it
    # accepts exactly what the crawl's parsel accepts.
    from cssselect import SelectorError
    from parsel.csstranslator import HTMLTranslator

    try:
        HTMLTranslator().css_to_xpath(css)
        parsel_accepts = True
    except SelectorError:
        parsel_accepts = False
    path = write(tmp_path, extract(f"title = [{json.dumps(css)}]"))
    try:
        load_config(path)
        accepted = True
    except ConfigError as exc:
        assert "extract.title: bad CSS selector" in str(exc)
        accepted = False
    assert accepted == parsel_accepts


def test_the_checked_settings_are_real_and_their_defaults_pass() -> None:
    # A name in the table that Scrapy (or scraper/settings.py) does not know would check
    # nothing; a default the check refuses would refuse a file that only repeats it.
    import scrapy.settings.default_settings as scrapy_defaults

    import scraper.settings as ours

    for name in SETTINGS:
        defaults = [getattr(m, name) for m in (scrapy_defaults, ours) if hasattr(m, name)]
        assert defaults, f"{name} is not a Scrapy or mfawatch setting"
        for value in defaults:
            assert setting_problem(name, value) is None, (name, value)
