"""Backfill: a page's past from a web archive (the Wayback Machine's CDX index, scraper.wayback,
or any Memento archive's TimeMaps, scraper.memento), run through the crawl's own judgement.

For each page: list the captures of every URL that names it (the archive's ``lookups``, each
kept only if the layout gives it the page's identity), oldest first; download each new
one's original bytes (one at a time, rate-limited); judge it as the spider judges a response
(scraper.spiders.mfa.observe: statuses, redirects away, soft 404s, extraction) after the
archive's own checks (kernel.captures: redirects recorded, error and interstitial pages,
truncation, a digest that does not match); and record it at its time (storage.history), one
transaction per capture. A killed backfill loses at most the capture it was on; the next run
skips what is recorded (a capture's identity is unique) and goes on.

Which captures of a page are imported: those after its last recorded capture and before its
first live fetch; bytes whose digest a capture of the page already brought are not downloaded
again (the capture is still a fetch, of those bytes). A failure of the archive while a page is
under way ends that page there (later captures would otherwise come before it), and the
backfill goes on with the next page; an unreachable archive ends the backfill.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from scrapy.http import HtmlResponse, Response
from scrapy.http.headers import Headers
from scrapy.responsetypes import responsetypes
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from wayback import CdxRecord

from kernel.captures import Capture, capture_problem, listed_problem
from kernel.config import Config, Layout, Site, page_identity, url_host
from kernel.detect import Seen
from kernel.errors import ArchiveError, ArchiveUnreachable, MfawatchError
from kernel.plan import FetchResult
from kernel.status import FetchSource
from kernel.text import printable
from scraper.middlewares import on_site
from scraper.spiders.mfa import observe
from scraper.wayback import BadMemento, Downloaded
from storage.content import read_body
from storage.datecheck import check_dates
from storage.history import (
    Timeline,
    capture_context,
    link_to_live,
    mark_unlinked,
    record_capture,
    timeline,
)
from storage.models import Body, Fetch, Page
from storage.models import Site as SiteRow
from storage.storable import storable_text

log = logging.getLogger(__name__)


class Archive(Protocol):
    """A web archive to backfill from: scraper.wayback.Wayback (its CDX index), or
    scraper.memento.TimeMaps (any Memento archive)."""

    source: FetchSource

    def lookups(self, layout: Layout, url: str) -> list[str]: ...

    def captures(
        self,
        prefix: str,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        *,
        urls_only: bool = False,
    ) -> Iterator[CdxRecord]: ...

    def download(self, record: CdxRecord) -> Downloaded: ...

    def memento_url(self, record: CdxRecord) -> str: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """A page to backfill: its site, identity and an address of it."""

    site: Site
    key: str
    url: str
    lang: str
    discovered: bool = False  # found by --discover: a page the archive did not have


@dataclass
class Progress:
    pages: int = 0  # to backfill
    pages_done: int = 0
    listed: int = 0  # captures the archive lists for the pages done and the current one
    wanted: int = 0  # of them, new to the archive (what a dry run would import)
    imported: int = 0
    failed: int = 0  # imported as failed fetches: bad captures
    skipped: int = 0  # recorded already, after watching began, or before the history imported
    reused: int = 0  # of the imported: bytes already archived, not downloaded again
    changes: dict[str, int] = field(default_factory=dict)  # historical changes found, by kind
    date_flags: int = 0  # changes of the pages done whose declared date their history belies
    errors: list[str] = field(default_factory=list)  # pages the archive failed on
    discovered: int = 0  # pages found only in the web archive (--discover)
    unlinked: int = 0  # of them, recorded removed: the site's menus no longer link them
    page: str = ""  # the page under way
    started: float = field(default_factory=time.monotonic)
    todo: int = 0  # captures of the current page still to do

    def line(self) -> str:
        """One line for the terminal: pages, captures, and when it may end."""
        done = self.imported + self.skipped
        eta = ""
        elapsed = time.monotonic() - self.started
        if self.pages_done and self.pages > self.pages_done:
            left = elapsed / self.pages_done * (self.pages - self.pages_done)
            eta = f", about {_duration(left)} left"
        elif self.todo and done:
            eta = f", about {_duration(elapsed / done * self.todo)} left on this page"
        return (
            f"pages {self.pages_done}/{self.pages}, captures listed {self.listed}, "
            f"imported {self.imported} ({self.failed} bad, {self.reused} not downloaded again), "
            f"skipped {self.skipped}{eta}"
        )


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def targets(
    sessions: sessionmaker[Session], config: Config, sites: list[str], page_url: str | None
) -> list[Target]:
    """The archive's pages of these sites, or the one page named (archived or not yet)."""
    if page_url is not None:
        return [_target_of(config, page_url)]
    chosen = {config.site(name).name: config.site(name) for name in sites} if sites else None
    chosen = chosen or {s.name: s for s in config.sites}
    with sessions() as session:
        rows = session.execute(
            select(SiteRow.name, Page.key, Page.url, Page.lang)
            .join(SiteRow, Page.site_id == SiteRow.id)
            .where(SiteRow.name.in_(chosen))
            .order_by(SiteRow.name, Page.key)
        ).all()
    return [Target(chosen[site], key, url, lang) for site, key, url, lang in rows]


