"""Sites and layouts: read from TOML, checked once, then plain frozen values.

A *layout* says how a family of sites is built (which links are relations pages, where title,
body and the "last updated" line are). A *site* names a layout and its start URLs. Layouts ship
in ``kernel/layouts/``; a sites file may add its own under ``[layouts."name"]``, optionally
``extends = "<built-in>"`` to replace only the keys it gives.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
import reprlib
import string
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from kernel.errors import ConfigError

LAYOUTS_DIR = Path(__file__).with_name("layouts")
DEFAULT_SITES = Path(__file__).with_name("sites.toml")

# Every key each table may hold: any other is a typo, named with the nearest valid key.
# ([settings] holds Scrapy settings and is open; see SETTINGS below.)
TOP_KEYS = ("contact", "settings", "sites", "directories", "layouts", "notify", "schedule")
SITE_KEYS = ("name", "layout", "start_urls", "allowed_domains", "schedule")
DIRECTORY_KEYS = ("name", "layout", "list_urls", "hosts", "start_paths", "site_name", "schedule")
LAYOUT_KEYS = (
    "name", "languages", "strip_path_prefixes", "menus", "sitemaps", "pages", "extract",
)  # fmt: skip
PAGE_KEYS = ("name", "url_pattern", "identity", "section", "link_text")
EXTRACT_KEYS = (
    "title", "body", "date_scope", "drop", "drop_text", "not_found_text", "date_labels",
    "date_formats", "date_order", "blocked_text", "date_sources",
)  # fmt: skip
DATE_ORDERS = ("DMY", "MDY", "YMD")
# Where a declared date may come from (extract.date_sources), tried in the order given: the
# visible label line, a <meta> value, a JSON-LD property, a <time datetime> in the date scope,
# the Last-Modified header. A source is stored with each fetch that took its date from it.
DATE_SOURCE = re.compile(
    r"label|time|meta:[A-Za-z0-9_.:-]+|jsonld:[A-Za-z0-9_@.:-]+|header:Last-Modified", re.I
)
DATE_SOURCE_LENGTH = 100  # storage.models: Fetch.declared_source
LABEL_SOURCE = "label"  # the visible "last updated" line, found by its label

# The [settings] that mfawatch or Scrapy read as numbers or switches: (kind, least value,
# whether the least is allowed). A wrong value would otherwise fail inside Scrapy, mid-crawl.
# Other names pass through as they are.
_NUMBER, _INT, _BOOL = "a number", "a whole number", "true or false"
SETTINGS: dict[str, tuple[str, int, bool]] = {
    **dict.fromkeys(
        ("DOWNLOAD_TIMEOUT", "DNS_TIMEOUT", "AUTOTHROTTLE_TARGET_CONCURRENCY"), (_NUMBER, 0, False)
    ),
    **dict.fromkeys(
        (
            "DOWNLOAD_DELAY", "AUTOTHROTTLE_START_DELAY", "AUTOTHROTTLE_MAX_DELAY",
            "MFAWATCH_RETRY_BACKOFF", "MFAWATCH_RETRY_BACKOFF_MAX", "CLOSESPIDER_TIMEOUT",
            "CLOSESPIDER_TIMEOUT_NO_ITEM", "LOGSTATS_INTERVAL",
        ),
        (_NUMBER, 0, True),
    ),
    **dict.fromkeys(
        (
            "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN", "CONCURRENT_ITEMS",
            "REACTOR_THREADPOOL_MAXSIZE",
        ),
        (_INT, 1, True),
    ),
    **dict.fromkeys(
        (
            "RETRY_TIMES", "REDIRECT_MAX_TIMES", "DOWNLOAD_MAXSIZE",
            "DOWNLOAD_WARNSIZE", "CLOSESPIDER_PAGECOUNT", "CLOSESPIDER_ITEMCOUNT",
            "CLOSESPIDER_ERRORCOUNT", "DEPTH_LIMIT", "DNSCACHE_SIZE", "MEMUSAGE_LIMIT_MB",
            "MEMUSAGE_WARNING_MB", "URLLENGTH_LIMIT",
        ),
        (_INT, 0, True),
    ),
    **dict.fromkeys(
        (
            "ROBOTSTXT_OBEY", "COOKIES_ENABLED", "COOKIES_DEBUG", "AUTOTHROTTLE_ENABLED",
            "AUTOTHROTTLE_DEBUG", "RETRY_ENABLED", "REDIRECT_ENABLED", "METAREFRESH_ENABLED",
            "TELNETCONSOLE_ENABLED", "RANDOMIZE_DOWNLOAD_DELAY", "HTTPCACHE_ENABLED",
            "DNSCACHE_ENABLED", "DOWNLOADER_STATS", "LOG_ENABLED", "MEMUSAGE_ENABLED",
            "DOWNLOAD_FAIL_ON_DATALOSS", "COMPRESSION_ENABLED", "HTTPERROR_ALLOW_ALL",
            "STATS_DUMP",
        ),
        (_BOOL, 0, True),
    ),
}  # fmt: skip
# A type selector, classes, or both: scraper/extract.py drops these without BeautifulSoup's
# selector engine (soupsieve), so only the other drop selectors need it to compile them.
_SIMPLE_SELECTOR = re.compile(r"(?ai)(?P<name>[a-z][\w-]*)?(?P<classes>(?:\.-?[a-z_][\w-]*)*)")


@dataclass(frozen=True)
class PageRule:
    """Which URLs (and menu links) are relations pages, and how their identity is formed.

    A menu link matching ``url_pattern`` is a relations page when it sits under a submenu whose
    heading is one of ``section`` (any language); on a page whose menus have no such heading
    (a flat menu), when its text matches ``link_text``. Without either, every match is one.
    """

    name: str
    url_pattern: re.Pattern[str]
    identity: str
    link_text: re.Pattern[str] | None = None
    # Headings by language, as written; compared as section_key() folds them.
    section: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def section_keys(self) -> frozenset[str]:
        return frozenset(section_key(h) for hs in self.section.values() for h in hs)


@dataclass(frozen=True)
class Extraction:
    title: tuple[str, ...]
    body: tuple[str, ...]
    date_scope: tuple[str, ...]
    drop: tuple[str, ...]
    drop_text: tuple[re.Pattern[str], ...]
    not_found_text: tuple[re.Pattern[str], ...]
    date_labels: dict[str, tuple[str, ...]]
    date_formats: tuple[str, ...]
    # The order of a numeric date that matches none of date_formats: "DMY", "MDY" or "YMD".
    date_order: str = "DMY"
    # A page without the body whose text matches one of these is a bot-protection screen:
    # recorded as blocked (a failed fetch), not as the layout failing.
    blocked_text: tuple[re.Pattern[str], ...] = ()
    # Where the declared date comes from, in order (DATE_SOURCE): the first that gives a date.
    date_sources: tuple[str, ...] = ("label",)


@dataclass(frozen=True)
class Layout:
    name: str
    languages: tuple[str, ...]
    strip_path_prefixes: tuple[str, ...]
    menus: tuple[str, ...]
    pages: tuple[PageRule, ...]
    extract: Extraction
    # Paths on each site read for page URLs: robots.txt (its Sitemap: lines), sitemaps or
    # sitemap indexes. Empty: menus only.
    sitemaps: tuple[str, ...] = ()


@dataclass(frozen=True)
class PageId:
    """A page's identity: host, language and key; the exact URL string may vary."""

    host: str
    lang: str
    key: str

    def __str__(self) -> str:
        return f"{self.host}/{self.lang}/{self.key}"


