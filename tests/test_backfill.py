"""`mfawatch backfill`: years of a page's captures from a fake Wayback Machine on 127.0.0.3,
run through the crawl's extraction and fetch plan, classified, and kept out of the queue.

The fake archive (mfawatch.mirror.wayback) speaks the CDX API with resume-key paging (three
lines a page, so every listing here pages) and serves id_ mementos with Memento-Datetime and
X-Archive-Orig-* headers; no test touches the internet.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import scraper.wayback
from mfawatch.mirror.pages import content_page
from mfawatch.mirror.server import MirrorServer
from mfawatch.mirror.wayback import FakeWayback
from storage.models import Change, Fetch
from tests.conftest import REPO, Mfawatch
from tests.support import pywb, wait_for

PATH = "/en/content/35/political-cooperation"
FIRST = ["Relations were established in 1992.", "Trade grows every year."]
UPDATED = ["Relations were established in 1992.", "Trade doubled in 2017."]
EDITED = ["Relations were established in 1992.", "Trade fell in 2018."]


def page(paragraphs: list[str], date: str | None) -> str:
    return content_page(
        mission="seoul", lang="en", title="Political cooperation", paragraphs=paragraphs,
        last_updated=date,
    )  # fmt: skip


def at(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 12, tzinfo=dt.UTC)


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWayback]:
    with FakeWayback(host="127.0.0.3") as fake:
        monkeypatch.setenv("MFAWATCH_WAYBACK_URL", fake.base)
        monkeypatch.setattr(scraper.wayback, "BACKOFF", 0.05)  # retries without waiting
        yield fake


def years_of_history(archive: FakeWayback, mirror: MirrorServer) -> None:
    """Seven years of the Korea page as the archive captured it, under every URL variant."""
    base = mirror.base_url
    host = base.removeprefix("http://")
    first = page(FIRST, "01.03.2016")
    archive.add(f"http://www.{host}/en/content/35", at(2016, 3, 1), first)  # no slug, www.
    archive.add(f"https://{host}{PATH}", at(2017, 5, 1), first)  # the same bytes, https
    archive.add(base + PATH, at(2018, 1, 10), page(UPDATED, "10.01.2018"))  # content_updated
    archive.add(base + PATH, at(2019, 2, 1), page(EDITED, "10.01.2018"))  # silent_edit
    archive.add(base + "/en/content/35", at(2019, 6, 15), b"", status=301, location=base + PATH)
    archive.add(base + PATH, at(2020, 1, 1), page(["Not it."], "01.01.2020"), digest="A" * 32)
    archive.add(base + PATH, at(2020, 6, 1), "<html><title>Just a moment...</title></html>")
    archive.add(base + "/en/content/350/visits", at(2020, 6, 1), page(["Another page."], None))
    archive.add(base + PATH, at(2021, 1, 1), page(EDITED, "05.05.2017"))  # date_regressed
    archive.add(base + PATH, at(2021, 6, 1), "<html>Not Found</html>", status=404)  # removed
    restored = page(EDITED, "01.01.2022")
    archive.add(f"{base}/index.php{PATH}", at(2022, 1, 1), restored)  # restored
    archive.add(base + PATH, at(2022, 6, 1), restored[:300])  # truncated


def backfill(mfawatch: Mfawatch, mirror: MirrorServer, *args: str) -> Any:
    result = mfawatch("backfill", "--rate", "100", "--page", mirror.url(PATH), "--json", *args)
    assert result.code == 0, result.stderr
    return result.json()


def history(mfawatch: Mfawatch, mirror: MirrorServer) -> list[dict[str, Any]]:
    fetches: list[dict[str, Any]] = mfawatch.json("history", mirror.url(PATH))["fetches"]
    return fetches


def mementos(archive: FakeWayback) -> list[str]:
    return [path for _, path in archive.requests if path.startswith("/web/")]


KINDS = ["content_updated", "silent_edit", "date_regressed", "removed", "restored"]


def test_years_of_captures_become_classified_history(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    years_of_history(archive, mirror)
    summary = backfill(mfawatch, mirror)  # before any crawl: the page is identified and added
    listed = [path for _, path in archive.requests if path.startswith("/cdx/")]
    assert summary["captures_listed"] == 11, (summary, listed)  # content/350 is another page
    assert (summary["captures_imported"], summary["bad_captures"]) == (11, 4)
    assert summary["not_downloaded_again"] == 1  # 2017's bytes were 2016's
    assert summary["errors"] == []
    fetches = history(mfawatch, mirror)
    assert [f["fetched_at"][:10] for f in fetches] == sorted(f["fetched_at"][:10] for f in fetches)
    assert {f["source"] for f in fetches} == {"wayback"}
    assert all(f["archive_url"].startswith(archive.base + "/web/") for f in fetches)
    assert [f["outcome"] for f in fetches] == [
        "new", "unchanged", "changed", "changed", "failed", "failed", "failed", "unchanged",
        "gone", "unchanged", "failed",
    ]  # fmt: skip
    errors = [f["error"] for f in fetches if f["outcome"] == "failed"]
    assert "redirect (HTTP 301)" in errors[0]
    assert "do not match the archive's digest" in errors[1]
    assert "not the page: Just a moment" in errors[2]
    assert "truncated" in errors[3]
    # 2017's capture was not downloaded: its bytes were archived already.
    assert not any("20170501" in path for path in mementos(archive))
    assert not any("20190615" in path for path in mementos(archive))  # a listed redirect
    changes = mfawatch.json("changes", "--historical")
    assert [c["kind"] for c in reversed(changes)] == KINDS
    assert {(c["status"], c["historical"]) for c in changes} == {("unqueued", True)}
    assert mfawatch.json("changes") == []  # the queue is untouched
    shown = mfawatch.json("show", mirror.url(PATH), "--at", "2018-06-01")
    assert "Trade doubled in 2017." in shown["text"]
    assert (shown["source"], shown["fetched_at"][:10]) == ("wayback", "2018-01-10")
    gone = mfawatch.json("show", mirror.url(PATH), "--at", "2021-07-01")
    assert gone["status"] == "removed"
    text = mfawatch("show", mirror.url(PATH), "--at", "2019-03-01").stdout
    assert "as captured by wayback" in text and "Trade fell in 2018." in text


def test_a_second_run_imports_only_new_captures(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback, sessions: Any
) -> None:
    years_of_history(archive, mirror)
    backfill(mfawatch, mirror)
    again = backfill(mfawatch, mirror)
    assert (again["captures_imported"], again["captures_skipped"]) == (0, 11)
    archive.add(mirror.url(PATH), at(2023, 2, 1), page(["A new text."], "01.02.2023"))
    third = backfill(mfawatch, mirror)
    assert (third["captures_imported"], third["historical_changes"]) == (1, {"content_updated": 1})
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Fetch)) == 12
        assert session.scalar(select(func.count()).select_from(Change)) == 6


def test_queue_puts_historical_changes_in_the_review_queue(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    years_of_history(archive, mirror)
    backfill(mfawatch, mirror, "--queue")
    queued = mfawatch.json("changes")
    assert [c["kind"] for c in reversed(queued)] == KINDS
    assert all(c["historical"] for c in queued)


def test_dry_run_lists_and_records_nothing(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    years_of_history(archive, mirror)
    summary = backfill(mfawatch, mirror, "--dry-run")
    assert (summary["captures_new"], summary["captures_imported"]) == (11, 0)
    assert mementos(archive) == []
    assert mfawatch("history", mirror.url(PATH)).code == 2  # no such page yet


def test_from_and_to_bound_the_captures(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    years_of_history(archive, mirror)
    summary = backfill(mfawatch, mirror, "--from", "2018-01-01", "--to", "2019-12-31")
    assert summary["captures_imported"] == 3  # 2018, 2019 and the 2019 redirect
    assert [f["fetched_at"][:4] for f in history(mfawatch, mirror)] == ["2018", "2019", "2019"]


def test_a_crawl_after_the_backfill_compares_with_the_last_capture(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    archive.add(mirror.url(PATH), at(2019, 1, 1), page(["An old text."], "01.01.2019"))
    backfill(mfawatch, mirror)
    mfawatch.crawl()  # the site's baseline: it queues nothing, as without a backfill
    assert mfawatch.json("changes") == []
    bridge = mfawatch.json("changes", "--historical")
    assert [(c["kind"], c["status"]) for c in bridge] == [("content_updated", "unqueued")]
    sources = [f["source"] for f in history(mfawatch, mirror)]
    assert sources == ["wayback", "live"]
    # After the baseline, a live edit is a live change, queued as ever.
    mirror.set(PATH, page(["An edited text."], None))
    mfawatch.crawl()
    assert [(c["kind"], c["historical"]) for c in mfawatch.json("changes")] == [
        ("silent_edit", False)
    ]


def test_a_backfill_after_crawls_goes_before_the_first_live_fetch(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    mfawatch.crawl()
    live_text = mfawatch.json("show", mirror.url(PATH))["text"]
    years_of_history(archive, mirror)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    archive.add(mirror.url(PATH), future, page(["Captured after watching began."], None))
    summary = backfill(mfawatch, mirror)
    assert (summary["captures_imported"], summary["captures_skipped"]) == (11, 1)
    fetches = history(mfawatch, mirror)
    assert [f["source"] for f in fetches] == ["wayback"] * 11 + ["live"]
    # The live state is untouched; the past is there; the last capture links to the crawl.
    assert mfawatch.json("show", mirror.url(PATH))["text"] == live_text
    assert "Trade doubled" in mfawatch.json("show", mirror.url(PATH), "--at", "2018-02-01")["text"]
    kinds = [c["kind"] for c in reversed(mfawatch.json("changes", "--historical"))]
    assert kinds == [*KINDS, "content_updated"]  # the 2022 text → the live one
    (ours,) = [p for p in mfawatch.json("pages") if p["url"] == mirror.url(PATH)]
    assert ours["first_seen_at"][:10] == "2016-03-01"
    again = backfill(mfawatch, mirror)  # and once more: nothing new, the link recorded once
    assert again["captures_imported"] == 0
    assert len(mfawatch.json("changes", "--historical")) == 6
    mirror.set(PATH, page(["A live edit."], None))
    mfawatch.crawl()  # the live chain goes on from the live fetch, not from a capture
    live = mfawatch.json("changes", "--status", "all")
    assert (live[0]["kind"], live[0]["historical"]) == ("silent_edit", False)


def test_429_is_retried_after_retry_after(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    archive.add(mirror.url(PATH), at(2019, 1, 1), page(FIRST, "01.01.2019"))
    archive.faults.throttle, archive.faults.retry_after = 1, "1"
    summary = backfill(mfawatch, mirror)
    assert summary["captures_imported"] == 1
    (first, _), (second, _) = archive.requests[:2]
    assert second - first >= 0.9  # it waited as Retry-After asked


def test_the_rate_limit_spaces_requests(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    for year in (2016, 2017, 2018, 2019):
        archive.add(mirror.url(PATH), at(year, 1, 1), page([f"Text of {year}."], None))
    result = mfawatch("backfill", "--rate", "5", "--page", mirror.url(PATH), "--json")
    assert result.code == 0, result.stderr
    times = [t for t, path in archive.requests if path.startswith("/web/")]
    assert len(times) == 4
    assert all(b - a >= 0.18 for a, b in itertools.pairwise(times))


def test_a_killed_backfill_resumes_without_duplicates(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback, db_url: str, sessions: Any
) -> None:
    for year in range(2010, 2022):
        archive.add(mirror.url(PATH), at(year, 1, 1), page([f"The text of {year}."], None))
    env = {**os.environ, "MFAWATCH_WAYBACK_URL": archive.base}
    with subprocess.Popen(
        [sys.executable, "-m", "mfawatch", "--db", db_url, "-c", str(mfawatch.sites),
         "backfill", "--rate", "4", "--page", mirror.url(PATH)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ) as proc:  # fmt: skip
        wait_for(lambda: len(mementos(archive)) >= 5, "five captures downloaded")
        proc.send_signal(signal.SIGKILL)
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(Fetch))
    assert 3 <= before < 12
    summary = backfill(mfawatch, mirror)
    assert summary["captures_imported"] == 12 - before
    fetches = history(mfawatch, mirror)
    assert [f["fetched_at"][:4] for f in fetches] == [str(y) for y in range(2010, 2022)]
    assert len({f["archive_url"] for f in fetches}) == 12
    assert len(mfawatch.json("changes", "--historical")) == 11  # one silent edit a year


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("cdx_status", "500"),
        ("cdx_garbage", "Could not parse CDX output"),
        ("cdx_cut", "cut off"),
    ],
)
def test_a_failing_index_is_one_line_and_exit_1(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback, fault: str, message: str
) -> None:
    archive.add(mirror.url(PATH), at(2019, 1, 1), page(FIRST, None))
    setattr(archive.faults, fault, 500 if fault == "cdx_status" else True)
    result = mfawatch("backfill", "--rate", "100", "--page", mirror.url(PATH))
    assert result.code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("mfawatch:")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_archive_is_one_line(
    mfawatch: Mfawatch, mirror: MirrorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scraper.wayback, "BACKOFF", 0.05)
    with FakeWayback(host="127.0.0.3") as gone:
        closed = gone.base
    monkeypatch.setenv("MFAWATCH_WAYBACK_URL", closed)
    result = mfawatch("backfill", "--rate", "100", "--page", mirror.url(PATH))
    assert result.code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("mfawatch: error: ")
    assert "cannot be reached" in result.stderr and "Traceback" not in result.stderr


def test_a_memento_that_never_ends_keeps_what_was_imported(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    archive.add(mirror.url(PATH), at(2018, 1, 1), page(FIRST, None))
    endless = archive.add(mirror.url(PATH), at(2019, 1, 1), page(UPDATED, None))
    archive.add(mirror.url(PATH), at(2020, 1, 1), page(EDITED, None))
    archive.faults.endless.add(endless.timestamp)
    result = mfawatch(
        "backfill", "--rate", "100", "--timeout", "1", "--page", mirror.url(PATH), "--json"
    )
    assert result.code == 1
    assert "did not end within 1 s" in result.stderr
    assert json.loads(result.stdout)["captures_imported"] == 1
    assert [f["fetched_at"][:4] for f in history(mfawatch, mirror)] == ["2018"]
    archive.faults.endless.clear()  # the next run goes on where it stopped
    assert backfill(mfawatch, mirror)["captures_imported"] == 2


def test_a_capture_the_archive_cannot_replay_is_a_bad_capture(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    archive.add(mirror.url(PATH), at(2018, 1, 1), page(FIRST, None), playable=False)
    archive.add(mirror.url(PATH), at(2019, 1, 1), "%PDF-1.4", mimetype="application/pdf")
    summary = backfill(mfawatch, mirror)
    assert (summary["captures_imported"], summary["bad_captures"]) == (2, 2)
    errors = [f["error"] for f in history(mfawatch, mirror)]
    assert "could not replay it" in errors[0] and "not an HTML page" in errors[1]
    assert mfawatch.json("changes", "--status", "all") == []  # never taken for a removal


def test_bad_input_is_one_line_and_exit_2(mfawatch: Mfawatch, archive: FakeWayback) -> None:
    for args, message in [
        (["--page", "http://nowhere.invalid/en/content/1"], "no site of"),
        (["--rate", "0"], "--rate must be"),
        (["--from", "2020-01-01", "--to", "2019-01-01"], "--to is before --from"),
        (["--site", "nope"], "no site named"),
        (["--discover", "--page", "http://nowhere.invalid/en/content/1"], "not both"),
    ]:
        result = mfawatch("backfill", *args)
        assert result.code == 2, (args, result.stderr)
        assert result.stderr.startswith("mfawatch: error: ") and message in result.stderr


def test_the_fake_index_pages_json_output_too(archive: FakeWayback) -> None:
    for year in (2016, 2017, 2018, 2019):
        archive.add(f"http://example.org/p{year}", at(year, 1, 1), f"<html>{year}</html>")
    url = f"{archive.base}/cdx/search/cdx?url=example.org/&matchType=prefix&output=json"
    with urllib.request.urlopen(url + "&showResumeKey=true") as answer:
        table = json.loads(answer.read())
    assert table[0][:2] == ["urlkey", "timestamp"] and len(table) == 1 + 3 + 2
    with urllib.request.urlopen(f"{url}&resumeKey={table[-1][0]}") as answer:
        assert [row[1][:4] for row in json.loads(answer.read())[1:]] == ["2019"]


def test_a_declared_date_older_than_a_capture_of_the_old_text_is_backdated(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    archive.add(mirror.url(PATH), at(2016, 3, 1), page(FIRST, "01.03.2016"))
    archive.add(mirror.url(PATH), at(2018, 1, 10), page(FIRST, "01.03.2016"))  # still FIRST
    archive.add(mirror.url(PATH), at(2019, 2, 1), page(UPDATED, "01.01.2017"))  # claims 2017
    archive.add(mirror.url(PATH), at(2020, 2, 1), page(EDITED, "01.01.2020"))  # honest
    summary = backfill(mfawatch, mirror)
    assert summary["date_flags"] == 1
    fetches = history(mfawatch, mirror)
    proof = fetches[1]  # the 2018 capture: the old text, after the declared date
    changes = mfawatch.json("changes", "--historical")
    flagged = [c for c in changes if c["date_flag"]]
    assert [(c["kind"], c["date_flag"]) for c in flagged] == [("content_updated", "backdated")]
    assert flagged[0]["date_proof_fetch_id"] == proof["id"]
    note = (
        f"backdated: declared 2017-01-01 but the capture of 2018-01-10 (fetch {proof['id']}, "
        f"{proof['archive_url']}) still showed the old text"
    )
    assert flagged[0]["date_note"] == note
    detail = mfawatch.json("diff", str(flagged[0]["id"]))
    assert detail["date_proof"] == {
        "fetch_id": proof["id"], "fetched_at": proof["fetched_at"], "source": "wayback",
        "archive_url": proof["archive_url"],
    }  # fmt: skip
    assert note in mfawatch("diff", str(flagged[0]["id"])).stdout.replace("\n", "")
    # On the page too: pages and history name the change and the capture.
    (ours,) = [p for p in mfawatch.json("pages") if p["url"] == mirror.url(PATH)]
    assert (ours["date_flag"], ours["date_change_id"]) == ("backdated", flagged[0]["id"])
    assert mfawatch.json("history", mirror.url(PATH))["date_note"] == note
    assert "backdated: declared 2017-01-01" in mfawatch("history", mirror.url(PATH)).stdout
    again = backfill(mfawatch, mirror)  # recomputed, the same
    assert again["captures_imported"] == 0
    assert [c["date_note"] for c in mfawatch.json("changes", "--historical")] == [
        c["date_note"] for c in changes
    ]


def test_a_text_edited_twice_under_one_date_is_flagged(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    archive.add(mirror.url(PATH), at(2018, 1, 10), page(FIRST, "10.01.2018"))
    later = at(2018, 1, 10) + dt.timedelta(hours=6)
    archive.add(mirror.url(PATH), later, page(UPDATED, "10.01.2018"))
    archive.add(mirror.url(PATH), at(2019, 5, 1), page(EDITED, "10.01.2018"))
    backfill(mfawatch, mirror)
    first = history(mfawatch, mirror)[0]
    changes = list(reversed(mfawatch.json("changes", "--historical")))
    assert [(c["kind"], c["date_flag"]) for c in changes] == [
        ("silent_edit", None),  # the same day: nothing proves it came later
        ("silent_edit", "edited_under_date"),
    ]
    assert changes[1]["date_proof_fetch_id"] == first["id"]
    assert changes[1]["date_note"].startswith(
        f"edited 2 times under declared 2018-01-10: the capture of 2018-01-10 (fetch {first['id']}"
    )


def test_a_crawl_declaring_a_date_before_the_last_capture_is_backdated(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    archive.add(mirror.url(PATH), at(2019, 1, 1), page(["An old text."], "01.01.2019"))
    backfill(mfawatch, mirror)
    mirror.set(PATH, page(["A new text."], "01.06.2018"))  # live, and dated before 2019's capture
    mfawatch.crawl()
    capture = history(mfawatch, mirror)[0]
    (change,) = mfawatch.json("changes", "--historical")
    assert (change["kind"], change["date_flag"]) == ("date_regressed", "backdated")
    assert change["date_proof_fetch_id"] == capture["id"]
    assert "the capture of 2019-01-01" in change["date_note"]
    (ours,) = [p for p in mfawatch.json("pages") if p["url"] == mirror.url(PATH)]
    assert ours["date_flag"] == "backdated"


def test_reports_leave_historical_changes_out_unless_asked(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    archive.add(mirror.url(PATH), at(2016, 3, 1), page(FIRST, "01.03.2016"))
    archive.add(mirror.url(PATH), at(2018, 1, 10), page(FIRST, "01.03.2016"))
    archive.add(mirror.url(PATH), at(2019, 2, 1), page(UPDATED, "01.01.2017"))  # backdated
    backfill(mfawatch, mirror)
    plain = json.loads(mfawatch("report", "--format", "json", "--since", "2015-01-01").stdout)
    assert (plain["changes"], plain["filters"]["include_historical"]) == ([], False)
    asked = ("report", "--since", "2015-01-01", "--include-historical")
    full = json.loads(mfawatch(*asked, "--format", "json").stdout)
    assert [(c["kind"], c["historical"], c["date_flag"]) for c in full["changes"]] == [
        ("content_updated", True, "backdated")
    ]
    accepted = mfawatch(*asked, "--format", "json", "--status", "accepted").stdout
    assert json.loads(accepted)["changes"] == []
    html = mfawatch(*asked).stdout
    assert "with historical changes" in html and "backdated: declared 2017-01-01" in html
    assert "date flag: backdated" in mfawatch(*asked, "--format", "md").stdout


def test_the_web_timeline_marks_archive_captures(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback, sessions: Any
) -> None:
    from mfawatch.web import create_app
    from tests.test_web import TestClient  # imported there with Starlette's warning silenced

    archive.add(mirror.url(PATH), at(2016, 3, 1), page(FIRST, "01.03.2016"))
    archive.add(mirror.url(PATH), at(2018, 1, 10), page(FIRST, "01.03.2016"))
    archive.add(mirror.url(PATH), at(2019, 2, 1), page(UPDATED, "01.01.2017"))  # backdated
    backfill(mfawatch, mirror)
    mfawatch.crawl()
    fetches = history(mfawatch, mirror)
    assert [f["source"] for f in fetches] == ["wayback"] * 3 + ["live"]
    (ours,) = [p for p in mfawatch.json("pages") if p["url"] == mirror.url(PATH)]
    with TestClient(create_app(sessions)) as client:
        (listed,) = [p for p in client.get("/api/pages").json() if p["url"] == mirror.url(PATH)]
        html = client.get(f"/pages/{listed['id']}").text
        api = client.get(f"/api/pages/{listed['id']}").json()["timeline"]
        change = client.get(f"/changes/{ours['date_change_id']}").text
        # Search marks a text that an archive's capture first had, a live one not.
        (found,) = client.get("/api/search", params={"q": "Trade doubled"}).json()
        searched = client.get("/search", params={"q": "Trade doubled"}).text
        live_words = " ".join(mfawatch.json("show", mirror.url(PATH))["text"].split()[-3:])
        live = client.get("/api/search", params={"q": live_words}).json()
    assert found["first_seen_by"] == "wayback" and "in a wayback capture" in searched
    assert live and {hit["first_seen_by"] for hit in live} == {"live"}
    timeline = html[html.index('id="timeline"') :]
    assert timeline.count("source-wayback") == 3 and timeline.count("source-live") == 1
    for fetch in fetches[:3]:
        assert f'<a class="memento" href="{fetch["archive_url"]}"' in timeline
    assert [(f["source"], f["archive_url"]) for f in api] == [
        (f["source"], f["archive_url"]) for f in fetches
    ]
    assert 'id="date-flag"' in html and "backdated: declared 2017-01-01" in html
    assert 'id="date-flag"' in change and "still showed the old text" in change


def pages_by_path(mfawatch: Mfawatch, mirror: MirrorServer) -> dict[str, dict[str, Any]]:
    return {p["url"].removeprefix(mirror.base_url): p for p in mfawatch.json("pages")}


def test_discover_finds_pages_gone_from_the_menus_and_records_them_removed(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    base = mirror.base_url
    mfawatch.crawl()  # today's menus: content 35, 36, 37
    aid = "/en/content/90/humanitarian-aid"
    archive.add(base + aid, at(2017, 1, 1), page(["Aid sent in 2016."], "01.01.2017"))
    archive.add(f"https://www.{base.removeprefix('http://')}/index.php{aid}", at(2018, 3, 1),
                page(["Aid sent in 2016 and 2017."], "01.03.2018"))  # fmt: skip
    archive.add(base + "/en/content/91/visits", at(2018, 1, 1), page(["Visits."], None))
    archive.add(base + "/en/content/91/visits", at(2019, 1, 1), "Not Found", status=404)
    archive.add(base + "/en/content/92/broken-link", at(2018, 1, 1), "Not Found", status=404)
    archive.add(base + "/en/news/5/a-visit", at(2018, 1, 1), page(["News."], None))  # no rule
    archive.add("http://127.0.0.9/en/content/93/x", at(2018, 1, 1), page(["Elsewhere."], None))
    result = mfawatch("backfill", "--rate", "100", "--discover", "--json")
    assert result.code == 0, result.stderr
    summary = result.json()
    assert "2 pages found only in the web archive" in result.stderr
    # 90 and 91 answered 200 once; 92 never did (a dead link), news has no rule, .9 no site.
    assert (summary["pages_discovered"], summary["pages_unlinked"]) == (2, 1)
    pages = pages_by_path(mfawatch, mirror)
    assert not any("/content/92" in p or "/news/" in p for p in pages)
    # 90's last capture had its text, and no menu links it today: removed as of that capture.
    assert pages[aid]["status"] == "removed" and pages[aid]["last_seen_at"][:10] == "2018-03-01"
    assert pages[aid]["first_seen_at"][:10] == "2017-01-01"
    old = mfawatch.json("show", mirror.url(aid), "--at", "2017-06-01")
    assert old["text"].endswith("Aid sent in 2016.") and old["source"] == "wayback"
    # 91's own captures say when it went: a historical removal, with its window.
    visits = "/en/content/91/visits"
    assert pages[visits]["status"] == "removed"
    kinds = {(c["url"].removeprefix(base), c["kind"]) for c in
             mfawatch.json("changes", "--historical")}  # fmt: skip
    assert kinds == {(aid, "content_updated"), (visits, "removed")}
    assert pages["/en/content/35/political-cooperation"]["status"] == "active"  # untouched
    # The next crawl re-checks them (known pages): both 404, both stay removed, nothing queued.
    mfawatch.crawl()
    assert mfawatch.json("changes") == []
    assert pages_by_path(mfawatch, mirror)[aid]["status"] == "removed"
    again = mfawatch("backfill", "--rate", "100", "--discover", "--json").json()
    assert (again["pages_discovered"], again["captures_imported"]) == (0, 0)


def test_discover_before_any_crawl_does_not_guess_at_the_menus(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    aid = "/en/content/90/humanitarian-aid"
    archive.add(mirror.base_url + aid, at(2017, 1, 1), page(["Aid sent in 2016."], None))
    dry = mfawatch("backfill", "--rate", "100", "--discover", "--dry-run", "--json")
    assert dry.code == 0, dry.stderr
    assert (dry.json()["pages_discovered"], dry.json()["captures_new"]) == (1, 1)
    assert mementos(archive) == []
    assert mfawatch("history", mirror.url(aid)).code == 2  # a dry run records nothing
    summary = mfawatch("backfill", "--rate", "100", "--discover", "--json").json()
    assert (summary["pages_discovered"], summary["pages_unlinked"]) == (1, 0)
    # Never crawled, the site's menus are unknown: the page stays as its captures left it.
    assert pages_by_path(mfawatch, mirror)[aid]["status"] == "active"
    # Its first crawl finds it gone (the mirror has no such page): removed, at a live fetch.
    mfawatch.crawl()
    assert pages_by_path(mfawatch, mirror)[aid]["status"] == "removed"


def test_discover_searches_each_rules_literal_prefix(
    mfawatch: Mfawatch, mirror: MirrorServer, archive: FakeWayback
) -> None:
    mfawatch("backfill", "--rate", "100", "--discover", "--dry-run", "--json")
    host = mirror.base_url.removeprefix("http://")
    listed = {
        urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["url"][0]
        for _, path in archive.requests if path.startswith("/cdx/")
    }  # fmt: skip
    assert listed == {
        f"{host}{strip}/{lang}/{section}/"
        for strip in ("", "/index.php") for lang in ("en", "az", "ru")
        for section in ("content", "category")
    }  # fmt: skip


def write_warc(path: Path, captures: list[tuple[str, str, str]]) -> Path:
    """A WARC of (URL, WARC-Date, HTML) responses, as another archive's crawler wrote them."""
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for url, when, html in captures:
            head = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                    protocol="HTTP/1.1")  # fmt: skip
            body = html.encode()
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), length=len(body), http_headers=head,
                warc_headers_dict={"WARC-Date": when},
            ))  # fmt: skip
    return path


