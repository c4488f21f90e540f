"""`mfawatch crawl`: one crawl now, in this process, then a summary."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

from mfawatch.cli.common import CONFIG_OPTION, State, console, fail
from mfawatch.errors import MfawatchError


def register(app: typer.Typer) -> None:
    app.command()(crawl)


def crawl(
    ctx: typer.Context,
    site: Annotated[
        str | None, typer.Option("--site", "-s", help="Only this site (comma-separated names).")
    ] = None,
    trigger: Annotated[str, typer.Option(hidden=True)] = "manual",
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", help="A Scrapy setting for this crawl, NAME=VALUE (repeatable)."),
    ] = None,
    config_path: Annotated[str | None, CONFIG_OPTION] = None,
) -> None:
    """Crawl the configured sites now and archive every page fetched."""
    state: State = ctx.obj
    state.use_config(config_path)
    config = state.config()  # a bad sites file fails here, before Scrapy starts
    names = [config.site(n).name for n in (site or "").split(",") if n]
    names = names or [s.name for s in config.sites]
    sessions = state.sessions()  # likewise a bad database, and the schema gets upgraded
    from scheduler.locks import site_locks
    from storage.db import database_url
    from storage.runs import close_stale_runs

    with site_locks(database_url(state.db_url), names):
        with sessions.begin() as session:  # we hold the locks: "running" runs are dead ones
            close_stale_runs(session, names, "interrupted", "the crawl process died")
        run_ids = run_crawl(
            str(config.path), site, state.db_url, trigger, setting or [], state.verbose
        )
    if not run_ids:
        fail("the crawl did not start (see the log above)", code=1)
    from storage.runs import list_runs, total_summary

    with sessions() as session:
        summary = total_summary(session, run_ids)
        statuses = {run.site.name: run.status for run in list_runs(session, ids=run_ids)}
    _print_summary(summary, statuses)
    if any(status != "ok" for status in statuses.values()):
        raise typer.Exit(1)


def run_crawl(
    config_path: str,
    site: str | None,
    db_url: str | None,
    trigger: str,
    overrides: list[str],
    verbose: bool = False,
) -> list[int]:
    """Run the mfa spider in this process (once: Twisted's reactor cannot restart)."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from scraper.spiders.mfa import MfaSpider

    settings = Settings()
    settings.setmodule("scraper.settings", priority="project")
    settings.set("MFAWATCH_TRIGGER", trigger, priority="cmdline")
    if db_url:
        settings.set("MFAWATCH_DATABASE_URL", db_url, priority="cmdline")
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise MfawatchError(f"--set takes NAME=VALUE, got {item!r}")
        settings.set(name.strip(), value.strip(), priority="cmdline")
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    if not verbose:
        settings.set("LOG_VERSIONS", [], priority="cmdline")
    _show_progress(verbose, per_page=trigger != "schedule")
    process = CrawlerProcess(settings)
    crawler: Any = process.create_crawler(MfaSpider)
    process.crawl(crawler, config=config_path, site=site)
    process.start()
    return list(crawler.stats.get_value("mfawatch/run_ids", []))


def _show_progress(verbose: bool, per_page: bool) -> None:
    """One line per page from the pipeline; Scrapy itself only when something is wrong.

    A scheduled crawl writes to the service's journal: problems only, no line per page.
    """
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO if per_page else logging.WARNING)
    for handler in root.handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        if not verbose:  # a handler filter outlives Scrapy's own logging set-up
            handler.addFilter(_quiet_scrapy)


def _quiet_scrapy(record: logging.LogRecord) -> bool:
    # Scrapy's INFO lines (middlewares, stats dumps) would drown the per-page progress.
    return record.levelno >= logging.WARNING or not record.name.startswith(("scrapy", "py.warn"))


def _print_summary(summary: Any, statuses: dict[str, str]) -> None:
    from rich.table import Table

    table = Table(title="Crawl summary", show_header=False)
    table.add_row("sites", ", ".join(f"{name} ({status})" for name, status in statuses.items()))
    table.add_row("pages fetched", str(summary.fetched))
    table.add_row("new pages", str(summary.new))
    table.add_row("unchanged", str(summary.unchanged))
    table.add_row("changed", str(summary.changed))
    table.add_row("errors", str(summary.errors))
    for outcome, count in sorted(summary.outcomes.items()):
        table.add_row(f"  {outcome}", str(count))
    if summary.changes:
        for kind, count in sorted(summary.changes.items()):
            table.add_row(f"new change: {kind}", str(count))
    else:
        table.add_row("new changes", "none")
    console().print(table)
