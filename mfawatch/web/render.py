"""HTML out: one Jinja2 environment, autoescaped, that also shows control characters in
archived text as visible escapes instead of passing them to the browser.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from kernel.text import printable
from mfawatch.changeview import declared_text
from storage.search import MARK_END, MARK_START

TEMPLATES = Path(__file__).with_name("templates")


def _finalize(value: Any) -> Any:
    # Every {{ value }} passes here before escaping; Markup stays Markup (printable only
    # ever replaces a character with plain ASCII text, so it cannot create markup).
    if isinstance(value, Markup):
        return Markup(printable(value))
    if isinstance(value, str):
        return printable(value)
    return value


def when(value: dt.datetime | dt.date | None) -> str:
    """A moment as a reviewer reads it, in UTC; dates as they are.

    >>> when(dt.datetime(2023, 3, 1, 9, 0, 5, tzinfo=dt.UTC))
    '2023-03-01 09:00 UTC'
    >>> when(None)
    '–'
    """
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def declared(date: dt.date | None, time: dt.time | None = None) -> str:
    """A declared date, with its time when the page gave one."""
    return declared_text(date, time) or "–"


def snippet_html(snippet: str) -> Markup:
    """A search snippet: the text escaped first, then the match markers made <mark>.

    >>> snippet_html("a \\x02<b>\\x03 c")
    Markup('a <mark>&lt;b&gt;</mark> c')
    """
    marked = str(escape(snippet)).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    return Markup(printable(marked))


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["when"] = when
environment.filters["declared"] = declared
environment.filters["snippet"] = snippet_html
templates = Jinja2Templates(env=environment)


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """A template as a response; every page gets the CSRF token for its forms."""
    context = {"csrf_token": request.state.csrf_token, **context}
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def error_page(status_code: int, title: str, message: str) -> HTMLResponse:
    """A small error page that needs nothing from the request (middleware refusals use it)."""
    body = environment.get_template("error.html").render(title=title, message=message)
    return HTMLResponse(body, status_code=status_code)
