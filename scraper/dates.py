"""Declared dates: a date text read strictly, and machine-readable values found and read.

parse_declared reads what a label line says. The other date sources (kernel.config.DATE_SOURCE)
are a <meta> value, a JSON-LD property, a <time datetime> in the date scope and the
Last-Modified header: each finder gives the value as written, or None; read_machine reads one.
The page is hostile: an oversized value, JSON that does not parse or nests without end, a
property of the wrong type is no value, never an error. scraper.extract tries the layout's
sources in order and keeps the first date.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import deque
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

from lxml import etree
from parsel import Selector

# A numeric date's three fields, and a clock time, in the declared text.
_NUMERIC_DATE = re.compile(r"(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})")
_CLOCK = re.compile(r"\d{1,2}:\d{2}")
# strptime directives that read a time of day.
_TIME_DIRECTIVES = re.compile(r"%[HIMSXp]")
HEADER = "header:Last-Modified"
# A longer value is no date (a declared line's date text is shorter still).
MAX_VALUE = 100
# JSON-LD blocks read per page, and their size: a relations page's metadata is a few kB.
MAX_JSONLD_BLOCKS = 20
MAX_JSONLD_CHARS = 1_000_000
# Objects and lists looked into per block, outer ones first.
MAX_JSONLD_NODES = 10_000

_LOWER = ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# <meta property|name|itemprop="..." content="...">; names compared without case, as HTML does.
_META = etree.XPath(
    "//meta[translate(@property, $up, $low) = $name or translate(@name, $up, $low) = $name"
    " or translate(@itemprop, $up, $low) = $name]/@content"
)
_JSONLD = etree.XPath(
    "//script[contains(translate(@type, $up, $low), 'application/ld+json')]",
)
_TIME = etree.XPath("descendant-or-self::time[normalize-space(@datetime)]/@datetime")
_STRING = etree.XPath("string()")
# ISO 8601's extended calendar form, as <time>, OpenGraph and schema.org write it: a date, then
# optionally a time (seconds and a fraction optional) and a zone.
_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<clock>\d{2}:\d{2}(?::\d{2})?)(?:[.,]\d{1,9})?"
    r"(?P<zone>[Zz]|[+-](?P<hours>\d{2})(?::?(?P<minutes>\d{2}))?)?)?",
    re.ASCII,  # digits 0-9 only, as ISO 8601 writes them
)


class Declared(NamedTuple):
    """A declared date as read: a date, and the time of day when the text gives one."""

    date: dt.date | None
    time: dt.time | None = None
    note: str | None = None  # why there is no date
    matched: str | None = None  # the date_formats entry that read it, or "dateparser"


def parse_declared(raw: str, formats: tuple[str, ...], lang: str, order: str = "DMY") -> Declared:
    """Parse a declared date, strictly: an impossible or ambiguous date is no date, never a guess.

    The layout's formats are applied to the text as written, time included; dateparser reads
    what they do not (month names in other languages), in the layout's date order, except a
    numeric date whose day and month could be either way.

    >>> parse_declared("28.02.2023", ("%d.%m.%Y",), "en")
    Declared(date=datetime.date(2023, 2, 28), time=None, note=None, matched='%d.%m.%Y')
    >>> parse_declared("10/03/2017 - 08:59", ("%m/%d/%Y - %H:%M",), "en")[:2]
    (datetime.date(2017, 10, 3), datetime.time(8, 59))
    >>> parse_declared("10/13/2017", (), "en", "MDY").date
    datetime.date(2017, 10, 13)
    >>> parse_declared("03/10/2017", ("%d.%m.%Y",), "en", "MDY").date is None
    True
    >>> parse_declared("31.02.2023", ("%d.%m.%Y",), "en").date is None
    True
    >>> parse_declared("28 февраля 2023", ("%d.%m.%Y",), "ru").date
    datetime.date(2023, 2, 28)
    """
    read = _strptime(raw, formats)  # the site's own formats first: exact, and quick
    if read is not None:
        return read
    if _ambiguous(raw, order):
        return Declared(
            None,
            note=f"declared date {raw!r} is ambiguous (day and month could be either way) and "
            "matches none of the layout's date_formats: kept as written, not read",
        )
    # Month names in other languages, and whatever else dateparser reads; imported here, as
    # it costs more to import than most crawls spend on dates.
    import dateparser

    found = dateparser.parse(
        raw,
        date_formats=list(formats),
        languages=[lang] if lang else None,
        settings={
            "STRICT_PARSING": True,
            "REQUIRE_PARTS": ["day", "month", "year"],
            "DATE_ORDER": order,
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    if found is None:
        return Declared(None, note=f"declared date {raw!r} is not a valid date")
    # dateparser gives midnight for a date alone: the time is the page's only if it wrote one.
    return Declared(
        found.date(), found.time() if _CLOCK.search(raw) else None, matched="dateparser"
    )


def _strptime(raw: str, formats: tuple[str, ...]) -> Declared | None:
    for fmt in formats:
        try:
            parsed = dt.datetime.strptime(raw, fmt)
        except ValueError:
            continue
        clock = parsed.time() if _TIME_DIRECTIVES.search(fmt) else None
        return Declared(parsed.date(), clock, matched=fmt)
    return None


def _ambiguous(raw: str, order: str) -> bool:
    """A numeric date whose day and month fields could be swapped and give another date."""
    match = _NUMERIC_DATE.search(raw)
    if match is None:
        return False
    fields = match.groups()
    # The year is the four-digit field; with two-digit years, where the layout's order puts it.
    year = next((i for i in (0, 2) if len(fields[i]) == 4), order.index("Y"))
    first, second = (int(f) for i, f in enumerate(fields) if i != year)
    return first != second and first <= 12 and second <= 12


def read_machine(raw: str, source: str, formats: tuple[str, ...]) -> Declared:
    """A machine-readable value: an HTTP date from the header; from the page, ISO 8601, else
    one of the layout's date_formats exactly (no guessing: a value of neither is no date).

    >>> read_machine("2023-02-28T10:15+04:00", "jsonld:dateModified", ())[:2]
    (datetime.date(2023, 2, 28), datetime.time(10, 15))
    >>> read_machine("28.02.2023", "meta:date", ("%d.%m.%Y",)).date
    datetime.date(2023, 2, 28)
    """
    if source == HEADER:
        read = read_http_date(raw)
        if read is None:
            return Declared(None, note=f"declared date {raw!r} ({source}) is not an HTTP date")
        return Declared(*read, matched="HTTP date")
    iso = read_iso(raw)
    if iso is not None:
        return Declared(*iso, matched="ISO 8601")
    # Machine-written values are ASCII (strptime would read other scripts' digits too).
    read_as_formatted = _strptime(raw, formats) if raw.isascii() else None
    if read_as_formatted is not None:
        return read_as_formatted
    note = f"declared date {raw!r} ({source}) is not ISO 8601, nor in the layout's date_formats"
    return Declared(None, note=note)


def find_value(
    source: str, page: Selector, scopes: tuple[str, ...], last_modified: str | None
) -> tuple[str, int | None] | None:
    """The value a machine-readable source gives, as written, and for "time" the index of the
    date_scope selector it was found in; None if the page (or the response) has none."""
    kind, _, name = source.partition(":")
    if kind == "time":
        for index, css in enumerate(scopes):
            for block in page.css(css):
                value = time_value(block)
                if value is not None:
                    return value, index
        return None
    if kind == "header":
        value = _bounded(last_modified) if last_modified else None
    elif kind == "meta":
        value = meta_value(page, name)
    else:
        value = jsonld_value(page, name)
    return None if value is None else (value, None)


def meta_value(page: Selector, name: str) -> str | None:
    """The first non-empty content of a <meta> whose property, name or itemprop is ``name``."""
    root = page.root
    if not isinstance(root, etree._Element):
        return None
    up, low = _LOWER
    for content in _META(root, name=name.lower(), up=up, low=low):
        value = _bounded(str(content))
        if value:
            return value
    return None


def jsonld_value(page: Selector, key: str) -> str | None:
    """The first string value of ``key`` in the page's JSON-LD blocks, outer objects first
    (an @graph's or a list's members come after the object that holds them).

    >>> page = Selector(text='<script type="application/ld+json">{"@graph": [{"@type": '
    ...     '"WebPage", "dateModified": "2023-02-28T10:15:00+04:00"}]}</script>')
    >>> jsonld_value(page, "dateModified")
    '2023-02-28T10:15:00+04:00'
    """
    root = page.root
    if not isinstance(root, etree._Element):
        return None
    up, low = _LOWER
    for script in _JSONLD(root, up=up, low=low)[:MAX_JSONLD_BLOCKS]:
        text = str(_STRING(script))
        if len(text) > MAX_JSONLD_CHARS:
            continue
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # not JSON; digits past int's limit; too deep
            continue
        found = _property(data, key)
        if found is not None:
            return found
    return None


def time_value(block: Selector) -> str | None:
    """The first non-empty datetime of a <time> in ``block`` (one of the date scope's)."""
    root = block.root
    if not isinstance(root, etree._Element):
        return None
    for value in _TIME(root):
        bounded = _bounded(str(value))
        if bounded:
            return bounded
    return None


def read_iso(raw: str) -> tuple[dt.date, dt.time | None] | None:
    """An ISO 8601 date, or date and time, as written: the zone is dropped, as a declared
    line's time is kept without one, and so is a fraction of a second. None if it is not one.

    >>> read_iso("2023-02-28T10:15:30.5+04:00")
    (datetime.date(2023, 2, 28), datetime.time(10, 15, 30))
    >>> read_iso("2023-02-28"), read_iso("2023-02-30"), read_iso("yesterday")
    ((datetime.date(2023, 2, 28), None), None, None)
    """
    match = _ISO.fullmatch(raw.strip())
    if match is None:
        return None
    if match["zone"] and (int(match["hours"] or 0) > 23 or int(match["minutes"] or 0) > 59):
        return None
    try:
        date = dt.date.fromisoformat(match["date"])
        clock = dt.time.fromisoformat(match["clock"]) if match["clock"] else None
    except ValueError:
        return None
    return date, clock


def read_http_date(raw: str) -> tuple[dt.date, dt.time] | None:
    """An HTTP date (Last-Modified), as written (GMT, as HTTP sends it).

    >>> read_http_date("Tue, 28 Feb 2023 10:15:00 GMT")
    (datetime.date(2023, 2, 28), datetime.time(10, 15))
    >>> read_http_date("Tue, 31 Feb 2023 10:15:00 GMT") is None
    True
    """
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed.date(), parsed.time()


def _property(data: Any, key: str) -> str | None:
    """The first string value of ``key`` in ``data``, breadth first, looking into at most
    MAX_JSONLD_NODES objects and lists (JSON from a page may be anything, of any size)."""
    queue: deque[Any] = deque([data])
    looked = 0
    while queue and looked < MAX_JSONLD_NODES:
        node = queue.popleft()
        looked += 1
        if isinstance(node, dict):
            value = _string_value(node.get(key))
            if value is not None:
                return value
            queue.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            queue.extend(v for v in node if isinstance(v, dict | list))
    return None


def _string_value(value: Any) -> str | None:
    """A property's value as a string: itself, an expanded {"@value": ...}, or the first of
    a list of either; None for any other type."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str | dict)), None)
    if isinstance(value, dict):
        value = value.get("@value")
    return _bounded(value) if isinstance(value, str) else None


def _bounded(value: str) -> str | None:
    value = " ".join(value.split())
    return value if 0 < len(value) <= MAX_VALUE else None
