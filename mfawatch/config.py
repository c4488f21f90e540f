"""Sites and layouts: read from TOML, checked once, then plain frozen values.

A *layout* says how a family of sites is built (which links are relations pages, where title,
body and the "last updated" line are). A *site* names a layout and its start URLs. Layouts ship
in ``mfawatch/layouts/``; a sites file may add its own under ``[layouts."name"]``, optionally
``extends = "<built-in>"`` to replace only the keys it gives.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mfawatch.errors import ConfigError

LAYOUTS_DIR = Path(__file__).with_name("layouts")
DEFAULT_SITES = Path(__file__).with_name("sites.toml")


@dataclass(frozen=True)
class PageRule:
    """Which URLs (and link texts) are relations pages, and how their identity is formed."""

    name: str
    url_pattern: re.Pattern[str]
    identity: str
    link_text: re.Pattern[str] | None = None


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


@dataclass(frozen=True)
class Layout:
    name: str
    languages: tuple[str, ...]
    strip_path_prefixes: tuple[str, ...]
    menus: tuple[str, ...]
    pages: tuple[PageRule, ...]
    extract: Extraction


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
class Config:
    path: Path
    sites: tuple[Site, ...]
    contact: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    schedule: str | None = None  # the default for sites without their own
    # Apprise URLs carry tokens and passwords: kept out of reprs, logs and output.
    notify: tuple[str, ...] = field(default=(), repr=False)

    def site(self, name: str) -> Site:
        for site in self.sites:
            if site.name == name:
                return site
        known = ", ".join(s.name for s in self.sites) or "none"
        raise ConfigError(f"{self.path}: no site named {name!r} (sites: {known})")

    def layouts(self) -> list[Layout]:
        return list({s.layout.name: s.layout for s in self.sites}.values())


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
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
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
    """Load a sites file: ``path``, else $MFAWATCH_CONFIG, ./sites.toml, the shipped default."""
    chosen = Path(path or os.environ.get("MFAWATCH_CONFIG") or _default_sites_path())
    data = _read_toml(chosen)
    custom = data.get("layouts", {})
    if not isinstance(custom, dict):
        raise ConfigError(f"{chosen}: [layouts] must be a table of layouts by name")
    sites_data = data.get("sites")
    if not isinstance(sites_data, list) or not sites_data:
        raise ConfigError(f"{chosen}: no [[sites]] entries")
    cache: dict[str, Layout] = {}
    sites = tuple(_site(chosen, i, raw, custom, cache) for i, raw in enumerate(sites_data))
    names = [s.name for s in sites]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{chosen}: site names must be unique; repeated: {', '.join(dupes)}")
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{chosen}: [settings] must be a table of Scrapy settings")
    contact = data.get("contact")
    notify = data.get("notify", [])
    if isinstance(notify, str) or not all(isinstance(u, str) for u in notify):
        raise ConfigError(f"{chosen}: 'notify' must be a list of Apprise URLs")
    notify = [*notify, *os.environ.get("MFAWATCH_NOTIFY", "").split()]
    schedule = data.get("schedule")
    return Config(
        chosen,
        sites,
        contact=str(contact) if contact else None,
        settings=settings,
        schedule=str(schedule) if schedule else None,
        notify=tuple(notify),
    )


def load_layout(name: str, custom: dict[str, Any] | None = None) -> Layout:
    """A layout by name: one from the sites file's [layouts], else a built-in one."""
    raw = _layout_data(name, custom or {}, seen=())
    try:
        return _layout(name, raw)
    except (KeyError, TypeError, ValueError, re.error) as exc:
        raise ConfigError(f"layout {name!r}: {_describe(exc)}") from None


def _default_sites_path() -> Path:
    local = Path("sites.toml")
    return local if local.is_file() else DEFAULT_SITES


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read sites file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _layout_data(name: str, custom: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    if name in seen:
        raise ConfigError(f"layout {name!r} extends itself ({' -> '.join((*seen, name))})")
    if name in custom and isinstance(custom[name], dict):
        own = dict(custom[name])
        base_name = own.pop("extends", None)
        if base_name is None:
            return own
        base = _layout_data(str(base_name), custom, (*seen, name))
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
    ex = raw["extract"]
    labels = {str(lang): _strings(v) for lang, v in ex.get("date_labels", {}).items()}
    extraction = Extraction(
        title=_strings(ex.get("title", ["h1"])),
        body=_strings(ex["body"]),
        date_scope=_strings(ex.get("date_scope", ["body"])),
        drop=_strings(ex.get("drop", [])),
        drop_text=tuple(re.compile(p) for p in _strings(ex.get("drop_text", []))),
        not_found_text=tuple(re.compile(p) for p in _strings(ex.get("not_found_text", []))),
        date_labels=labels,
        date_formats=_strings(ex.get("date_formats", ["%d.%m.%Y"])),
        date_order=_date_order(ex.get("date_order", "DMY")),
    )
    pages = tuple(_page_rule(p) for p in raw["pages"])
    if not pages:
        raise ValueError("needs at least one [[pages]] rule")
    return Layout(
        name=name,
        languages=_strings(raw.get("languages", list(labels))),
        strip_path_prefixes=_strings(raw.get("strip_path_prefixes", [])),
        menus=_strings(raw.get("menus", ["nav"])),
        pages=pages,
        extract=extraction,
    )


def _page_rule(raw: dict[str, Any]) -> PageRule:
    pattern = re.compile(raw["url_pattern"])
    if "lang" not in pattern.groupindex:
        raise ValueError(f"url_pattern {pattern.pattern!r} needs a (?P<lang>...) group")
    identity = str(raw["identity"])
    identity.format(**dict.fromkeys(pattern.groupindex, "x"))  # every field must be a group
    link_text = raw.get("link_text")
    return PageRule(
        name=str(raw.get("name", identity)),
        url_pattern=pattern,
        identity=identity,
        link_text=re.compile(link_text) if link_text else None,
    )


def _site(path: Path, i: int, raw: Any, custom: dict[str, Any], cache: dict[str, Layout]) -> Site:
    where = f"{path}: site #{i + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: each [[sites]] entry must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][\w.-]*", name):
        raise ConfigError(f"{where}: 'name' must be a word like \"embassy-seoul\"")
    where = f"{path}: site {name!r}"
    layout_name = raw.get("layout")
    if not isinstance(layout_name, str):
        raise ConfigError(f"{where}: 'layout' must name a layout")
    if layout_name not in cache:
        try:
            cache[layout_name] = load_layout(layout_name, custom)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    urls = raw.get("start_urls")
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise ConfigError(f"{where}: 'start_urls' must be a non-empty list of URLs")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{where}: not an http(s) URL: {url!r}")
    domains = raw.get("allowed_domains") or sorted(
        {(urlsplit(u).hostname or "").removeprefix("www.") for u in urls}
    )
    schedule = raw.get("schedule")
    return Site(
        name=name,
        layout=cache[layout_name],
        start_urls=tuple(urls),
        allowed_domains=tuple(str(d) for d in domains),
        schedule=str(schedule) if schedule else None,
    )


DATE_ORDERS = ("DMY", "MDY", "YMD")


def _date_order(value: Any) -> str:
    if value not in DATE_ORDERS:
        raise ValueError(f"date_order must be one of {', '.join(DATE_ORDERS)}, got {value!r}")
    return str(value)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"expected a list of strings, got {value!r}")
    return tuple(value)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}"
    if isinstance(exc, re.error):
        return f"bad regular expression {exc.pattern!r}: {exc.msg}"
    return str(exc)
