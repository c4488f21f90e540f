"""The review web app through FastAPI's test client, on SQLite and PostgreSQL: every page and
API call, the queue's filters and order, reviews, CSRF, the access token, hostile archived text,
the sandboxed raw view, headers; and `mfawatch serve` as a user starts it.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import re
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.detect import Seen
from kernel.errors import MfawatchError
from mfawatch.web import create_app
from mfawatch.web.security import HOST_PREFIX, PAGE_CSP, RAW_CSP, SESSION_COOKIE, redact_token
from storage.archive import FetchResult, record_fetch
from storage.models import Change, Fetch, Page, Review
from storage.runs import finish_run, start_run
from tests.support import free_port

with warnings.catch_warnings():  # Starlette prefers httpx2 now; httpx still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[1]
T0 = dt.datetime(2023, 3, 1, 9, 0, tzinfo=dt.UTC)
FEB28, MAR1 = dt.date(2023, 2, 28), dt.date(2023, 3, 1)
HOSTILE_TITLE = "<script>alert(1)</script> Relations"
HOSTILE_OLD = "Hostile page\n<img src=x onerror=alert(1)> paragraph\nBell\x07 escape\x1b[2J end"
HOSTILE_NEW = HOSTILE_OLD.replace("paragraph", 'paragraph "><svg onload=alert(1)>')
MARKUP = ("<script>alert(1)", "<img src=x", "<svg onload", "onerror=alert(1)>")


@dataclass
class PageSeen:
    """One page as one crawl saw it."""

    key: str
    text: str | None
    declared: dt.date | None = None
    lang: str = "en"
    title: str = "Political cooperation"
    time: dt.time | None = None


def crawl(sessions: sessionmaker[Session], at: dt.datetime, *pages: PageSeen) -> None:
    """One crawl of the site "seoul" through the archive's write path (no Scrapy)."""
    with sessions.begin() as session:
        run_id = start_run(session, "seoul", "mfa.gov.az", "manual")
        for page in pages:
            url = f"https://seoul.mfa.gov.az/{page.key}"
            result = FetchResult(
                site="seoul", key=f"seoul.mfa.gov.az/{page.key}", url=url, lang=page.lang,
                seen=Seen.CONTENT if page.text is not None else Seen.GONE, fetched_at=at,
                http_status=200 if page.text is not None else 404,
                raw=b"<html><body><script>alert(1)</script><p>raw page</p></body></html>",
                title=page.title, text=page.text, declared_date=page.declared,
                declared_time=page.time,
                declared_raw=page.declared.strftime("%d.%m.%Y") if page.declared else None,
            )  # fmt: skip
            record_fetch(session, run_id, result)
        finish_run(session, run_id, "ok")


P1_OLD = "Political cooperation\nAbout 70 documents signed."
P1_NEW = "Political cooperation\nAbout 80 documents signed."