@dataclass(frozen=True)
class Site:
    name: str
    layout: Layout
    start_urls: tuple[str, ...]
    allowed_domains: tuple[str, ...]
    schedule: str | None = None


@dataclass(frozen=True)
class Directory:
    """A page listing a ministry's missions: each linked host that ``hosts`` matches (whole)
    is watched as a site of its own, named by ``site_name`` (a template over the host and the
    pattern's groups), with this layout and these start paths. See kernel.directory."""

    name: str
    layout: Layout
    list_urls: tuple[str, ...]
    hosts: re.Pattern[str]
    start_paths: tuple[str, ...]
    site_name: str
    schedule: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    sites: tuple[Site, ...]
    contact: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    schedule: str | None = None  # the default for sites without their own
    # Apprise URLs carry tokens and passwords: kept out of reprs, logs and output.
    notify: tuple[str, ...] = field(default=(), repr=False)
    # The file's own [layouts], also those no site uses yet, by name.
    own_layouts: dict[str, Layout] = field(default_factory=dict, repr=False)
    directories: tuple[Directory, ...] = ()
    # Of ``sites``, those a directory listed (kernel.directory.with_missions): site -> directory.
    discovered: dict[str, str] = field(default_factory=dict, repr=False)

    def directory(self, name: str) -> Directory | None:
        return next((d for d in self.directories if d.name == name), None)

    def site(self, name: str) -> Site:
        for site in self.sites:
            if site.name == name:
                return site
        known = ", ".join(s.name for s in self.sites) or "none"
        raise ConfigError(f"{self.path}: no site named {name!r} (sites: {known})")

    def layouts(self) -> list[Layout]:
        return list({s.layout.name: s.layout for s in self.sites}.values())

    def layout(self, name: str) -> Layout:
        """A layout by name: the sites file's own, else a built-in one."""
        if name in self.own_layouts:
            return self.own_layouts[name]
        try:
            return load_layout(name)
        except ConfigError as exc:
            if not str(exc).startswith("unknown layout"):
                raise
            known = sorted({p.stem for p in LAYOUTS_DIR.glob("*.toml")} | set(self.own_layouts))
            raise ConfigError(f"unknown layout {name!r} (known: {', '.join(known)})") from None


