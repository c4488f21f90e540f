"""Change reports to read or forward: the selected changes gathered once, then rendered as one
self-contained HTML file, Markdown or JSON.

Archived text is hostile input. HTML goes through Jinja2's autoescape, and only
``htmldiff.inline_html`` output is marked safe; Markdown goes through ``md_escape``, which the
Markdown template applies to every value it prints unless it is a ``MarkdownSafe`` diff.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kernel.detect import ChangeKind, kind_rank
from kernel.diffing import Op, Piece
from kernel.errors import MfawatchError
from kernel.status import REVIEW_FILTERS, ReviewStatus
from kernel.text import json_text, printable
from mfawatch.changeview import (
    change_detail,
    change_pieces,
    declared_text,
    diff_json,
    iso,
)
from mfawatch.htmldiff import inline_html
from mfawatch.hunks import Excerpt, excerpt
from storage.models import Change

FORMATS = ("html", "md", "json")
# What a change that touches no text says in place of a diff.
NO_TEXT_CHANGE = {
    "removed": "The page is gone; the archive keeps its last text.",
    "extraction_failed": "No text could be read from the page; the archive keeps its last text.",
}


@dataclass(frozen=True)
class ReportFilters:
    status: str = "pending"
    since: dt.datetime | None = None
    site: str | None = None
    kind: str | None = None
    include_historical: bool = False  # changes found in a web archive's past (mfawatch backfill)

    def __post_init__(self) -> None:
        if self.status not in REVIEW_FILTERS:
            raise MfawatchError(f"--status must be one of {', '.join(REVIEW_FILTERS)}")
        if self.kind is not None and self.kind not in set(ChangeKind):
            raise MfawatchError(f"--kind must be one of {', '.join(ChangeKind)}")

    def as_json(self) -> dict[str, str | bool | None]:
        return {
            "status": self.status,
            "since": iso(self.since),
            "site": self.site,
            "kind": self.kind,
            "include_historical": self.include_historical,
        }


@dataclass
class ReportChange:
    detail: dict[str, Any]  # changeview.change_detail
    pieces: list[Piece]  # the whole word diff
    excerpt: Excerpt  # the changed paragraphs with their context


@dataclass
class Report:
    generated_at: dt.datetime
    filters: ReportFilters
    changes: list[ReportChange] = field(default_factory=list)
    # Missions new on a directory's list, gone from it, back (storage.directories), oldest first.
    missions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sites(self) -> list[str]:
        return sorted({c.detail["site"] for c in self.changes})

    @property
    def summary(self) -> dict[str, dict[str, int]]:
        """Counts by kind (most important first), then site."""
        counts: dict[str, dict[str, int]] = {}
        for change in self.changes:  # already in kind order
            by_site = counts.setdefault(change.detail["kind"], {})
            by_site[change.detail["site"]] = by_site.get(change.detail["site"], 0) + 1
        return counts

    @property
    def period(self) -> dict[str, str | None]:
        """From --since (or the first change selected) to when the report was made; a --since
        still to come is both ends (an empty period), never an end before the start."""
        first = min((c.detail["detected_at"] for c in self.changes), default=None)
        since = self.filters.since
        end = max(since, self.generated_at) if since else self.generated_at
        return {"from": iso(since) or first, "to": iso(end)}


def gather_report(
    session: Session, filters: ReportFilters, now: dt.datetime | None = None
) -> Report:
    """Every change the filters select, most important kinds first, then newest."""
    from storage.queries import change_texts, list_changes

    def select(status: str, historical: bool) -> list[Change]:
        return list(list_changes(session, status=status, kind=filters.kind, site=filters.site,
                                 since=filters.since, historical=historical))  # fmt: skip

    changes = select(filters.status, historical=False)
    if filters.include_historical:
        # Historical changes are not queued (unqueued): "pending" takes them in as well.
        past = select("all" if filters.status == "pending" else filters.status, historical=True)
        wanted = {filters.status, ReviewStatus.UNQUEUED} if filters.status == "pending" else None
        changes += [c for c in past if wanted is None or c.status in wanted]
        changes.sort(key=lambda c: (c.detected_at, c.id), reverse=True)
    _load_details(session, [c.id for c in changes])
    texts = change_texts(session, changes)
    ordered = sorted(changes, key=lambda c: kind_rank(c.kind))  # stable: newest first within
    report = Report(now or dt.datetime.now(dt.UTC), filters)
    report.missions = _mission_events(session, filters)
    for change in ordered:
        pieces = change_pieces(change, texts)
        report.changes.append(ReportChange(change_detail(change), pieces, excerpt(pieces)))
    return report


def _mission_events(session: Session, filters: ReportFilters) -> list[dict[str, Any]]:
    from storage.directories import event_line, events

    names = [filters.site] if filters.site else None
    return [
        {
            "at": iso(e.at),
            "directory": e.directory,
            "site": e.site_name,
            "event": e.kind,
            "line": event_line(e.kind, e.site_name),
        }
        for e in events(session, since=filters.since, names=names)
    ]


def _load_details(session: Session, ids: Sequence[int], chunk: int = 500) -> None:
    """Load fetches and reviews of many changes in a few queries, not three each."""
    for start in range(0, len(ids), chunk):
        session.scalars(
            select(Change)
            .where(Change.id.in_(ids[start : start + chunk]))
            .options(
                selectinload(Change.old_fetch),
                selectinload(Change.new_fetch),
                selectinload(Change.reviews),
            )
        ).all()


def render_report(report: Report, fmt: str) -> str:
    if fmt == "json":
        return report_json(report)
    if fmt == "html":
        return _environment("html").get_template("report.html").render(report=report)
    if fmt == "md":
        return _environment("md").get_template("report.md").render(report=report)
    raise MfawatchError(f"--format must be one of {', '.join(FORMATS)}")


def report_json(report: Report) -> str:
    data = {
        "generated_at": iso(report.generated_at),
        "filters": report.filters.as_json(),
        "period": report.period,
        "summary": report.summary,
        "missions": report.missions,
        "changes": [{**c.detail, "diff": diff_json(c.pieces)} for c in report.changes],
    }
    return json_text(data) + "\n"


def _environment(fmt: str) -> Environment:
    loader = PackageLoader("mfawatch", "templates")
    if fmt == "html":
        env = Environment(
            loader=loader, autoescape=select_autoescape(["html"]), finalize=_html_value
        )
        env.filters["diff"] = diff_html
    else:  # Markdown: every printed value is escaped, but the diffs built here
        env = Environment(loader=loader, autoescape=False, finalize=_md_value)
        env.filters["diff"] = diff_markdown
    env.filters["when"] = when
    env.filters["declared"] = declared_text
    env.filters["live_url"] = live_url
    env.globals["md_link"] = md_link
    env.globals["no_text_change"] = NO_TEXT_CHANGE
    env.trim_blocks = env.lstrip_blocks = True
    return env


def _html_value(value: Any) -> Any:
    """Control characters are shown, not passed on (autoescape does the rest)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return "" if value is None else value


