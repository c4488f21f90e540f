"""The review app in a real browser (Debian's Chromium, driven by Playwright): review a change,
hostile archived text that must never run, a forged review from another port refused, search, and
screenshots of the queue and a change.

The app runs in this process (uvicorn in a thread, 127.0.0.1, a free port) on an archive built
through the write path; no crawl, no network. Every wait is bounded by Playwright's timeouts.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import re
import socket
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Response, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from kernel.detect import Seen
from storage.archive import FetchResult, record_fetch
from storage.models import Change
from storage.runs import finish_run, start_run

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("MFAWATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
WAIT_MS = 5000
T0 = dt.datetime(2023, 3, 1, 9, 0, tzinfo=dt.UTC)
D0, D1 = dt.date(2023, 2, 28), dt.date(2023, 3, 2)

# Archived text is hostile input: each payload records that it ran in window.__pwned.
PAYLOADS = (
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    '"><svg onload=window.__pwned=3>',
)
HOSTILE_TEXT = "Concerts. {} Ostrogoth\n{}\n{}".format(*PAYLOADS)
HOSTILE_TITLE = "Culture <img src=y onerror=alert(7)>"
PLAIN_RAW = b"<html><body><p>archived</p></body></html>"
HOSTILE_RAW = (
    b"<html><body><script>window.__pwned=4;window.parent.__pwned=4</script>"
    b'<p>Ostrogoth</p><img src=x onerror="window.__pwned=5;window.parent.__pwned=5">'
    b"</body></html>"
)

# A developer without Debian's chromium skips these; CI installs it (.ci/run) and never skips.
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)",
)


@dataclass(frozen=True)
class Archive:
    silent: int  # change ids
    updated: int
    hostile: int
    updated_version: int  # the new version ids of those changes
    hostile_version: int


def _fetch(
    session: Session,
    run_id: int,
    n: int,
    day: int,
    title: str,
    text: str,
    declared: dt.date,
    raw: bytes,
) -> int | None:
    key = f"seoul.mfa.gov.az/en/content/{n}"
    result = FetchResult(
        site="seoul", key=key, url=f"https://{key}", lang="en", seen=Seen.CONTENT,
        fetched_at=T0 + dt.timedelta(days=day), http_status=200, raw=raw, title=title,
        text=f"{title}\n{text}", declared_raw=declared.strftime("%d.%m.%Y"), declared_date=declared,
    )  # fmt: skip
    return record_fetch(session, run_id, result).change_id


def build_archive(sessions: sessionmaker[Session]) -> Archive:
    """A baseline crawl of three pages, then a silent edit, an update and a hostile update."""
    pages = {
        35: ("Political cooperation", "About 70 documents signed.", "About 80 documents signed."),
        36: ("Economic cooperation", "Trade grew.", "Trade grew along the Caspian corridor."),
        37: (HOSTILE_TITLE, f"Concerts. {PAYLOADS[0]}", HOSTILE_TEXT),
    }  # fmt: skip
    ids: dict[int, int | None] = {}
    for day in (0, 1):
        with sessions.begin() as session:
            run_id = start_run(session, "seoul", "mfa.gov.az", "manual")
            for n, (title, old, new) in pages.items():
                declared = D1 if day and n != 35 else D0  # page 35: a silent edit
                text = new if day else old
                raw = HOSTILE_RAW if n == 37 and day else PLAIN_RAW
                ids[n] = _fetch(session, run_id, n, day, title, text, declared, raw)
            finish_run(session, run_id, "ok")
    with sessions() as session:
        changes = {n: session.get_one(Change, ids[n]) for n in pages}
        assert changes[35].kind == "silent_edit" and changes[36].kind == "content_updated"
        return Archive(
            changes[35].id, changes[36].id, changes[37].id,
            changes[36].new_version_id or 0, changes[37].new_version_id or 0,
        )  # fmt: skip


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@dataclass(frozen=True)
class App:
    url: str
    archive: Archive

    def __call__(self, path: str) -> str:
        return urljoin(self.url, path)


@pytest.fixture
def app(sessions: sessionmaker[Session]) -> Iterator[App]:
    """The review app on 127.0.0.1 and a free port, serving this test's archive."""
    from mfawatch.web.app import create_app

    archive = build_archive(sessions)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        create_app(sessions), log_level="warning", ws="none", lifespan="off", access_log=False
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert server.ready.wait(10), "the app did not start within 10 s"
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert answer.status == 200
        yield App(url, archive)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


