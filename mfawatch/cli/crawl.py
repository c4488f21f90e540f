"""`mfawatch crawl`: one crawl now, then a summary. The sites are split between processes
(--jobs, this one and children): a crawl is CPU-bound, and a Twisted reactor uses one core.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kernel.errors import MfawatchError
from kernel.text import printable
from mfawatch.cli.common import CONFIG_OPTION, State, console, fail
from mfawatch.cli.jobs import Stop

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


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
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            help="Crawl in this many processes, the sites dealt between them; 1: in this one "
            "[default: the number of CPUs, at most one per site]",
            show_default=False,
        ),
    ] = None,
    config_path: Annotated[str | None, CONFIG_OPTION] = None,
) -> None:
    """Crawl the configured sites now and archive every page fetched."""
    state: State = ctx.obj
    state.use_config(config_path)
    config = state.config()  # a bad sites file fails here, before Scrapy starts
    names = [config.site(n).name for n in (site or "").split(",") if n]
    names = names or [s.name for s in config.sites]
    overrides = setting or []
    parse_settings(overrides)  # likewise a bad --set
    if jobs is not None and jobs < 1:
        raise MfawatchError("--jobs must be 1 or more")
    groups = split_sites(names, jobs or os.cpu_count() or 1)
    sessions = state.sessions()  # likewise a bad database, and the schema gets upgraded
    if not config.contact:  # once per crawl (all checks passed), not once per crawl process
        print(
            f"mfawatch: note: no contact in {config.path}: add a line such as "
            'contact = "mailto:you@example.org" at its top, so that site owners can reach you '
            "(it goes into the User-Agent)",
            file=sys.stderr,
        )
    from scheduler.locks import site_locks
    from storage.db import database_url
    from storage.runs import close_stale_runs

    stop = Stop()
    calls = [
        (str(config.path), ",".join(group), state.db_url, trigger, overrides, state.verbose, stop)
        for group in groups
    ]
    with site_locks(database_url(state.db_url), names):
        with sessions.begin() as session:  # we hold the locks: "running" runs are dead ones
            close_stale_runs(session, names, "interrupted", "the crawl process died")
        # From here to the end a signal stops the crawl, whatever stage it is at.
        stop.install()
        if len(calls) == 1:
            run_ids = run_crawl(*calls[0])
        else:
            run_ids = _crawl_in_processes(groups, calls, sessions, stop)
    if not run_ids:
        if stop.signum:  # stopped before any run began: nothing to sum up
            print("mfawatch: interrupted", file=sys.stderr)
            raise typer.Exit(128 + stop.signum)
        fail("the crawl did not start (see the log above)", code=1)
    from storage.runs import list_runs, total_summary

    with sessions() as session:
        summary = total_summary(session, run_ids)
        found = {run.site.name: run.status for run in list_runs(session, ids=run_ids, limit=None)}
    statuses = {name: found.get(name, "not crawled") for name in names}
    _print_summary(summary, statuses)
    if any(status != "ok" for status in statuses.values()):
        raise typer.Exit(1)


def split_sites(names: list[str], jobs: int) -> list[list[str]]:
    """The sites dealt round-robin to at most ``jobs`` groups, none empty.

    >>> split_sites(["a", "b", "c", "d", "e"], 2)
    [['a', 'c', 'e'], ['b', 'd']]
    >>> split_sites(["a", "b"], 8)
    [['a'], ['b']]
    """
    count = max(1, min(jobs, len(names)))
    return [names[i::count] for i in range(count)]


def _crawl_in_processes(
    groups: list[list[str]],
    calls: list[tuple[Any, ...]],
    sessions: sessionmaker[Session],
    stop: Stop,
) -> list[int]:
    """The first group's crawl (``run_crawl(*call)``) here, each other's in a child process, all
    at once; the run ids of all. A crawl that fails is reported; the others go on.
    """
    from mfawatch.cli.jobs import Ended, run_alongside
    from storage.runs import close_stale_runs, list_runs

    started = dt.datetime.now(dt.UTC)
    _ready_to_fork(sessions)
    mine, theirs = run_alongside(lambda: run_crawl(*calls[0]), _crawl_child, calls[1:], stop)
    run_ids: list[int] = []
    lost: list[str] = []
    for group, ended in zip(groups, [Ended(mine, 0), *theirs], strict=True):
        run_ids += ended.result or []
        if ended.result is None:
            lost += group
            why = f"ended early ({ended.describe()})"
        elif not ended.result and not stop.signum:  # stopped before it began: no news
            why = "did not start (see the log above)"
        else:
            continue
        print(f"mfawatch: error: the crawl of {', '.join(group)} {why}", file=sys.stderr)
    # Every crawl has ended and we hold the locks: a run still "running" died with its process
    # (or was stopped by force, as by a second Ctrl-C).
    sites = [name for group in groups for name in group]
    with sessions.begin() as session:
        close_stale_runs(session, sites, "interrupted", "the crawl process died")
    if lost:
        with sessions() as session:
            for name in lost:
                run_ids += [r.id for r in list_runs(session, site=name, since=started, limit=None)]
    return run_ids


def _ready_to_fork(sessions: sessionmaker[Session]) -> None:
    """What every crawl process needs, imported once before the fork; no connection across it."""
    import importlib

    from storage.db import close_database

    # None of these installs a reactor: each process's CrawlerProcess installs its own.
    for module in ("scrapy.crawler", "scraper.spiders.mfa", "scraper.pipelines"):
        importlib.import_module(module)
    close_database(sessions)  # the pool reconnects when the parent next needs it


def _crawl_child(
    send: Callable[[list[int]], None],
    config_path: str,
    site: str,
    db_url: str | None,
    trigger: str,
    overrides: list[str],
    verbose: bool,
    stop: Stop,
) -> None:
    """In a child process: crawl some sites, send back their run ids."""
    logging.basicConfig()  # a handler on the inherited stderr; run_crawl formats it
    send(run_crawl(config_path, site, db_url, trigger, overrides, verbose, stop))


def parse_settings(items: list[str]) -> list[tuple[str, str]]:
    """``--set NAME=VALUE`` items as (name, value), checked as the sites file's [settings] are.

    >>> parse_settings(["DOWNLOAD_DELAY = 0.5"])
    [('DOWNLOAD_DELAY', '0.5')]
    >>> parse_settings(["DOWNLOAD_DELAY=abc"])
    Traceback (most recent call last):
    kernel.errors.MfawatchError: --set DOWNLOAD_DELAY: expected a number, got 'abc'
    """
    from kernel.config import setting_problem

    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise MfawatchError(f"--set takes NAME=VALUE, got '{printable(item)}'")
        problem = setting_problem(name, _as_toml(value))
        if problem:
            raise MfawatchError(f"--set {printable(name)}: {problem}")
        pairs.append((name, value))
    return pairs


def _as_toml(value: str) -> object:
    """A --set value read as a TOML value (0.5, 3, true) where it is one, else the string."""
    import tomllib

    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def run_crawl(
    config_path: str,
    site: str | None,
    db_url: str | None,
    trigger: str,
    overrides: list[str],
    verbose: bool = False,
    stop: Stop | None = None,
) -> list[int]:
    """Run the mfa spider in this process (once: Twisted's reactor cannot restart).

    A signal noted by ``stop`` (before or during the crawl) stops it; none if it came first.
    """
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from scraper.spiders.mfa import MfaSpider

    settings = Settings()
    settings.setmodule("scraper.settings", priority="project")
    settings.set("MFAWATCH_TRIGGER", trigger, priority="cmdline")
    if db_url:
        settings.set("MFAWATCH_DATABASE_URL", db_url, priority="cmdline")
    for name, value in parse_settings(overrides):
        settings.set(name, value, priority="cmdline")
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    if not verbose:
        settings.set("LOG_VERSIONS", [], priority="cmdline")
    _show_progress(verbose, per_page=trigger != "schedule")
    if stop is None:
        stop = Stop().install()
    process = CrawlerProcess(settings)
    crawler: Any = process.create_crawler(MfaSpider)
    if stop.signum:
        return []
    process.crawl(crawler, config=config_path, site=site)  # this installs the reactor
    from twisted.internet import reactor

    def on_signal(first: bool) -> None:  # in the signal handler: hand it to the reactor
        reactor.callFromThread(_stop_crawl, process, crawler, first)

    stop.listen(on_signal)
    try:
        if stop.signum:  # it came while the crawl was being set up
            on_signal(True)
        # Scrapy's own handlers would be installed only once the reactor runs: ours are there
        # from before the crawl began (and before any child was forked).
        process.start(install_signal_handlers=False)
    finally:
        stop.listen(None)
    return list(crawler.stats.get_value("mfawatch/run_ids", []))


def _stop_crawl(process: Any, crawler: Any, first: bool) -> None:
    """Stop gracefully (the spider closes as "shutdown", its runs "interrupted"), or at a
    second signal at once, as Scrapy's own handlers do."""
    from twisted.internet import reactor as installed

    reactor: Any = installed  # the module's type is not the reactor's
    if not first:
        with contextlib.suppress(RuntimeError):  # already stopping
            reactor.stop()
        return
    engine = crawler._engine  # Scrapy's documented way to read it before the crawl starts
    if crawler.crawling and not (engine and engine.running):
        # Still starting: a stop now would be forgotten once the engine runs.
        reactor.callLater(0.1, _stop_crawl, process, crawler, first)
    else:
        process.stop()


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