@pytest.fixture
def archive(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Changes 1 silent_edit (en), 2 content_updated (az), 3 new_page (hostile), all on
    2 March; 4 silent_edit of the hostile page on 3 March. Queue order: 4, 1, 2, 3."""
    az_old = PageSeen(
        "az/content/35", "İqtisadi əməkdaşlıq\nTicarət artıb.", FEB28, "az", "İqtisadi"
    )
    crawl(sessions, T0, PageSeen("en/content/35", P1_OLD, FEB28), az_old)
    crawl(
        sessions, T0 + dt.timedelta(days=1),
        PageSeen("en/content/35", P1_NEW, FEB28),
        PageSeen("az/content/35", "İqtisadi əməkdaşlıq\nTicarət iki dəfə artıb.", MAR1, "az"),
        PageSeen("en/content/99", HOSTILE_OLD, FEB28, title=HOSTILE_TITLE),
    )  # fmt: skip
    crawl(
        sessions, T0 + dt.timedelta(days=2),
        PageSeen("en/content/99", HOSTILE_NEW, FEB28, title=HOSTILE_TITLE),
    )  # fmt: skip
    return sessions


@pytest.fixture
def client(archive: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(archive), follow_redirects=False) as test_client:
        yield test_client


def queue_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-change-id="(\d+)"', html)]


def csrf(client: TestClient) -> str:
    """The CSRF token a change page's review form carries (and its session cookie, kept)."""
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', client.get("/changes/1").text)
    assert found and client.cookies.get(SESSION_COOKIE)
    return found.group(1)


def statuses(sessions: sessionmaker[Session]) -> dict[int, str]:
    with sessions() as session:
        return {i: s for i, s in session.execute(select(Change.id, Change.status))}


# The queue and its filters


def test_queue_puts_the_kinds_that_need_a_human_first(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert queue_ids(page.text) == [4, 1, 2, 3]
    assert 'id="filters"' in page.text and 'id="counts"' in page.text
    counts = page.text[page.text.index('id="counts"') :]
    assert re.search(r'silent_edit</span> <span class="n">2<', counts)
    assert 'href="/changes/4"' in page.text and 'class="change-link"' in page.text
    assert "2023-02-28" in page.text and "2023-03-01" in page.text  # the declared dates


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("kind=silent_edit", [4, 1]),
        ("kind=&site=&lang=&since=&status=pending", [4, 1, 2, 3]),  # an untouched form
        ("lang=az", [2]),
        ("site=seoul&since=2023-03-03", [4]),
        ("site=elsewhere", []),
        ("status=accepted", []),
        ("status=all&kind=new_page", [3]),
    ],
)
def test_queue_filters(client: TestClient, query: str, ids: list[int]) -> None:
    assert queue_ids(client.get(f"/?{query}").text) == ids
    api_query = "&".join(part for part in query.split("&") if not part.endswith("="))
    assert [c["id"] for c in client.get(f"/api/changes?{api_query}").json()] == ids


@pytest.mark.parametrize("query", ["status=maybe", "kind=edited", "since=yesterday"])
def test_bad_filters_are_400(client: TestClient, query: str) -> None:
    page = client.get(f"/?{query}")
    assert page.status_code == 400 and "text/html" in page.headers["content-type"]
    assert client.get(f"/api/changes?{query}").status_code == 422


# One change, reviews, CSRF


def test_change_page_shows_dates_window_diff_and_form(client: TestClient) -> None:
    page = client.get("/changes/1")
    assert page.status_code == 200
    text = page.text
    assert re.search(r"<h1>[^<]*<span[^>]*>silent_edit</span></h1>", text)
    assert re.search(r'id="dates"><span class="old-date">2023-02-28</span> → <span', text)
    assert "2023-03-01 09:00 UTC" in text and "2023-03-02 09:00 UTC" in text  # the window
    side = text[text.index('id="side-by-side"') : text.index('id="inline"')]
    assert "<del>70</del> " in side and "<ins>80</ins> " in side
    assert '<div class="old">' in side and '<div class="new">' in side
    assert "<del>70</del> <ins>80</ins> " in text[text.index('id="inline"') :]
    assert (
        '<a id="live" href="https://seoul.mfa.gov.az/en/content/35" rel="noopener noreferrer">'
        in text
    )
    assert 'id="old-version" href="/versions/1"' in text
    assert 'id="new-version" href="/versions/3"' in text
    assert '<form id="review" method="post" action="/changes/1/review">' in text
    assert re.search(r'name="csrf_token" value="[0-9a-f]{64}"', text)
    assert 'id="accept" type="submit" name="decision" value="accepted"' in text
    assert 'id="dismiss" type="submit" name="decision" value="dismissed"' in text
    assert '<ol id="history">' in text


def test_review_form_goes_on_to_the_next_change(
    client: TestClient, archive: sessionmaker[Session]
) -> None:
    token = csrf(client)
    form = {"csrf_token": token, "decision": "accepted", "note": "a real <b>number</b>"}
    answer = client.post("/changes/4/review", data=form)
    assert answer.status_code == 303 and answer.headers["location"] == "/changes/1"
    # From the middle of the queue, on to the change after it; from the end, back to the top.
    answer = client.post("/changes/2/review", data={**form, "decision": "dismissed"})
    assert answer.headers["location"] == "/changes/3"
    answer = client.post("/changes/3/review", data={**form, "decision": "dismissed"})
    assert answer.headers["location"] == "/changes/1"
    answer = client.post("/changes/1/review", data={**form, "note": ""})
    assert answer.headers["location"] == "/"
    assert statuses(archive) == {1: "accepted", 2: "dismissed", 3: "dismissed", 4: "accepted"}
    with archive() as session:
        review = session.scalars(select(Review).where(Review.change_id == 4)).one()
        assert (review.status, review.note, review.reviewer) == (
            "accepted", "a real <b>number</b>", getpass.getuser(),
        )  # fmt: skip
    history = client.get("/changes/4").text
    history = history[history.index('id="history"') :]
    assert "accepted" in history and "a real &lt;b&gt;number&lt;/b&gt;" in history
    assert getpass.getuser() in history
    assert queue_ids(client.get("/").text) == []
    assert queue_ids(client.get("/?status=accepted").text) == [4, 1]


