"""Missions found on a directory's list: which linked hosts are missions, what each is named,
and the sites they become. Pure: scraper.directories reads the list pages, storage.directories
keeps what they listed, and this module decides between the two.

A linked host is a mission when ``hosts`` matches the whole host name (lower case, without
``www.``, without the port). A host that a configured site starts on is that site's: the sites
file wins, and the mission is not made. A mission is named by ``site_name`` (by default the
pattern's ``mission`` group, else the host); a name that a configured site, a directory or an
earlier mission already has falls back to the host itself.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from kernel.config import Config, Directory, Site, url_host

_NOT_IN_NAME = re.compile(r"[^\w.-]", re.ASCII)


@dataclass(frozen=True)
class Mission:
    """A mission a directory lists: its site's name, its host as page identities name it,
    and the scheme and address it is linked with (its start URLs are these plus the paths)."""

    name: str
    host: str
    origin: str


def missions_linked(
    directory: Directory, links: Iterable[str], config: Config, taken: Iterable[str] = ()
) -> dict[str, Mission]:
    """The missions among ``links`` (absolute URLs), by name, in the order first linked.

    ``taken`` are names in use besides the sites file's (other directories' missions).

    >>> from kernel.config import DEFAULT_SITES, load_config
    >>> config = load_config(DEFAULT_SITES)
    >>> az = config.directory("az-missions")
    >>> links = ["https://Seoul.mfa.gov.az/en", "https://www.amman.mfa.gov.az/az/content/1",
    ...          "https://mfa.gov.az/en/news", "https://example.org/", "mailto:x@mfa.gov.az",
    ...          "https://amman.mfa.gov.az/en"]
    >>> [(m.name, m.host, m.origin) for m in missions_linked(az, links, config).values()]
    [('amman', 'amman.mfa.gov.az', 'https://www.amman.mfa.gov.az')]
    """
    owned = _configured_hosts(config)
    used = {s.name for s in config.sites} | {d.name for d in config.directories} | set(taken)
    found: dict[str, Mission] = {}
    hosts: set[str] = set()
    for link in links:
        mission = _mission(directory, link)
        if mission is None or mission.host in owned or mission.host in hosts:
            continue
        if mission.name in used or mission.name in found:
            mission = dataclasses.replace(mission, name=_as_name(mission.host))
            if mission.name in used or mission.name in found:
                continue
        hosts.add(mission.host)
        found[mission.name] = mission
    return found


def mission_site(directory: Directory, mission: Mission) -> Site:
    """The site a mission is crawled as: the directory's layout, its start paths on the host."""
    domain = (urlsplit(mission.origin).hostname or "").removeprefix("www.")
    return Site(
        name=mission.name,
        layout=directory.layout,
        start_urls=tuple(mission.origin + path for path in directory.start_paths),
        allowed_domains=(domain,),
        schedule=directory.schedule,
    )


def with_missions(config: Config, missions: Iterable[tuple[str, Mission]]) -> Config:
    """``config`` with the missions (directory name, mission) as sites after its own; those of
    a directory no longer in the file, on a host a configured site now has, or under a name
    in use are left out (the sites file wins)."""
    owned = _configured_hosts(config)
    used = {s.name for s in config.sites} | {d.name for d in config.directories}
    extra: list[Site] = []
    discovered: dict[str, str] = {}
    for directory_name, mission in missions:
        directory = config.directory(directory_name)
        if directory is None or mission.host in owned or mission.name in used:
            continue
        used.add(mission.name)
        owned.add(mission.host)
        extra.append(mission_site(directory, mission))
        discovered[mission.name] = directory_name
    return dataclasses.replace(
        config, sites=(*config.sites, *extra), discovered={**config.discovered, **discovered}
    )


def _mission(directory: Directory, link: str) -> Mission | None:
    try:
        parts = urlsplit(link)
        host = url_host(link)  # reads the port, which checks it
    except ValueError:
        return None
    bare = (parts.hostname or "").lower().removeprefix("www.")
    if parts.scheme not in ("http", "https") or not bare:
        return None
    match = directory.hosts.fullmatch(bare)
    if match is None:
        return None
    values = {k: v or "" for k, v in match.groupdict().items()}
    name = _as_name(directory.site_name.format(**{**values, "host": host}))
    return Mission(name, host, f"{parts.scheme}://{parts.netloc.lower()}")


def _as_name(text: str) -> str:
    """A site name (letters, digits, ``. _ -``) made of ``text``.

    >>> _as_name("127.0.0.2:8080"), _as_name("-x")
    ('127.0.0.2-8080', 'm-x')
    """
    name = _NOT_IN_NAME.sub("-", text)
    return name if name[:1].isalnum() else f"m{name}"


def _configured_hosts(config: Config) -> set[str]:
    return {
        url_host(u) for s in config.sites if s.name not in config.discovered for u in s.start_urls
    }
