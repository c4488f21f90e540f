"""Crawls against a misbehaving site: every bad answer is archived or recorded as a fetch with a
clear outcome and error, the crawl carries on with the other pages, and nothing archived before
is lost. Bad configuration fails fast with one line and exit code 2.

Each fault test crawls the good site once (the baseline), swaps a fault in for a known page,
and crawls again.
"""

from __future__ import annotations

import dataclasses
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mfawatch.mirror import (
    Request,
    embassy_site,
    faults,
    home_page,
    html_response,
    relations_menu,
    relations_path,
    static,
)
from storage.models import Change, ContentVersion, Fetch, Run
from tests import test_fault_storage
from tests.test_fault_storage import PAGES, grown_site

EN35 = relations_path("en", 35)
RU35 = "/ru/content/35/political-cooperation"
ALL_PAGES = [relations_path(lang, i) for lang in ("en", "az") for i in (35, 36, 37, 38)]
REPO = Path(__file__).resolve().parents[1]
FIRST_LINE = "Diplomatic relations between the Republic of Azerbaijan and the Republic of Korea"


def history(mfawatch, mirror, path):
    return mfawatch.json("history", mirror.url(path))


def count(sessions, model):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def baseline_then(mfawatch, mirror, fault, *args):
    """Crawl the good site, serve `fault` at EN35, crawl again; the second crawl's result."""
    mfawatch.crawl()
    before = mfawatch.json("show", mirror.url(EN35))
    mirror.set_handler(EN35, fault)
    result = mfawatch.crawl(*args)
    # The crawl went on: every other page was fetched again, and found unchanged.
    for path in ALL_PAGES:
        if path != EN35:
            fetches = history(mfawatch, mirror, path)["fetches"]
            assert [f["outcome"] for f in fetches] == ["new", "unchanged"], path
    return result, before


def assert_nothing_lost(mfawatch, mirror, before):
    """The page still shows the text archived before the fault."""
    now = mfawatch.json("show", mirror.url(EN35))
    assert now["text"] == before["text"]
    assert now["content_hash"] == before["content_hash"]
    assert now["last_updated"] == "2023-02-28"


@dataclass(frozen=True)
class Fault:
    handler: object
    outcome: str
    error: str  # a part of the fetch's error text
    http_status: int | None
    change: str | None  # the one change the fault queues, if any
    status: str  # the page's state afterwards
    requests: int = 1  # how often the page was asked for in the fault crawl