@pytest.mark.parametrize("field", [None, "", "wrong", "the cookie"])
def test_review_form_without_the_csrf_token_changes_nothing(
    client: TestClient, archive: sessionmaker[Session], field: str | None
) -> None:
    csrf(client)
    if field == "the cookie":  # the old double submit: the token is not the cookie's value
        field = client.cookies.get(SESSION_COOKIE)
    form = {"decision": "accepted"} | ({"csrf_token": field} if field is not None else {})
    answer = client.post("/changes/1/review", data=form)
    assert answer.status_code == 403 and "CSRF" in answer.text
    assert statuses(archive)[1] == "pending"
    client.cookies.clear()  # a field that matches no cookie is refused too
    answer = client.post("/changes/1/review", data={"csrf_token": "x", "decision": "accepted"})
    assert answer.status_code == 403
    with archive() as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 0


def test_review_form_rejects_a_bad_decision(client: TestClient) -> None:
    answer = client.post("/changes/1/review", data={"csrf_token": csrf(client), "decision": "x"})
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("base_url", "name", "secure"),
    [
        ("http://testserver", SESSION_COOKIE, False),  # plain http elsewhere drops Secure
        ("https://review.example", HOST_PREFIX + SESSION_COOKIE, True),
        ("http://127.0.0.1:8000", HOST_PREFIX + SESSION_COOKIE, True),  # loopback: secure
        ("http://localhost:8000", HOST_PREFIX + SESSION_COOKIE, True),
    ],
)
def test_the_session_cookie_is_httponly_and_strict(
    archive: sessionmaker[Session], base_url: str, name: str, secure: bool
) -> None:
    with TestClient(create_app(archive), base_url=base_url) as fresh:
        cookie = fresh.get("/").headers["set-cookie"]
        assert cookie.startswith(f"{name}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert ("; Secure" in cookie) == secure and "Domain" not in cookie
        again = {"Cookie": cookie.split(";")[0]}  # httpx keeps Secure cookies for https
        assert "set-cookie" not in fresh.get("/", headers=again).headers  # kept, not renewed
        assert "set-cookie" not in fresh.get("/api/changes").headers


def test_a_page_on_another_port_cannot_review(
    client: TestClient, archive: sessionmaker[Session]
) -> None:
    """Cookies ignore ports: a page on another port of this host can set this app's cookies
    and post to it. Neither a cookie it made up nor a real session it got for itself helps."""
    form = {"csrf_token": "forged", "decision": "accepted", "note": "not a reviewer"}
    client.cookies.set(SESSION_COOKIE, "forged")  # the double submit a page could forge
    assert client.post("/changes/1/review", data=form).status_code == 403
    client.cookies.clear()
    own = csrf(client)  # a valid session and its token, fetched by a server on that port
    other_port = {"Origin": "http://testserver:9000", "Sec-Fetch-Site": "same-site"}
    answer = client.post("/changes/1/review", data={**form, "csrf_token": own}, headers=other_port)
    assert answer.status_code == 403 and "another site or port" in answer.text
    api = {**other_port, "X-CSRF-Token": own}
    assert client.post("/api/changes/1/review", json=form, headers=api).status_code == 403
    assert statuses(archive)[1] == "pending"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver:8001"},
        {"Origin": "https://testserver"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},  # a sandboxed frame
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-site"},
    ],
)
def test_writes_from_another_origin_are_refused(
    client: TestClient, archive: sessionmaker[Session], headers: dict[str, str]
) -> None:
    token = csrf(client)
    form = {"csrf_token": token, "decision": "accepted"}
    assert client.post("/changes/1/review", data=form, headers=headers).status_code == 403
    api = {**headers, "X-CSRF-Token": token}
    answer = client.post("/api/changes/1/review", json=form, headers=api)
    assert answer.status_code == 403 and "another site or port" in answer.json()["detail"]
    assert statuses(archive)[1] == "pending"
    own = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/changes/1/review", data=form, headers=own).status_code == 303
    assert statuses(archive)[1] == "accepted"