def layout_fingerprint(layout: Layout) -> str:
    """A short hash of everything in a layout: it changes when any selector or rule does.

    It hashes a canonical JSON dump, not ``repr()``: a compiled pattern's repr is cut at 200
    characters, so an edit past that point of a long ``url_pattern`` would not show.
    """
    dump = json.dumps(_canonical(layout), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(dump.encode("utf-8")).hexdigest()[:16]


def _canonical(value: Any) -> Any:
    """Plain JSON values for a layout's parts: dataclasses as dicts, patterns with flags."""
    if isinstance(value, re.Pattern):
        return {"pattern": value.pattern, "flags": value.flags}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    return value


def section_key(heading: str) -> str:
    """A menu heading as section names are compared: spaces collapsed, case folded.

    >>> section_key("  Bilateral\\n relations ") == section_key("BILATERAL RELATIONS")
    True
    """
    return " ".join(heading.split()).casefold()


def page_identity(layout: Layout, url: str) -> tuple[PageId, PageRule] | None:
    """The identity of a relations page's URL under ``layout``, or None if it is not one.

    >>> layout = load_layout("mfa.gov.az")
    >>> a, _ = page_identity(layout, "https://www.Seoul.mfa.gov.az/index.php/en/content/35")
    >>> b, _ = page_identity(layout, "http://seoul.mfa.gov.az/en/content/35/political-cooperation")
    >>> c, _ = page_identity(layout, "https://seoul.mfa.gov.az:443/en/content/35/")
    >>> a == b == c, str(a)
    (True, 'seoul.mfa.gov.az/en/content/35')
    >>> page_identity(layout, "https://seoul.mfa.gov.az/en/news/12/visit") is None
    True
    """
    try:
        parts = urlsplit(url)
        host = _host(parts)
    except ValueError:  # not a URL that parses (`http://[::1/en`, a port past 65535)
        return None
    path = parts.path or "/"
    for prefix in layout.strip_path_prefixes:
        if path.startswith(prefix + "/"):
            path = path[len(prefix) :]
    for rule in layout.pages:
        match = rule.url_pattern.match(path)
        if match:
            groups = match.groupdict()
            return PageId(host, groups["lang"], rule.identity.format(**groups)), rule
    return None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load a sites file: ``path``, else $MFAWATCH_CONFIG, ./sites.toml, the shipped default.

    Everything in it is checked here, once (keys, types, selectors, patterns, URLs, settings):
    a mistake is a ConfigError naming the file, the site or layout and the key, never a
    failure in the middle of a crawl.
    """
    chosen = Path(path or os.environ.get("MFAWATCH_CONFIG") or _default_sites_path())
    data = _read_toml(chosen)
    _check_keys(data, TOP_KEYS, f"{chosen}: top level")
    custom = data.get("layouts", {})
    if not isinstance(custom, dict):
        raise ConfigError(f"{chosen}: [layouts] must be a table of layouts by name")
    cache: dict[str, Layout] = {}
    for name in custom:  # every layout of the file, also one that no site uses yet
        try:
            cache[name] = load_layout(name, custom)
        except ConfigError as exc:
            raise ConfigError(f"{chosen}: {exc}") from None
    sites_data = data.get("sites", [])
    directories_data = data.get("directories", [])
    if not isinstance(directories_data, list):
        raise ConfigError(f"{chosen}: 'directories' must be [[directories]] tables")
    if not isinstance(sites_data, list) or not (sites_data or directories_data):
        raise ConfigError(f"{chosen}: no [[sites]] (or [[directories]]) entries")
    sites = tuple(_site(chosen, i, raw, custom, cache) for i, raw in enumerate(sites_data))
    directories = tuple(
        _directory(chosen, i, raw, custom, cache) for i, raw in enumerate(directories_data)
    )
    # A directory's name is a site's in the archive too (its runs are the list's readings).
    names = [s.name for s in sites] + [d.name for d in directories]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            f"{chosen}: site and directory names must be unique; repeated: {', '.join(dupes)}"
        )
    _check_hosts(chosen, sites)
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{chosen}: [settings] must be a table of Scrapy settings")
    for name, value in settings.items():
        problem = setting_problem(name, value)
        if problem:
            raise ConfigError(f"{chosen}: [settings] {name}: {problem}")
    contact = _optional_string(chosen, data, "contact", "top level")
    notify = data.get("notify", [])
    if not isinstance(notify, list) or not all(isinstance(u, str) for u in notify):
        raise ConfigError(f"{chosen}: 'notify' must be a list of Apprise URLs")
    notify = [*notify, *os.environ.get("MFAWATCH_NOTIFY", "").split()]
    schedule = _optional_string(chosen, data, "schedule", "top level")
    return Config(
        chosen,
        sites,
        contact=contact or None,
        settings=settings,
        schedule=schedule or None,
        notify=tuple(notify),
        own_layouts={n: cache[n] for n in custom},
        directories=directories,
    )


def load_layout(name: str, custom: dict[str, Any] | None = None) -> Layout:
    """A layout by name: one from the sites file's [layouts], else a built-in one."""
    raw = _layout_data(name, custom or {}, seen=())
    try:
        return _layout(name, raw)
    except ValueError as exc:
        raise ConfigError(f"layout {name!r}: {exc}") from None


def setting_problem(name: str, value: Any) -> str | None:
    """What is wrong with a Scrapy setting's value from the sites file, or None.

    >>> setting_problem("DOWNLOAD_DELAY", "abc")
    "expected a number, got 'abc'"
    >>> setting_problem("DOWNLOAD_TIMEOUT", -5)
    'must be more than 0, got -5'
    >>> setting_problem("ITEM_PIPELINES", {}) is None  # not a number: passed on as it is
    True
    """
    if name not in SETTINGS:
        return None
    kind, least, allowed = SETTINGS[name]
    if kind == _BOOL:
        ok = isinstance(value, bool) or (type(value) is int and value in (0, 1))  # as Scrapy
    else:
        number = isinstance(value, int) if kind == _INT else isinstance(value, int | float)
        ok = number and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            return f"must be a finite number, got {value!r}"
    if not ok:
        return f"expected {kind}, got {_show(value)}"
    if kind != _BOOL and (value < least if allowed else value <= least):
        return f"must be {f'{least} or more' if allowed else f'more than {least}'}, got {value!r}"
    return None


def _default_sites_path() -> Path:
    local = Path("sites.toml")
    return local if local.is_file() else DEFAULT_SITES


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read sites file ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: not UTF-8: byte {data[exc.start : exc.start + 1]!r} at offset {exc.start}"
            f" (line {line}); save the file as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _check_keys(table: dict[str, Any], valid: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in valid:
            near = difflib.get_close_matches(key, valid, n=1)
            hint = f"did you mean {near[0]!r}?" if near else f"valid: {', '.join(valid)}"
            raise ConfigError(f"{where}: unknown key {key!r} ({hint})")


def _layout_data(name: str, custom: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    if name in seen:
        raise ConfigError(f"layout {name!r} extends itself ({' -> '.join((*seen, name))})")
    if name in custom:
        if not isinstance(custom[name], dict):
            raise ConfigError(f"layout {name!r}: [layouts.{name}] must be a table")
        own = dict(custom[name])
        base_name = own.pop("extends", None)
        _check_keys(own, (*LAYOUT_KEYS, "extends"), f"layout {name!r}")
        if base_name is None:
            return own
        if not isinstance(base_name, str):
            raise ConfigError(f"layout {name!r}: 'extends' must name a layout")
        try:
            base = _layout_data(base_name, custom, (*seen, name))
        except ConfigError as exc:
            if str(exc).startswith("layout "):
                raise
            raise ConfigError(f"layout {name!r}: extends = {base_name!r}: {exc}") from None
        merged = {**base, **own}
        if isinstance(base.get("extract"), dict) and isinstance(own.get("extract"), dict):
            merged["extract"] = {**base["extract"], **own["extract"]}
        return merged
    builtin = LAYOUTS_DIR / f"{name}.toml"
    if not builtin.is_file():
        known = sorted({p.stem for p in LAYOUTS_DIR.glob("*.toml")} | set(custom))
        raise ConfigError(f"unknown layout {name!r} (known: {', '.join(known)})")
    return _read_toml(builtin)


def _layout(name: str, raw: dict[str, Any]) -> Layout:
    """A checked layout; every mistake is a ValueError that names its key."""
    try:
        _check_keys(raw, LAYOUT_KEYS, "top level")
        ex = raw.get("extract")
        if not isinstance(ex, dict):
            raise ValueError(f"[extract] must be a table of selectors, got {_show(ex)}")
        _check_keys(ex, EXTRACT_KEYS, "extract")
        pages_data = raw.get("pages")
        if not isinstance(pages_data, list):
            raise ValueError(f"pages: expected [[pages]] rules, got {_show(pages_data)}")
        if not pages_data:
            raise ValueError("needs at least one [[pages]] rule")
        pages = tuple(_page_rule(i, p) for i, p in enumerate(pages_data))
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    labels = ex.get("date_labels", {})
    if not isinstance(labels, dict):
        raise ValueError(
            f'extract.date_labels: expected a table of labels by language (en = ["Last '
            f'updated"]), got {_show(labels)}'
        )
    order = ex.get("date_order", "DMY")
    if order not in DATE_ORDERS:
        raise ValueError(
            f"extract.date_order must be one of {', '.join(DATE_ORDERS)}, got {_show(order)}"
        )
    extraction = Extraction(
        title=_selectors(ex.get("title", ["h1"]), "extract.title"),
        body=_selectors(_required(ex, "body", "extract"), "extract.body"),
        date_scope=_selectors(ex.get("date_scope", ["body"]), "extract.date_scope"),
        drop=_drop_selectors(ex.get("drop", []), "extract.drop"),
        drop_text=_regexes(ex.get("drop_text", []), "extract.drop_text"),
        not_found_text=_regexes(ex.get("not_found_text", []), "extract.not_found_text"),
        date_labels={
            str(lang): _strings(v, f"extract.date_labels.{lang}") for lang, v in labels.items()
        },
        date_formats=_strings(ex.get("date_formats", ["%d.%m.%Y"]), "extract.date_formats"),
        date_order=order,
        blocked_text=_regexes(ex.get("blocked_text", []), "extract.blocked_text"),
        date_sources=_date_sources(ex.get("date_sources", ["label"])),
    )
    _string(raw.get("name", name), "name")
    menus = _selectors(raw.get("menus", ["nav"]), "menus", suffix=" a[href]")  # as the spider
    return Layout(
        name=name,  # a built-in file's own `name` is only a label
        languages=_strings(raw.get("languages", list(labels)), "languages"),
        strip_path_prefixes=_strings(raw.get("strip_path_prefixes", []), "strip_path_prefixes"),
        menus=menus,
        pages=pages,
        extract=extraction,
        sitemaps=_sitemaps(raw.get("sitemaps", [])),
    )


def _page_rule(i: int, raw: Any) -> PageRule:
    where = f"pages #{i + 1}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: each [[pages]] rule must be a table")
    _check_keys(raw, PAGE_KEYS, where)
    pattern = _regex(_string(_required(raw, "url_pattern", where), f"{where}.url_pattern"),
                     f"{where}.url_pattern")  # fmt: skip
    if "lang" not in pattern.groupindex:
        raise ValueError(f"{where}.url_pattern: {pattern.pattern!r} needs a (?P<lang>...) group")
    identity = _string(_required(raw, "identity", where), f"{where}.identity")
    groups = ", ".join(pattern.groupindex)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(identity) if f is not None]
        for field in fields:
            if field not in pattern.groupindex:
                raise ValueError(
                    f"{where}.identity: {identity!r} names {{{field}}}, which is not a group of "
                    f"url_pattern (groups: {groups})"
                )
        identity.format(**dict.fromkeys(pattern.groupindex, "x"))
    except (ValueError, IndexError, KeyError, AttributeError) as exc:
        if str(exc).startswith(where):
            raise
        raise ValueError(f"{where}.identity: {identity!r} is not a template ({exc})") from None
    link_text = raw.get("link_text")
    section = raw.get("section", {})
    if not isinstance(section, dict) or ("section" in raw and not section):
        raise ValueError(
            f'{where}.section: expected a table of menu headings by language (en = ["Bilateral '
            f'relations"]), got {_show(section)}'
        )
    headings = {str(lang): _strings(v, f"{where}.section.{lang}") for lang, v in section.items()}
    for lang, texts in headings.items():
        if not texts or not all(section_key(t) for t in texts):
            raise ValueError(f"{where}.section.{lang}: expected headings, got {_show(texts)}")
    return PageRule(
        name=_string(raw.get("name", identity), f"{where}.name"),
        url_pattern=pattern,
        identity=identity,
        link_text=_regex(_string(link_text, f"{where}.link_text"), f"{where}.link_text")
        if link_text
        else None,
        section=headings,
    )


