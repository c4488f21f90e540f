"""Extraction: a page's title, body paragraphs and declared "last updated" date.

parsel (lxml) finds the layout's blocks in the whole page; BeautifulSoup then reads only the
body block, which is about ten times cheaper than parsing the whole page with it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from bs4 import BeautifulSoup, CData, NavigableString, PageElement, Tag
from lxml import etree
from parsel import Selector

from kernel.config import Extraction
from kernel.errors import ExtractionFailed, PageBlocked, PageGone
from kernel.text import clean_line, clean_paragraphs, comparison_key

# Elements that end a line of text; everything else is inline.
BLOCK_TAGS = (
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "table", "tr", "td", "th",
    "blockquote", "section", "article", "header", "footer", "pre", "dd", "dt", "dl", "figure",
    "figcaption", "address", "hr", "br",
)  # fmt: skip
_BLOCK_NAMES = frozenset(BLOCK_TAGS)
# The string types that get_text() keeps: not comments, nor script, style or template text.
_TEXT_TYPES = (NavigableString, CData)
_Matcher = Callable[[Tag], bool]
# Compiled once: lxml directly, without a parsel Selector around every candidate line.
_SHORT_LINES = etree.XPath(".//*[string-length(normalize-space()) < 200]")
_STRING = etree.XPath("string()")
# The date after a label: digits with separators, or a day, a month name and a year; then a
# time of day when the page gives one ("10/03/2017 - 08:59", "28.02.2023, 10:15 PM").
_DATE_TEXT = (
    r"(?P<date>(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}\s+\w+\.?,?\s+\d{4}|\w+\s+\d{1,2},?\s+\d{4})"
    r"(?:\s*(?:[-–,|]|at|в)?\s*\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?)?)"
)
# A numeric date's three fields, and a clock time, in the declared text.
_NUMERIC_DATE = re.compile(r"(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})")
_CLOCK = re.compile(r"\d{1,2}:\d{2}")
# strptime directives that read a time of day.
_TIME_DIRECTIVES = re.compile(r"%[HIMSXp]")


@dataclass(frozen=True)
class Matched:
    """A selector of the layout's list that matched: its place in the list (0 is the first
    choice; a later one is a fallback, used only when those before it matched nothing)."""

    css: str
    index: int

    @property
    def fallback(self) -> bool:
        return self.index > 0


@dataclass(frozen=True)
class Dropped:
    """A piece of the body left out of the archived text, and the layout rule that did it."""

    rule: str  # "drop <css>", "drop_text <regex>", "date line" or "repeats the title"
    text: str


@dataclass
class Trace:
    """How one extraction decided, for `mfawatch layout check`: filled in only when a Trace
    is passed to extract_page (the crawl passes none and pays nothing for it)."""

    title: Matched | None = None
    title_text: str | None = None
    body: Matched | None = None
    body_tried: tuple[str, ...] = ()
    date_scope: Matched | None = None  # the date_scope block the date line was found in
    date_raw: str | None = None
    date_label: str | None = None  # the layout's label that matched
    declared: Declared | None = None  # the date as read, with the format that read it
    dropped: list[Dropped] = field(default_factory=list)


@dataclass(frozen=True)
class Extracted:
    title: str | None
    paragraphs: list[str]
    declared_raw: str | None
    declared_date: dt.date | None
    note: str | None = None  # e.g. a date line that does not parse, or an ambiguous one
    declared_time: dt.time | None = None  # when the page gives a time of day
    # Layout drift: a title or body found only by a fallback selector (fallback_reason).
    drift: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The archived text: the title line, then one paragraph a line."""
        return "\n".join([self.title, *self.paragraphs] if self.title else self.paragraphs)


def extract_page(html: str, rules: Extraction, lang: str, trace: Trace | None = None) -> Extracted:
    """Extract one page, or raise ExtractionFailed saying what was missing.

    With ``trace``, also record in it which selector, label and format each step used and
    what was dropped: the same decisions, explained (`mfawatch layout check`).
    """
    page = Selector(text=html or "<html></html>")
    title_found = _first_text(page, rules.title)
    title = title_found[1] if title_found else None
    body_found = _first_html(page, rules.body)
    if trace is not None:
        trace.title, trace.title_text = title_found or (None, None)
        trace.body = body_found[0] if body_found else None
        trace.body_tried = rules.body[: body_found[0].index + 1] if body_found else rules.body
    if body_found is None:
        _check_blocked(page, rules)
        if _looks_not_found(page, rules):
            raise PageGone("soft 404: the page says it does not exist")
        raise ExtractionFailed(f"body not found (tried {', '.join(rules.body)})")
    label = _label_pattern(rules, lang)
    date_found = _find_date_line(page, rules.date_scope, label)
    declared_raw = date_found[1].group("date") if date_found else None
    paragraphs = _body_paragraphs(body_found[1], rules, trace)
    paragraphs = _drop_boilerplate(paragraphs, title, rules, label, trace)
    declared = Declared(None)
    # A page that fails is not worth its date, except to explain it.
    if declared_raw is not None and (paragraphs or trace is not None):
        declared = parse_declared(declared_raw, rules.date_formats, lang, rules.date_order)
    if trace is not None and date_found is not None:
        trace.date_scope, trace.date_raw = date_found[0], declared_raw
        trace.date_label = _which_label(rules, lang, date_found[1])
        trace.declared = declared
    if not paragraphs:
        _check_blocked(page, rules)
        raise ExtractionFailed(
            "body is empty (a script-rendered page, or an error page): "
            f"{body_found[0].css} matched, with no text"
        )
    drift = tuple(
        fallback_reason(part, found[0], selectors)
        for part, found, selectors in (
            ("title", title_found, rules.title),
            ("body", body_found, rules.body),
        )
        if found is not None and found[0].fallback
    )
    return Extracted(
        title, paragraphs, declared_raw, declared.date, declared.note, declared.time, drift
    )


