"""The offline mirror: the server's HTTP behaviour, the fault fixtures and the page layout."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from mfawatch.mirror import (
    MirrorServer,
    Request,
    Response,
    content_page,
    embassy_site,
    faults,
)
from mfawatch.mirror.texts import SEOUL_POLITICAL_EN

POLITICAL = "/en/content/35/political-cooperation"
# The real page text (tests/fixtures/README.md says where it comes from).
SEED = Path(__file__).resolve().parent / "fixtures" / "seoul_political_en.txt"


@pytest.fixture
def mirror() -> Iterator[MirrorServer]:
    with MirrorServer() as server:
        yield server


def fetch(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """One request without following redirects: (status, lower-case headers, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def wait_for_hit(mirror: MirrorServer, path: str, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while mirror.hits(path) == 0:
        assert time.monotonic() < deadline, f"no request for {path} arrived"
        time.sleep(0.005)


# -- the server ------------------------------------------------------------------------------


def test_serves_a_page_on_an_ephemeral_port(mirror: MirrorServer) -> None:
    mirror.set_site(embassy_site("seoul"))
    assert not mirror.base_url.endswith(":0")

    with urllib.request.urlopen(mirror.url(POLITICAL), timeout=5) as response:
        body = response.read()
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert int(response.headers["Content-Length"]) == len(body)

    assert SEOUL_POLITICAL_EN[0] in body.decode("utf-8")
    assert mirror.hits(POLITICAL) == 1
    recorded = mirror.requests[-1]
    assert (recorded.method, recorded.path) == ("GET", POLITICAL)
    assert "user-agent" in recorded.headers


def test_content_switches_between_fetches(mirror: MirrorServer) -> None:
    mirror.set("/page", "<p>first version</p>")
    assert fetch(mirror.url("/page"))[2] == b"<p>first version</p>"

    mirror.set("/page", "<p>second version</p>")
    assert fetch(mirror.url("/page"))[2] == b"<p>second version</p>"

    mirror.set_site({"/page": "<p>third</p>", "/other": "<p>other</p>"})
    assert fetch(mirror.url("/page"))[2] == b"<p>third</p>"
    assert mirror.hits("/page") == 3


def test_removed_and_unknown_paths_are_404(mirror: MirrorServer) -> None:
    mirror.set("/news?page=2", "page two")
    assert fetch(mirror.url("/news?page=2"))[0] == 200
    assert fetch(mirror.url("/news"))[0] == 404  # the query string is part of the route

    mirror.remove("/news?page=2")
    status, headers, body = fetch(mirror.url("/news?page=2"))
    assert status == 404
    assert headers["content-type"].startswith("text/html")
    assert b"Not Found" in body


def test_robots_txt_is_served_by_default(mirror: MirrorServer) -> None:
    status, headers, body = fetch(mirror.url("/robots.txt"))
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert b"Disallow: /private/" in body


def test_head_sends_length_but_no_body(mirror: MirrorServer) -> None:
    mirror.set("/page", "twelve bytes")
    status, headers, body = fetch(mirror.url("/page"), method="HEAD")
    assert (status, headers["content-length"], body) == (200, "12", b"")


def test_etag_answers_304_until_the_body_changes(mirror: MirrorServer) -> None:
    mirror.set("/page", "v1", etag=True)
    status, headers, _ = fetch(mirror.url("/page"))
    etag = headers["etag"]
    assert status == 200 and etag.startswith('"')

    status, headers, body = fetch(mirror.url("/page"), {"If-None-Match": etag})
    assert (status, body, headers["etag"]) == (304, b"", etag)

    mirror.set("/page", "v2", etag=True)
    status, headers, body = fetch(mirror.url("/page"), {"If-None-Match": etag})
    assert (status, body) == (200, b"v2")
    assert headers["etag"] != etag


def test_last_modified_answers_304(mirror: MirrorServer) -> None:
    stamp = "Tue, 28 Feb 2023 10:00:00 GMT"
    mirror.set("/page", "v1", last_modified=stamp)
    status, headers, _ = fetch(mirror.url("/page"))
    assert (status, headers["last-modified"]) == (200, stamp)
    assert fetch(mirror.url("/page"), {"If-Modified-Since": stamp})[0] == 304
    older = "Mon, 27 Feb 2023 10:00:00 GMT"
    assert fetch(mirror.url("/page"), {"If-Modified-Since": older})[0] == 200


def test_redirect_sends_status_and_location(mirror: MirrorServer) -> None:
    mirror.redirect("/old", "/en/content/35", status=301)
    status, headers, _ = fetch(mirror.url("/old"))
    assert (status, headers["location"]) == (301, "/en/content/35")


def test_failing_handler_becomes_500(mirror: MirrorServer) -> None:
    def broken(request: Request) -> Response:
        raise RuntimeError("fixture bug")

    mirror.set_handler("/broken", broken)
    assert fetch(mirror.url("/broken"))[0] == 500


def test_requests_are_served_concurrently(mirror: MirrorServer) -> None:
    # Both requests must be inside a handler at the same time for the barrier to open.
    barrier = threading.Barrier(2, timeout=2)

    def meet(request: Request) -> Response:
        barrier.wait()
        return Response(200, b"met", {"Content-Type": "text/plain"})

    mirror.set_handler("/meet", meet)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(fetch(mirror.url("/meet"))[0]))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert results == [200, 200]


def test_a_second_server_on_another_loopback_address() -> None:
    with MirrorServer() as first, MirrorServer(host="127.0.0.2") as second:
        first.set("/", "first host")
        second.set("/", "second host")
        assert second.base_url.startswith("http://127.0.0.2:")
        assert fetch(first.url("/"))[2] == b"first host"
        assert fetch(second.url("/"))[2] == b"second host"


# -- fault fixtures ---------------------------------------------------------------------------


def test_windows_1251_page_is_really_cp1251(mirror: MirrorServer) -> None:
    mirror.set_handler("/ru/content/35", faults.windows_1251_page())
    status, headers, body = fetch(mirror.url("/ru/content/35"))
    assert status == 200
    assert headers["content-type"] == "text/html; charset=windows-1251"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text = body.decode("cp1251")
    assert "Последнее обновление: 28.02.2023" in text
    assert "Политическое сотрудничество" in text


EXPECTED_STATUS = {
    "challenge_403": 403,
    "server_error_500": 500,
    "server_error_503": 503,
    "redirect_to_home": 302,
}


@pytest.mark.parametrize("name", sorted(set(faults.FAULTS) - {"slow", "dropped_connection"}))
def test_every_fault_fixture_answers(mirror: MirrorServer, name: str) -> None:
    mirror.set_handler("/fault", faults.FAULTS[name]())
    status, headers, body = fetch(mirror.url("/fault"))
    assert status == EXPECTED_STATUS.get(name, 200)
    assert int(headers["content-length"]) == len(body)


def test_fault_contents(mirror: MirrorServer) -> None:
    fixtures = {
        "/wait": faults.wait_interstitial(),
        "/empty": faults.empty_200(),
        "/png": faults.binary_png(),
        "/redesign": faults.redesigned(),
        "/truncated": faults.truncated_html(),
        "/huge": faults.huge_page(),
        "/soft404": faults.soft_404(),
        "/script": faults.script_rendered(),
    }
    for path, handler in fixtures.items():
        mirror.set_handler(path, handler)

    wait = BeautifulSoup(fetch(mirror.url("/wait"))[2], "html.parser")
    assert wait.get_text(" ", strip=True) == faults.WAIT_TEXT
    assert fetch(mirror.url("/empty"))[2] == b""
    assert fetch(mirror.url("/png"))[2].startswith(b"\x89PNG\r\n\x1a\n")
    assert faults.REDESIGNED_BODY_CLASS.encode() in fetch(mirror.url("/redesign"))[2]
    assert faults.BODY_CLASS.encode() not in fetch(mirror.url("/redesign"))[2]
    truncated = fetch(mirror.url("/truncated"))[2]
    assert faults.BODY_CLASS.encode() in truncated and not truncated.rstrip().endswith(b"</html>")
    assert 10_000_000 <= len(fetch(mirror.url("/huge"))[2]) < 10_200_000
    soft = BeautifulSoup(fetch(mirror.url("/soft404"))[2], "html.parser")
    assert soft.select_one(".section_notFound--title").get_text() == "Page not found"
    assert soft.select_one(f".{faults.BODY_CLASS}") is None
    script = BeautifulSoup(fetch(mirror.url("/script"))[2], "html.parser")
    assert script.select_one(f".{faults.BODY_CLASS}").get_text(strip=True) == ""
    assert SEOUL_POLITICAL_EN[0] in script.main.script.string


def test_redirect_loop(mirror: MirrorServer) -> None:
    for path, handler in faults.redirect_loop("/a", "/b").items():
        mirror.set_handler(path, handler)
    assert fetch(mirror.url("/a"))[1]["location"] == "/b"
    assert fetch(mirror.url("/b"))[1]["location"] == "/a"


def test_dropped_connection_delivers_less_than_promised(mirror: MirrorServer) -> None:
    mirror.set_handler("/drop", faults.dropped_connection())
    with pytest.raises(http.client.IncompleteRead):
        fetch(mirror.url("/drop"))


def test_slow_response_waits(mirror: MirrorServer) -> None:
    mirror.set_handler("/slow", faults.slow(0.2))
    started = time.monotonic()
    assert fetch(mirror.url("/slow"))[0] == 200
    assert time.monotonic() - started >= 0.2


def test_stop_does_not_wait_for_a_slow_response() -> None:
    server = MirrorServer().start()
    server.set_handler("/slow", faults.slow(30))
    statuses: list[int] = []
    client = threading.Thread(target=lambda: statuses.append(fetch(server.url("/slow"))[0]))
    client.start()
    wait_for_hit(server, "/slow")

    started = time.monotonic()
    server.stop()
    client.join(timeout=3)
    assert time.monotonic() - started < 2
    assert statuses == [200]


# -- pages ------------------------------------------------------------------------------------


def test_embassy_site_pages_have_the_layout() -> None:
    site = embassy_site("seoul", ("en", "az"))
    page = BeautifulSoup(site[POLITICAL], "html.parser")
    description = page.select_one(".section_articleInner_body_content--description")
    paragraphs = [p.get_text() for p in description.find_all("p")]
    assert paragraphs[:2] == ["Political cooperation", "\xa0"]
    assert paragraphs[2:-1] == list(SEOUL_POLITICAL_EN)
    assert page.select_one(".section_articleInner_header--title").get_text() == (
        "Political cooperation"
    )
    date = page.select_one(".section_articleInner_body_content--date").get_text()
    assert date == "Last updated: 28.02.2023"
    assert page.select_one(".section_articleInner_archive a").get_text() == "Search in archive"
    assert page.select_one(".section_header_motto").get_text().startswith("“Müstəqilliyimiz")

    for path, html in site.items():
        assert 30_000 <= len(html.encode()) <= 45_000, path
        links = BeautifulSoup(html, "html.parser").select("ul.section_menu_sub a")
        assert len(links) == 4
        assert all(link["href"] in site for link in links)


def test_political_page_text_is_the_seed() -> None:
    seed = [p for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    assert list(SEOUL_POLITICAL_EN) == seed[1:11]


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("own_element", "Last updated: 01.02.2024"),
        ("in_paragraph_bold", "Last updated:\xa001.02.2024\xa0"),
        ("odd_spacing", "Last updated :\xa0\n   01.02.2024 "),
    ],
)
def test_date_styles(style: str, expected: str) -> None:
    html = content_page(
        mission="seoul",
        lang="en",
        title="T",
        paragraphs=["p"],
        last_updated="01.02.2024",
        date_style=style,
    )
    page = BeautifulSoup(html, "html.parser")
    if style == "in_paragraph_bold":
        line = page.select(".section_articleInner_body_content--description p")[-1]
        assert page.select_one(".section_articleInner_body_content--date") is None
    else:
        line = page.select_one(".section_articleInner_body_content--date")
    assert line.get_text() == expected


def test_no_date_line_and_escaping() -> None:
    html = content_page(
        mission="seoul",
        lang="az",
        title="<b>Başlıq</b>",
        paragraphs=["a & b <script>"],
        last_updated=None,
        flag_alt='Flag "x"',
    )
    assert "Son yenilənmə" not in html
    assert "&lt;b&gt;Başlıq&lt;/b&gt;" in html
    assert "<p>a &amp; b &lt;script&gt;</p>" in html
    assert 'alt="Flag &quot;x&quot;"' in html
    assert "Arxivdə axtar" in html