def _sitemaps(value: Any) -> tuple[str, ...]:
    """Sitemap paths: each on the site itself (a path, not a URL), so a crawl stays on it."""
    paths = _strings(value, "sitemaps")
    for path in paths:
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError(
                f'sitemaps: {path!r} is not a path on the site (such as "/robots.txt" or '
                '"/sitemap.xml")'
            )
    return paths


def _date_sources(value: Any) -> tuple[str, ...]:
    """The date sources as written, each one of DATE_SOURCE, none twice.

    >>> _date_sources(["label", "meta:article:modified_time", "header:last-modified"])
    ('label', 'meta:article:modified_time', 'header:Last-Modified')
    """
    key = "extract.date_sources"
    sources = []
    for written in _strings(value, key):
        if len(written) > DATE_SOURCE_LENGTH or not DATE_SOURCE.fullmatch(written):
            raise ValueError(
                f'{key}: unknown source {_show(written)} (expected "label", "time", '
                '"meta:<name>", "jsonld:<property>" or "header:Last-Modified")'
            )
        kind, _, name = written.partition(":")
        kind = kind.lower()
        # Header names are case-insensitive; meta names and JSON-LD properties are not.
        source = "header:Last-Modified" if kind == "header" else f"{kind}:{name}".rstrip(":")
        if source in sources:
            raise ValueError(f"{key}: {source!r} is listed twice")
        sources.append(source)
    return tuple(sources)