def _target_of(config: Config, url: str) -> Target:
    if not url_host(url):
        raise MfawatchError(f"--page is not a URL that parses: {printable(url)}")
    owners = {url_host(u): s for s in config.sites for u in s.start_urls}
    site = owners.get(url_host(url)) or next((s for s in config.sites if on_site(url, s)), None)
    if site is None:
        raise MfawatchError(f"no site of {config.path} serves {printable(url)}")
    found = page_identity(site.layout, url)
    if found is None:
        raise MfawatchError(
            f"not a relations page of site {site.name!r} (no page rule of layout "
            f"{site.layout.name!r} matches): {printable(url)}"
        )
    return Target(site, str(found[0]), url, found[0].lang)


class Backfill:
    """One backfill: its archive, its options, its progress."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        archive: Archive,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        dry_run: bool = False,
        queue: bool = False,
        report: Callable[[Progress], None] = lambda _: None,
        say: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.sessions = sessions
        self.archive = archive
        self.since, self.until = since, until
        self.dry_run, self.queue = dry_run, queue
        self.report, self.say = report, say
        self.progress = Progress()

    def run(self, pages: list[Target]) -> Progress:
        """Backfill every page; an unreachable archive ends it (ArchiveUnreachable)."""
        self.progress.pages = len(pages)
        for target in pages:
            self.progress.page = target.key
            try:
                self.page(target)
            except ArchiveUnreachable:
                raise
            except ArchiveError as exc:
                message = f"{printable(target.key)}: {exc}"
                self.progress.errors.append(message)
                self.say(f"mfawatch: backfill: {message}; the page's later captures wait "
                         "for the next run")  # fmt: skip
            self.progress.pages_done += 1
            self.report(self.progress)
        return self.progress

    def page(self, target: Target) -> None:
        with self.sessions() as session:
            known = timeline(session, target.key)
        records = self.listed(target)
        self.progress.listed += len(records)
        wanted = [r for r in records if self._wanted(r, known)]
        self.progress.skipped += len(records) - len(wanted)
        self.progress.wanted += len(wanted)
        if self.dry_run or not wanted:
            return
        with self.sessions.begin() as session:
            context = capture_context(session, target.site.name, target.site.layout.name)
        self.progress.todo = len(wanted)
        try:
            for record in wanted:
                result = self.capture(target, record, known)
                with self.sessions.begin() as session:
                    recorded = record_capture(session, context, result, queue=self.queue)
                    digest = result.capture.digest if result.capture else None
                    if digest and result.raw is not None and result.seen is not Seen.FAILED:
                        body_id = session.scalar(
                            select(Fetch.body_id).where(Fetch.id == recorded.fetch_id)
                        )
                        if body_id is not None:
                            known.bodies[digest] = body_id
                self.progress.imported += 1
                self.progress.todo -= 1
                self.progress.failed += result.seen is Seen.FAILED
                if recorded.change_kind is not None:
                    kind = str(recorded.change_kind)
                    self.progress.changes[kind] = self.progress.changes.get(kind, 0) + 1
                self.report(self.progress)
        finally:
            context.keyframe = None
        with self.sessions.begin() as session:
            bridged = link_to_live(session, target.key, queue=self.queue)
            page_id = session.scalar(select(Page.id).where(Page.key == target.key))
            if page_id is not None:  # the declared dates against the history now known
                self.progress.date_flags += check_dates(session, page_id)
            if target.discovered:
                self.progress.unlinked += mark_unlinked(session, target.key)
        if bridged is not None:
            self.progress.changes[str(bridged)] = self.progress.changes.get(str(bridged), 0) + 1

    def listed(self, target: Target) -> list[CdxRecord]:
        """The page's captures under every URL that names it, oldest first, each once."""
        seen: dict[tuple[str, str, str], CdxRecord] = {}
        for prefix in self.archive.lookups(target.site.layout, target.url):
            for record in self.archive.captures(prefix, self.since, self.until):
                found = page_identity(target.site.layout, record.original)
                if found is None or str(found[0]) != target.key:
                    continue  # another page under the same prefix (content/350 for 35)
                seen.setdefault((record.raw_url, record.digest, record.original), record)
        return sorted(seen.values(), key=lambda r: (r.timestamp, r.original))

    def _wanted(self, record: CdxRecord, known: Timeline) -> bool:
        at = record.timestamp
        if known.first_live is not None and at >= known.first_live:
            return False  # watching had begun: the crawl's own fetches tell
        if known.last_capture is not None and at < known.last_capture:
            return False  # before the history already imported: see storage.history
        if (self.since and at < self.since) or (self.until and at > self.until):
            return False
        return _capture(self.archive, record).key not in known.captures

    def capture(self, target: Target, record: CdxRecord, known: Timeline) -> FetchResult:
        """The fetch this capture is, judged as a crawl judges a response."""
        capture = _capture(self.archive, record)
        result = FetchResult(
            site=target.site.name, key=target.key, url=target.url, lang=target.lang,
            seen=Seen.FAILED, fetched_at=record.timestamp, http_status=record.statuscode,
            capture=capture,
        )  # fmt: skip
        # The page keeps its address: the one the archive captured is a variant of it.
        original = storable_text(record.original)
        result.final_url = original if original != target.url else None
        problem = listed_problem(record.statuscode, record.mimetype)
        if problem is not None:  # not worth a download
            result.error = f"bad capture: {problem}"
            return result
        try:
            got = self._reused(record, known) or self.archive.download(record)
        except BadMemento as exc:  # the archive's own error for this capture
            result.error = f"bad capture: the archive could not replay it ({exc})"
            return result
        result.http_status = got.status
        problem = capture_problem(
            got.status, got.headers.get("content-type"), got.raw, got.digests, record.digest
        )
        if problem is not None:
            result.raw = None
            result.error = f"bad capture: {problem}"
            return result
        result.raw = got.raw
        observe(result, _response(original, got), target.site, None)
        if result.seen is Seen.EXTRACTION_FAILED:
            # An older design, or an archive artefact: no text, and not a change.
            result.seen, result.error = Seen.FAILED, f"bad capture: {result.error}"
        if result.seen is Seen.FAILED:
            result.raw = None
        return result

    def _reused(self, record: CdxRecord, known: Timeline) -> Downloaded | None:
        """The bytes of an earlier capture with this digest, read from the archive."""
        body_id = known.bodies.get(record.digest) if record.digest else None
        if body_id is None:
            return None
        with self.sessions() as session:
            body = session.get(Body, body_id)
            raw = read_body(session, body) if body is not None else None
        if raw is None:
            return None
        self.progress.reused += 1
        return Downloaded(
            status=record.statuscode or 200,
            headers={"content-type": record.mimetype or "text/html"},
            raw=raw,
            digests=(record.digest.upper(),),
            memento_url=self.archive.memento_url(record),
        )


def _capture(archive: Archive, record: CdxRecord) -> Capture:
    url = storable_text(archive.memento_url(record))
    return Capture(archive.source, url, record.digest or None)


def _response(url: str, got: Downloaded) -> Response:
    """The capture as the spider would have received the original response."""
    headers = Headers({k: v for k, v in got.headers.items() if _plain(k, v)})
    cls = responsetypes.from_args(headers=headers, url=url, body=got.raw)
    if cls is Response and got.raw.lstrip()[:1] == b"<" and not headers.get("Content-Type"):
        cls = HtmlResponse
    return cls(url=url, status=got.status or 200, headers=headers, body=got.raw)


def _plain(name: str, value: str) -> bool:
    return name.isascii() and value.isascii() and "\n" not in value and "\r" not in value


def site_names(config: Config, names: Iterable[str]) -> list[str]:
    """The --site names, each checked against the sites file."""
    return [config.site(name).name for name in names if name]
