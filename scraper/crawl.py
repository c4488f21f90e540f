"""Running a crawl: the sites' locks, their stale runs closed, the spider in this process and
(--jobs) in children forked from it, signals that stop it, the runs it recorded. The CLI's
`mfawatch crawl` and the scheduler's crawl processes (``python -m scraper.crawl``) both call
``run``.

A crawl process opens one database engine and reads the sites file once: the caller's session
factory and config are handed to the spider and the pipeline, and to every forked child.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kernel.errors import MfawatchError
from kernel.text import printable
from scraper.jobs import Stop

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from kernel.config import Config


@dataclass(frozen=True)
class Crawled:
    """What a crawl did: its runs, each site's run status ("not crawled" if it has none), and
    the first signal that stopped it (None if none did)."""

    run_ids: list[int]
    statuses: dict[str, str]
    signum: int | None
    # What reading the directories found, one line each ("az-missions: new mission seoul").
    news: list[str] = field(default_factory=list)

    def exit_code(self) -> int:
        """0 if every site's run is "ok"; 1 if not, or if no run began; 128 + the signal if a
        signal stopped the crawl before any run began."""
        if not self.run_ids:
            return 128 + self.signum if self.signum else 1
        return 0 if all(s == "ok" for s in self.statuses.values()) else 1

    def problem(self) -> str | None:
        """The line for stderr when no run began (None: the summary says what happened)."""
        if self.run_ids:
            return None
        if self.signum:  # stopped before any run began: nothing to sum up
            return "mfawatch: interrupted"
        return "mfawatch: error: the crawl did not start (see the log above)"


def run(
    config: Config,
    sessions: sessionmaker[Session],
    db_url: str | None,
    names: list[str],
    *,
    trigger: str = "manual",
    overrides: list[str] | None = None,
    jobs: int = 1,
    verbose: bool = False,
) -> Crawled:
    """Crawl the sites ``names`` of ``config`` (none: all) in ``jobs`` processes (at most one
    per site). The directories among the names (all, for none) are read first, and stand for
    the missions they list (scraper.directories).

    ``sessions`` is the process's session factory (its schema up to date), ``db_url`` the URL
    it was opened with (None: the default), which names the sites' locks. Raises ConfigError
    for a name that is no site, SiteBusy if another process is crawling one of the sites,
    before anything is crawled.
    """
    from scraper.directories import resolve
    from scraper.locks import site_locks
    from storage.db import database_url
    from storage.runs import close_stale_runs, list_runs

    resolved = resolve(config, sessions, db_url, names, trigger)
    config, names = resolved.config, resolved.names
    if not names:  # only directories, listing nobody
        return Crawled(resolved.run_ids, resolved.statuses, None, resolved.news)
    groups = split_sites(names, jobs)
    stop = Stop()
    calls = [
        (config, sessions, ",".join(group), trigger, overrides or [], verbose, stop)
        for group in groups
    ]
    with site_locks(database_url(db_url), names):
        with sessions.begin() as session:  # we hold the locks: "running" runs are dead ones
            close_stale_runs(session, names, "interrupted", "the crawl process died")
        # From here to the end a signal stops the crawl, whatever stage it is at.
        stop.install()
        if len(calls) == 1:
            run_ids = run_crawl(*calls[0])
        else:
            run_ids = _crawl_in_processes(groups, calls, sessions, stop)
    found: dict[str, str] = {}
    if run_ids:
        with sessions() as session:
            found = {r.site.name: r.status for r in list_runs(session, ids=run_ids, limit=None)}
    statuses = {name: found.get(name, "not crawled") for name in names}
    return Crawled(
        resolved.run_ids + run_ids, {**resolved.statuses, **statuses}, stop.signum, resolved.news
    )


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
    from scraper.jobs import Ended, run_alongside
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
    """What every crawl process needs, imported once before the fork; no connection across it
    (the children share the engine, each with a pool of its own from here)."""
    import importlib

    from storage.db import close_database

    # None of these installs a reactor: each process's CrawlerProcess installs its own.
    for module in ("scrapy.crawler", "scraper.spiders.mfa", "scraper.pipelines"):
        importlib.import_module(module)
    close_database(sessions)  # the pool reconnects when the parent next needs it


def _crawl_child(send: Callable[[list[int]], None], *call: Any) -> None:
    """In a child process: crawl some sites, send back their run ids."""
    logging.basicConfig()  # a handler on the inherited stderr; run_crawl formats it
    send(run_crawl(*call))


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
    config: Config,
    sessions: sessionmaker[Session],
    site: str | None,
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
    # Set on the crawler's own copy of the settings: Scrapy deep-copies the ones it is given.
    crawler.settings.set("MFAWATCH_SESSIONS", sessions, priority="cmdline")
    if stop.signum:
        return []
    process.crawl(crawler, config=config, site=site)  # this installs the reactor
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


def main(argv: list[str] | None = None) -> int:
    """``python -m scraper.crawl [--config FILE] [--site A,B] [--trigger T] [--set N=V]
    [--jobs N]``: the scheduler's crawl process. The database is $MFAWATCH_DATABASE_URL (a
    command line is readable by every user of the machine). Exit codes as `mfawatch crawl`'s:
    0 all ok, 1 not, 2 a problem the user can fix, 3 a site busy, 128 + N stopped by signal N
    before any run began."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m scraper.crawl")
    parser.add_argument("--config", "-c")
    parser.add_argument("--site", default="")
    parser.add_argument("--trigger", default="schedule")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    from kernel.config import load_config
    from storage.db import close_database, open_database

    try:
        config = load_config(args.config)
        names = [n for n in args.site.split(",") if n]  # checked by run(): missions too
        parse_settings(args.overrides)
        if args.jobs < 1:
            raise MfawatchError("--jobs must be 1 or more")
        sessions = open_database(None)
        try:
            crawled = run(
                config, sessions, None, names,
                trigger=args.trigger, overrides=args.overrides, jobs=args.jobs,
                verbose=args.verbose,
            )  # fmt: skip
        finally:
            close_database(sessions)
    except MfawatchError as exc:
        print(f"mfawatch: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # before the crawl's own handlers were installed
        print("mfawatch: interrupted", file=sys.stderr)
        return 130
    for line in crawled.news:
        print(f"mfawatch: {printable(line)}", file=sys.stderr)
    problem = crawled.problem()
    if problem:
        print(problem, file=sys.stderr)
    return crawled.exit_code()


if __name__ == "__main__":
    sys.exit(main())