def ok(response: Response | None) -> Response:
    assert response is not None and response.status == 200, response and response.status
    return response


def strict_csp(response: Response) -> str:
    csp = response.headers.get("content-security-policy", "")
    directives = {d.split()[0]: d for d in csp.split(";") if d.strip()}
    scripts = directives.get("script-src") or directives.get("default-src")
    assert scripts is not None and "'unsafe-inline'" not in scripts, csp
    return csp


def queue_ids(page: Page) -> list[int]:
    rows = page.locator("table#queue tr.change[data-change-id]")
    return [int(v or 0) for v in rows.evaluate_all("rs => rs.map(r => r.dataset.changeId)")]


def test_review_a_change_in_the_browser(app: App, page: Page) -> None:
    a = app.archive
    strict_csp(ok(page.goto(app("/"))))
    assert page.locator("#counts").is_visible()
    assert page.locator("form#filters").count() == 1
    ids = queue_ids(page)  # silent edits first
    assert ids[0] == a.silent and sorted(ids) == sorted([a.silent, a.updated, a.hostile])
    page.locator(f'tr.change[data-change-id="{a.silent}"] a.change-link').click()
    page.wait_for_url(app(f"/changes/{a.silent}"))
    assert page.locator("#side-by-side .old del").first.inner_text().strip() == "70"
    assert page.locator("#side-by-side .new ins").first.inner_text().strip() == "80"
    assert "80" in page.locator("#inline ins").all_inner_texts()[0]
    assert "2023-02-28" in page.locator("#dates").inner_text()
    assert page.locator("#window").inner_text().strip()
    assert page.locator("a#live").get_attribute("href") == "https://seoul.mfa.gov.az/en/content/35"
    assert page.locator('form#review input[type="hidden"]').count() >= 1  # the CSRF token
    assert page.locator("button#dismiss").is_visible()
    page.locator("form#review textarea[name=note]").fill("checked against the PDF")
    with page.expect_navigation():
        page.locator("button#accept").click()
    landed = urlsplit(page.url).path
    assert landed in {"/", f"/changes/{a.updated}", f"/changes/{a.hostile}"}, page.url
    ok(page.goto(app("/")))
    assert sorted(queue_ids(page)) == sorted([a.updated, a.hostile])
    ok(page.goto(app(f"/changes/{a.silent}")))
    history = page.locator("#history").inner_text()
    assert "accepted" in history.lower() and "checked against the PDF" in history


@pytest.fixture
def other_port() -> Iterator[tuple[str, dict[str, bytes]]]:
    """Another server on 127.0.0.1 (another port): it answers every GET with ``served``'s
    "headers" (one header per line) and "body"."""
    served = {"headers": b"", "body": b""}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            for line in served["headers"].decode().splitlines():
                name, _, value = line.partition(": ")
                self.send_header(name, value)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(served["body"])

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", served
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def test_a_page_on_another_port_cannot_review(
    app: App, page: Page, sessions: sessionmaker[Session], other_port: tuple[str, dict[str, bytes]]
) -> None:
    """Cookies ignore ports: a page on another port of 127.0.0.1 can set the app's session
    cookie to a session it got for itself, and post that session's CSRF token from its own
    form. The browser sends it all; the app refuses it (the request's Origin is not its own)."""
    url, served = other_port
    change = app.archive.silent
    with urllib.request.urlopen(app(f"/changes/{change}"), timeout=5) as answer:
        session = answer.headers["set-cookie"].split(";")[0]
        found = re.search(r'name="csrf_token" value="(\w+)"', answer.read().decode())
    assert found and session.startswith("__Host-")
    served["headers"] = f"Set-Cookie: {session}; Path=/; Secure; HttpOnly; SameSite=Strict".encode()
    served["body"] = (
        f'<form method="post" action="{app(f"/changes/{change}/review")}">'
        f'<input name="csrf_token" value="{found.group(1)}">'
        '<input name="decision" value="accepted"></form>'
        "<script>document.forms[0].submit()</script>"
    ).encode()
    ok(page.goto(app("/")))  # the reviewer has the app open
    with page.expect_response(lambda r: r.url.endswith("/review")) as posted:
        ok(page.goto(url))
    cookies = {c["name"]: c["value"] for c in page.context.cookies(app("/"))}
    assert cookies["__Host-mfawatch_session"] == session.partition("=")[2]  # it was planted
    assert posted.value.status == 403
    assert "another site or port" in page.locator("p.error").inner_text()
    with sessions() as db:
        assert db.get_one(Change, change).status == "pending"


