"""Before a crawl: the directories' list pages read, the missions they list recorded, and the
sites in effect (the sites file's, then every mission still listed) for the crawl to use.

A list page is fetched as `mfawatch layout check` fetches a page (scraper.polite: robots.txt
first, the crawl's User-Agent and contact); its links are read with parsel, which missions they
are is kernel.directory's decision, and what changed is storage.directories'. Each reading is
a run under the directory's name, under its lock (one reading at a time): "ok", or "unhealthy"
when a list page failed or listed no mission, which then leaves every mission found before in
place.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kernel.config import Config, Directory
from kernel.directory import missions_linked
from kernel.errors import ConfigError, MfawatchError
from kernel.status import RunStatus
from kernel.text import printable

if TYPE_CHECKING:
    from scrapy.http import HtmlResponse
    from sqlalchemy.orm import Session, sessionmaker

    from storage.directories import Listed

log = logging.getLogger(__name__)


@dataclass
class Resolved:
    """The sites in effect and those to crawl, and what reading the directories found."""

    config: Config
    names: list[str]
    run_ids: list[int] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    news: list[str] = field(default_factory=list)  # one line each: new missions, problems


def resolve(
    config: Config,
    sessions: sessionmaker[Session],
    db_url: str | None,
    names: Sequence[str],
    trigger: str = "manual",
) -> Resolved:
    """The sites to crawl for ``names`` (none: every site and directory). A directory's name
    reads its list now and stands for every mission it lists; a mission's name (one listed
    before) is crawled without reading the list again. Raises ConfigError for a name that is
    neither, and SiteBusy if another process is reading a directory to read."""
    unknown = [n for n in names if not _known(config, sessions, n)]
    if unknown:
        raise ConfigError(_no_such_site(config, sessions, unknown[0]))
    to_read = [d for d in config.directories if not names or d.name in names]
    resolved = Resolved(config, [])
    for directory in to_read:
        _read(directory, config, sessions, db_url, trigger, resolved)
    resolved.config = effective_config(config, sessions)
    chosen: list[str] = []
    for name in names or [s.name for s in config.sites] + [d.name for d in config.directories]:
        if config.directory(name) is not None:
            chosen += [s for s, d in resolved.config.discovered.items() if d == name]
        elif name in {s.name for s in resolved.config.sites}:
            chosen.append(name)
        else:  # a mission no longer listed, or now a configured site's host: not watched
            resolved.news.append(f"{name}: not crawled (no longer a site in effect)")
    resolved.names = list(dict.fromkeys(chosen))
    return resolved


def effective_config(config: Config, sessions: sessionmaker[Session]) -> Config:
    """``config`` with every mission its directories still list, as the archive knows them."""
    if not config.directories:
        return config
    from storage.directories import sites_in_effect

    with sessions() as session:
        return sites_in_effect(session, config)


def _known(config: Config, sessions: sessionmaker[Session], name: str) -> bool:
    if config.directory(name) or name in {s.name for s in config.sites}:
        return True
    return name in effective_config(config, sessions).discovered


def _no_such_site(config: Config, sessions: sessionmaker[Session], name: str) -> str:
    sites = ", ".join(s.name for s in effective_config(config, sessions).sites) or "none"
    directories = ", ".join(d.name for d in config.directories)
    also = f"; directories: {directories}" if directories else ""
    return f"{config.path}: no site named {name!r} (sites: {sites}{also})"


def _read(
    directory: Directory,
    config: Config,
    sessions: sessionmaker[Session],
    db_url: str | None,
    trigger: str,
    resolved: Resolved,
) -> None:
    from scraper.locks import site_locks
    from storage.db import database_url
    from storage.directories import (
        close_reading_run,
        event_line,
        listed_missions,
        record_reading,
    )
    from storage.runs import close_stale_runs, start_run

    with site_locks(database_url(db_url), [directory.name]):
        with sessions.begin() as session:
            close_stale_runs(session, [directory.name], "interrupted", "the crawl process died")
            run_id = start_run(session, directory.name, directory.layout.name, trigger)
            others = [r.name for r in listed_missions(session) if r.directory != directory.name]
        listed, problems = _list(directory, config, others)
        with sessions.begin() as session:
            reading = record_reading(
                session, directory.name, listed, complete=not problems, run_id=run_id
            )
            kept = len(listed_missions(session, directory.name))
            news = [event_line("new", n) for n in reading.new]
            news += [event_line("back", n) for n in reading.back]
            news += [event_line("gone", n) for n in reading.gone]
            note = f"{len(listed)} missions listed"
            if problems:
                kept_line = f"kept the {kept} missions found before" if kept else "no mission"
                note = f"{'; '.join(problems)}: {kept_line}"
            note = "; ".join([note, *news])
            status = RunStatus.UNHEALTHY if problems else RunStatus.OK
            close_reading_run(session, run_id, status, note)
    resolved.run_ids.append(run_id)
    resolved.statuses[directory.name] = status
    resolved.news += [f"{directory.name}: {line}" for line in news]
    if problems:
        resolved.news.append(f"{directory.name}: {note}")
        log.warning("directory %s: %s", directory.name, printable(note))


def _list(
    directory: Directory, config: Config, others: list[str]
) -> tuple[list[Listed], list[str]]:
    """The missions the directory's list pages link, and what went wrong with any of them."""
    from scrapy.http import HtmlResponse

    from scraper.polite import fetch_page
    from storage.directories import Listed

    listed: dict[str, Listed] = {}
    problems: list[str] = []
    for url in directory.list_urls:
        try:
            fetched = fetch_page(url, config)
        except MfawatchError as exc:
            problems.append(f"list page {printable(url)} not read ({exc})")
            continue
        base = fetched.url or url
        headers = {"Content-Type": fetched.content_type} if fetched.content_type else {}
        page = HtmlResponse(base, body=fetched.body, headers=headers)
        links = [_absolute(page, href) for href in page.css("a::attr(href)").getall()]
        found = missions_linked(directory, links, config, taken=others)
        if not found:
            problems.append(f"list page {printable(url)} listed no mission (redesign or block?)")
        for name, mission in found.items():
            listed.setdefault(name, Listed(name, mission.host, mission.origin, base))
    return list(listed.values()), problems


def _absolute(page: HtmlResponse, href: str) -> str:
    try:
        return page.urljoin(href.strip())
    except ValueError:  # a link that does not parse ("http://[x"): not a mission
        return ""
