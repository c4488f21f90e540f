"""`mfawatch history`, `show` and `pages`: what the archive holds."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kernel.text import printable
from mfawatch.changeview import declared_text, iso
from mfawatch.cli.common import State, console, parse_when, print_json

JSON = Annotated[bool, typer.Option("--json", help="Print JSON only.")]
PAGE = Annotated[
    str, typer.Argument(metavar="URL", help="The page's URL (any variant), or its key.")
]


def register(app: typer.Typer) -> None:
    app.command()(history)
    app.command()(show)
    app.command()(pages)


def history(ctx: typer.Context, url: PAGE, as_json: JSON = False) -> None:
    """Every fetch of a page: when, HTTP status, declared date and where it came from,
    content hash, outcome."""
    from storage.queries import date_flags, page_history, resolve_page

    state: State = ctx.obj
    with state.sessions()() as session:
        page = resolve_page(session, url, state.identify)
        rows: list[dict[str, Any]] = [
            {
                "id": fetch.id,  # `mfawatch body ID` writes what it received
                "fetched_at": iso(fetch.fetched_at),
                "http_status": fetch.http_status,
                "last_updated": iso(fetch.declared_date),
                "last_updated_time": iso(fetch.declared_time),
                "last_updated_raw": fetch.declared_raw,
                "last_updated_source": fetch.declared_source,
                "content_hash": digest,
                "raw_hash": fetch.raw_hash,
                "outcome": fetch.outcome,
                "error": fetch.error,
                "note": fetch.note,
                "url": fetch.url,
                "final_url": fetch.final_url,
                "source": fetch.source,  # live, or the web archive it was captured by
                "archive_url": fetch.archive_url,
            }
            for fetch, digest in page_history(session, page.id)
        ]
        flagged = date_flags(session, [page.id]).get(page.id)
        head = {
            "url": page.url,
            "key": page.key,
            "status": page.status,
            **_flag(flagged),
        }
    if as_json:
        print_json({**head, "fetches": rows})
        return
    from rich.table import Table
    from rich.text import Text

    console().print(Text(f"{printable(head['url'])}  ({head['key']}, {head['status']})"))
    if head["date_note"]:
        console().print(Text(printable(f"change #{head['date_change_id']}: {head['date_note']}")))
    table = Table(
        "fetched", "source", "HTTP", "last updated", "date from", "content", "outcome", "note"
    )
    for row in rows:
        table.add_row(
            row["fetched_at"][:19].replace("T", " "),
            row["source"],
            str(row["http_status"] or "-"),
            declared_text(row["last_updated"], row["last_updated_time"])
            or (row["last_updated_raw"] and "?")
            or "none",
            Text(row["last_updated_source"] or "-"),
            (row["content_hash"] or "-")[:12],
            row["outcome"],
            Text(printable("; ".join(filter(None, (row["error"], row["note"]))))),
        )
    console().print(table)


def show(
    ctx: typer.Context,
    url: PAGE,
    at: Annotated[
        str | None,
        typer.Option(help="As it stood then: YYYY-MM-DD (that whole day) or a date-time."),
    ] = None,
    as_json: JSON = False,
) -> None:
    """The archived text of a page, now or as it stood at a moment."""
    from storage.content import read_text
    from storage.queries import resolve_page, version_at

    state: State = ctx.obj
    when = parse_when(at, end_of_day=True) if at is not None else None
    with state.sessions()() as session:
        page = resolve_page(session, url, state.identify)
        fetch, version = version_at(session, page.id, when)
        data: dict[str, Any] = {
            "url": page.url,
            "key": page.key,
            "at": iso(when),
            "fetched_at": iso(fetch.fetched_at),
            "source": fetch.source,  # live, or the web archive whose capture tells it
            "archive_url": fetch.archive_url,
            "status": "removed" if version is None else "present",
            "title": version.title if version else None,
            "last_updated": iso(fetch.declared_date) if version else None,
            "last_updated_time": iso(fetch.declared_time) if version else None,
            "version_first_seen": iso(version.first_seen_at) if version else None,
            "content_hash": version.text_hash if version else None,
            "text": read_text(session, version) if version else None,
        }
    if as_json:
        print_json(data)
        return
    from rich.text import Text

    seen = "as fetched" if fetch.source == "live" else f"as captured by {fetch.source}"
    header = f"{data['url']}  {seen} {data['fetched_at']}"
    if fetch.archive_url:
        header += f" ({fetch.archive_url})"
    if version is None:
        gone = f"{header}: the page was gone ({fetch.error or 'removed'})"
        console().print(Text(printable(gone)))
        return
    declared = declared_text(data["last_updated"], data["last_updated_time"]) or "none"
    console().print(Text(printable(f"{header}; last updated: {declared}\n")))
    console().print(Text(printable(data["text"] or "")), soft_wrap=True)


def pages(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    as_json: JSON = False,
) -> None:
    """What is watched: every archived page with its state and last declared date."""
    from storage.queries import check_site, date_flags, list_pages

    state: State = ctx.obj
    with state.sessions()() as session:
        if site is not None:
            check_site(session, site)
        flags = date_flags(session)
        rows: list[dict[str, Any]] = [
            {
                "url": p.url,
                "key": p.key,
                "site": p.site.name,
                "lang": p.lang,
                "title": p.title,
                "status": p.status,
                "last_updated": iso(p.declared_date),
                "last_updated_time": iso(p.declared_time),
                "last_updated_raw": p.declared_raw,
                "last_updated_source": p.declared_source,
                "first_seen_at": iso(p.first_seen_at),
                "last_seen_at": iso(p.last_seen_at),
                **_flag(flags.get(p.id)),
            }
            for p in list_pages(session, site)
        ]
    if as_json:
        print_json(rows)
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("page", "title", "status", "last updated", "last fetched", "date")
    for row in rows:
        table.add_row(
            Text(printable(row["key"])),
            Text(printable(row["title"] or ""), overflow="ellipsis", no_wrap=True),
            row["status"],
            declared_text(row["last_updated"], row["last_updated_time"]) or "none",
            row["last_seen_at"][:16].replace("T", " "),
            Text(printable(row["date_note"] or "")),
        )
    console().print(table)


def _flag(change: Any) -> dict[str, Any]:
    """A page's latest declared-date finding (storage.queries.date_flags), as fields."""
    return {
        "date_flag": change.date_flag if change else None,
        "date_note": change.date_note if change else None,
        "date_change_id": change.id if change else None,
    }