NOTHING_INJECTED = """() => ({
    pwned: typeof window.__pwned,
    handlers: document.querySelectorAll('[onerror], [onload]').length,
    scripts: [...document.scripts].filter(s => s.textContent.includes('__pwned')).length,
})"""
CLEAN = {"pwned": "undefined", "handlers": 0, "scripts": 0}


def test_hostile_archived_text_never_runs(app: App, page: Page) -> None:
    a = app.archive
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    shown = {}
    for name, path in {
        "queue": "/",
        "change": f"/changes/{a.hostile}",
        "search": "/search?q=Ostrogoth",
        "version": f"/versions/{a.hostile_version}",
    }.items():
        strict_csp(ok(page.goto(app(path))))
        assert page.evaluate(NOTHING_INJECTED) == CLEAN, name
        shown[name] = page.locator("body").inner_text()
    assert HOSTILE_TITLE in shown["queue"] and HOSTILE_TITLE in shown["change"]
    assert all(p in page.locator("#text").inner_text() for p in PAYLOADS)
    assert all(p in shown["change"] for p in PAYLOADS)
    assert "__pwned" in shown["search"] and "Ostrogoth" in shown["search"]
    # The archived HTML in its sandboxed frame: scripts off, and they did not run.
    raw = page.locator("iframe#raw")
    sandbox = raw.get_attribute("sandbox")
    assert sandbox is not None and "allow-scripts" not in sandbox, sandbox
    frame = raw.element_handle().content_frame()
    assert frame is not None
    frame.wait_for_load_state("load")
    assert frame.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # The same bytes opened directly: served under a sandbox CSP, their script inert.
    response = ok(page.goto(urljoin(page.url, raw.get_attribute("src") or "")))
    assert "sandbox" in response.headers.get("content-security-policy", "")
    assert response.body() == HOSTILE_RAW
    assert page.locator("p").inner_text() == "Ostrogoth"  # the archived page, rendered
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == [] and errors == []


def test_search_finds_the_version(app: App, page: Page) -> None:
    ok(page.goto(app("/search")))
    page.locator("form#search input[name=q]").fill("Caspian")
    with page.expect_navigation():
        page.locator("form#search input[name=q]").press("Enter")
    assert urlsplit(page.url).path == "/search"
    results = page.locator("ol#results > li")
    assert results.count() == 1
    assert "Caspian" in results.first.inner_text()
    hrefs = results.first.locator("a").evaluate_all("as => as.map(a => a.href)")
    version = f"/versions/{app.archive.updated_version}"
    assert version in {urlsplit(h).path for h in hrefs}, hrefs
    page.locator(f"ol#results > li a[href$='{version}']").first.click()
    page.wait_for_url(app(version))
    assert "Caspian corridor" in page.locator("#text").inner_text()
    page.locator("a[href^='/pages/']").first.click()  # the version's page: its timeline
    page.wait_for_url("**/pages/*")
    assert page.locator("#timeline").is_visible() and page.locator("form#compare").count() == 1
    assert page.locator(f"#versions a[href$='{version}']").count() >= 1


def test_screenshots(app: App, page: Page) -> None:
    folder = REPO / "screenshots"
    folder.mkdir(exist_ok=True)
    ok(page.goto(app("/")))
    page.screenshot(path=folder / "queue.png", full_page=True)
    ok(page.goto(app(f"/changes/{app.archive.silent}")))
    page.screenshot(path=folder / "change.png", full_page=True)
    assert (folder / "queue.png").stat().st_size > 1000
    assert (folder / "change.png").stat().st_size > 1000
