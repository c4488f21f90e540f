"""A removed page's change as every front end shows it: the last text as "before", "removed"
as "after" (never the old text again as "after"), and the fetch said once ("HTTP 404, gone").
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.detect import Seen
from mfawatch.web import create_app
from storage.archive import FetchResult, record_fetch
from storage.runs import finish_run, start_run

with warnings.catch_warnings():  # Starlette prefers httpx2 now; httpx still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

T0 = dt.datetime(2023, 3, 1, 9, 0, tzinfo=dt.UTC)
KEY = "seoul.mfa.gov.az/en/content/37"
LAST_TEXT = "Economic cooperation\nTrade grew by a tenth."


def crawl(sessions: sessionmaker[Session], at: dt.datetime, text: str | None) -> None:
    """One crawl of one page through the write path; text None is a 404, as the spider says it."""
    with sessions.begin() as session:
        run_id = start_run(session, "seoul", "mfa.gov.az", "manual")
        record_fetch(
            session, run_id,
            FetchResult(
                site="seoul", key=KEY, url=f"https://{KEY}/economic", lang="en",
                seen=Seen.CONTENT if text else Seen.GONE, fetched_at=at,
                http_status=200 if text else 404, raw=b"<html><p>page</p></html>",
                title="Economic cooperation", text=text, error=None if text else "HTTP 404",
            ),
        )  # fmt: skip
        finish_run(session, run_id, "ok")


@pytest.fixture
def removed(sessions: sessionmaker[Session], mfawatch: Any) -> int:
    """The id of the page's removal."""
    crawl(sessions, T0, LAST_TEXT)
    crawl(sessions, T0 + dt.timedelta(days=1), None)
    [change] = mfawatch.json("changes", "--kind", "removed")
    return int(change["id"])


def test_diff_shows_the_last_text_before_and_removed_after(mfawatch: Any, removed: int) -> None:
    data = mfawatch.json("diff", str(removed))
    assert data["diff"] == [{"op": "delete", "text": LAST_TEXT}]
    assert data["after"] == "removed"
    # Its counts are the diff's: the last text's words, deleted.
    assert (data["words_added"], data["words_removed"]) == (0, len(LAST_TEXT.split()))
    assert data["new_fetch"]["note"] == "HTTP 404, gone"
    shown = mfawatch("diff", str(removed)).stdout
    assert f"[-{LAST_TEXT}-]" in shown
    assert re.search(r"^after +removed$", shown, re.MULTILINE), shown
    assert shown.count("HTTP 404") == 1, shown


@pytest.mark.parametrize("fmt", ["html", "md", "json"])
def test_the_report_shows_the_last_text_deleted_and_removed_after(
    mfawatch: Any, removed: int, fmt: str
) -> None:
    result = mfawatch("report", "--format", fmt)
    assert result.code == 0, result.stderr
    shown = result.stdout
    if fmt == "json":
        assert '"op": "delete"' in shown and '"op": "equal"' not in shown
        assert '"after": "removed"' in shown
    elif fmt == "html":
        assert "<del>Trade grew by a tenth.</del>" in shown
        assert '<p class="after">After: removed.' in shown
        assert shown.count("HTTP 404") == 1, shown
    else:
        assert "[-Trade grew by a tenth.-]" in shown
        assert "After: removed." in shown
        assert shown.count("HTTP 404") == 1, shown


@pytest.fixture
def client(sessions: sessionmaker[Session], removed: int) -> Iterator[TestClient]:
    with TestClient(create_app(sessions), follow_redirects=False) as test_client:
        yield test_client


def test_the_web_change_page_shows_removed_after(client: TestClient, removed: int) -> None:
    html = client.get(f"/changes/{removed}").text
    before = html[html.index('<div class="old">') : html.index('<div class="new">')]
    after = html[html.index('<div class="new">') : html.index('<section id="inline"')]
    assert "Trade grew by a tenth." in before
    assert "Trade grew" not in after and '<p class="after">removed</p>' in after
    assert html.count("HTTP 404, gone") == 1  # the fetch line (the fetch links name 404 too)