def _site(path: Path, i: int, raw: Any, custom: dict[str, Any], cache: dict[str, Layout]) -> Site:
    where = f"{path}: site #{i + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: each [[sites]] entry must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][\w.-]*", name):
        raise ConfigError(f"{where}: 'name' must be a word like \"embassy-seoul\"")
    where = f"{path}: site {name!r}"
    _check_keys(raw, SITE_KEYS, where)
    layout = _named_layout(where, raw, custom, cache)
    urls = _urls(raw, "start_urls", where)
    domains = raw.get("allowed_domains")
    if domains is None:
        domains = sorted({(urlsplit(u).hostname or "").removeprefix("www.") for u in urls})
    elif not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
        raise ConfigError(f"{where}: 'allowed_domains' must be a list of host names")
    schedule = _optional_string(path, raw, "schedule", f"site {name!r}")
    return Site(
        name=name,
        layout=layout,
        start_urls=tuple(urls),
        allowed_domains=tuple(domains),
        schedule=schedule or None,
    )


def _urls(raw: dict[str, Any], key: str, where: str) -> list[str]:
    """A non-empty list of http(s) URLs, each parsed as the crawl parses it (ports too)."""
    urls = raw.get(key)
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise ConfigError(f"{where}: {key!r} must be a non-empty list of URLs")
    for url in urls:
        try:
            parts = urlsplit(url)
            _host(parts)  # reads the port, which checks it
        except ValueError as exc:
            raise ConfigError(f"{where}: {key}: not a valid URL: {url!r} ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{where}: {key}: not an http(s) URL: {url!r}")
    return urls


