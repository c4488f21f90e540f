"""Crawls that cannot or must not finish normally, end to end through the real CLI: a site that
another process is crawling, a crawl killed mid-run, a site that looks redesigned or blocks us;
and `mfawatch runs`, which reports all of it. (The service's own side, including the
notifications it sends, is in test_scheduler.py.)
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased

from mfawatch.mirror import embassy_site, faults, relations_path
from mfawatch.mirror.missions import page_text
from mfawatch.mirror.pages import relations_page
from mfawatch.mirror.server import html_response, static
from storage.models import Change, ContentVersion, Fetch, Run
from tests.support import wait_for

pytestmark = pytest.mark.crawl

REPO = Path(__file__).resolve().parents[1]
EN35, EN36, EN37 = (relations_path("en", i) for i in (35, 36, 37))
PAGES = [(lang, i) for lang in ("en", "az") for i in (35, 36, 37, 38)]


# A seoul relations page as the mirror serves it, with some content_page arguments changed.
render = partial(relations_page, "seoul")


def edited(lang: str, section_id: int) -> str:
    """The page with a sentence added and its date line untouched: a silent edit."""
    paragraphs = list(page_text("seoul", lang, section_id).paragraphs)
    paragraphs[-1] += " This sentence was added later."
    return render(lang, section_id, paragraphs=paragraphs)


def runs(mfawatch: Any) -> list[dict[str, Any]]:
    return list(reversed(mfawatch.json("runs")))  # oldest first


# -- one crawl per site at a time ------------------------------------------------------------------


def test_a_crawl_refuses_while_another_process_crawls_the_site(mfawatch, mirror, hold_site_lock):
    with hold_site_lock() as holder:
        mirror.clear_requests()
        refused = mfawatch.crawl(check=False)
        assert refused.code == 3
        message = "mfawatch: error: site 'seoul' is being crawled by another process (pid {})"
        assert refused.stderr.startswith(message.format(holder.pid)), refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert mirror.requests == []
        assert runs(mfawatch) == []
        # The lock dies with its holder, even by SIGKILL: nothing stale to clean up.
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        mfawatch.crawl()
    assert [(r["status"], r["fetched"]) for r in runs(mfawatch)] == [("ok", 8)]


# -- a crawl killed mid-run ------------------------------------------------------------------------


def stored_fetches(sessions: Any, run_id: int) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).where(Fetch.run_id == run_id)) or 0


def test_a_killed_crawl_is_marked_interrupted_by_the_next_one(mfawatch, mirror, sessions, db_url):
    mfawatch.crawl()
    mirror.set(EN35, edited("en", 35))
    mirror.set(EN36, edited("en", 36))
    mirror.set_handler(EN37, faults.slow(120, static(html_response(edited("en", 37)))))
    command = [sys.executable, "-m", "mfawatch", "--db", db_url, "-c", str(mfawatch.sites),
               "crawl", "--set", "DOWNLOAD_TIMEOUT=180"]  # fmt: skip
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL) as crawl:
        try:
            killed = wait_for(lambda: len(runs(mfawatch)) == 2 and runs(mfawatch)[1], "a new run")
            # Every page but the slow one is stored, changes included; then the process dies.
            wait_for(lambda: stored_fetches(sessions, killed["id"]) == 7, "7 stored fetches")
        finally:
            crawl.kill()
    assert [r["status"] for r in runs(mfawatch)] == ["ok", "running"]

    mirror.set(EN37, edited("en", 37))
    mfawatch.crawl()
    _, dead, after = runs(mfawatch)
    assert (dead["id"], dead["status"]) == (killed["id"], "interrupted")
    assert dead["note"] == "the crawl process died"
    assert dead["finished_at"] is not None
    assert (dead["fetched"], dead["changes"]) == (7, {"silent_edit": 2})
    assert (after["status"], after["fetched"], after["changes"]) == ("ok", 8, {"silent_edit": 1})
    # Each edit is one change, whichever run saw it first.
    found = mfawatch.json("changes")
    assert sorted(c["url"] for c in found) == sorted(mirror.url(p) for p in (EN35, EN36, EN37))
    assert_consistent(sessions)


def assert_consistent(sessions: Any) -> None:
    """No half-written rows: every change has its fetches and versions, on the same page."""
    old, new = aliased(Fetch), aliased(Fetch)
    with sessions() as session:
        bad_changes = session.scalars(
            select(Change.id)
            .outerjoin(new, Change.new_fetch_id == new.id)
            .outerjoin(old, Change.old_fetch_id == old.id)
            .where(
                (new.id.is_(None))
                | (new.page_id != Change.page_id)
                | (Change.old_fetch_id.is_not(None) & old.id.is_(None))
                | (new.version_id.is_not(None) & (new.version_id != Change.new_version_id))
            )
        ).all()
        assert bad_changes == []
        orphans = session.scalar(
            select(func.count())
            .select_from(Fetch)
            .outerjoin(ContentVersion, Fetch.version_id == ContentVersion.id)
            .where(Fetch.version_id.is_not(None), ContentVersion.id.is_(None))
        )
        assert orphans == 0
        assert session.scalar(select(func.count()).where(Run.status == "running")) == 0
        if session.get_bind().dialect.name == "sqlite":
            assert session.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
            assert session.execute(text("PRAGMA foreign_key_check")).all() == []


# -- unhealthy runs --------------------------------------------------------------------------------


def redesigned(mirror: Any) -> None:
    for lang, i in PAGES:
        html = render(lang, i).replace("section_articleInner", "section_post")
        mirror.set(relations_path(lang, i), html)


def blocked(mirror: Any) -> None:
    for lang, i in PAGES:
        mirror.set_handler(relations_path(lang, i), faults.challenge_403())


def dates_gone(mirror: Any) -> None:
    for lang, i in PAGES:
        mirror.set(relations_path(lang, i), render(lang, i, last_updated=None))


UNHEALTHY = {
    # The note names the first failing page (whichever that was) and the selectors tried.
    "redesign": (
        redesigned,
        re.escape("8 of 8 pages did not match the layout (redesign or block page?); ")
        + r"first failing page http://\S+: body not found \(tried div\.section_articleInner\S+, "
        + r"div\.section_articleInner\S+, div\.section_articleInner_body\)",
    ),
    "blocked": (blocked, re.escape("blocked: 8 of 8 pages answered 403/interstitial")),
    "dates_gone": (
        dates_gone,
        re.escape('the "last updated" line vanished from 6 of 6 pages that had it'),
    ),
}


@pytest.mark.parametrize("breakage", UNHEALTHY)
def test_a_crawl_of_a_site_that_looks_broken_is_unhealthy(mfawatch, mirror, breakage):
    mfawatch.crawl()
    breaks, note = UNHEALTHY[breakage]
    breaks(mirror)
    result = mfawatch.crawl(check=False)
    assert result.code == 1, result.stderr
    assert "seoul (unhealthy)" in result.stdout
    last = runs(mfawatch)[-1]
    assert last["status"] == "unhealthy"
    assert re.fullmatch(note, last["note"]), last["note"]

    mirror.set_site(embassy_site("seoul"))
    healthy = mfawatch.crawl()
    assert "seoul (ok)" in healthy.stdout
    assert [(r["status"], r["note"]) for r in runs(mfawatch)][-1] == ("ok", None)


# -- mfawatch runs ---------------------------------------------------------------------------------


def test_runs_lists_each_run_with_its_counts(mfawatch, mirror):
    mfawatch.crawl()
    mirror.set(EN35, edited("en", 35))
    mfawatch.crawl()
    newest, baseline = mfawatch.json("runs")  # newest first
    assert list(newest) == [
        "id", "site", "trigger", "started_at", "finished_at", "status", "note",
        "fetched", "new", "unchanged", "changed", "errors", "changes", "drifted",
    ]  # fmt: skip
    assert newest["id"] > baseline["id"]
    assert {k: newest[k] for k in ("site", "trigger", "status", "note")} == {
        "site": "seoul", "trigger": "manual", "status": "ok", "note": None,
    }  # fmt: skip
    counts = ("fetched", "new", "unchanged", "changed", "errors", "changes")
    assert [newest[k] for k in counts] == [8, 0, 7, 1, 0, {"silent_edit": 1}]
    assert [baseline[k] for k in counts] == [8, 8, 0, 0, 0, {}]
    assert newest["started_at"] <= newest["finished_at"]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", newest["started_at"])
    assert [r["id"] for r in mfawatch.json("runs", "--limit", "1")] == [newest["id"]]

    table = mfawatch("runs")
    assert table.code == 0
    for header in ("id", "site", "trigger", "started", "took", "status", "new changes", "note"):
        assert header in table.stdout
    row = next(line for line in table.stdout.splitlines() if "silent_edit 1" in line)
    assert re.search(
        rf"\b{newest['id']}\b.*seoul.*manual.*\bok\b.*\b8\b.*\b0\b.*\b7\b.*\b1\b", row
    ), row
