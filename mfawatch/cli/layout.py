"""`mfawatch layout check`: what a layout sees on one page, through the crawl's own code.

Nothing is written: a URL is fetched once (robots.txt first, as the crawl obeys it), a FILE
is read offline; the page then goes through the spider's menu-link decision and the
extractor's decisions, with a trace of each (scraper.extract.Trace, scraper.spiders.mfa).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer

from kernel.errors import ExtractionFailed, MfawatchError, PageBlocked, PageGone
from kernel.text import printable
from mfawatch.cli.common import CONFIG_OPTION, State, console, print_json
from mfawatch.cli.group import PlainCommand
from scraper.polite import Fetched, fetch_page, is_url

if TYPE_CHECKING:
    from scrapy.http import TextResponse

    from kernel.config import Config, Layout, PageId, Site
    from scraper.extract import DateTried, Matched, Trace


def register(app: typer.Typer) -> None:
    group = typer.Typer(callback=layout, add_completion=False, rich_markup_mode=None)
    group.command("check", cls=PlainCommand)(check)
    app.add_typer(group, name="layout")


def layout() -> None:
    """Try a layout on one page: what it finds, keeps and drops, and why."""


def check(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(metavar="URL|FILE", help="A page's URL, or a saved page.")
    ],
    layout_name: Annotated[
        str | None,
        typer.Option(
            "--layout", help="The layout to try [default: the layout of the page's site]."
        ),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="The page's language [default: from its URL].")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="For a FILE: the address it was saved from.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    config_path: Annotated[str | None, CONFIG_OPTION] = None,
) -> None:
    """What a layout sees on one page, without writing to the archive.

    Exit status 0: the page extracts; 1: the layout does not extract it (the output says
    where it stopped); 2: bad input (no such file, unknown layout, unreachable URL, robots.txt
    disallows it).
    """
    state: State = ctx.obj
    state.use_config(config_path)
    config = state.config()
    if is_url(target):
        if url is not None:
            raise MfawatchError("--url is for a FILE; a URL is its own address")
        fetched = fetch_page(target, config)
    else:
        fetched = read_file(target, url)
    report = explain(fetched, config, layout_name, lang)
    if as_json:
        print_json(report)
    else:
        show(report)
    raise typer.Exit(0 if report["outcome"] == "ok" else 1)


# -- reading the page --------------------------------------------------------------------------


def read_file(path: str, url: str | None) -> Fetched:
    try:
        body = Path(path).read_bytes()
    except OSError as exc:
        raise MfawatchError(f"cannot read {path!r}: {exc.strerror}") from None
    if url is not None and not is_url(url):
        raise MfawatchError(f"--url must be an http(s) URL, got {url!r}")
    return Fetched({"kind": "file", "path": path}, url, body)


# -- explaining --------------------------------------------------------------------------------


def explain(
    fetched: Fetched, config: Config, layout_name: str | None, lang: str | None
) -> dict[str, Any]:
    """The report: the page through the crawl's menu-link decision and extraction, traced."""
    from scrapy.http import HtmlResponse

    from scraper.extract import Trace, extract_page

    site, chosen, why = _choose(config, fetched.url, layout_name)
    # A page without a known address: its relative links are taken as its own site's.
    address = fetched.url or "http://page.invalid/"
    headers = {"Content-Type": fetched.content_type} if fetched.content_type else {}
    response = HtmlResponse(address, body=fetched.body, headers=headers)
    page_lang, lang_why = _language(chosen, fetched.url, response, lang)
    trace = Trace()
    outcome, error, got = "ok", None, None
    try:
        got = extract_page(
            response.text, chosen.extract, page_lang, trace, last_modified=fetched.last_modified
        )
    except PageGone as exc:
        outcome, error = "gone", str(exc)
    except PageBlocked as exc:
        outcome, error = "blocked", str(exc)
    except ExtractionFailed as exc:
        outcome, error = "extraction_failed", str(exc)
    if site is None:
        from kernel.config import Site

        host = urlsplit(address).hostname or ""
        site = Site("(this page)", chosen, (address,), (host.removeprefix("www."),))
    return {
        "source": fetched.source,
        "layout": {"name": chosen.name, "chosen": why},
        "lang": {"code": page_lang, "chosen": lang_why},
        "outcome": outcome,
        "error": error,
        "note": got.note if got else None,
        "title": _title(trace),
        "body": _body(trace, chosen.extract.body),
        "date": _date(trace),
        "date_sources": [_date_tried(tried) for tried in trace.date_tried],
        "paragraphs": got.paragraphs if got else [],
        "dropped": [{"rule": d.rule, "text": d.text} for d in trace.dropped],
        "menu_links": _links(response, site, fetched.url is None),
    }


