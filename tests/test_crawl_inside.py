"""A crawl stays inside its site and obeys it (issue 10, section 6): another port of the site's
host is another site; a robots.txt that cannot be read forbids everything (RFC 9309); nothing
from the network reaches the terminal raw; an unreachable site is a line per page and a run
note, not tracebacks.

Real crawls (in a subprocess) against the offline mirror, as in test_crawl_polite.py.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from mfawatch.mirror import (
    MirrorServer,
    embassy_site,
    faults,
    home_page,
    relations_menu,
    relations_path,
)
from tests.support import last_fetch

EN35 = relations_path("en", 35)
EN36 = relations_path("en", 36)
ALL_PAGES = [relations_path(lang, i) for lang in ("en", "az") for i in (35, 36, 37, 38)]
RFC = "RFC 9309 §2.3.1.4"
# What the terminal must never get raw: C0 controls but \n and \t, DEL, C1 controls.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def other_port(mirror: MirrorServer) -> Iterator[MirrorServer]:
    """Another server on the same host as the site, on another port: another site."""
    with MirrorServer(host=mirror.host) as server:
        server.set_site(embassy_site("seoul"))
        yield server


def last_note(mfawatch):
    return mfawatch.json("runs")[0]["note"] or ""


def page_requests(mirror):
    return [r.path for r in mirror.requests if r.path != "/robots.txt"]


def test_a_menu_link_to_another_port_of_the_host_is_not_followed(mfawatch, mirror, other_port):
    foreign = (other_port.url("/en/content/39/trade-cooperation"), "Trade cooperation")
    mirror.set("/en", home_page(mission="seoul", lang="en", menu=[*relations_menu("en"), foreign]))
    mfawatch.crawl()
    assert other_port.requests == []
    pages = mfawatch.json("pages")
    assert len(pages) == 8
    assert all(p["url"].startswith(mirror.url("/")) for p in pages)


def test_a_redirect_to_another_port_of_the_host_is_a_removal(mfawatch, mirror, other_port):
    mfawatch.crawl()
    target = other_port.url(EN35)
    mirror.redirect(EN35, target, 301)
    mfawatch.crawl()
    assert other_port.requests == []
    fetch = last_fetch(mfawatch, mirror, EN35)
    assert (fetch["outcome"], fetch["final_url"]) == ("gone", target)
    assert target in fetch["error"]
    removed = mfawatch.json("changes", "--kind", "removed")
    assert [c["url"] for c in removed] == [mirror.url(EN35)]


def test_a_start_page_redirected_to_another_port_is_not_followed(mfawatch, mirror, other_port):
    mirror.redirect("/en", other_port.url("/en"), 302)
    result = mfawatch.crawl()
    assert other_port.requests == []
    assert f"menus of {mirror.url('/en')} not read" in result.stderr
    assert {p["lang"] for p in mfawatch.json("pages")} == {"az"}  # found from /az alone


def test_robots_txt_answering_503_forbids_every_page(mfawatch, mirror):
    mfawatch.crawl()
    mirror.set_handler("/robots.txt", faults.server_error(503))
    mirror.clear_requests()
    result = mfawatch.crawl(check=False)
    assert page_requests(mirror) == []
    host = mirror.url("").removeprefix("http://")
    why = f"robots.txt of {host} answered 503"
    for path in ALL_PAGES:
        fetch = last_fetch(mfawatch, mirror, path)
        assert fetch["outcome"] == "failed"
        assert why in fetch["error"] and RFC in fetch["error"]
    assert f"{why}: nothing fetched ({RFC})" in last_note(mfawatch)
    assert "Traceback" not in result.stderr
    # Not being allowed to look is not a removal: nothing queued, the text kept.
    assert mfawatch.json("changes", "--status", "all") == []
    assert {p["status"] for p in mfawatch.json("pages")} == {"active"}


def test_robots_txt_503_on_a_first_crawl_fetches_nothing_and_says_why(mfawatch, mirror):
    mirror.set_handler("/robots.txt", faults.server_error(503))
    result = mfawatch.crawl(check=False)
    assert result.code == 1  # nothing archived: the run is unhealthy
    assert page_requests(mirror) == []
    assert "answered 503: nothing fetched" in last_note(mfawatch)
    assert mfawatch.json("pages") == []


def test_unreachable_robots_txt_forbids_every_page(mfawatch, mirror):
    mfawatch.crawl()
    mirror.set_handler("/robots.txt", faults.hang_up())
    mirror.clear_requests()
    result = mfawatch.crawl(check=False)
    assert page_requests(mirror) == []
    assert mirror.hits("/robots.txt") == 2  # asked, then retried once (RETRY_TIMES = 1)
    for path in ALL_PAGES:
        fetch = last_fetch(mfawatch, mirror, path)
        assert fetch["outcome"] == "failed"
        assert "robots.txt not read" in fetch["error"] and RFC in fetch["error"]
    note = last_note(mfawatch)
    assert "unreachable" in note and f"nothing fetched ({RFC})" in note
    assert "Traceback" not in result.stderr


def test_robots_txt_answering_4xx_allows_everything(mfawatch, mirror):
    # A 4xx means "no robots.txt" (RFC 9309 §2.3.1.3), whatever its body says.
    mirror.set("/robots.txt", "User-agent: *\nDisallow: /\n", status=403, content_type="text/plain")
    mfawatch.crawl()
    for path in ALL_PAGES:
        assert last_fetch(mfawatch, mirror, path)["outcome"] == "new"


def test_robots_txt_redirected_to_another_host_is_followed_for_its_rules(
    mfawatch, mirror, elsewhere
):
    # RFC 9309 §2.3.1.2: follow up to five redirects, across hosts; the rules found there
    # apply to the site that was asked.
    elsewhere.set("/robots.txt", f"User-agent: *\nDisallow: {EN36}\n", content_type="text/plain")
    mirror.redirect("/robots.txt", elsewhere.url("/robots.txt"))
    mfawatch.crawl()
    assert [r.path for r in elsewhere.requests] == ["/robots.txt"]
    assert EN36 not in page_requests(mirror)
    assert "Forbidden by robots.txt" in last_fetch(mfawatch, mirror, EN36)["error"]
    assert last_fetch(mfawatch, mirror, EN35)["outcome"] == "new"


def crawl_verbose(mfawatch) -> subprocess.CompletedProcess[str]:
    """A crawl with -v: Scrapy's own debug lines ("Redirecting (301) to ...") shown too."""
    return subprocess.run(
        [sys.executable, "-m", "mfawatch", "-v", "--db", mfawatch.db_url, "-c",
         str(mfawatch.sites), "crawl"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_control_characters_from_the_network_never_reach_the_terminal(mfawatch, mirror, elsewhere):
    esc = "\x1b[31m\x1b[2J\x9b1m"
    # A page's link with ESC/CSI bytes in its URL; a redirect whose Location carries them, on
    # the site and off it.
    odd = f"/en/content/39/{esc}trade"
    mirror.set("/en", home_page(mission="seoul", lang="en", menu=[*relations_menu("en"),
                                                                  (odd, "Trade")]))  # fmt: skip
    mirror.set(odd, embassy_site("seoul")[EN35])
    mirror.redirect(EN36, f"{EN36}?{esc}", 301)
    mirror.redirect(relations_path("az", 35), f"http://127.0.0.2:1/{esc}", 302)
    for result in (mfawatch.crawl(check=False), crawl_verbose(mfawatch)):
        assert "Redirecting" in result.stderr or "gone" in result.stderr
        assert CONTROL.findall(result.stderr) == [], result.stderr
        assert "\\x1b[31m" in result.stderr  # shown, escaped
    fetch = last_fetch(mfawatch, mirror, relations_path("az", 35))
    assert fetch["outcome"] == "gone"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("robots", ["obeyed", "ignored"])
def test_an_unreachable_site_is_one_line_per_page_and_a_run_note(mfawatch, mirror, robots):
    settings = ("--set", "ROBOTSTXT_OBEY=false") if robots == "ignored" else ()
    mfawatch.crawl(*settings)
    urls = [mirror.url(p) for p in ALL_PAGES]
    mirror.stop()  # the port is closed now: connection refused
    result = mfawatch.crawl(*settings, check=False)
    assert result.code == 1
    assert "Traceback" not in result.stderr
    for url in urls:
        [line] = [ln for ln in result.stderr.splitlines() if url in ln]
        assert "failed" in line and "Connection was refused" in line, line
    note = last_note(mfawatch)
    assert "unreachable" in note and "Connection was refused" in note
    for url in urls:
        assert mfawatch.json("history", url)["fetches"][-1]["outcome"] == "failed"


def test_an_unreachable_first_crawl_is_one_line_per_start_page(mfawatch, tmp_path):
    port = free_port()
    sites = mfawatch.sites.read_text(encoding="utf-8")
    sites = re.sub(r"http://127\.0\.0\.1:\d+", f"http://127.0.0.1:{port}", sites)
    mfawatch.sites.write_text(sites, encoding="utf-8")
    result = mfawatch.crawl(check=False)
    assert result.code == 1
    assert "Traceback" not in result.stderr
    for path in ("/en", "/az"):
        url = f"http://127.0.0.1:{port}{path}"
        assert len([ln for ln in result.stderr.splitlines() if f"{url} " in ln]) == 1
    assert "unreachable" in last_note(mfawatch)