def _directory(
    path: Path, i: int, raw: Any, custom: dict[str, Any], cache: dict[str, Layout]
) -> Directory:
    where = f"{path}: directory #{i + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: each [[directories]] entry must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][\w.-]*", name):
        raise ConfigError(f"{where}: 'name' must be a word like \"az-missions\"")
    where = f"{path}: directory {name!r}"
    _check_keys(raw, DIRECTORY_KEYS, where)
    layout = _named_layout(where, raw, custom, cache)
    list_urls = _urls(raw, "list_urls", where)
    for key in ("hosts", "start_paths"):
        if key not in raw:
            raise ConfigError(f"{where}: missing key {key!r}")
    try:
        hosts = _regex(_string(raw["hosts"], "hosts"), "hosts")
        paths = _strings(raw["start_paths"], "start_paths")
        site_name = _string(
            raw.get("site_name", "{mission}" if "mission" in hosts.groupindex else "{host}"),
            "site_name",
        )
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not paths or not all(p.startswith("/") and not p.startswith("//") for p in paths):
        raise ConfigError(
            f'{where}: start_paths: expected paths on each mission\'s site (such as "/en"), '
            f"got {_show(list(paths))}"
        )
    _check_site_name(where, site_name, hosts)
    schedule = _optional_string(path, raw, "schedule", f"directory {name!r}")
    return Directory(
        name=name,
        layout=layout,
        list_urls=tuple(list_urls),
        hosts=hosts,
        start_paths=paths,
        site_name=site_name,
        schedule=schedule or None,
    )


