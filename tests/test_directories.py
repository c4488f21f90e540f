"""Directories: a main site's list of missions read on each crawl, every mission it links on a
host that `hosts` matches watched as a site of its own, missions new on the list or gone from
it recorded and reported, a list that lists nobody kept and flagged. Real crawls against a
mirrored ministry: the main site on 127.0.0.1, each mission on a loopback host of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kernel.config import load_config
from kernel.directory import missions_linked
from kernel.errors import ConfigError
from mfawatch.mirror import MirrorServer, embassy_site
from mfawatch.mirror.pages import MISSIONS_LIST_PATH, missions_list_page
from tests.conftest import FAST, Mfawatch

MISSION_HOSTS = {"2": "seoul", "3": "bern", "4": "amman"}
HOSTS = r"^127\.0\.0\.(?P<mission>[2-8])$"


class Ministry:
    """The main site (with its list of missions), the missions, and a host no pattern takes."""

    def __init__(self) -> None:
        self.main = MirrorServer("127.0.0.1").start()
        self.missions = {n: MirrorServer(f"127.0.0.{n}").start() for n in MISSION_HOSTS}
        self.outsider = MirrorServer("127.0.0.9").start()
        self.main.set_site(embassy_site("baku", langs=("en",)))
        for n, city in MISSION_HOSTS.items():
            self.missions[n].set_site(embassy_site(city))
        self.outsider.set_site(embassy_site("cairo"))

    def list_missions(self, *numbers: str) -> None:
        links = [(MISSION_HOSTS[n].title(), self.missions[n].url("/en")) for n in numbers]
        # Not missions: the outsider's host, a main-site page, another scheme.
        links += [("Cairo", self.outsider.url("/en")), ("Consular", self.main.url("/en/x"))]
        links += [("Write to us", "mailto:mission@127.0.0.2")]
        # A mission linked twice (another path of its site) is one mission.
        links += [(f"{MISSION_HOSTS[n]} news", self.missions[n].url("/az")) for n in numbers]
        self.main.set(MISSIONS_LIST_PATH, missions_list_page(links))

    def stop(self) -> None:
        for server in [self.main, *self.missions.values(), self.outsider]:
            server.stop()


@pytest.fixture
def ministry() -> Iterator[Ministry]:
    built = Ministry()
    built.list_missions("2", "3")
    yield built
    built.stop()


def sites_text(ministry: Ministry, extra: str = "") -> str:
    settings = "\n".join(f"{k} = {json.dumps(v)}" for k, v in FAST.items())
    return f"""\
contact = "tests@mfawatch.invalid"
[settings]
{settings}

[[sites]]
name = "main"
layout = "mfa.gov.az"
start_urls = ["{ministry.main.url("/en")}"]