FAULTS = {
    # Transient trouble: retried (RETRY_TIMES = 1 in the tests), then a failed fetch that
    # changes nothing.
    "server_error_500": Fault(faults.server_error(500), "failed", "HTTP 500", 500, None,
                              "active", requests=2),
    "server_error_503": Fault(faults.server_error(503), "failed", "HTTP 503", 503, None,
                              "active", requests=2),
    "dropped_connection": Fault(faults.dropped_connection(), "failed", "DataLoss", None, None,
                                "active", requests=2),
    # Bot protection is a block, not a removal of the page.
    "challenge_403": Fault(faults.challenge_403(), "failed", "HTTP 403", 403, None, "active"),
    "png_as_image": Fault(faults.binary_png("image/png"), "failed",
                          "not a text page (image/png)", 200, None, "active"),
    # A 200 that does not hold the article: reported once for review, never taken for a
    # deletion of the text (the mislabelled PNG is a body-less "HTML" page too).
    "png_as_html": Fault(faults.binary_png(), "extraction_failed", "body not found", 200,
                         "extraction_failed", "broken"),
    "empty_200": Fault(faults.empty_200(), "extraction_failed", "body not found", 200,
                       "extraction_failed", "broken"),
    "wait_interstitial": Fault(faults.wait_interstitial(), "extraction_failed",
                               "body not found", 200, "extraction_failed", "broken"),
    "script_rendered": Fault(faults.script_rendered(), "extraction_failed", "body is empty",
                             200, "extraction_failed", "broken"),
    # The site's own "page not found" with status 200.
    "soft_404": Fault(faults.soft_404(), "gone", "soft 404", 200, "removed", "removed"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_is_recorded_and_nothing_is_lost(mfawatch, mirror, name):
    fault = FAULTS[name]
    mfawatch.crawl()
    before = mfawatch.json("show", mirror.url(EN35))
    mirror.clear_requests()
    mirror.set_handler(EN35, fault.handler)
    result = mfawatch.crawl()
    assert result.code == 0  # a page's trouble is not the crawl's failure
    errors = 0 if fault.outcome == "gone" else 1  # a removal is news, not an error
    assert re.search(rf"errors\s*│\s*{errors}\b", result.stdout), result.stdout
    assert mirror.hits(EN35) == fault.requests
    page = history(mfawatch, mirror, EN35)
    last = page["fetches"][-1]
    assert len(page["fetches"]) == 2
    assert last["outcome"] == fault.outcome
    assert fault.error in last["error"]
    assert last["http_status"] == fault.http_status
    assert last["content_hash"] is None
    assert page["status"] == fault.status
    changes = mfawatch.json("changes", "--status", "all")
    assert [c["kind"] for c in changes] == ([fault.change] if fault.change else [])
    for path in ALL_PAGES:
        if path != EN35:
            fetches = history(mfawatch, mirror, path)["fetches"]
            assert [f["outcome"] for f in fetches] == ["new", "unchanged"], path
    if fault.outcome != "gone":
        assert_nothing_lost(mfawatch, mirror, before)
    # The same fault again adds a fetch, never a second change.
    mfawatch.crawl()
    assert len(history(mfawatch, mirror, EN35)["fetches"]) == 3
    assert len(mfawatch.json("changes", "--status", "all")) == len(changes)


def test_timeout_is_a_failed_fetch(mfawatch, mirror):
    _, before = baseline_then(mfawatch, mirror, faults.slow(30), "--set", "DOWNLOAD_TIMEOUT=1")
    last = history(mfawatch, mirror, EN35)["fetches"][-1]
    assert last["outcome"] == "failed"
    assert "timeout" in last["error"].lower()
    assert last["http_status"] is None
    assert mfawatch.json("changes", "--status", "all") == []
    assert_nothing_lost(mfawatch, mirror, before)


def test_redirect_loop_is_a_failed_fetch(mfawatch, mirror):
    mfawatch.crawl()
    for path, handler in faults.redirect_loop(EN35, "/en/content-moved").items():
        mirror.set_handler(path, handler)
    mfawatch.crawl()
    page = history(mfawatch, mirror, EN35)
    last = page["fetches"][-1]
    assert last["outcome"] == "failed"
    assert "redirect" in last["error"]
    assert page["status"] == "active"
    assert mfawatch.json("changes", "--status", "all") == []


def test_truncated_html_is_archived_as_far_as_it_goes(mfawatch, mirror):
    # Content-Length matches the cut, so nothing says the page is incomplete: like a browser,
    # the archive keeps what is there (and the reviewer sees the lost half as a silent edit).
    _, before = baseline_then(mfawatch, mirror, faults.truncated_html())
    last = history(mfawatch, mirror, EN35)["fetches"][-1]
    assert last["outcome"] == "changed"
    assert last["last_updated"] is None  # the date line was in the lost half
    now = mfawatch.json("show", mirror.url(EN35))
    assert FIRST_LINE in now["text"]
    assert len(now["text"]) < len(before["text"])
    [change] = mfawatch.json("changes")
    assert change["kind"] == "silent_edit"
    # The complete text is still in the archive, as it stood before the fault.
    then = mfawatch.json("show", mirror.url(EN35), "--at", before["fetched_at"])
    assert then["text"] == before["text"]


def test_huge_page_is_archived_whole(mfawatch, mirror):
    fault = faults.huge_page()
    served = fault(Request("GET", EN35, {})).body.decode()
    paragraphs = max(int(n) for n in re.findall(r"<p>(\d+)\. ", served))
    baseline_then(mfawatch, mirror, fault)
    last = history(mfawatch, mirror, EN35)["fetches"][-1]
    assert last["outcome"] == "changed"
    text = mfawatch.json("show", mirror.url(EN35))["text"]
    assert len(text) > 9_000_000
    # Every paragraph made it, the last one included: not cut at some size limit.
    numbers = re.findall(r"^(\d+)\. ", text, flags=re.MULTILINE)
    assert [int(n) for n in numbers] == list(range(1, paragraphs + 1))


def test_impossible_date_is_kept_raw_with_a_note(mfawatch, mirror):
    page = faults.political_page().replace("28.02.2023", "31.02.2023")
    _, before = baseline_then(mfawatch, mirror, static(html_response(page)))
    last = history(mfawatch, mirror, EN35)["fetches"][-1]
    assert last["outcome"] == "unchanged"  # the text is archived as usual
    assert last["last_updated"] is None
    assert last["last_updated_raw"] == "31.02.2023"
    assert "31.02.2023" in last["error"]
    assert "not a valid date" in last["error"]
    [row] = [p for p in mfawatch.json("pages") if p["url"] == mirror.url(EN35)]
    assert (row["last_updated"], row["last_updated_raw"]) == (None, "31.02.2023")
    assert mfawatch.json("show", mirror.url(EN35))["text"] == before["text"]


def test_missing_date_is_archived_as_none(mfawatch, mirror):
    page = faults.political_page().replace("Last updated: 28.02.2023", "")
    assert "28.02.2023" not in page
    baseline_then(mfawatch, mirror, static(html_response(page)))
    last = history(mfawatch, mirror, EN35)["fetches"][-1]
    assert last["outcome"] == "unchanged"
    assert (last["last_updated"], last["last_updated_raw"], last["error"]) == (None, None, None)
    table = mfawatch("pages").stdout
    [line] = [ln for ln in table.splitlines() if "en/content/35" in ln]
    assert re.search(r"│\s*none\s*│", line), line


def test_windows_1251_page_is_archived_in_cyrillic(mfawatch, mirror):
    mfawatch.crawl()
    # The Russian site appears, linked from the English menu; its page 35 is windows-1251.
    site = embassy_site("seoul", langs=("en", "az", "ru"))
    site["/en"] = home_page(
        mission="seoul",
        lang="en",
        menu=[*relations_menu("en"), (RU35, "Политическое сотрудничество")],
    )
    mirror.set_site(site)
    mirror.set_handler(RU35, faults.windows_1251_page())
    mfawatch.crawl()
    page = history(mfawatch, mirror, RU35)
    [fetch] = page["fetches"]
    assert fetch["outcome"] == "new"
    assert (fetch["last_updated"], fetch["last_updated_raw"]) == ("2023-02-28", "28.02.2023")
    shown = mfawatch.json("show", mirror.url(RU35))
    assert shown["title"] == "Политическое сотрудничество"
    assert "Дипломатические отношения между Азербайджанской Республикой" in shown["text"]
    assert "�" not in shown["text"]


def test_killed_crawl_loses_nothing_and_the_next_one_completes(mfawatch, mirror, sessions):
    mfawatch.crawl()
    site = embassy_site("seoul")
    body = '<div class="section_articleInner_body_content--description">\n'
    edited = {
        path: site[path].replace(body, body + "<p>Added after the baseline.</p>\n")
        for path in (relations_path("en", 36), relations_path("az", 35), relations_path("az", 38))
    }
    mirror.set_site(edited)
    mirror.set_handler(EN35, faults.slow(60))  # keeps the crawl running until it is killed
    command = [sys.executable, "-m", "mfawatch", "--db", mfawatch.db_url, "-c",
               str(mfawatch.sites), "crawl", "--set", "DOWNLOAD_TIMEOUT=120"]  # fmt: skip
    crawl = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while count(sessions, Change) == 0:
            assert crawl.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline, "no change was stored within 60 s"
            time.sleep(0.05)
        assert crawl.poll() is None
        crawl.send_signal(signal.SIGKILL)
    finally:
        crawl.kill()
        crawl.wait(timeout=30)

    if mfawatch.db_url.startswith("sqlite"):
        with sqlite3.connect(mfawatch.db_url.removeprefix("sqlite:///")) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    with sessions() as session:
        # Every change came with its fetch: one transaction per page, never half of one.
        orphans = session.scalars(
            select(Change.id)
            .outerjoin(Fetch, Change.new_fetch_id == Fetch.id)
            .where(Fetch.id.is_(None))
        ).all()
        assert orphans == []
        # Nobody marked the killed run: it stays "running" for now (marking runs that were
        # cut short is a separate piece of work).
        statuses = session.scalars(select(Run.status).order_by(Run.id)).all()
        assert statuses == ["ok", "running"]

    mirror.set_site({**site, **edited})  # EN35 answers again
    mfawatch.crawl()
    with sessions() as session:
        assert session.scalars(select(Run.status).order_by(Run.id)).all()[-1] == "ok"
        versions = session.execute(select(ContentVersion.page_id, ContentVersion.text_hash)).all()
    assert len(versions) == len(set(versions)) == 8 + len(edited)
    changes = mfawatch.json("changes", "--status", "all")
    assert sorted(c["url"] for c in changes) == sorted(mirror.url(p) for p in edited)
    assert {c["kind"] for c in changes} == {"silent_edit"}
    assert history(mfawatch, mirror, EN35)["fetches"][-1]["outcome"] == "unchanged"


def bad_sites(mfawatch, replace: str, by: str) -> Path:
    good = mfawatch.sites.read_text(encoding="utf-8")
    assert replace in good
    path = mfawatch.sites.with_name("bad-sites.toml")
    path.write_text(good.replace(replace, by), encoding="utf-8")
    return path


BAD_CONFIG = {
    # name: (sites file change or None, --db or None, crawl arguments, part of the message)
    "toml_syntax": (("[[sites]]", "[[sites]"), None, (), "not valid TOML"),
    "unknown_layout": (('layout = "mfa.gov.az"', 'layout = "no-such"'), None, (),
                       "unknown layout 'no-such'"),
    "missing_start_urls": (("start_urls", "#start_urls"), None, (), "start_urls"),
    "unknown_site": (None, None, ("--site", "nosuch"), "no site named 'nosuch'"),
    "unknown_db_scheme": (None, "nosuchdb://x", (), "nosuchdb"),
    "db_port_closed": (None, "postgresql://127.0.0.1:1/x", (), "127.0.0.1:1"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_CONFIG))
def test_bad_configuration_is_one_line_and_exit_code_2(mfawatch, mirror, sessions, name):
    change, db, args, message = BAD_CONFIG[name]
    mfawatch.crawl()
    before = [count(sessions, model) for model in (Run, Fetch, ContentVersion)]
    sites = bad_sites(mfawatch, *change) if change else mfawatch.sites
    bad = dataclasses.replace(mfawatch, db_url=db or mfawatch.db_url, sites=sites)
    mirror.clear_requests()
    result = bad.crawl(*args, check=False)
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("mfawatch: error: ")
    assert message in line
    # Nothing started: no request to the site, nothing written to the existing archive.
    assert mirror.requests == []
    assert [count(sessions, model) for model in (Run, Fetch, ContentVersion)] == before


# -- the disk fills up ------------------------------------------------------------------------
# The full disk itself (a tmpfs filled up, or SQLite's page count capped, or PostgreSQL's
# disk_full error from a trigger) is test_fault_storage's; here: what the user sees of it.
disk_full = test_fault_storage.disk_full


def test_a_full_disk_mid_crawl_is_one_line_per_page_and_a_failed_run(
    mfawatch, mirror, db_url, disk_full
):
    url, fill = disk_full
    archive = dataclasses.replace(mfawatch, db_url=url)
    archive.crawl()
    fill()
    grown_site(mirror, words=20_000)  # each page's new text is ~300 KB: the item is bigger
    result = archive.crawl(check=False)
    assert result.code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    # One line per page lost, with its URL and the cause; the pages' bodies never.
    assert len(result.stderr) < 4000, result.stderr[:4000]
    for lang, i in PAGES:
        lost = [
            line
            for line in result.stderr.splitlines()
            if mirror.url(relations_path(lang, i)) in line
        ]
        assert len(lost) == 1 and lost[0].endswith(": disk full"), lost
    [runs_now, baseline] = archive.json("runs")
    assert (baseline["status"], runs_now["status"]) == ("ok", "failed")
    assert runs_now["note"].startswith(f"disk full: {len(PAGES)} fetches could not be archived")
    assert "seoul (failed)" in result.stdout


def test_a_crawl_started_on_a_full_disk_is_one_error_line(mfawatch, mirror, db_url, disk_full):
    url, fill = disk_full
    archive = dataclasses.replace(mfawatch, db_url=url)
    archive.crawl()
    fill(room=0)  # not even a run row fits
    result = archive.crawl(check=False)
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-2:] == [
        result.stderr.splitlines()[-2],
        "mfawatch: error: the crawl did not start (see the log above)",
    ]
    assert result.stderr.splitlines()[-2].endswith("could not start the crawl: disk full")
    assert (result.code, result.stdout) == (1, "")
    assert [r["status"] for r in archive.json("runs")] == ["ok"]