def _choose(config: Config, url: str | None, name: str | None) -> tuple[Site | None, Layout, str]:
    """The layout a crawl would use for the page, and why: as --layout says, else the site of
    the sites file whose hosts the page is on, else the file's only (or first) layout."""
    from scraper.middlewares import on_site

    if name is not None:
        return None, config.layout(name), "--layout"
    for site in config.sites if url else ():
        if on_site(url, site):  # type: ignore[arg-type]
            return site, site.layout, f"site {site.name!r} of {config.path} serves this host"
    layouts = config.layouts()
    why = f"no site of {config.path} serves this host" if url else "the page's address is unknown"
    if len(layouts) == 1:
        return None, layouts[0], f"{why}: the file's only layout"
    others = ", ".join(lay.name for lay in layouts[1:])
    return None, layouts[0], f"{why}: the first site's layout (others: {others}; see --layout)"


def _language(
    layout: Layout, url: str | None, response: TextResponse, given: str | None
) -> tuple[str, str]:
    from kernel.config import page_identity

    if given:
        return given, "--lang"
    found = page_identity(layout, url) if url else None
    if found is not None:
        return found[0].lang, "from the URL"
    declared = (response.css("html::attr(lang)").get() or "").strip().lower()[:2]
    if declared:
        return declared, "from <html lang>"
    first = layout.languages[0] if layout.languages else ""
    return first, "the layout's first language"


def _matched(found: Matched | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"selector": found.css, "index": found.index, "fallback": found.fallback}


def _title(trace: Trace) -> dict[str, Any] | None:
    shown = _matched(trace.title)
    return None if shown is None else {"text": trace.title_text, **shown}


def _body(trace: Trace, selectors: tuple[str, ...]) -> dict[str, Any]:
    return {"matched": _matched(trace.body), "tried": list(trace.body_tried),
            "selectors": list(selectors)}  # fmt: skip


def _date(trace: Trace) -> dict[str, Any] | None:
    """The declared value the crawl would record, and the date source it came from."""
    chosen = next((t for t in trace.date_tried if t.source == trace.date_source), None)
    return None if chosen is None else _date_tried(chosen)


def _date_tried(tried: DateTried) -> dict[str, Any]:
    declared = tried.declared
    date = declared.date if declared else None
    clock = declared.time if declared else None
    return {
        "source": tried.source,
        "raw": tried.raw,
        "date": date.isoformat() if date else None,
        "time": clock.isoformat() if clock else None,
        "label": tried.label,
        "format": declared.matched if declared else None,
        "scope": _matched(tried.scope),
        "note": declared.note if declared else None,
    }


def _links(response: TextResponse, site: Site, placeholder: bool) -> list[dict[str, Any]]:
    from scraper.discovery import menu_links

    return [
        {
            "url": link.url.replace("http://page.invalid", "", 1) if placeholder else link.url,
            "text": " ".join(link.text.split()),
            "kept": link.rejected is None,
            "rule": link.rule,
            "rejected": link.rejected,
            "key": _key(link.page, placeholder),
        }
        for link in menu_links(response, site)
    ]


def _key(page: PageId | None, placeholder: bool) -> str | None:
    if page is None:
        return None
    return f"{page.lang}/{page.key}" if placeholder else str(page)


# -- the screen --------------------------------------------------------------------------------

REJECTED = {
    "pattern": "no page rule's url_pattern matches",
    "off-site": "not on the site",
    "section": "not under the menu section its rule names",
    "text": "link text does not match link_text",
}


def show(report: dict[str, Any]) -> None:
    """The report for a person. Every string from the page goes through printable() and into
    a rich Text, which never reads markup: "[red]" is shown as written."""
    _show_found(report)
    _show_text(report)
    _show_links(report["menu_links"])


