"""`backfill --discover`: relations pages that a web archive knows and the archive does not,
such as those gone from today's menus.

Each site's hosts are searched by prefix, one search per host, language, page rule and
stripped path prefix: the literal start of the rule's URL pattern with the language put in
(``seoul.mfa.gov.az/en/content/``). The index answers one line per URL that ever answered 200
(scraper.wayback.Wayback.captures, urls_only); each URL a page rule recognises names a page,
and a page the archive has never seen becomes a backfill target like any other.
"""

from __future__ import annotations

import datetime as dt
import re._parser as sre  # the stdlib's own regex parser: a pattern's literal start
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.config import PageRule, Site, page_identity, url_host
from scraper.backfill import Archive, Target
from storage.models import Page


def rule_prefixes(rule: PageRule, languages: Iterable[str]) -> list[str]:
    """The path every URL of ``rule`` starts with, one for each language.

    >>> from kernel.config import load_layout
    >>> layout = load_layout("mfa.gov.az")
    >>> rule_prefixes(layout.pages[1], ["en", "az"])
    ['/en/category/', '/az/category/']
    """
    parsed = sre.parse(rule.url_pattern.pattern, rule.url_pattern.flags)  # it compiled
    lang_group = parsed.state.groupdict.get("lang")
    found = []
    for lang in languages:
        path = ""
        for op, value in parsed:
            if op is sre.AT and value is sre.AT_BEGINNING:
                continue
            if op is sre.LITERAL:
                path += chr(value)
            elif op is sre.SUBPATTERN and value[0] == lang_group:
                path += lang
            else:
                break  # where the pattern stops being one string
        found.append(path or "/")
    return list(dict.fromkeys(found))


def search_prefixes(site: Site) -> list[str]:
    """Every prefix to list for ``site``: its hosts × languages × rules × stripped prefixes."""
    layout = site.layout
    hosts = dict.fromkeys(url_host(url) for url in site.start_urls)
    found = [
        f"{host}{strip}{path}"
        for host in hosts
        for rule in layout.pages
        for path in rule_prefixes(rule, layout.languages)
        for strip in ("", *layout.strip_path_prefixes)
    ]
    return list(dict.fromkeys(found))


def discover(
    sessions: sessionmaker[Session],
    archive: Archive,
    sites: list[Site],
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[Target]:
    """The pages of ``sites`` that the web archive holds and this archive does not, each once
    (the URL of its first good capture), in the order of their identities."""
    with sessions() as session:
        known = set(session.scalars(select(Page.key)))
    found: dict[str, Target] = {}
    for site in sites:
        hosts = {url_host(url) for url in site.start_urls}
        for prefix in search_prefixes(site):
            for record in archive.captures(prefix, since, until, urls_only=True):
                page = page_identity(site.layout, record.original)
                if page is None or page[0].host not in hosts:
                    continue
                key = str(page[0])
                if key not in known and key not in found:
                    found[key] = Target(site, key, record.original, page[0].lang, True)
    return [found[key] for key in sorted(found)]