def test_another_archives_timemaps_fill_the_history_too(
    mfawatch: Mfawatch, mirror: MirrorServer, tmp_path: Path
) -> None:
    url, bare = mirror.url(PATH), mirror.url("/en/content/35")  # with and without its slug
    warc = write_warc(tmp_path / "other.warc.gz", [
        (url, "2017-01-01T12:00:00Z", page(FIRST, "01.01.2017")),
        (url, "2019-01-01T12:00:00Z", page(UPDATED, "01.01.2019")),
        (bare, "2020-01-01T12:00:00Z", page(EDITED, "01.01.2019")),
    ])  # fmt: skip
    with pywb(tmp_path / "pywb", "other", [warc]) as port:
        timemaps = f"http://127.0.0.1:{port}/other/timemap/link/"
        args = ("backfill", "--rate", "100", "--archive", timemaps, "--page", url, "--json")
        result = mfawatch(*args)
        assert result.code == 0, result.stderr
        again = mfawatch(*args).json()
    summary = result.json()
    assert (summary["captures_imported"], summary["bad_captures"], summary["errors"]) == (3, 0, [])
    fetches = history(mfawatch, mirror)
    assert [f["source"] for f in fetches] == ["memento"] * 3
    assert fetches[0]["archive_url"] == f"http://127.0.0.1:{port}/other/20170101120000id_/{url}"
    kinds = [c["kind"] for c in reversed(mfawatch.json("changes", "--historical"))]
    assert kinds == ["content_updated", "silent_edit"]
    shown = mfawatch.json("show", url, "--at", "2018-01-01")
    assert shown["text"].endswith("Trade grows every year.") and shown["source"] == "memento"
    assert (again["captures_listed"], again["captures_imported"]) == (3, 0)  # each one once


def test_archive_is_a_timemap_endpoint(mfawatch: Mfawatch, mirror: MirrorServer) -> None:
    for args, message in [
        (["--archive", "ftp://archive.example/tm/", "--page", mirror.url(PATH)], "http(s) URL"),
        (["--archive", "http://127.0.0.1:9/tm/", "--discover"], "needs a CDX index"),
    ]:
        result = mfawatch("backfill", *args)
        assert result.code == 2, (args, result.stderr)
        assert result.stderr.startswith("mfawatch: error: ") and message in result.stderr
    unreachable = mfawatch("backfill", "--archive", "http://127.0.0.1:9/tm/", "--page",
                           mirror.url(PATH))  # fmt: skip
    assert unreachable.code == 1 and "cannot be reached" in unreachable.stderr
