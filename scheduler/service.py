"""The scheduled service: APScheduler starts each site's crawl on its schedule, each crawl in a
process of its own (`python -m scraper.crawl --site NAME --trigger schedule`): Twisted's
reactor cannot restart, and a crash or memory growth in one crawl must not touch the service.

Per site: one job with a stable id (``crawl:NAME``), at most one instance, coalesced misfires.
SIGTERM/SIGINT: no new runs; the running crawls get a grace period to finish, are then asked to
stop (Scrapy closes them as "shutdown" → run "interrupted"), then killed; exit 0.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import Config
from kernel.errors import ConfigError, SiteBusy
from scheduler.notify import (
    ChangeNote,
    RunReport,
    check_targets,
    describe_target,
    messages_for,
    send,
)
from scheduler.timing import first_run_time, make_trigger
from storage.directories import all_missions, event_line, events
from storage.runs import (
    close_stale_runs,
    drift_notes,
    last_run_start,
    list_runs,
    mark_timed_out,
    new_changes,
    run_summaries,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    every: str | None = None  # default schedule for sites without their own
    jitter: dt.timedelta | None = None
    timeout: dt.timedelta = dt.timedelta(hours=2)  # a crawl running longer is stopped
    grace: dt.timedelta = dt.timedelta(seconds=60)  # on SIGTERM, before crawls are stopped
    misfire_grace: dt.timedelta = dt.timedelta(hours=1)


class Service:
    def __init__(
        self, config: Config, db_url: str, sessions: sessionmaker[Session], options: Options
    ) -> None:
        self.config = config
        self.db_url = db_url
        self.sessions = sessions
        self.options = options
        self.stopping = threading.Event()
        # Sites whose run is under way, with their crawl process once it has started.
        self._active: dict[str, subprocess.Popen[bytes] | None] = {}
        self._changed = threading.Condition()

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT; returns the exit code."""
        check_targets(self.config.notify)
        scheduler = BackgroundScheduler(
            timezone=dt.UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(self.options.misfire_grace.total_seconds()),
            },
        )
        now = dt.datetime.now(dt.UTC)
        # A directory is one job: its crawl reads the list, then crawls every mission on it.
        jobs = [(s.name, s.schedule) for s in self.config.sites]
        jobs += [(d.name, d.schedule) for d in self.config.directories]
        for name, own in jobs:
            schedule = own or self.options.every or self.config.schedule
            if not schedule:
                raise ConfigError(f"no schedule for site {name!r}: give --every or --cron")
            with self.sessions() as session:
                last = last_run_start(session, name)
            first = first_run_time(make_trigger(schedule), last, now)
            trigger = make_trigger(schedule, self.options.jitter, start=first)
            scheduler.add_job(
                self.crawl_site,
                trigger,
                args=[name],
                id=f"crawl:{name}",
                name=f"crawl {name}",
                next_run_time=first,
                replace_existing=True,
            )
            log.info("%s: every %s; next crawl at %s", name, schedule, first.isoformat())
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        targets = ", ".join(describe_target(u) for u in self.config.notify) or "none"
        log.info("service started: %d sites; notifications: %s", len(self.config.sites), targets)
        scheduler.start()
        self.stopping.wait()
        log.info("stopping: no new crawls; waiting up to %ss for running ones", self._grace())
        scheduler.shutdown(wait=False)
        self._stop_children()
        log.info("service stopped")
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        self.stopping.set()

    def _grace(self) -> int:
        return int(self.options.grace.total_seconds())

    def crawl_site(self, site: str) -> None:
        """One scheduled run (in a worker thread): the crawl in its own process."""
        with self._changed:
            if self.stopping.is_set():
                return
            self._active[site] = None
        try:
            self._run_once(site)
        finally:
            with self._changed:
                del self._active[site]
                self._changed.notify_all()

    def _run_once(self, site: str) -> None:
        started = dt.datetime.now(dt.UTC)
        log.info("%s: run started", site)
        command = [
            sys.executable, "-m", "scraper.crawl", "--config", str(self.config.path),
            "--site", site, "--trigger", "schedule",
        ]  # fmt: skip
        # The database URL may hold a password: a command line is readable by every user of
        # the machine (ps, /proc), the environment only by the process's owner.
        env = {**os.environ, "MFAWATCH_DATABASE_URL": self.db_url}
        # Its own session: a terminal's Ctrl-C reaches the service, which decides for it.
        child = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, env=env, start_new_session=True
        )
        with self._changed:
            self._active[site] = child
        if self.stopping.is_set():  # the stop came while it was starting
            _stop(child, grace=10)
        code, timed_out = self._wait(child)
        if code == SiteBusy.exit_code:
            log.warning("%s: skipped, another process is crawling this site", site)
            return
        self._record_end(site, started, code, timed_out)

    def _wait(self, child: subprocess.Popen[bytes]) -> tuple[int, bool]:
        try:
            return child.wait(timeout=self.options.timeout.total_seconds()), False
        except subprocess.TimeoutExpired:
            _stop(child, grace=10)
            return child.wait(), True

    def _record_end(self, site: str, started: dt.datetime, code: int, timed_out: bool) -> None:
        with self.sessions.begin() as session:
            if timed_out or code != 0:
                # A crawl stopped from outside could not close its run: close it here.
                status = "timed_out" if timed_out else "interrupted" if code < 0 else "failed"
                note = (
                    f"ran longer than {self.options.timeout}"
                    if timed_out
                    else f"crawl process ended with code {code}"
                )
                if timed_out:  # the crawl may have closed its run itself, as "interrupted"
                    mark_timed_out(session, site, started, note)
                else:
                    close_stale_runs(session, [site], status, note)
            names = [site]
            if self.config.directory(site) is not None:  # and the missions it crawled
                names += [m.name for m in all_missions(session) if m.directory == site]
            reports = run_reports(session, names, started)
        for report in reports:
            log.info(
                "%s: run ended %s: %d fetched, %d errors, %d new changes%s",
                report.site, report.status, report.fetched, report.errors, len(report.changes),
                f" ({report.note})" if report.note else "",
            )  # fmt: skip
            send(self.config.notify, messages_for(report))

    def _stop_children(self) -> None:
        with self._changed:
            children = [c for c in self._active.values() if c is not None]
        for child in children:
            try:
                child.wait(timeout=self._grace())
            except subprocess.TimeoutExpired:
                _stop(child, grace=10)
        # The worker threads record each run's end and send its notifications: let them.
        with self._changed:
            self._changed.wait_for(lambda: not self._active, timeout=30)


def run_reports(session: Session, sites: list[str], since: dt.datetime) -> list[RunReport]:
    """What to notify about the sites' runs started since ``since``."""
    runs = [r for n in sites for r in list_runs(session, site=n, since=since, limit=None)]
    counts = run_summaries(session, [r.id for r in runs])
    return [
        RunReport(
            site=run.site.name,
            status=run.status,
            note=run.note,
            fetched=counts[run.id].fetched,
            errors=counts[run.id].errors,
            changes=[ChangeNote(*c) for c in new_changes(session, run.id)],
            drifted=counts[run.id].drifted,
            drift=drift_notes(session, run.id) if counts[run.id].drifted else (),
            news=[event_line(e.kind, e.site_name) for e in events(session, run_id=run.id)],
        )
        for run in runs
    ]


def _stop(child: subprocess.Popen[bytes], grace: float) -> None:
    """Ask a crawl to stop (Scrapy closes the spider as "shutdown"), then kill it."""
    if child.poll() is not None:
        return
    os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