def fallback_reason(part: str, found: Matched, selectors: tuple[str, ...]) -> str:
    """Why a title or body found by a fallback selector is layout drift: the choices before it
    found nothing (a redesign on its way, before extraction fails). A title's earlier choices
    may have matched empty elements: they gave no text.

    >>> fallback_reason("body", Matched("div.b", 1), ("div.a", "div.b"))
    'body matched fallback "div.b" (1st "div.a" matched nothing)'
    """
    before = ", ".join(f'{_ordinal(i)} "{css}"' for i, css in enumerate(selectors[: found.index]))
    nothing = "gave no text" if part == "title" else "matched nothing"
    return f'{part} matched fallback "{found.css}" ({before} {nothing})'


_ORDINALS = ("1st", "2nd", "3rd")


def _ordinal(index: int) -> str:
    return _ORDINALS[index] if index < len(_ORDINALS) else f"{index + 1}th"


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
    for fmt in formats:  # the site's own formats first: strptime is exact, and quick
        try:
            parsed = dt.datetime.strptime(raw, fmt)
        except ValueError:
            continue
        clock = parsed.time() if _TIME_DIRECTIVES.search(fmt) else None
        return Declared(parsed.date(), clock, matched=fmt)
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


@lru_cache(maxsize=64)
def _label_regex(labels: tuple[str, ...]) -> re.Pattern[str]:
    # Labels may be split by odd spacing or &nbsp; and followed by ":" or nothing.
    alternatives = "|".join(r"\s+".join(map(re.escape, label.split())) for label in labels)
    return re.compile(rf"(?i)(?:{alternatives})\s*:?\s*{_DATE_TEXT}")


def _labels(rules: Extraction, lang: str) -> tuple[str, ...]:
    # The page's own language first, then every other: embassies mix them.
    ordered = list(rules.date_labels.get(lang, ()))
    for labels in rules.date_labels.values():
        ordered += [label for label in labels if label not in ordered]
    # Longest first, so that "Last updated" wins over "Updated".
    return tuple(sorted(ordered, key=len, reverse=True))


def _label_pattern(rules: Extraction, lang: str) -> re.Pattern[str]:
    return _label_regex(_labels(rules, lang))


def _which_label(rules: Extraction, lang: str, match: re.Match[str]) -> str | None:
    """The layout's label that a date line's match began with (for a trace)."""
    written = match.string[match.start() : match.start("date")]
    for label in _labels(rules, lang):
        if _label_regex((label,)).match(written + match.group("date")):
            return label
    return None


def _find_date_line(
    page: Selector, scopes: tuple[str, ...], label: re.Pattern[str]
) -> tuple[Matched, re.Match[str]] | None:
    """The first date line in the date_scope blocks: the block's selector and the match."""
    for index, css in enumerate(scopes):
        for block in page.css(css):
            root = block.root
            if not isinstance(root, etree._Element):
                continue  # a text node (`::text`) holds no lines and no label
            # An element that holds only the label and a date wins over a sentence that
            # happens to mention one ("The protocol, updated 12.05.2019, ...").
            for line in _SHORT_LINES(root):
                text = clean_line(_STRING(line))
                if _is_date_line(text, label):
                    return Matched(css, index), label.match(text)  # type: ignore[return-value]
            match = label.search(clean_line(_STRING(root)))
            if match:
                return Matched(css, index), match
    return None


def _first_text(page: Selector, selectors: tuple[str, ...]) -> tuple[Matched, str] | None:
    for index, css in enumerate(selectors):
        for node in page.css(css):
            text = clean_line(node.xpath("string()").get() or "")
            if text:
                return Matched(css, index), text
    return None


def _first_html(page: Selector, selectors: tuple[str, ...]) -> tuple[Matched, str] | None:
    for index, css in enumerate(selectors):
        node = page.css(css)
        if node:
            return Matched(css, index), node[0].get()
    return None


# The visible text of a page: what a block screen says (scripts and styles are not text).
_VISIBLE_TEXT = "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript)]"


def _check_blocked(page: Selector, rules: Extraction) -> None:
    """Raise PageBlocked if a page that failed its layout is a block screen the layout names.

    Looked for only on a failing page: a good page is never taken for one, and costs nothing.
    """
    if not rules.blocked_text:
        return
    text = clean_line(" ".join(page.xpath(_VISIBLE_TEXT).getall()))
    for rx in rules.blocked_text:
        if rx.search(text):
            shown = text if len(text) <= 80 else text[:79] + "…"
            raise PageBlocked(f"blocked by a bot-protection page ({shown!r})")