def _named_layout(
    where: str, raw: dict[str, Any], custom: dict[str, Any], cache: dict[str, Layout]
) -> Layout:
    """The layout a site or directory names, loaded once per file."""
    layout_name = raw.get("layout")
    if not isinstance(layout_name, str):
        raise ConfigError(f"{where}: 'layout' must name a layout")
    if layout_name not in cache:
        try:
            cache[layout_name] = load_layout(layout_name, custom)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return cache[layout_name]


def _check_site_name(where: str, site_name: str, hosts: re.Pattern[str]) -> None:
    """A mission's name template names {host} or groups of the hosts pattern, nothing else."""
    groups = ("host", *hosts.groupindex)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(site_name) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"{where}: site_name: {site_name!r} is not a template ({exc})") from None
    for field_name in fields:
        if field_name not in groups:
            raise ConfigError(
                f"{where}: site_name: {site_name!r} names {{{field_name}}}, which is neither "
                f"{{host}} nor a group of 'hosts' (groups: {', '.join(groups)})"
            )
    if not fields:
        raise ConfigError(f"{where}: site_name: {site_name!r} names no {{host}} or group")


def url_host(url: str) -> str:
    """The host of ``url`` as page identities name it (see _host); "" if it does not parse."""
    try:
        return _host(urlsplit(url))
    except ValueError:
        return ""