def _line(*parts: tuple[str, str] | str) -> None:
    """One line of plain and styled parts, each made printable."""
    from rich.text import Text

    text = Text()
    for part in parts:
        words, style = (part, "") if isinstance(part, str) else part
        text.append(printable(words), style)
    console().print(text)


def _show_found(report: dict[str, Any]) -> None:
    source, chosen = report["source"], report["layout"]
    status = f"  (HTTP {source['http_status']})" if "http_status" in source else ""
    _line(("page ", "bold"), source.get("final_url") or source["path"], status)
    _line(("layout ", "bold"), chosen["name"], f"  ({chosen['chosen']})")
    _line(("language ", "bold"), report["lang"]["code"] or "?", f"  ({report['lang']['chosen']})")
    if report["outcome"] == "ok":
        _line(("outcome ", "bold"), ("extracts", "green"))
    else:
        _line(("outcome ", "bold"), (report["outcome"], "red"), ": ", report["error"] or "")
    title = report["title"]
    if title:
        _line(("title ", "bold"), title["text"], f"  ({_selector(title)})")
    else:
        _line(("title ", "bold"), ("none found", "red"))
    body = report["body"]
    tried = ", ".join(body["tried"])
    if body["matched"]:
        _line(("body ", "bold"), _selector(body["matched"]), f"  (tried in order: {tried})")
    else:
        _line(("body ", "bold"), ("no selector matched", "red"), f"  (tried: {tried})")
    _show_date(report)


def _show_date(report: dict[str, Any]) -> None:
    date, tried = report["date"], report["date_sources"]
    if date is None:
        # The crawl stops at a missing body, before it looks for the date.
        looked = report["body"]["matched"] or report["outcome"] == "gone"
        sources = ", ".join(t["source"] for t in tried)
        _line(
            ("date ", "bold"),
            f"none found (tried {sources or 'no source'})"
            if looked
            else "not looked for (no body)",
        )
        return
    _line(("date ", "bold"), date["raw"], f" → {_date_how(date)}")
    if date["note"]:
        _line("  ", (date["note"], "yellow"))
    if len(tried) > 1:  # each source, in the layout's order
        for each in tried:
            used = ("  ← used", "green") if each["source"] == date["source"] else ""
            found = f"{each['raw']} → {_date_how(each)}" if each["raw"] else "nothing there"
            _line("  ", (each["source"], "bold"), "  ", found, used)


def _date_how(date: dict[str, Any]) -> str:
    read = " ".join(filter(None, (date["date"], date["time"]))) or "not read"
    how = f"format {date['format']!r}" if date["format"] else "no format read it"
    if date["source"] == "label":
        return f"{read}  (label {date['label']!r}, {how}, in {_selector(date['scope'])})"
    where = f", in {_selector(date['scope'])}" if date["scope"] else ""
    return f"{read}  (from {date['source']}, {how}{where})"


def _show_text(report: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    _line((f"paragraphs ({len(report['paragraphs'])})", "bold"))
    for paragraph in report["paragraphs"]:
        _line("  ", _short(paragraph))
    if report["dropped"]:
        _line(("boilerplate dropped", "bold"))
        table = Table("dropped by", "text", show_edge=False)
        for dropped in report["dropped"]:
            table.add_row(
                Text(printable(dropped["rule"])), Text(printable(_short(dropped["text"])))
            )
        console().print(table)


def _show_links(links: list[dict[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    kept = sum(link["kept"] for link in links)
    _line((f"menu links ({len(links)}, {kept} kept)", "bold"))
    if not links:
        return
    table = Table("", "link text", "URL", "why", show_edge=False)
    for link in links:
        why = f"rule {link['rule']}: {link['key']}" if link["kept"] else REJECTED[link["rejected"]]
        table.add_row(
            Text("kept", "green") if link["kept"] else Text("no", "dim"),
            Text(printable(_short(link["text"], 40))),
            Text(printable(link["url"])),
            Text(printable(why)),
        )
    console().print(table)


def _selector(found: dict[str, Any]) -> str:
    place = f"fallback #{found['index'] + 1}" if found["fallback"] else "first choice"
    return f"{found['selector']}, {place}"


def _short(text: str, width: int = 200) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
