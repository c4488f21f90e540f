"""Extraction: a page's title, body paragraphs and declared "last updated" date.

parsel (lxml) finds the layout's blocks in the whole page; BeautifulSoup then reads only the
body block, which is about ten times cheaper than parsing the whole page with it. The declared
date comes from the first of the layout's date sources that gives one: the label line (found
here), or a machine-readable value (scraper.datesources).
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

from kernel.config import LABEL_SOURCE, Extraction
from kernel.errors import ExtractionFailed, PageBlocked, PageGone
from kernel.text import clean_line, clean_paragraphs, comparison_key
from scraper.dates import Declared, find_value, parse_declared, read_machine

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
    date_source: str | None = None  # the date source the declared value came from
    date_tried: list[DateTried] = field(default_factory=list)  # every source, in order


class _Context(NamedTuple):
    """What the date sources are read with, besides the page and the layout."""

    lang: str
    last_modified: str | None  # the response's header
    explain: bool  # for a trace: also which label matched


@dataclass(frozen=True)
class DateTried:
    """One of the layout's date sources, as extraction tried it."""

    source: str
    raw: str | None  # the value found, as written; None: the page has none there
    declared: Declared | None = None  # the value as read
    scope: Matched | None = None  # the date_scope block it was found in (label, time)
    label: str | None = None  # the layout's label that matched (label; in a trace only)


@dataclass(frozen=True)
class Extracted:
    title: str | None
    paragraphs: list[str]
    declared_raw: str | None
    declared_date: dt.date | None
    note: str | None = None  # e.g. a date line that does not parse, or an ambiguous one
    declared_time: dt.time | None = None  # when the page gives a time of day
    declared_source: str | None = None  # the layout's date source it came from ("label", ...)
    # Layout drift: a title or body found only by a fallback selector (fallback_reason).
    drift: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The archived text: the title line, then one paragraph a line."""
        return "\n".join([self.title, *self.paragraphs] if self.title else self.paragraphs)


def extract_page(
    html: str,
    rules: Extraction,
    lang: str,
    trace: Trace | None = None,
    *,
    last_modified: str | None = None,
) -> Extracted:
    """Extract one page, or raise ExtractionFailed saying what was missing.

    With ``trace``, also record in it which selector, label and format each step used and
    what was dropped: the same decisions, explained (`mfawatch layout check`).
    ``last_modified`` is the response's header, read when the layout lists it as a date source.
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
    paragraphs = _body_paragraphs(body_found[1], rules, trace)
    paragraphs = _drop_boilerplate(paragraphs, title, rules, label, trace)
    chosen = None
    # A page that fails is not worth its date, except to explain it.
    if paragraphs or trace is not None:
        chosen = _declared(page, rules, lang, label, last_modified, trace)
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
    if chosen is None or chosen.declared is None:
        return Extracted(title, paragraphs, None, None, drift=drift)
    declared = chosen.declared
    return Extracted(
        title,
        paragraphs,
        chosen.raw,
        declared.date,
        declared.note,
        declared.time,
        chosen.source,
        drift,
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


def _declared(
    page: Selector,
    rules: Extraction,
    lang: str,
    label: re.Pattern[str],
    last_modified: str | None,
    trace: Trace | None,
) -> DateTried | None:
    """The declared value: from the first of the layout's date sources that gives a date, else
    from the first that has a value (kept as written, with the note why it is no date), else
    none. A trace tries every source, to show them all; the choice is the same."""
    context = _Context(lang, last_modified, explain=trace is not None)
    chosen = first = None
    for source in rules.date_sources:
        tried = _try_source(source, page, rules, label, context)
        if trace is not None:
            trace.date_tried.append(tried)
        if tried.declared is None:
            continue
        if tried.declared.date is not None and chosen is None:
            chosen = tried
            if trace is None:
                break
        first = first or tried
    chosen = chosen or first
    if trace is not None and chosen is not None:
        trace.date_source, trace.date_raw, trace.declared = (
            chosen.source,
            chosen.raw,
            chosen.declared,
        )
        trace.date_scope, trace.date_label = chosen.scope, chosen.label
    return chosen


def _try_source(
    source: str, page: Selector, rules: Extraction, label: re.Pattern[str], context: _Context
) -> DateTried:
    """What one date source (kernel.config.DATE_SOURCE) finds on the page, read."""
    if source != LABEL_SOURCE:
        value = find_value(source, page, rules.date_scope, context.last_modified)
        if value is None:
            return DateTried(source, None)
        raw, index = value
        scope = None if index is None else Matched(rules.date_scope[index], index)
        return DateTried(source, raw, read_machine(raw, source, rules.date_formats), scope)
    line = _find_date_line(page, rules.date_scope, label)
    if line is None:
        return DateTried(source, None)
    raw = line[1].group("date")
    declared = parse_declared(raw, rules.date_formats, context.lang, rules.date_order)
    which = _which_label(rules, context.lang, line[1]) if context.explain else None
    return DateTried(source, raw, declared, line[0], which)


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