# Pages, versions, search


def test_page_timeline_versions_and_compare(client: TestClient) -> None:
    page = client.get("/pages/1")
    assert page.status_code == 200
    timeline = page.text[page.text.index('id="timeline"') :]
    assert timeline.count('class="fetch') == 2
    assert "new" in timeline and "changed" in timeline and "200" in timeline
    assert 'href="/versions/3"' in timeline
    versions = page.text[page.text.index('id="versions"') : page.text.index('id="compare"')]
    assert re.findall(r'href="/versions/(\d+)"', versions) == ["1", "3"]
    assert '<form id="compare" method="get" action="/pages/1/compare">' in page.text
    compare = client.get("/pages/1/compare?a=1&b=3")
    assert compare.status_code == 200
    assert "<del>70</del> " in compare.text and "<ins>80</ins> " in compare.text
    assert 'id="side-by-side"' in compare.text and 'id="inline"' in compare.text
    assert "<ins>80</ins> " in client.get("/pages/1/compare").text  # the last two by default
    assert client.get("/pages/1/compare?a=1&b=2").status_code == 404  # 2 is another page's
    assert client.get("/pages/1/compare?a=x&b=3").status_code == 400
    assert client.get("/pages").status_code == 200


def test_a_declared_time_is_shown_beside_its_date(sessions: sessionmaker[Session]) -> None:
    crawl(sessions, T0, PageSeen("en/content/35", P1_OLD, FEB28, time=dt.time(8, 59)))
    crawl(sessions, T0 + dt.timedelta(days=1), PageSeen("en/content/35", P1_NEW, FEB28))
    with TestClient(create_app(sessions), follow_redirects=False) as client:
        # A date-time then the date alone on that day: neither moved, so a silent edit.
        moved = '2023-02-28 08:59</span> → <span class="new-date">2023-02-28</span>'
        assert moved in client.get("/changes/1").text
        assert "2023-02-28 08:59</td>" in client.get("/").text
        timeline = client.get("/pages/1").text
        assert "2023-02-28 08:59" in timeline
        change = client.get("/api/changes/1").json()
        assert change["kind"] == "silent_edit"
        assert (change["old_last_updated"], change["old_last_updated_time"]) == (
            "2023-02-28",
            "08:59:00",
        )
        assert change["new_last_updated_time"] is None
        fetches = client.get("/api/pages/1").json()["timeline"]
        assert [f["last_updated_time"] for f in fetches] == ["08:59:00", None]


def test_version_text_and_sandboxed_raw_html(client: TestClient) -> None:
    page = client.get("/versions/1")
    assert page.status_code == 200
    text = page.text[page.text.index('id="text"') :]
    assert "<p>Political cooperation</p>" in text and "<p>About 70 documents signed.</p>" in text
    assert '<iframe id="raw" sandbox src="/versions/1/raw"' in page.text
    raw = client.get("/versions/1/raw")
    assert raw.status_code == 200
    assert raw.content == b"<html><body><script>alert(1)</script><p>raw page</p></body></html>"
    assert raw.headers["content-security-policy"] == RAW_CSP
    assert raw.headers["content-type"] == "text/html; charset=utf-8"
    assert raw.headers["x-content-type-options"] == "nosniff"


def test_a_damaged_body_is_a_plain_error_page(
    archive: sessionmaker[Session], client: TestClient
) -> None:
    """Stored bytes that no longer hash to what was recorded: a 500 that says so (the hostile
    recorded value escaped), never a traceback, nor the bytes."""
    with archive.begin() as session:
        fetch = session.scalars(select(Fetch).where(Fetch.body_id.is_not(None))).first()
        assert fetch is not None and fetch.body is not None
        fetch.body.raw_hash = "<script>alert(1)</script>"
        fetch_id = fetch.id
    answer = client.get(f"/fetches/{fetch_id}/raw")
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/html")
    assert "<h1>Archive damaged</h1>" in answer.text
    assert "does not match its recorded SHA-256" in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
    assert "<script>alert(1)" not in answer.text and "raw page" not in answer.text
    assert "Traceback" not in answer.text
    assert answer.headers["content-security-policy"] == PAGE_CSP