def _looks_not_found(page: Selector, rules: Extraction) -> bool:
    text = clean_line(" ".join(page.css("title, h1, main, body").xpath("string()").getall()[:3]))
    return any(p.search(text) for p in rules.not_found_text)


# Ends a paragraph. Not "\n": a newline inside <p> is only white space in the HTML source, and
# a CMS that re-wraps its source must not split paragraphs (a false silent_edit).
_BREAK = "\u2029"


def _body_paragraphs(body_html: str, rules: Extraction, trace: Trace | None = None) -> list[str]:
    soup = BeautifulSoup(body_html, "lxml")
    dropped = _drop_matcher(rules.drop)
    if dropped is None:
        for css in rules.drop:
            for node in soup.select(css):
                if trace is not None:
                    trace.dropped.append(Dropped(f"drop {css}", _element_text(node)))
                node.decompose()
    elif trace is not None:
        dropped = _recording(dropped, rules.drop, trace)
    return clean_paragraphs(_block_text(soup, dropped).split(_BREAK))


def _recording(dropped: _Matcher, selectors: tuple[str, ...], trace: Trace) -> _Matcher:
    """``dropped``, noting in ``trace`` each element it drops and the selector that matched."""

    def recorded(tag: Tag) -> bool:
        if not dropped(tag):
            return False
        css = next(c for c in selectors if _drop_matcher((c,))(tag))  # type: ignore[misc]
        trace.dropped.append(Dropped(f"drop {css}", _element_text(tag)))
        return True

    return recorded


def _element_text(tag: Tag) -> str:
    return clean_line(tag.get_text(" "))


def _block_text(soup: BeautifulSoup, dropped: _Matcher | None) -> str:
    """The soup's text as get_text() gives it, without the dropped elements and with a break at
    the end of each block element: one walk, not a select per selector, find_all and get_text."""
    out: list[str] = []
    stack: list[tuple[Iterator[PageElement], bool]] = [(iter(soup.contents), False)]
    while stack:
        children, block = stack[-1]
        for child in children:
            if isinstance(child, Tag):
                if dropped is None or not dropped(child):
                    stack.append((iter(child.contents), child.name in _BLOCK_NAMES))
                    break
            elif isinstance(child, NavigableString) and type(child) in _TEXT_TYPES:
                out.append(child)
        else:
            stack.pop()
            if block:
                out.append(_BREAK)
    return "".join(out)


# A type selector, classes, or both: these match by the element alone, so skipping every
# element they match gives what removing each selector's matches in turn did.
_SIMPLE_SELECTOR = re.compile(r"(?ai)(?P<name>[a-z][\w-]*)?(?P<classes>(?:\.-?[a-z_][\w-]*)*)")


@lru_cache(maxsize=16)
def _drop_matcher(selectors: tuple[str, ...]) -> _Matcher | None:
    """Whether an element matches any of `selectors`; None unless all of them are simple."""
    names: set[str] = set()
    with_classes: list[tuple[str | None, frozenset[str]]] = []
    for css in selectors:
        simple = _SIMPLE_SELECTOR.fullmatch(css)
        if simple is None or not css:
            return None
        name, classes = simple.group("name"), simple.group("classes")
        name = name.lower() if name else None  # HTML tag names are case-insensitive
        if classes:
            with_classes.append((name, frozenset(classes[1:].split("."))))
        elif name:
            names.add(name)

    def dropped(tag: Tag) -> bool:
        if tag.name in names:
            return True
        own = tag.get("class") if with_classes else None
        if not own:
            return False
        return any(
            (name is None or name == tag.name) and wanted.issubset(own)
            for name, wanted in with_classes
        )

    return dropped


def _drop_boilerplate(
    paragraphs: list[str],
    title: str | None,
    rules: Extraction,
    label: re.Pattern[str],
    trace: Trace | None = None,
) -> list[str]:
    kept = []
    for paragraph in paragraphs:
        rule = _boilerplate_rule(paragraph, rules, label)
        if rule is None:
            kept.append(paragraph)
        elif trace is not None:
            trace.dropped.append(Dropped(rule, paragraph))
    # The site repeats the title as the body's first paragraph.
    if kept and title and comparison_key(kept[0]) == comparison_key(title):
        if trace is not None:
            trace.dropped.append(Dropped("repeats the title", kept[0]))
        kept = kept[1:]
    return kept


def _boilerplate_rule(paragraph: str, rules: Extraction, label: re.Pattern[str]) -> str | None:
    """The rule that drops a paragraph as boilerplate, or None to keep it."""
    for rx in rules.drop_text:
        if rx.search(paragraph):
            return f"drop_text {rx.pattern}"
    return "date line" if _is_date_line(paragraph, label) else None


def _is_date_line(paragraph: str, label: re.Pattern[str]) -> bool:
    match = label.match(paragraph)
    return match is not None and match.end() >= len(paragraph.rstrip(" .")) - 1
