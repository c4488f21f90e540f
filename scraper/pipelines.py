"""The archive pipeline: one run row per site; a short transaction per page that may have
changed, the rest in batches (storage.recorder). The crawl's only database I/O: it hands the
spider the archive's pages as it opens."""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.logformatter import LogFormatter, LogFormatterResult
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import layout_fingerprint
from kernel.status import RunStatus
from kernel.text import printable
from storage.archive import FetchResult
from storage.db import close_database, open_database
from storage.queries import known_pages
from storage.recorder import BATCH_SECONDS, CrawlWriter
from storage.runs import DISK_FULL, Discovery, failure_cause, finish_run, start_run

log = logging.getLogger(__name__)


class ItemLogFormatter(LogFormatter):
    """Scrapy's log lines about items, without the item: a FetchResult carries the page's whole
    body, and a full disk once turned every dropped page into megabytes of stderr. The pipeline
    logs what was lost, and why, itself."""

    def scraped(self, item: Any, response: Any, spider: Spider) -> LogFormatterResult:
        return {"level": logging.DEBUG, "msg": "Scraped %(url)s", "args": {"url": _url(item)}}

    def dropped(
        self, item: Any, exception: BaseException, response: Any, spider: Spider
    ) -> LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        return {**result, "msg": "Dropped: %(exception)s", "args": {"exception": exception}}

    def item_error(
        self, item: Any, exception: BaseException, response: Any, spider: Spider
    ) -> LogFormatterResult:
        return {
            "level": logging.ERROR,
            "msg": "Error processing %(url)s",
            "args": {"url": _url(item)},
        }


def _url(item: Any) -> str:
    return printable(str(getattr(item, "url", None) or type(item).__name__))


class ArchivePipeline:
    def __init__(
        self,
        crawler: Crawler,
        database_url: str | None,
        trigger: str,
        sessions: sessionmaker[Session] | None = None,
    ) -> None:
        self.crawler = crawler
        self.database_url = database_url
        self.trigger = trigger
        # The crawl process's session factory (MFAWATCH_SESSIONS, from scraper.crawl), else
        # one of its own (`scrapy crawl mfa`), opened and closed here.
        self.shared = sessions
        self.run_ids: dict[str, int] = {}
        self.writers: dict[str, CrawlWriter] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        pipeline = cls(
            crawler,
            settings.get("MFAWATCH_DATABASE_URL"),
            settings.get("MFAWATCH_TRIGGER", "manual"),
            settings.get("MFAWATCH_SESSIONS"),
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self.Session = self.shared or open_database(self.database_url)
        spider: Any = self.crawler.spider
        try:
            with self.Session.begin() as session:
                for site in spider.sites:
                    self.run_ids[site.name] = start_run(
                        session,
                        site.name,
                        site.layout.name,
                        self.trigger,
                        layout_fingerprint(site.layout),
                    )
                spider.know({site.name: known_pages(session, site.name) for site in spider.sites})
        except SQLAlchemyError as exc:
            # No run to record anything in (a full disk, say): one line, and no crawl. Raising
            # here would bring Scrapy's tracebacks; its engine is closed once it runs.
            self.run_ids = {}
            log.error("could not start the crawl: %s", failure_cause(exc))
            self.crawler.signals.connect(self._close_at_start, signal=signals.engine_started)
            return
        self.writers = {name: CrawlWriter(self.Session, rid) for name, rid in self.run_ids.items()}
        # Batched fetches wait; while the crawl waits on a slow page, a timer writes them, so a
        # crash loses at most about BATCH_SECONDS of them.
        from twisted.internet import task

        self.flusher = task.LoopingCall(self._flush_writers)
        self.flusher.start(BATCH_SECONDS, now=False)
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("mfawatch/run_ids", sorted(self.run_ids.values()))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchResult):
            return item
        stats = self.crawler.stats
        assert stats is not None
        writer = self.writers[item.site]
        dropped = writer.dropped
        try:
            recorded = writer.record(item)
        except SQLAlchemyError as exc:
            # The page is lost for this crawl (with a batch waiting before it, if any), never
            # what was stored before it.
            self._lost(exc, item.url, 1 + writer.dropped - dropped)
            # Said once, above; Scrapy's own line about it only under -v.
            raise DropItem(f"database error on {item.url}", log_level="DEBUG") from None
        stats.inc_value(f"mfawatch/outcome/{recorded.outcome}")
        if recorded.change_kind:
            stats.inc_value(f"mfawatch/change/{recorded.change_kind}")
        # One line per page: a failed fetch's is a problem, and says why, as a removal does.
        if recorded.change_kind:
            said = f"  -> {recorded.change_kind} #{recorded.change_id}"
        elif recorded.outcome in ("failed", "gone") and item.error:
            said = f"  ({item.error})"
        else:
            said = ""
        level = logging.WARNING if recorded.outcome == "failed" else logging.INFO
        log.log(level, "%-18s %s%s", recorded.outcome, item.url, said)
        return item

    def _flush_writers(self) -> None:
        for writer in self.writers.values():
            waiting = writer.waiting
            try:
                writer.flush()
            except SQLAlchemyError as exc:
                self._lost(exc, f"{waiting} batched fetches of {writer.site}", waiting)

    def _close_at_start(self) -> None:
        from scrapy.utils.defer import deferred_from_coro

        deferred_from_coro(self.crawler.engine.close_spider_async(reason="could not start"))

    def _lost(self, exc: SQLAlchemyError, what: str, count: int = 1) -> None:
        """One line per loss, with the cause only: never the item (its body may be megabytes)."""
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("mfawatch/db_errors", count)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        cause = failure_cause(exc)
        if stats.get_value("mfawatch/db_error") is None:  # the run's note names the first
            stats.set_value("mfawatch/db_error", reason)
            stats.set_value("mfawatch/db_cause", cause)
        log.error("could not archive %s: %s", what, cause if cause == DISK_FULL else reason)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if not hasattr(self, "Session"):
            return
        flusher = getattr(self, "flusher", None)
        if flusher is not None and flusher.running:
            flusher.stop()
        self._flush_writers()
        # "finished" is a whole crawl; anything else (shutdown, a closespider limit) is not.
        status = {"finished": RunStatus.OK, "shutdown": RunStatus.INTERRUPTED}.get(
            reason, RunStatus.FAILED
        )
        note = None if reason == "finished" else f"crawl ended: {reason}"
        stats = self.crawler.stats
        lost = stats.get_value("mfawatch/db_errors", 0) if stats else 0
        if lost and stats:
            status = RunStatus.FAILED
            note = f"{lost} fetches could not be archived ({stats.get_value('mfawatch/db_error')})"
            if stats.get_value("mfawatch/db_cause") == DISK_FULL:
                note = f"{DISK_FULL}: {note}"
        notes: dict[str, list[str]] = getattr(spider, "notes", {})  # why pages were not fetched
        linked: dict[str, int] = getattr(spider, "linked", {})  # what discovery saw
        unlinked: dict[str, list[str]] = getattr(spider, "unlinked", {})
        try:
            with self.Session.begin() as session:
                for name, run_id in self.run_ids.items():
                    why = [*notes.get(name, []), *([note] if note else [])]
                    found = Discovery(linked.get(name, 0), tuple(unlinked.get(name, ())))
                    finish_run(session, run_id, status, "; ".join(why) or None, found)
        except SQLAlchemyError as exc:
            # Not even a run row could be written (a disk full to the last byte): one line; the
            # runs stay "running" until the next crawl of their sites closes them.
            log.error("could not record the end of the crawl: %s", failure_cause(exc))
        if self.shared is None:
            close_database(self.Session)
