"""A crawl is polite: it obeys robots.txt, says who it is, stays on the site it was given, and
retries a failed page once without hammering the server.

Real crawls (in a subprocess) against the offline mirror; what the server saw is read from
`mirror.requests`, what the archive recorded from the CLI's --json output.
"""

from __future__ import annotations

import re
import threading
import time

from scrapy.http import HtmlResponse

from mfawatch.mirror import (
    Request,
    Response,
    embassy_site,
    faults,
    home_page,
    html_response,
    relations_menu,
    relations_path,
)
from scraper.spiders.mfa import MfaSpider
from storage.queries import known_pages
from tests.support import last_fetch

EN35 = relations_path("en", 35)
EN36 = relations_path("en", 36)
AZ36 = relations_path("az", 36)
ALL_PAGES = [relations_path(lang, i) for lang in ("en", "az") for i in (35, 36, 37, 38)]


def requested(mirror, path):
    return [r for r in mirror.requests if r.path == path]


def disallow(mirror, *paths):
    rules = "".join(f"Disallow: {p}\n" for p in paths)
    mirror.set("/robots.txt", "User-agent: *\n" + rules, content_type="text/plain")


def test_robots_txt_forbids_a_page_linked_from_the_menus(mfawatch, mirror):
    disallow(mirror, EN36)
    mfawatch.crawl()
    assert requested(mirror, EN36) == []
    assert len(requested(mirror, "/robots.txt")) == 1  # read once per host, not per page
    # Recorded, so the user sees why the page has no text: not silently missing.
    fetch = last_fetch(mfawatch, mirror, EN36)
    assert fetch["outcome"] == "failed"
    assert "Forbidden by robots.txt" in fetch["error"]
    for path in ALL_PAGES:
        if path != EN36:
            assert last_fetch(mfawatch, mirror, path)["outcome"] == "new"


def test_robots_txt_holds_for_every_request_sent_at_once(mfawatch, mirror):
    # The second crawl starts with the two menus and all 8 known pages at once: every one of
    # them must wait for robots.txt, not only the first (Scrapy 2.19 let the others through).
    mfawatch.crawl()
    forbidden = [EN35, EN36, AZ36, relations_path("az", 38)]
    disallow(mirror, *forbidden)
    mirror.clear_requests()
    result = mfawatch.crawl()
    assert result.code == 0
    for path in forbidden:
        assert requested(mirror, path) == [], path
        fetch = last_fetch(mfawatch, mirror, path)
        assert fetch["outcome"] == "failed"
        assert "Forbidden by robots.txt" in fetch["error"]
    # Being told not to look is not a removal: no change, pages stay active with their text.
    assert mfawatch.json("changes", "--status", "all") == []
    assert {p["status"] for p in mfawatch.json("pages")} == {"active"}
    assert "Diplomatic relations" in mfawatch.json("show", mirror.url(EN35))["text"]


def test_user_agent_names_the_tool_and_the_contact(mfawatch, mirror):
    mfawatch.crawl()
    assert mirror.requests
    for request in mirror.requests:
        agent = request.headers["user-agent"]
        assert agent.startswith("mfawatch/"), agent
        assert "tests@mfawatch.invalid" in agent, agent


def test_a_crawl_without_a_contact_says_once_how_to_set_one(mfawatch, mirror):
    sites = mfawatch.sites.read_text(encoding="utf-8")
    mfawatch.sites.write_text(sites.replace('contact = "tests@mfawatch.invalid"\n', ""), "utf-8")
    result = mfawatch.crawl()
    hints = [line for line in result.stderr.splitlines() if "contact" in line]
    assert hints == [
        f"mfawatch: note: no contact in {mfawatch.sites}: add a line such as "
        'contact = "mailto:you@example.org" at its top, so that site owners can reach you '
        "(it goes into the User-Agent)"
    ]
    assert all("+" not in r.headers["user-agent"] for r in mirror.requests)


