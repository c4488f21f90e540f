"""Fault fixtures: the ways a ministry site misbehaves (errors, blocks, redesigns, broken
bytes), as others' logs of mfa.gov.az show them.

Each function returns a handler for `MirrorServer.set_handler(path, handler)`, except
`redirect_loop`, which returns one handler per path of the loop. Pages default to seoul's
English "Political cooperation" page, so a fault can replace a page the product already knows.

>>> from mfawatch.mirror import MirrorServer
>>> with MirrorServer() as mirror:
...     mirror.set_handler("/en/content/35/political-cooperation", challenge_403())
...     for path, handler in redirect_loop("/a", "/b").items():
...         mirror.set_handler(path, handler)
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import struct
import zlib
from collections.abc import Callable
from html import escape

from . import missions, pages, texts
from .chrome import page_shell
from .server import (
    HTML,
    Handler,
    Request,
    Response,
    html_response,
    redirect_response,
    static,
)

# The class a "redesign" gives the body container instead of the known one.
REDESIGNED_BODY_CLASS = "section_article_body_text"
BODY_CLASS = "section_articleInner_body_content--description"
WAIT_TEXT = "Data processing... Please, wait."


def political_page(lang: str = "en") -> str:
    """seoul's "Political cooperation" page as `embassy_site` serves it."""
    text = missions.page_text("seoul", lang, 35)
    return pages.content_page(
        mission="seoul",
        lang=lang,
        title=texts.section_title(35, lang),
        paragraphs=list(text.paragraphs),
        last_updated=text.last_updated,
        date_style=text.date_style,
    )


def challenge_403(host: str = "seoul.mfa.gov.az") -> Handler:
    """A Cloudflare-style "Just a moment..." challenge, as bot protection answers a crawler."""
    ray = "7f2c1a9b8d3e4f50"
    body = (
        '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
        '<meta name="robots" content="noindex,nofollow">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"></head><body>'
        '<div class="main-wrapper" role="main"><div class="main-content">'
        f'<h1 class="zone-name-title h1">{escape(host)}</h1>'
        '<h2 class="h2" id="challenge-running">Checking if the site connection is secure</h2>'
        '<noscript><div id="challenge-error-title"><div class="h2">'
        '<span id="challenge-error-text">Enable JavaScript and cookies to continue</span>'
        "</div></div></noscript>"
        f'<div id="challenge-body-text" class="core-msg spacer">{escape(host)} needs to review '
        "the security of your connection before proceeding.</div></div></div>"
        f"<script>window._cf_chl_opt={{cvId: '2', cZone: '{escape(host)}', cType: 'managed', "
        f"cRay: '{ray}'}};</script>"
        '<div class="footer" role="contentinfo"><div class="footer-inner">'
        f'<div class="ray-id">Ray ID: <code>{ray}</code></div>'
        '<div id="footer-text">Performance &amp; security by Cloudflare</div></div></div>'
        "</body></html>"
    )
    headers = {
        "Server": "cloudflare",
        "CF-RAY": f"{ray}-ICN",
        "cf-mitigated": "challenge",
        "Cache-Control": "private, max-age=0, no-store, no-cache, must-revalidate",
    }
    return static(
        html_response(body, 403, content_type="text/html; charset=UTF-8", headers=headers)
    )


def wait_interstitial() -> Handler:
    """A 200 whose only text is "Data processing... Please, wait." (mid.ru's bot screen)."""
    body = (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        "<script>setTimeout(function () { location.reload(); }, 3000);</script>"
        f"</head><body>{WAIT_TEXT}</body></html>"
    )
    return static(html_response(body))


def script_rendered(lang: str = "en") -> Handler:
    """The normal chrome with empty title and body containers, the article only in a script."""
    text = missions.page_text("seoul", lang, 35)
    title = texts.section_title(35, lang)
    payload = {"title": title, "body": [title, *text.paragraphs], "updated": text.last_updated}
    # "</" would end the script element early.
    data = json.dumps(payload, ensure_ascii=False).replace("</", "<\\/")
    main = (
        '<div class="section_articleInner" id="app">\n'
        '<div class="section_articleInner_header">'
        '<h1 class="section_articleInner_header--title"></h1></div>\n'
        '<div class="section_articleInner_body_content">\n'
        f'<div class="{BODY_CLASS}"></div>\n</div>\n</div>\n'
        f"<script>window.__ARTICLE__ = {data};\n"
        "(function (a) {\n"
        "  document.querySelector('.section_articleInner_header--title').textContent = a.title;\n"
        f"  var body = document.querySelector('.{BODY_CLASS}');\n"
        "  a.body.forEach(function (t) {\n"
        "    var p = document.createElement('p'); p.textContent = t; body.appendChild(p);\n"
        "  });\n"
        "})(window.__ARTICLE__);</script>"
    )
    html = page_shell(
        mission="seoul", lang=lang, title=title, main=main, menu=pages.relations_menu(lang)
    )
    return static(html_response(html))