def test_search_finds_words_and_marks_them(client: TestClient) -> None:
    page = client.get("/search?q=documents")
    assert page.status_code == 200 and 'id="search"' in page.text
    results = page.text[page.text.index('<ol id="results">') :]
    assert results.count("<li>") == 2
    assert "<mark>documents</mark>" in results
    assert 'href="/versions/3"' in results and 'href="/pages/1"' in results
    assert client.get("/search?q=nothing%20like%20this").text.count("<li>") == 0
    assert client.get('/search?q="(').status_code == 200  # query syntax is never passed on
    assert "<ol" not in client.get("/search").text


@pytest.mark.parametrize(
    "path", ["/changes/99", "/pages/99", "/versions/99", "/versions/99/raw", "/nowhere"]
)
def test_unknown_ids_are_a_small_404_page(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html") and "<h1>Not found" in answer.text


def test_ids_no_column_can_hold_are_404(client: TestClient) -> None:
    """Past 2**31 PostgreSQL's INTEGER overflows, past 2**63 SQLite's: still no such id."""
    for n in (-1, 0, 2**31, 2**63, 10**20):
        for path in (
            f"/changes/{n}", f"/pages/{n}", f"/pages/{n}/compare", f"/versions/{n}",
            f"/versions/{n}/raw", f"/pages/1/compare?a={n}&b=3", f"/pages/1/compare?a=1&b={n}",
        ):  # fmt: skip
            answer = client.get(path)
            assert answer.status_code == 404 and "<h1>Not found" in answer.text, path
        for path in (f"/api/changes/{n}", f"/api/pages/{n}", f"/api/versions/{n}"):
            assert client.get(path).status_code == 422, path
        form = {"csrf_token": csrf(client), "decision": "accepted"}
        assert client.post(f"/changes/{n}/review", data=form).status_code == 404
        review = client.post(
            f"/api/changes/{n}/review", json=form, headers={"X-CSRF-Token": form["csrf_token"]}
        )
        assert review.status_code == 422


# Hostile archived text


@pytest.mark.parametrize(
    "path", ["/", "/changes/3", "/changes/4", "/versions/5", "/versions/6", "/pages/3",
             "/pages/3/compare?a=5&b=6", "/search?q=hostile", "/search?q=bell", "/pages"],
)  # fmt: skip
def test_hostile_text_is_escaped_everywhere(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    for markup in MARKUP:
        assert markup not in page.text, markup
    assert "\x1b" not in page.text and "\x07" not in page.text
    shown = {
        "/": "&lt;script&gt;alert(1)&lt;/script&gt; Relations",
        "/search?q=hostile": "<mark>Hostile</mark>",
        "/search?q=bell": "&lt;img src=x onerror=alert(1)&gt;",
        "/pages": "&lt;script&gt;",
        "/pages/3": "&lt;script&gt;alert(1)&lt;/script&gt; Relations",
    }.get(path, "&lt;img src=x onerror=alert(1)&gt;")
    assert shown in page.text
    if path in ("/changes/4", "/versions/6", "/pages/3/compare?a=5&b=6"):
        assert "&gt;&lt;svg onload=alert(1)&gt;" in page.text
        assert "Bell\\x07 escape\\x1b[2J end" in page.text  # control characters shown


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def test_bidi_controls_are_shown_not_obeyed(archive: sessionmaker[Session]) -> None:
    """A right-to-left override makes a text read other than it is ("Trojan Source"): every
    view of archived text shows each such character as its escape, as the CLI does."""
    text = f"Trojan {BIDI} source\nTrojan docs\u202e"
    crawl(
        archive, T0 + dt.timedelta(days=3),
        PageSeen("en/content/35", P1_NEW.replace("80", "\u202e90"), FEB28),
        PageSeen("en/content/\u202e77", text, title="Trojan \u202eeltit"),
    )  # fmt: skip
    with TestClient(create_app(archive)) as client:
        edit, new = (client.get(f"/api/pages/{n}").json() for n in (1, 4))
        assert new["key"] == "seoul.mfa.gov.az/en/content/\u202e77"
        change_ids: dict[int, int] = {}  # each page's latest change
        for c in client.get("/api/changes?status=all").json():
            change_ids[c["page_id"]] = max(c["id"], change_ids.get(c["page_id"], 0))
        old_id, new_id = (v["id"] for v in edit["versions"][-2:])
        views = [
            "/", "/pages", "/search?q=trojan", f"/changes/{change_ids[1]}",
            f"/changes/{change_ids[4]}", "/pages/4", f"/versions/{new['current_version_id']}",
            f"/pages/1/compare?a={old_id}&b={new_id}",
        ]  # fmt: skip
        for path in views:
            page = client.get(path)
            assert page.status_code == 200, path
            assert not set(BIDI) & set(page.text), path
            assert "\\u202e" in page.text, path
        shown = client.get(f"/versions/{new['current_version_id']}").text
        assert "Trojan \\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068" in shown
        assert "\\u2069\\u200e\\u200f\\u061c source" in shown
        assert "Trojan \\u202eeltit" in shown
        page = client.get("/pages/4").text
        assert 'id="live"' not in page and "en/content/\\u202e77" in page  # no such link
        assert "<del>80</del> <ins>\\u202e90</ins>" in client.get(f"/changes/{change_ids[1]}").text


def test_only_web_links_are_followed(archive: sessionmaker[Session]) -> None:
    with archive.begin() as session:
        session.get_one(Page, 1).url = "javascript:alert(1)"
    with TestClient(create_app(archive)) as client:
        text = client.get("/changes/1").text
        assert 'id="live"' not in text and 'href="javascript' not in text


# Headers


@pytest.mark.parametrize(
    "path", ["/", "/changes/1", "/pages/1", "/versions/1", "/search?q=a", "/changes/99"]
)
def test_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["content-security-policy"] == PAGE_CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"  # no-referrer: forms send Origin null
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "script" not in headers["content-security-policy"]  # no script-src: none runs


def test_stylesheet_is_served(client: TestClient) -> None:
    css = client.get("/static/app.css")
    assert css.status_code == 200 and "@media print" in css.text
    assert "url(" not in css.text and "@import" not in css.text  # self-contained


# The JSON API


def test_api_reads(client: TestClient) -> None:
    assert [c["id"] for c in client.get("/api/changes").json()] == [4, 1, 2, 3]
    detail = client.get("/api/changes/1").json()
    assert detail["kind"] == "silent_edit" and detail["old_last_updated"] == "2023-02-28"
    assert {"op": "delete", "text": "70 "} in detail["diff"]
    assert detail["window"]["last_seen_old"].startswith("2023-03-01T09:00")
    pages = client.get("/api/pages").json()
    assert {p["key"] for p in pages} == {
        "seoul.mfa.gov.az/en/content/35", "seoul.mfa.gov.az/az/content/35",
        "seoul.mfa.gov.az/en/content/99",
    }  # fmt: skip
    page = client.get("/api/pages/1").json()
    assert [f["outcome"] for f in page["timeline"]] == ["new", "changed"]
    assert [v["id"] for v in page["versions"]] == [1, 3]
    version = client.get("/api/versions/5").json()
    assert version["text"] == HOSTILE_OLD and version["page_id"] == 3
    hits = client.get("/api/search?q=documents").json()
    assert {h["version_id"] for h in hits} == {1, 3}
    assert hits[0]["matches"] == ["documents"] and "\x02" not in hits[0]["snippet"]
    for path in ("/api/changes/99", "/api/pages/99", "/api/versions/99"):
        answer = client.get(path)
        assert answer.status_code == 404 and "detail" in answer.json()


def test_api_review_needs_the_csrf_header(
    client: TestClient, archive: sessionmaker[Session]
) -> None:
    body = {"decision": "dismissed", "note": "menu change"}
    token = csrf(client)
    assert client.post("/api/changes/1/review", json=body).status_code == 403
    wrong = client.post("/api/changes/1/review", json=body, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403 and "X-CSRF-Token" in wrong.json()["detail"]
    assert statuses(archive)[1] == "pending"
    answer = client.post("/api/changes/1/review", json=body, headers={"X-CSRF-Token": token})
    assert answer.status_code == 200 and answer.json()["status"] == "dismissed"
    reviews = client.get("/api/changes/1").json()["reviews"]
    assert [(r["status"], r["note"], r["reviewer"]) for r in reviews] == [
        ("dismissed", "menu change", getpass.getuser())
    ]
    bad = client.post(
        "/api/changes/1/review", json={"decision": "x"}, headers={"X-CSRF-Token": token}
    )
    assert bad.status_code == 422


def test_openapi_lists_the_api(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    assert set(document["paths"]) == {
        "/api/changes", "/api/changes/{change_id}", "/api/changes/{change_id}/review",
        "/api/pages", "/api/pages/{page_id}", "/api/versions/{version_id}", "/api/search",
    }  # fmt: skip
    assert "ChangeDetail" in document["components"]["schemas"]
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404


# The access token

TOKEN = "s3cret-0123456789abcdefghijklmnopqrstuv"  # 39 characters


@pytest.fixture
def guarded(archive: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(archive, token=TOKEN), follow_redirects=False) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/", "/changes/1", "/static/app.css", "/api/changes"])
def test_every_request_needs_the_token(guarded: TestClient, path: str) -> None:
    answer = guarded.get(path)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert answer.headers["content-security-policy"] == PAGE_CSP
    assert guarded.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert guarded.get(f"{path}?token=wrong").status_code == 401
    guarded.cookies.set(SESSION_COOKIE, TOKEN)  # the token itself is no session
    assert guarded.get(path).status_code == 401


def test_token_in_the_url_becomes_a_session_cookie(
    guarded: TestClient, archive: sessionmaker[Session]
) -> None:
    answer = guarded.get(f"/?kind=silent_edit&token={TOKEN}")
    assert answer.status_code == 307 and answer.headers["location"] == "/?kind=silent_edit"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = guarded.get("/?kind=silent_edit")
    assert page.status_code == 200 and queue_ids(page.text) == [4, 1]
    # The cookie does not exempt a write from the CSRF check; a bearer token does.
    body = {"decision": "accepted"}
    assert guarded.post("/api/changes/1/review", json=body).status_code == 403
    session = guarded.cookies[SESSION_COOKIE]
    guarded.cookies.clear()
    script = {"Authorization": f"Bearer {TOKEN}", "Origin": "http://elsewhere.example"}
    answer = guarded.post("/api/changes/1/review", json=body, headers=script)
    assert answer.status_code == 200  # a script: no browser adds a bearer token on its own
    # The session holds across a restart with the same token, and ends with a new token.
    for token, status in ((TOKEN, 200), (TOKEN[::-1], 401)):
        with TestClient(create_app(archive, token=token)) as restarted:
            restarted.cookies.set(SESSION_COOKIE, session)
            assert restarted.get("/").status_code == status


@pytest.mark.parametrize(
    "url",
    [
        "/?token={}",
        "/changes/1?token={}",
        "/?%74oken={}",
        "https://review.example/?token={}",
        "/?kind=silent_edit&token={}&token={}",
    ],
)
def test_the_token_never_travels_in_a_cookie(guarded: TestClient, url: str) -> None:
    answer = guarded.get(url.format(TOKEN, TOKEN))
    assert answer.status_code == 307
    cookies = answer.headers.get_list("set-cookie")
    assert len(cookies) == 1 and TOKEN not in cookies[0] and TOKEN[-12:] not in cookies[0]
    assert TOKEN not in answer.headers["location"]


@pytest.mark.parametrize(
    "path",
    [
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "/\\/evil.example/",
        "/%2F%2Fevil.example/",
        "/%5C%5Cevil.example/",
        "/https://evil.example/",
        "https://evil.example/",  # an absolute request target
    ],
)
def test_the_token_redirect_stays_on_this_server(guarded: TestClient, path: str) -> None:
    url = path if path.startswith("https:") else f"http://testserver{path}"  # path as it is
    answer = guarded.get(f"{url}?token={TOKEN}&kind=x")
    assert answer.status_code == 307
    location = answer.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    # As a browser resolves it (the WHATWG parser folds \ into /, as urljoin does not).
    assert urlsplit(urljoin("http://127.0.0.1:8000/", location.replace("\\", "/"))).netloc == (
        "127.0.0.1:8000"
    )
    assert location.endswith("?kind=x")


def test_a_short_token_is_refused(archive: sessionmaker[Session]) -> None:
    with pytest.raises(MfawatchError, match="at least 32"):
        create_app(archive, token="s3cret")


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("/?token=s3cret", "/?token=…"),
        ("/?%74oken=s3cret", "/?%74oken=…"),
        ("/?%74%6F%6B%65%6E=s3cret&kind=x", "/?%74%6F%6B%65%6E=…&kind=x"),
        ("/?kind=x&%2574oken=s3cret", "/?kind=x&%2574oken=…"),  # encoded twice
        ("/?TOKEN=s3%63ret;token=s3cret", "/?TOKEN=…;token=…"),
        ("/changes/1?t%6Fken=s3cret+s3cret", "/changes/1?t%6Fken=…"),
        ("/?tokens=kept&a=token", "/?tokens=kept&a=token"),
        ("/token=kept", "/token=kept"),
    ],
)
def test_the_access_log_hides_the_token_however_encoded(target: str, shown: str) -> None:
    assert redact_token(target) == shown


def test_without_a_token_the_host_can_be_pinned(archive: sessionmaker[Session]) -> None:
    app = create_app(archive, allowed_hosts={"127.0.0.1", "localhost"})
    with TestClient(app, base_url="http://evil.example") as client:
        assert client.get("/").status_code == 400  # a DNS-rebinding page gets nothing
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        assert client.get("/").status_code == 200


# mfawatch serve


def serve(db_url: str, *args: str, token: str | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "MFAWATCH_TOKEN"}
    if token:
        env["MFAWATCH_TOKEN"] = token
    return subprocess.Popen(
        [sys.executable, "-m", "mfawatch", "--db", db_url, "serve", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )  # fmt: skip


def test_serve_refuses_an_open_address_without_a_token(db_url: str) -> None:
    proc = serve(db_url, "--host", "0.0.0.0", "--port", "1")
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2 and stdout == ""
    assert stderr.startswith("mfawatch: error: refusing to serve on 0.0.0.0")
    assert stderr.count("\n") == 1


def test_serve_refuses_a_short_token(db_url: str) -> None:
    proc = serve(db_url, "--port", "1", token="s3cret-but-short")
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2 and stdout == ""
    assert stderr.startswith("mfawatch: error: MFAWATCH_TOKEN has 16 characters, it needs at")
    assert stderr.count("\n") == 1 and "s3cret" not in stderr


def test_serve_on_a_port_in_use_is_one_line(db_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = serve(db_url, "--port", str(taken.getsockname()[1]))
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2 and stdout == ""
    assert stderr.startswith("mfawatch: error: cannot listen on 127.0.0.1:")
    assert "Address already in use" in stderr and stderr.count("\n") == 1


def wait_for(url: str) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("token", [None, TOKEN])
def test_serve_answers_on_loopback(archive: object, db_url: str, token: str | None) -> None:
    port = free_port()
    proc = serve(db_url, "--port", str(port), token=token)
    try:
        first = wait_for(f"http://127.0.0.1:{port}/")
        if token is None:
            assert first.status_code == 200 and queue_ids(first.text) == [4, 1, 2, 3]
            evil = httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": "evil.example"})
            assert evil.status_code == 400
        else:
            assert first.status_code == 401
            bearer = {"Authorization": f"Bearer {token}"}
            assert httpx.get(f"http://127.0.0.1:{port}/", headers=bearer).status_code == 200
            for query in (f"token={token}", f"%74oken={token}"):
                traded = httpx.get(f"http://127.0.0.1:{port}/?{query}")
                assert traded.status_code == 307 and "s3cret" not in str(traded.headers)
    finally:
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=20)
    assert "s3cret" not in stdout + stderr  # the access log hides a token given in the URL
    if token:
        assert "GET /?token=… HTTP/1.1" in stdout + stderr
        assert "GET /?%74oken=… HTTP/1.1" in stdout + stderr