def test_off_site_redirect_is_recorded_and_not_followed(mfawatch, mirror, elsewhere):
    mfawatch.crawl()
    target = elsewhere.url(EN35)
    mirror.redirect(EN35, target, 301)
    mfawatch.crawl()
    assert elsewhere.requests == []
    fetch = last_fetch(mfawatch, mirror, EN35)
    assert fetch["outcome"] == "gone"
    assert target in fetch["error"]
    assert fetch["final_url"] == target
    removed = mfawatch.json("changes", "--kind", "removed")
    assert [c["url"] for c in removed] == [mirror.url(EN35)]


def test_menu_links_to_another_host_are_not_followed(mfawatch, mirror, elsewhere):
    # A relations-looking link, by URL and by text, that points at another host.
    foreign = (elsewhere.url("/en/content/39/trade-cooperation"), "Trade cooperation")
    mirror.set("/en", home_page(mission="seoul", lang="en", menu=[*relations_menu("en"), foreign]))
    mfawatch.crawl()
    assert elsewhere.requests == []
    pages = mfawatch.json("pages")
    assert len(pages) == 8
    assert all(p["url"].startswith(mirror.url("/")) for p in pages)


def test_a_known_page_found_in_a_menu_first_is_still_asked_conditionally(
    mfawatch, mirror, sessions
):
    # Scrapy reads the menus while it still pulls the known pages from start(): a request made
    # from a menu must carry what the archive knows too, or the server sends the page whole.
    site = embassy_site("seoul")
    for path in ALL_PAGES:
        mirror.set(path, site[path], etag=True)
    mfawatch.crawl()
    spider = MfaSpider(config=str(mfawatch.sites))
    with sessions() as session:  # as the pipeline hands them over
        spider.know({"seoul": known_pages(session, "seoul")})
    home = HtmlResponse(mirror.url("/en"), body=site["/en"].encode(), encoding="utf-8")
    requests = list(spider.parse_menu(home, spider.sites[0]))
    assert len(requests) == 4
    for request in requests:
        assert request.headers.get("If-None-Match"), request.url
        assert request.meta["mfawatch_seen_bytes"], request.url


class FailsOnce:
    """503 on the first request, the page afterwards; remembers when each request came."""

    def __init__(self, page: str) -> None:
        self.page = page
        self.times: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.times.append(time.monotonic())
            first = len(self.times) == 1
        if first:
            return html_response("<h1>503 Service Unavailable</h1>", 503)
        return html_response(self.page)


def test_a_page_failing_once_is_retried_and_archived_in_the_same_crawl(mfawatch, mirror):
    handler = FailsOnce(embassy_site("seoul")[EN35])
    mirror.set_handler(EN35, handler)
    result = mfawatch.crawl()
    assert len(handler.times) == 2
    fetches = mfawatch.json("history", mirror.url(EN35))["fetches"]
    # One fetch row per page per crawl: the retry is part of the fetch, not a second one.
    assert [f["outcome"] for f in fetches] == ["new"]
    assert fetches[0]["http_status"] == 200
    assert re.search(r"errors\s*│\s*0\b", result.stdout), result.stdout


def test_retry_waits_for_the_configured_backoff(mfawatch, mirror):
    backoff = 0.6
    handler = FailsOnce(embassy_site("seoul")[EN35])
    mirror.set_handler(EN35, handler)
    mfawatch.crawl("--set", f"MFAWATCH_RETRY_BACKOFF={backoff}")
    assert len(handler.times) == 2
    assert last_fetch(mfawatch, mirror, EN35)["outcome"] == "new"
    # A lower bound only: the retry cannot come before the backoff has passed. (The small
    # margin covers the event loop's clock resolution.)
    assert handler.times[1] - handler.times[0] >= backoff * 0.95


def test_a_page_failing_every_time_is_retried_then_given_up(mfawatch, mirror):
    mfawatch.crawl()
    mirror.set_handler(EN35, faults.server_error(503))
    mfawatch.crawl()
    # RETRY_TIMES = 1 in the tests' settings: two requests, then a failed fetch.
    assert len(requested(mirror, EN35)) == 3
    assert last_fetch(mfawatch, mirror, EN35)["error"] == "HTTP 503"
