"""`mfawatch backfill`: the pages' past from the Wayback Machine (scraper.backfill runs it)."""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from kernel.errors import MfawatchError
from mfawatch.cli.common import CONFIG_OPTION, State, console, parse_when, print_json, site_list

if TYPE_CHECKING:
    from scraper.backfill import Archive, Progress


def register(app: typer.Typer) -> None:
    app.command()(backfill)


def backfill(
    ctx: typer.Context,
    site: Annotated[
        str | None, typer.Option("--site", "-s", help="Only this site (comma-separated names).")
    ] = None,
    page: Annotated[
        str | None,
        typer.Option("--page", help="Only this page (any URL of it; archived or not yet)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="Captures from this date (YYYY-MM-DD) on.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="Captures up to this date (YYYY-MM-DD).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the captures; download and record nothing.")
    ] = False,
    other: Annotated[
        str | None,
        typer.Option(
            "--archive",
            help="Another web archive, by its RFC 7089 TimeMap endpoint (the URL a page's "
            "address is appended to), instead of the Wayback Machine.",
        ),
    ] = None,
    discover: Annotated[
        bool,
        typer.Option(
            "--discover",
            help="Also find the sites' pages that only the web archive knows (gone from "
            "today's menus), by prefix search over the layout's URL patterns.",
        ),
    ] = False,
    queue: Annotated[
        bool, typer.Option("--queue", help="Put the historical changes found in the queue.")
    ] = False,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Requests a second to the archive, at most [default: 1 for captures, "
            "0.4 for capture lists]",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds the archive may take over one answer.")
    ] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    config_path: Annotated[str | None, CONFIG_OPTION] = None,
) -> None:
    """Import each page's past captures from the Wayback Machine ($MFAWATCH_WAYBACK_URL), or
    from another web archive's TimeMaps (--archive)."""
    from scraper.backfill import Backfill, site_names, targets
    from scraper.discover import discover as discover_pages
    from scraper.locks import site_locks
    from storage.db import database_url

    state: State = ctx.obj
    state.use_config(config_path)
    config = state.config()
    if site and page:
        raise MfawatchError("give --site or --page, not both")
    if discover and page:
        raise MfawatchError("give --discover or --page, not both (--discover searches sites)")
    if discover and other:
        raise MfawatchError("--discover needs a CDX index (the Wayback Machine's), not --archive")
    names = site_names(config, site_list(site))
    start, end = _window(since, until, rate, timeout)
    sessions = state.sessions()
    pages = targets(sessions, config, names, page)
    if not pages and not discover:
        raise MfawatchError(
            "no pages to backfill: crawl first, name one with --page URL, or --discover them"
        )
    chosen = [config.site(name) for name in names] or list(config.sites)
    archive = _archive(other, rate, timeout, config.contact)
    show = _Shown(as_json)
    job = Backfill(
        sessions, archive, since=start, until=end, dry_run=dry_run, queue=queue,
        report=show.progress, say=show.say,
    )  # fmt: skip
    locked = sorted({t.site.name for t in pages} | {s.name for s in chosen if discover})
    try:
        with site_locks(database_url(state.db_url), locked):
            if discover:
                found = discover_pages(sessions, archive, chosen, start, end)
                job.progress.discovered = len(found)
                show.say(f"backfill: {len(found)} pages found only in the web archive")
                pages = [*pages, *found]
            if not pages:
                raise MfawatchError("no pages to backfill: none archived, none in the web archive")
            done = job.run(pages)
    except MfawatchError as exc:  # the archive unreachable, or a site being crawled
        show.end()
        print(f"mfawatch: error: {exc}", file=sys.stderr)
        _summary(job.progress, as_json, dry_run)
        raise typer.Exit(exc.exit_code if not _is_archive(exc) else 1) from None
    finally:
        archive.close()
    show.end()
    _summary(done, as_json, dry_run)
    raise typer.Exit(1 if done.errors else 0)