def _host(parts: SplitResult) -> str:
    """A URL's host as page identities name it: lower case, no www., a port unless the default."""
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _check_hosts(path: Path, sites: tuple[Site, ...]) -> None:
    # A page's identity starts with its host, and each identity belongs to one site: a second
    # site on the same host would fail every crawl on the archive's unique page keys.
    owner: dict[str, str] = {}
    for site in sites:
        for host in dict.fromkeys(_host(urlsplit(u)) for u in site.start_urls):
            first = owner.setdefault(host, site.name)
            if first != site.name:
                raise ConfigError(
                    f"{path}: sites {first!r} and {site.name!r} both start on host {host!r}; "
                    "a host belongs to one site (put all its start_urls in one [[sites]])"
                )


def _required(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ValueError(f"{where}: missing key {key!r}")
    return table[key]


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {_show(value)}")
    return value


def _optional_string(path: Path, table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{path}: {where}: {key!r} must be a string, got {_show(value)}")
    return value


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key}: expected a list of strings, got {_show(value)}")
    return tuple(value)


def _regex(pattern: str, key: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{key}: bad regular expression {pattern!r}: {exc.msg}") from None


def _regexes(value: Any, key: str) -> tuple[re.Pattern[str], ...]:
    return tuple(_regex(p, key) for p in _strings(value, key))


def _selectors(value: Any, key: str, suffix: str = "") -> tuple[str, ...]:
    """CSS selectors compiled as the crawl compiles them, each followed by ``suffix`` as the
    crawl asks for it: by cssselect, with the two pseudo-elements parsel adds (``::text``,
    ``::attr(name)``). Not through parsel itself: importing it costs a query command (which
    reads the sites file for page identities) half a second."""
    from cssselect import HTMLTranslator, SelectorError, parse
    from cssselect.parser import FunctionalPseudoElement

    selectors = _strings(value, key)
    translator = HTMLTranslator()
    for css in selectors:
        try:
            for selector in parse(css + suffix):
                translator.selector_to_xpath(selector)
                pseudo = selector.pseudo_element
                if isinstance(pseudo, FunctionalPseudoElement):
                    ok = pseudo.name == "attr" and pseudo.argument_types() in (
                        ["STRING"],
                        ["IDENT"],
                    )
                else:
                    ok = pseudo in (None, "text")
                if not ok:
                    raise SelectorError(
                        f"parsel knows only ::text and ::attr(name), not ::{pseudo}"
                    )
        except SelectorError as exc:
            raise ValueError(f"{key}: bad CSS selector {css!r}: {exc}") from None
    return selectors


def _drop_selectors(value: Any, key: str) -> tuple[str, ...]:
    """Drop selectors compiled as BeautifulSoup compiles them (soupsieve), when it does."""
    selectors = _strings(value, key)
    hard = [css for css in selectors if not (css and _SIMPLE_SELECTOR.fullmatch(css))]
    if hard:
        import soupsieve

        for css in hard:
            try:
                soupsieve.compile(css)
            except (soupsieve.SelectorSyntaxError, NotImplementedError) as exc:
                reason = str(exc).splitlines()[0]  # soupsieve adds lines pointing at the spot
                raise ValueError(f"{key}: bad CSS selector {css!r}: {reason}") from None
    return selectors


def _show(value: Any) -> str:
    """A value from the file, shortened, for a message."""
    return reprlib.repr(value)