def windows_1251_page(section_id: int = 35) -> Handler:
    """A Russian page really encoded in windows-1251, declared in the header and a <meta>."""
    text = missions.page_text("seoul", "ru", section_id)
    title = texts.section_title(section_id, "ru")
    article = pages.article_html(
        lang="ru",
        title=title,
        paragraphs=list(text.paragraphs),
        last_updated=text.last_updated,
        date_style="own_element",
    )
    html = page_shell(
        mission="seoul",
        lang="ru",
        title=title,
        main=article,
        menu=pages.relations_menu("ru"),
        langs=("az", "en", "ru"),
        charset="windows-1251",
    )
    return static(html_response(html, content_type="text/html; charset=windows-1251"))


def soft_404(lang: str = "en") -> Handler:
    """200 with the site's "Page not found" text in the normal chrome and no article body."""
    return static(html_response(pages.not_found_page(mission="seoul", lang=lang)))


def redirect_to_home(home: str = "/en", status: int = 302) -> Handler:
    """A removed page that the CMS sends to the home page instead of answering 404."""
    return static(redirect_response(home, status))


def redirect_loop(a: str, b: str, status: int = 302) -> dict[str, Handler]:
    """Two paths redirecting to each other: install both with `set_handler`."""
    return {a: static(redirect_response(b, status)), b: static(redirect_response(a, status))}


def redesigned(html: str | None = None) -> Handler:
    """The same page after a redesign: the body container's class is renamed."""
    source = political_page() if html is None else html
    return static(html_response(source.replace(BODY_CLASS, REDESIGNED_BODY_CLASS)))


def empty_200() -> Handler:
    """200, text/html, zero bytes."""
    return static(Response(200, b"", {"Content-Type": HTML}))


def huge_page(size: int = 10_000_000) -> Handler:
    """A normal page whose body holds about `size` bytes of paragraphs (built once)."""
    paragraphs: list[str] = []
    total = 0
    numbered = zip(itertools.count(1), itertools.cycle(texts.SEOUL_POLITICAL_EN), strict=False)
    for number, paragraph in numbered:
        if total >= size:
            break
        line = f"{number}. {paragraph}"
        paragraphs.append(line)
        total += len(line.encode()) + 8  # <p></p> and a newline
    html = pages.content_page(
        mission="seoul",
        lang="en",
        title=texts.SEOUL_POLITICAL_TITLE,
        paragraphs=paragraphs,
        last_updated=texts.SEOUL_POLITICAL_LAST_UPDATED,
    )
    return static(html_response(html))


def truncated_html(html: str | None = None, fraction: float = 0.5) -> Handler:
    """A page cut in the middle of its body, no closing tags; Content-Length matches the cut."""
    return static(html_response(_cut_in_body(political_page() if html is None else html, fraction)))


def dropped_connection(html: str | None = None, fraction: float = 0.5) -> Handler:
    """Content-Length of the whole page, but the connection closes `fraction` of the way in."""
    response = html_response(political_page() if html is None else html)
    return static(dataclasses.replace(response, cut_after=int(len(response.body) * fraction)))


def binary_png(content_type: str = HTML) -> Handler:
    """A real PNG image, by default mislabelled as text/html."""
    return static(Response(200, png_bytes(), {"Content-Type": content_type}))


def server_error(status: int = 500) -> Handler:
    """A 5xx error page; 503 also says when to retry."""
    if status == 503:
        body = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
        return static(html_response(body, 503, headers={"Retry-After": "120"}))
    body = "<html><body><h1>Server Error</h1><p>Something went wrong.</p></body></html>"
    return static(html_response(body, status))


def hang_up() -> Handler:
    """The connection closes before any answer: to the client, the server is unreachable."""
    return static(Response(hang_up=True))


def slow(delay: float, inner: Handler | None = None) -> Handler:
    """Answer like `inner` (default: the political page) after `delay` seconds.

    The wait is on the server's stop event, so `MirrorServer.stop()` never waits for it.
    """
    target = inner if inner is not None else static(html_response(political_page()))

    def handler(request: Request) -> Response:
        return dataclasses.replace(target(request), delay=delay)

    return handler


def png_bytes(width: int = 16, height: int = 16) -> bytes:
    """A valid, solid blue PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + b"\x00\x33\x8d" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# Every single-path fault with its defaults, for demos and benchmarks that try them all.
FAULTS: dict[str, Callable[[], Handler]] = {
    "challenge_403": challenge_403,
    "wait_interstitial": wait_interstitial,
    "script_rendered": script_rendered,
    "windows_1251_page": windows_1251_page,
    "soft_404": soft_404,
    "redirect_to_home": redirect_to_home,
    "redesigned": redesigned,
    "empty_200": empty_200,
    "huge_page": huge_page,
    "truncated_html": truncated_html,
    "dropped_connection": dropped_connection,
    "binary_png": binary_png,
    "binary_png_as_image": lambda: binary_png("image/png"),
    "server_error_500": server_error,
    "server_error_503": lambda: server_error(503),
    "slow": lambda: slow(2.0),
}


def _cut_in_body(html: str, fraction: float) -> str:
    start = html.index(f'<div class="{BODY_CLASS}">')
    end = html.index("</div>", start)
    return html[: start + int((end - start) * fraction)]