def _archive(other: str | None, rate: float | None, timeout: float, contact: str | None) -> Archive:
    """The Wayback Machine, or the Memento archive that --archive names."""
    from scraper.memento import TimeMaps
    from scraper.settings import USER_AGENT
    from scraper.spiders.mfa import user_agent
    from scraper.wayback import Wayback

    agent = user_agent(USER_AGENT, contact)
    if other is not None:
        return TimeMaps(other, rate=rate, timeout=timeout, user_agent=agent)
    return Wayback(rate=rate, timeout=timeout, user_agent=agent)


def _window(
    since: str | None, until: str | None, rate: float | None, timeout: float
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """--from and --to as times, the other numbers checked."""
    start = parse_when(since) if since is not None else None
    end = parse_when(until, end_of_day=True) if until is not None else None
    if start and end and end < start:
        raise MfawatchError("--to is before --from")
    if rate is not None and not 0 < rate <= 100:
        raise MfawatchError("--rate must be more than 0 and at most 100")
    if timeout <= 0:
        raise MfawatchError("--timeout must be more than 0")
    return start, end


def _is_archive(exc: MfawatchError) -> bool:
    from kernel.errors import ArchiveError

    return isinstance(exc, ArchiveError)


class _Shown:
    """Progress on stderr: one line rewritten on a terminal, else a line every few seconds."""

    def __init__(self, quiet: bool) -> None:
        self.terminal = sys.stderr.isatty() and not quiet
        self.last = 0.0
        self.open = False

    def progress(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self.last < (0.2 if self.terminal else 5.0):
            return
        self.last = now
        line = f"backfill: {progress.line()}"
        if self.terminal:
            sys.stderr.write(f"\r\x1b[K{line}")
            self.open = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def say(self, message: str) -> None:
        self.end()
        print(message, file=sys.stderr)

    def end(self) -> None:
        if self.open:
            sys.stderr.write("\n")
            self.open = False


def _summary(progress: Progress, as_json: bool, dry_run: bool) -> None:
    data = {
        "pages": progress.pages,
        "pages_done": progress.pages_done,
        "captures_listed": progress.listed,
        "captures_new": progress.wanted,
        "captures_imported": progress.imported,
        "bad_captures": progress.failed,
        "not_downloaded_again": progress.reused,
        "captures_skipped": progress.skipped,
        "pages_discovered": progress.discovered,  # --discover: only the web archive had them
        "pages_unlinked": progress.unlinked,  # of them, recorded removed (no menu links them)
        "historical_changes": progress.changes,
        "date_flags": progress.date_flags,  # backdated or edited under one date (kernel.datecheck)
        "errors": progress.errors,
        "dry_run": dry_run,
    }
    if as_json:
        print_json(data)
        return
    from rich.table import Table
    from rich.text import Text

    from kernel.text import printable

    table = Table(title="Backfill summary" + (" (dry run)" if dry_run else ""), show_header=False)
    table.add_row("pages", f"{progress.pages_done} of {progress.pages}")
    if progress.discovered:
        table.add_row("  found only in the web archive", str(progress.discovered))
        table.add_row("  of them, recorded removed (no menu links them)", str(progress.unlinked))
    table.add_row("captures listed", str(progress.listed))
    table.add_row("new to the archive", str(progress.wanted))
    table.add_row("imported", str(progress.imported))
    table.add_row("  bad captures (failed fetches)", str(progress.failed))
    table.add_row("  bytes not downloaded again", str(progress.reused))
    table.add_row("skipped (recorded, or outside the window)", str(progress.skipped))
    for kind, count in sorted(progress.changes.items()):
        table.add_row(f"historical change: {kind}", str(count))
    table.add_row("declared dates flagged (backdated, edited under one date)",
                  str(progress.date_flags))  # fmt: skip
    for error in progress.errors:
        table.add_row("error", Text(printable(error)))
    console().print(table)