[[directories]]
name = "missions"
layout = "mfa.gov.az"
list_urls = ["{ministry.main.url(MISSIONS_LIST_PATH)}"]
hosts = '{HOSTS}'
site_name = "mission-{{mission}}"
start_paths = ["/en", "/az"]
{extra}"""


@pytest.fixture
def watch(tmp_path: Path, db_url: str, ministry: Ministry) -> Mfawatch:
    path = tmp_path / "sites.toml"
    path.write_text(sites_text(ministry), encoding="utf-8")
    return Mfawatch(db_url, path)


def page_hosts(watch: Mfawatch) -> dict[str, set[str]]:
    hosts: dict[str, set[str]] = {}
    for page in watch.json("pages"):
        hosts.setdefault(page["site"], set()).add(page["key"].split("/")[0])
    return hosts


def mission_requests(server: MirrorServer) -> int:
    return sum(1 for r in server.requests if r.path != "/robots.txt")


def test_a_crawl_discovers_and_archives_each_listed_mission(
    watch: Mfawatch, ministry: Ministry
) -> None:
    result = watch.crawl()
    assert "new mission mission-2" in result.stdout
    assert "new mission mission-3" in result.stdout
    hosts = page_hosts(watch)
    for n in ("2", "3"):
        host = ministry.missions[n].base_url.removeprefix("http://")
        assert hosts[f"mission-{n}"] == {host}
    assert "mission-4" not in hosts  # on its host, but not listed
    assert mission_requests(ministry.missions["4"]) == 0
    # A host the pattern does not take is never asked for anything, robots.txt included.
    assert ministry.outsider.requests == []
    # The list page was read once, politely: robots.txt first, the crawl's User-Agent.
    paths = [r.path for r in ministry.main.requests]
    assert paths.count(MISSIONS_LIST_PATH) == 1
    assert paths.index("/robots.txt") < paths.index(MISSIONS_LIST_PATH)
    listed = next(r for r in ministry.main.requests if r.path == MISSIONS_LIST_PATH)
    assert "mfawatch" in listed.headers["user-agent"]
    assert "tests@mfawatch.invalid" in listed.headers["user-agent"]
    [reading] = [r for r in watch.json("runs") if r["site"] == "missions"]
    assert reading["status"] == "ok"
    assert "2 missions listed" in reading["note"]


def test_sites_lists_configured_and_discovered_sites(watch: Mfawatch, ministry: Ministry) -> None:
    watch.crawl()
    shown = watch.json("sites")
    by_name = {s["name"]: s for s in shown["sites"]}
    assert list(by_name) == ["main", "mission-2", "mission-3"]
    assert by_name["main"]["source"] == {"kind": "configured", "file": str(watch.sites)}
    assert by_name["main"]["first_seen_at"] is None
    seoul = by_name["mission-2"]
    assert seoul["source"] == {
        "kind": "discovered",
        "directory": "missions",
        "list_url": ministry.main.url(MISSIONS_LIST_PATH),
    }
    base = ministry.missions["2"].base_url
    assert seoul["start_urls"] == [f"{base}/en", f"{base}/az"]
    assert seoul["layout"] == "mfa.gov.az"
    assert seoul["first_seen_at"] and seoul["gone_at"] is None and seoul["in_effect"]
    [directory] = shown["directories"]
    assert directory["name"] == "missions" and directory["missions_listed"] == 2
    text = watch("sites")
    assert text.code == 0 and "directory missions" in text.stdout


def test_missions_added_and_removed_are_recorded_and_reported(
    watch: Mfawatch, ministry: Ministry
) -> None:
    watch.crawl()
    ministry.list_missions("3", "4")
    ministry.missions["2"].clear_requests()
    result = watch.crawl()
    assert "new mission mission-4" in result.stdout
    assert "mission mission-2 no longer listed" in result.stdout
    assert mission_requests(ministry.missions["2"]) == 0  # no longer watched
    assert "mission-4" in page_hosts(watch)
    shown = {s["name"]: s for s in watch.json("sites")["sites"]}
    assert shown["mission-2"]["in_effect"] is False
    assert shown["mission-2"]["gone_at"] and shown["mission-2"]["why_not"] == "no longer listed"
    report = json.loads(watch("report", "--format", "json", "--status", "all").stdout)
    said = [(m["directory"], m["event"], m["site"]) for m in report["missions"]]
    assert ("missions", "gone", "mission-2") in said
    assert ("missions", "new", "mission-4") in said
    assert ("missions", "new", "mission-2") in said  # the first crawl's news
    md = watch("report", "--format", "md", "--status", "all").stdout
    assert "mission mission-2 no longer listed" in md
    html = watch("report", "--format", "html", "--status", "all").stdout
    assert "new mission mission-4" in html
    # Listed again: back, and watched again.
    ministry.list_missions("2", "3", "4")
    result = watch.crawl()
    assert "mission mission-2 listed again" in result.stdout
    assert mission_requests(ministry.missions["2"]) > 0


@pytest.mark.parametrize("broken", ["empty", "error", "robots"])
def test_a_list_that_lists_nobody_keeps_the_missions_and_is_unhealthy(
    watch: Mfawatch, ministry: Ministry, broken: str
) -> None:
    watch.crawl()
    if broken == "empty":  # a redesign: the page is there, no mission link on it
        ministry.list_missions()
    elif broken == "error":
        ministry.main.set(MISSIONS_LIST_PATH, "<h1>Server error</h1>", status=503)
    else:
        ministry.main.set(
            "/robots.txt", f"User-agent: *\nDisallow: {MISSIONS_LIST_PATH}\n",
            content_type="text/plain",
        )  # fmt: skip
    for server in ministry.missions.values():
        server.clear_requests()
    result = watch.crawl(check=False)
    assert result.code == 1
    [reading] = [r for r in watch.json("runs") if r["site"] == "missions"][:1]
    assert reading["status"] == "unhealthy"
    assert "kept the 2 missions found before" in reading["note"]
    why = {"empty": "listed no mission", "error": "HTTP 503", "robots": "disallows"}[broken]
    assert why in reading["note"]
    assert why in result.stdout
    # Still watched, and crawled.
    assert all(s["in_effect"] for s in watch.json("sites")["sites"])
    assert mission_requests(ministry.missions["2"]) > 0
    assert mission_requests(ministry.missions["3"]) > 0


def test_one_mission_by_name_without_reading_the_list(watch: Mfawatch, ministry: Ministry) -> None:
    watch.crawl()
    before = ministry.main.hits(MISSIONS_LIST_PATH)
    ministry.missions["3"].clear_requests()
    result = watch.crawl("--site", "mission-2")
    assert "mission-2 (ok)" in result.stdout
    assert ministry.main.hits(MISSIONS_LIST_PATH) == before
    assert mission_requests(ministry.missions["3"]) == 0
    # A directory's name reads its list and crawls its missions only.
    ministry.main.clear_requests()
    result = watch.crawl("--site", "missions")
    assert "mission-3 (ok)" in result.stdout and "main (" not in result.stdout
    assert ministry.main.hits(MISSIONS_LIST_PATH) == 1
    unknown = watch.crawl("--site", "mission-7", check=False)
    assert unknown.code == 2
    assert "no site named 'mission-7'" in unknown.stderr and "mission-2" in unknown.stderr


def test_a_configured_site_on_a_mission_host_wins(
    tmp_path: Path, db_url: str, ministry: Ministry
) -> None:
    seoul = ministry.missions["2"]
    extra = (
        f'[[sites]]\nname = "embassy-seoul"\nlayout = "mfa.gov.az"\n'
        f'start_urls = ["{seoul.url("/en")}"]\n'
    )
    path = tmp_path / "sites.toml"
    path.write_text(sites_text(ministry, extra), encoding="utf-8")
    watch = Mfawatch(db_url, path)
    result = watch.crawl()
    assert "new mission mission-3" in result.stdout
    assert "mission-2" not in result.stdout
    hosts = page_hosts(watch)
    assert hosts["embassy-seoul"] == {seoul.base_url.removeprefix("http://")}
    assert "mission-2" not in hosts


# -- what a list links, without a crawl ---------------------------------------------------------


def test_missions_linked_takes_whole_matching_hosts(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    path.write_text(
        '[[sites]]\nname = "seoul"\nlayout = "mfa.gov.az"\n'
        'start_urls = ["https://seoul.mfa.gov.az/en"]\n'
        '[[directories]]\nname = "az"\nlayout = "mfa.gov.az"\n'
        'list_urls = ["https://mfa.gov.az/en/category/azerbaijani-missions-abroad"]\n'
        "hosts = '(?P<mission>[a-z]+)\\.mfa\\.gov\\.az'\n"
        'start_paths = ["/en"]\n',
        encoding="utf-8",
    )
    config = load_config(path)
    directory = config.directory("az")
    assert directory is not None
    links = [
        "https://seoul.mfa.gov.az/en",  # a configured site's host: the file wins
        "https://bern.mfa.gov.az.evil.example/en",  # matches only in part
        "https://x-y.mfa.gov.az/",  # not [a-z]+
        "http://Amman.mfa.gov.az:8080/az",
        "https://az.mfa.gov.az/",  # named like the directory: the host instead
        "javascript:alert(1)",
        "http://[::1/",
    ]
    found = missions_linked(directory, links, config)
    assert {n: (m.host, m.origin) for n, m in found.items()} == {
        "amman": ("amman.mfa.gov.az:8080", "http://amman.mfa.gov.az:8080"),
        "az.mfa.gov.az": ("az.mfa.gov.az", "https://az.mfa.gov.az"),
    }


# -- the sites file ------------------------------------------------------------------------------

DIRECTORY = """
[[directories]]
name = "az"
layout = "mfa.gov.az"
list_urls = ["https://mfa.gov.az/en/category/azerbaijani-missions-abroad"]
hosts = '^(?P<mission>[a-z0-9-]+)\\.mfa\\.gov\\.az$'
start_paths = ["/en", "/az"]
"""
LIST_URLS = 'list_urls = ["https://mfa.gov.az/en/category/azerbaijani-missions-abroad"]'
PATHS = 'start_paths = ["/en", "/az"]'
SEOUL = """
[[sites]]
name = "seoul"
layout = "mfa.gov.az"
start_urls = ["https://seoul.mfa.gov.az/en"]
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("start_paths", "start_pathz"), "unknown key 'start_pathz' (did you mean 'start_paths'?)"),
        (("hosts = '^(?P<mission>", "hosts = '^(?P<mission"), "hosts: bad regular expression"),
        (('list_urls = ["https://mfa', 'list_urls = ["ftp://mfa'), "list_urls: not an http(s) URL"),
        ((LIST_URLS, "list_urls = []"), "'list_urls' must be a non-empty list of URLs"),
        ((PATHS, 'start_paths = ["en"]'), "start_paths: expected paths"),
        ((PATHS, "start_paths = 3"), "start_paths: expected a list of strings"),
        ((PATHS, ""), "missing key 'start_paths'"),
        (('layout = "mfa.gov.az"', 'layout = "nope"'), "unknown layout 'nope'"),
        (('name = "az"', 'name = "a z"'), "'name' must be a word"),
        (('name = "az"', 'name = "seoul"'), "repeated: seoul"),
        (("start_paths", 'site_name = "x-{city}"\nstart_paths'), "names {city}, which is neither"),
        (("start_paths", 'site_name = "fixed"\nstart_paths'), "names no {host} or group"),
    ],
)
def test_directory_mistakes_are_one_line_each(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = SEOUL + DIRECTORY.replace(*change)
    path = tmp_path / "sites.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_sites_file_of_directories_only_loads(tmp_path: Path) -> None:
    path = tmp_path / "sites.toml"
    path.write_text(DIRECTORY, encoding="utf-8")
    config = load_config(path)
    assert config.sites == ()
    directory = config.directory("az")
    assert directory is not None and directory.site_name == "{mission}"
    assert directory.start_paths == ("/en", "/az")


def test_a_bad_directory_is_one_line_from_the_command(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "sites.toml"
    path.write_text(DIRECTORY.replace("hosts", "host"), encoding="utf-8")
    result = Mfawatch(db_url, path).crawl(check=False)
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        f"mfawatch: error: {path}: directory 'az': unknown key 'host' (did you mean 'hosts'?)"
    ]


# -- the service -----------------------------------------------------------------------------------


def test_the_service_reads_the_directory_crawls_its_missions_and_notifies_its_news(
    watch: Mfawatch, ministry: Ministry, tmp_path: Path
) -> None:
    from tests.support import wait_for
    from tests.test_scheduler import service, webhook

    def crawled(name: str) -> Callable[[list[dict[str, Any]]], bool]:
        return lambda rs: any(r["site"] == name and r["status"] == "ok" for r in rs)

    with (
        webhook(watch, "json://127.0.0.1:{port}/hook") as receiver,
        service(watch, tmp_path, "--every", "1h") as svc,
    ):
        svc.wait_runs("mission-2 crawled on schedule", crawled("mission-2"))
        svc.wait_runs("mission-3 crawled on schedule", crawled("mission-3"))
        wait_for(lambda: receiver.posts, "a notification")
        assert "missions: every 1h" in svc.log()
    runs = watch.json("runs")
    assert {r["trigger"] for r in runs} == {"schedule"}
    assert {"main", "missions", "mission-2", "mission-3"} <= {r["site"] for r in runs}
    [news] = [p for p in receiver.posts if "mission" in p["title"]]
    assert news["title"] == "mfawatch: missions: 2 missions new or gone"
    assert news["message"].splitlines() == ["new mission mission-2", "new mission mission-3"]
    assert ministry.outsider.requests == []