class MarkdownSafe(str):
    """Markdown built here from escaped pieces; printed as it is."""


def _md_value(value: Any) -> str:
    if isinstance(value, MarkdownSafe):
        return value
    return "" if value is None else md_escape(str(value))


def diff_html(pieces: list[Piece]) -> Markup:
    clean = [Piece(p.op, printable(p.text)) for p in pieces]
    return Markup(inline_html(clean))  # htmldiff escapes every piece


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~])")
_MD_LINE_START = re.compile(r"^(\s*)(?:([-+=])|(\d+)\.)", re.MULTILINE)


def md_escape(text: str) -> str:
    r"""Archived text as Markdown that shows it as it is: HTML special characters as entities,
    Markdown's punctuation backslash-escaped, and no line starting a list or a heading.

    >>> md_escape("<b>*1*</b> [x](y) & - z")
    '&lt;b&gt;\\*1\\*&lt;/b&gt; \\[x\\]\\(y\\) &amp; - z'
    >>> md_escape("- item\n1. one")
    '\\- item\n1\\. one'
    """
    text = escape(printable(text), quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(lambda m: m[1] + (f"\\{m[2]}" if m[2] else f"{m[3]}\\."), text)


def diff_markdown(pieces: list[Piece]) -> MarkdownSafe:
    """git's word-diff markers, [-deleted-] and {+inserted+}; a blank line between paragraphs.
    Takes an excerpt's hunk (paragraph breaks only in equal pieces).

    >>> from kernel.diffing import word_diff
    >>> from mfawatch.hunks import excerpt
    >>> [hunk] = excerpt(word_diff("a *b*\\nc", "a _b_\\nc"))
    >>> print(diff_markdown(hunk))
    a [-\\*b\\*-]{+\\_b\\_+}
    <BLANKLINE>
    c
    """
    out = [""]
    for n, piece in enumerate(pieces):
        if piece.op is Op.EQUAL:
            for i, part in enumerate(piece.text.split("\n")):
                if i:
                    out.append("")
                out[-1] += md_escape(part)
            continue
        text = md_escape(piece.text)
        core = text.strip()
        if not core:
            out[-1] += text
            continue
        start, end = ("[-", "-]") if piece.op is Op.DELETE else ("{+", "+}")
        lead = text[: len(text) - len(text.lstrip())]
        # "[-70-]{+80+} documents", as git shows a replaced word: one space, after both.
        replaced = piece.op is Op.DELETE and n + 1 < len(pieces) and pieces[n + 1].op is Op.INSERT
        trail = "" if replaced else text[len(text.rstrip()) :]
        out[-1] += f"{lead}{start}{core}{end}{trail}"
    # No line may start with spaces: four would make it a code block.
    return MarkdownSafe("\n\n".join(line.lstrip() for line in out if line.strip()))


def when(value: str | None) -> str:
    """An ISO moment as the report shows it: '2023-03-02 09:00 UTC'."""
    if not value:
        return "—"
    if "T" not in value:
        return value
    return value[:16].replace("T", " ") + " UTC"


def live_url(url: str) -> str | None:
    """A page's address if it is one to link to (http or https), else None."""
    return url if re.match(r"https?://", url, re.IGNORECASE) else None


def md_link(url: str, title: str | None) -> MarkdownSafe:
    """A Markdown link to a live page; the address alone, escaped, if it is no http(s) URL.

    >>> print(md_link("https://x.az/a (b)", "T[1]"))
    [T\\[1\\]](https://x.az/a%20%28b%29)
    """
    if not live_url(url):
        return MarkdownSafe(md_escape(url))
    target = quote(url, safe="/:?#@!$&'*+,;=%~.-_")
    return MarkdownSafe(f"[{md_escape(title or url)}]({target})")
