"""The scheduled service end to end: `mfawatch schedule` as a subprocess against the offline
mirror, its journal (stderr) in a file, its runs read back through `mfawatch runs --json`, and
its notifications received by a local HTTP server.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from mfawatch.mirror import embassy_site, faults, relations_path
from mfawatch.mirror.missions import page_text
from mfawatch.mirror.pages import relations_page
from mfawatch.mirror.server import html_response, static
from storage.models import Run
from storage.runs import finish_run, start_run
from tests.support import wait_for

pytestmark = pytest.mark.crawl

REPO = Path(__file__).resolve().parents[1]
EN35, EN36, EN37 = (relations_path("en", i) for i in (35, 36, 37))
PAGES = [(lang, i) for lang in ("en", "az") for i in (35, 36, 37, 38)]
SECRET = "s3cret-token"


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (crawls run in sessions of their own)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        todo += children
    return found


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    journal: Path
    out: Path
    mfawatch: Any

    def log(self) -> str:
        return self.journal.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        def found() -> re.Match[str] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited ({self.proc.returncode}):\n{self.log()}")
            return re.search(pattern, self.log(), re.MULTILINE)

        return wait_for(found, f"{pattern!r} in the journal", timeout)

    def runs(self) -> list[dict[str, Any]]:
        result = self.mfawatch("runs", "--json")
        if result.code == 2 and "no archive" in result.stderr:
            return []  # the service has not created the database yet
        assert result.code == 0, result.stderr
        return list(reversed(result.json()))  # oldest first

    def wait_runs(self, what: str, test: Callable[[list[dict[str, Any]]], bool]) -> list[Any]:
        def check() -> list[dict[str, Any]] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited ({self.proc.returncode}):\n{self.log()}")
            runs = self.runs()
            return runs if test(runs) else None

        try:
            return wait_for(check, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; runs: {self.runs()}\n{self.log()}") from None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the service; it must exit within 10 s."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"no exit within 10 s of {sig!r}:\n{self.log()}") from None

    def kill(self) -> None:
        for pid in [*descendants(self.proc.pid), self.proc.pid]:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()


@contextmanager
def service(mfawatch: Any, tmp_path: Path, *args: str, verbose: bool = False) -> Iterator[Service]:
    """`mfawatch schedule ARGS` in the background; killed with its crawls whatever happens."""
    journal, out = tmp_path / "service.err", tmp_path / "service.out"
    with journal.open("wb") as err, out.open("wb") as std:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mfawatch", "--db", mfawatch.db_url, "-c", str(mfawatch.sites),
             *["-v"] * verbose, "schedule", *args],
            stdout=std, stderr=err, cwd=REPO,
        )  # fmt: skip
    running = Service(proc, journal, out, mfawatch)
    try:
        yield running
    finally:
        running.kill()


def scheduled(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["trigger"] == "schedule" and r["status"] == status


# A seoul relations page as the mirror serves it, with some content_page arguments changed.
render = partial(relations_page, "seoul")


def edited(lang: str, section_id: int) -> list[str]:
    paragraphs = list(page_text("seoul", lang, section_id).paragraphs)
    paragraphs[-1] += " This sentence was added later."
    return paragraphs


def add_to_sites(mfawatch: Any, top: str = "", site: str = "") -> None:
    """Top-level keys before the tables, keys of the seoul site at the end."""
    text = mfawatch.sites.read_text(encoding="utf-8")
    mfawatch.sites.write_text(f"{top}\n{text}{site}\n", encoding="utf-8")


def add_past_run(sessions: Any, age: dt.timedelta) -> None:
    """A finished run of seoul that started `age` ago, as a previous service left it."""
    with sessions.begin() as session:
        run_id = start_run(session, "seoul", "mfa.gov.az", "schedule")
        finish_run(session, run_id, "failed", "from an earlier service")
        started = dt.datetime.now(dt.UTC) - age
        session.execute(update(Run).where(Run.id == run_id).values(started_at=started))


def logged_next_crawl(svc: Service, schedule: str) -> dt.datetime:
    found = svc.wait_log(rf"^.*seoul: every {re.escape(schedule)}; next crawl at (\S+)$")
    return dt.datetime.fromisoformat(found[1])


# -- runs on schedule, and a clean stop -----------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_service_crawls_on_schedule_and_exits_cleanly_on_signal(mfawatch, tmp_path, sig):
    with service(mfawatch, tmp_path, "--every", "2s", "--grace", "2s") as svc:
        runs = svc.wait_runs("two ok scheduled runs", lambda rs: sum(map(scheduled("ok"), rs)) >= 2)
        assert {r["trigger"] for r in runs} == {"schedule"}
        first = next(r for r in runs if r["status"] == "ok")
        assert (first["site"], first["fetched"], first["errors"]) == ("seoul", 8, 0)
        assert svc.stop(sig) == 0
        log = svc.log()
    assert "seoul: every 2s; next crawl at" in log
    assert re.search(r"seoul: run started", log)
    assert re.search(r"seoul: run ended ok: 8 fetched, 0 errors, 0 new changes", log)
    assert "service stopped" in log
    # Whatever was under way when the signal came was closed, not left "running".
    statuses = {r["status"] for r in svc.runs()}
    assert statuses <= {"ok", "interrupted"}, statuses


def test_the_database_url_reaches_crawls_by_the_environment_not_the_command_line(
    mfawatch, mirror, tmp_path
):
    # Any user of the machine can read a command line (ps, /proc/PID/cmdline); a database URL
    # may carry its password.
    mirror.set_handler(EN35, faults.slow(60, static(html_response(render("en", 35)))))
    with service(mfawatch, tmp_path, "--every", "1h", "--grace", "1s") as svc:
        wait_for(lambda: mirror.hits(EN35), "the scheduled crawl to fetch the slow page")
        [crawl] = descendants(svc.proc.pid)
        argv = Path(f"/proc/{crawl}/cmdline").read_bytes().decode().split("\0")
        environ = Path(f"/proc/{crawl}/environ").read_bytes().decode().split("\0")
        assert svc.stop() == 0
    # The crawl layer's own entry point, not the CLI's command line.
    assert argv[argv.index("-m") :][:2] == ["-m", "scraper.crawl"]
    assert argv[argv.index("--site") :][:2] == ["--site", "seoul"]
    assert "--db" not in argv
    assert not [arg for arg in argv if mfawatch.db_url in arg]
    assert f"MFAWATCH_DATABASE_URL={mfawatch.db_url}" in environ
    assert [r["status"] for r in svc.runs()] == ["interrupted"]


# -- restarts: what the run records say is due ---------------------------------------------------


def test_after_a_restart_an_overdue_crawl_runs_once_at_once(mfawatch, sessions, tmp_path):
    # Every 6h (slots at fixed times of day), the last run 7 h ago: due while the service was down.
    add_past_run(sessions, dt.timedelta(hours=7))
    before = dt.datetime.now(dt.UTC)
    with service(mfawatch, tmp_path, "--every", "6h") as svc:
        first = logged_next_crawl(svc, "6h")
        assert before <= first <= dt.datetime.now(dt.UTC)
        svc.wait_log(r"seoul: run ended ok")
        runs = svc.runs()
        assert svc.stop() == 0
    # One crawl for all the missed slots, not one per slot.
    assert [r["status"] for r in runs] == ["failed", "ok"]
    assert {r["trigger"] for r in runs} == {"schedule"}
    assert svc.log().count("seoul: run started") == 1


def test_after_a_restart_a_crawl_not_due_yet_waits_for_its_time(mfawatch, sessions, tmp_path):
    add_past_run(sessions, dt.timedelta(minutes=1))
    before = dt.datetime.now(dt.UTC)
    with service(mfawatch, tmp_path, "--every", "1h") as svc:
        first = logged_next_crawl(svc, "1h")
        svc.wait_log(r"service started: 1 sites")
        assert svc.stop() == 0
    # An hour after the last run started: 59 minutes from now, not now.
    expected = before + dt.timedelta(minutes=59)
    assert abs(first - expected) < dt.timedelta(seconds=30), (first, expected)
    assert "run started" not in svc.log()
    assert len(svc.runs()) == 1


def test_a_sites_own_schedule_wins_over_every(mfawatch, sessions, tmp_path):
    add_to_sites(mfawatch, top='schedule = "12h"', site='schedule = "3h"')
    add_past_run(sessions, dt.timedelta(minutes=1))
    with service(mfawatch, tmp_path, "--every", "2s") as svc:
        first = logged_next_crawl(svc, "3h")
        assert svc.stop() == 0
    wait = first - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=2, minutes=58) < wait < dt.timedelta(hours=3), first


def test_the_sites_file_schedule_is_the_default(mfawatch, sessions, tmp_path):
    add_to_sites(mfawatch, top='schedule = "12h"')
    add_past_run(sessions, dt.timedelta(minutes=1))
    with service(mfawatch, tmp_path) as svc:
        logged_next_crawl(svc, "12h")
        assert svc.stop() == 0


# -- runs that cannot finish ----------------------------------------------------------------------


def test_a_crawl_longer_than_the_timeout_is_timed_out_and_the_service_goes_on(
    mfawatch, mirror, tmp_path
):
    mirror.set_handler(EN35, faults.slow(60, static(html_response(render("en", 35)))))
    # 8 s: a whole crawl of the fast site fits in it even on a loaded 2-core machine (a crawl
    # process spends 1-2 s of CPU starting); the slow page never does.
    with service(mfawatch, tmp_path, "--every", "2s", "--timeout", "8s") as svc:
        runs = svc.wait_runs("a timed-out run", lambda rs: any(map(scheduled("timed_out"), rs)))
        timed_out = next(filter(scheduled("timed_out"), runs))
        assert timed_out["note"] == "ran longer than 0:00:08"
        assert timed_out["finished_at"] is not None
        mirror.set(EN35, render("en", 35))
        svc.wait_runs("an ok run after it", lambda rs: any(map(scheduled("ok"), rs)))
        assert svc.stop() == 0
    assert re.search(r"seoul: run ended timed_out: .*\(ran longer than 0:00:08\)", svc.log())


def test_a_scheduled_run_of_a_busy_site_is_skipped_not_failed(mfawatch, tmp_path, hold_site_lock):
    with hold_site_lock() as holder, service(mfawatch, tmp_path, "--every", "2s") as svc:
        svc.wait_log(r"WARNING seoul: skipped, another process is crawling this site")
        assert svc.runs() == []
        assert "run ended" not in svc.log()
        holder.kill()
        holder.wait()
        svc.wait_runs("an ok run once the lock is free", lambda rs: any(map(scheduled("ok"), rs)))
        assert svc.stop() == 0
    assert {r["status"] for r in svc.runs()} <= {"ok", "interrupted"}


# -- notifications -------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A webhook on 127.0.0.1 that keeps every JSON body POSTed to it."""

    posts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def serve(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.paths.append(self.path)
                receiver.posts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [p for p in list(self.posts) if p["type"] == kind]


@pytest.fixture
def receiver(mfawatch) -> Iterator[Receiver]:
    with webhook(mfawatch, f"json://user:{SECRET}@127.0.0.1:{{port}}/hook") as found:
        yield found


@contextmanager
def webhook(mfawatch: Any, target: str) -> Iterator[Receiver]:
    """A Receiver, and `target` (with its {port}) as the sites file's notification URL."""
    found = Receiver()
    httpd = found.serve()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    add_to_sites(
        mfawatch, top=f"notify = [{json.dumps(target.format(port=httpd.server_address[1]))}]"
    )
    try:
        yield found
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def assert_secret_kept(mfawatch: Any, svc: Service) -> None:
    assert SECRET not in svc.log()
    assert SECRET not in svc.out.read_text(encoding="utf-8", errors="replace")
    assert SECRET not in mfawatch("runs", "--json").stdout
    assert SECRET not in mfawatch("runs").stdout


def test_a_run_with_changes_sends_one_message_worst_first(mfawatch, mirror, receiver, tmp_path):
    mfawatch.crawl()  # the baseline: a manual crawl, nothing to say
    mirror.set(EN36, render("en", 36, paragraphs=edited("en", 36), last_updated="15.03.2024"))
    mirror.set(EN35, render("en", 35, paragraphs=edited("en", 35)))
    mirror.set(EN37, render("en", 37, last_updated="01.01.2020"))
    with service(mfawatch, tmp_path, "--every", "2s") as svc:
        svc.wait_runs("two ok scheduled runs", lambda rs: sum(map(scheduled("ok"), rs)) >= 2)
        # One job at a time: a third start means the second run's notifications are done.
        wait_for(lambda: svc.log().count("seoul: run started") >= 3, "a third run")
    found = {c["kind"]: c for c in mfawatch.json("changes")}
    assert set(found) == {"silent_edit", "date_regressed", "content_updated"}
    assert receiver.paths == ["/hook"]
    [message] = receiver.posts
    assert message["type"] == "info"
    assert message["title"] == (
        "mfawatch: seoul: 3 new changes (1 silent_edit, 1 date_regressed, 1 content_updated)"
    )
    order = ("silent_edit", "date_regressed", "content_updated")
    lines = [f"#{found[k]['id']} {k} {found[k]['url']}" for k in order]
    assert message["message"].splitlines() == lines
    assert found["silent_edit"]["url"] == mirror.url(EN35)
    assert_secret_kept(mfawatch, svc)


def test_verbose_logging_names_no_notification_path(mfawatch, mirror, tmp_path):
    # A webhook's token is often its path (Slack, Discord, ntfy topics): -v must not log it.
    with webhook(mfawatch, f"json://127.0.0.1:{{port}}/hook/{SECRET}") as found:
        mfawatch.crawl()
        mirror.set(EN35, render("en", 35, paragraphs=edited("en", 35)))
        with service(mfawatch, tmp_path, "--every", "2s", verbose=True) as svc:
            wait_for(lambda: found.posts, "the silent edit's notification")
            svc.wait_log(r"seoul: run ended ok: 8 fetched, 0 errors, 1 new changes")
            assert svc.stop() == 0
    assert found.paths == [f"/hook/{SECRET}"]
    assert " DEBUG " in svc.log()  # verbose it was
    assert SECRET not in svc.log()
    assert "/hook" not in svc.log()


def test_a_failed_delivery_is_logged_without_the_target(mfawatch, mirror, tmp_path):
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    add_to_sites(mfawatch, top=f'notify = ["json://user:{SECRET}@127.0.0.1:{port}/hook"]')
    mfawatch.crawl()
    mirror.set(EN35, render("en", 35, paragraphs=edited("en", 35)))
    with service(mfawatch, tmp_path, "--every", "2s") as svc:
        svc.wait_log(r"ERROR notification 'mfawatch: seoul: 1 new change \(1 silent_edit\)'")
        assert re.search(r"notifications: json://…$", svc.log(), re.MULTILINE)
    assert_secret_kept(mfawatch, svc)


def test_an_unhealthy_run_is_notified_and_a_healthy_one_is_ok_again(
    mfawatch, mirror, receiver, tmp_path
):
    mfawatch.crawl()
    for lang, i in PAGES:  # a redesign: no page matches the layout any more
        html = render(lang, i).replace("section_articleInner", "section_post")
        mirror.set(relations_path(lang, i), html)
    with service(mfawatch, tmp_path, "--every", "2s") as svc:
        runs = svc.wait_runs("an unhealthy run", lambda rs: any(map(scheduled("unhealthy"), rs)))
        unhealthy = next(filter(scheduled("unhealthy"), runs))
        note = unhealthy["note"]  # and the first failing page, the selectors tried on it
        assert note.startswith("8 of 8 pages did not match the layout (redesign or block page?)")
        assert "; first failing page http://" in note and "body not found (tried " in note
        assert unhealthy["errors"] == 8
        wait_for(lambda: receiver.of_type("failure"), "the unhealthy run's notification")
        mirror.set_site(embassy_site("seoul"))
        runs = svc.wait_runs("an ok run", lambda rs: scheduled("ok")(rs[-1]))
    failures = receiver.of_type("failure")
    # One message per unhealthy run (the mirror may have stayed broken for several).
    assert len(failures) == sum(map(scheduled("unhealthy"), runs)) >= 1
    assert failures[0]["title"] == "mfawatch: seoul: crawl unhealthy"
    assert f"The crawl of seoul ended unhealthy: {note}." in failures[0]["message"]
    assert_secret_kept(mfawatch, svc)


def test_a_notification_target_apprise_cannot_read_is_refused_at_start(mfawatch):
    add_to_sites(mfawatch, top=f'notify = ["not a url {SECRET}"]')
    result = mfawatch("schedule", "--every", "6h")
    assert result.code == 2
    assert result.stderr.splitlines()[-1] == (
        "mfawatch: error: notify: target 1 (<target>) is not an Apprise URL"
    )
    assert SECRET not in result.stderr and "Traceback" not in result.stderr
