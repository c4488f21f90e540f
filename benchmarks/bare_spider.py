"""A bare Scrapy spider, the yardstick for mfawatch's crawl: it fetches every URL of a list
and does nothing with the responses.

    python benchmarks/bare_spider.py URLS_FILE [--parse] [--processes N]

With --parse it parses each response body into an lxml tree, the cheapest way (one reused
libxml2 HTML parser, UTF-8 as the ministry serves, no encoding sniffing), and does nothing else:
the floor of any crawler that extracts anything, Scrapy plus one C parse of each page.

Its settings are mfawatch's own (scraper/settings.py) without mfawatch's components, with the
Scrapy components that mfawatch switches off switched off here too, and with the same overrides
that the benchmark's sites file gives mfawatch (POLITENESS_OFF): no delay, no autothrottle, the
same concurrency, robots.txt obeyed by both.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response

# Both crawlers get these (mfawatch through the [settings] of its sites file).
POLITENESS_OFF: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 10,  # urlwatch runs 10 worker threads
    "CONCURRENT_REQUESTS_PER_DOMAIN": 10,
    "ROBOTSTXT_OBEY": True,
    "MFAWATCH_RETRY_BACKOFF": 0,
}
# The generic part of scraper/settings.py: what any Scrapy project would set too, the Scrapy
# components it switches off among them.
SHARED = (
    "USER_AGENT", "ROBOTSTXT_OBEY", "COOKIES_ENABLED", "TELNETCONSOLE_ENABLED",
    "DOWNLOAD_TIMEOUT", "RETRY_ENABLED", "RETRY_TIMES", "REDIRECT_MAX_TIMES",
    "DOWNLOAD_MAXSIZE", "DOWNLOAD_WARNSIZE", "LOG_LEVEL", "SPIDER_MIDDLEWARES",
    "DOWNLOADER_STATS", "REMOTE_CONTROL_ENABLED", "CONCURRENT_ITEMS",
)  # fmt: skip


def bare_settings() -> dict[str, Any]:
    from scraper import settings as mfawatch_settings

    shared = {name: getattr(mfawatch_settings, name) for name in SHARED}
    politeness = {k: v for k, v in POLITENESS_OFF.items() if not k.startswith("MFAWATCH_")}
    return {**shared, **politeness}


class BareSpider(Spider):
    name = "bare"

    def __init__(self, urls: list[str], parse: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.responses = 0
        self.parser = etree.HTMLParser(encoding="utf-8") if parse else None

    async def start(self) -> AsyncIterator[Request]:
        for url in self.urls:
            yield Request(url, callback=self.parse)

    def parse(self, response: Response) -> None:
        self.responses += 1
        if self.parser is not None:
            etree.fromstring(response.body, self.parser)

    def closed(self, reason: str) -> None:
        print(f"bare: {self.responses} responses ({reason})", flush=True)


def main() -> None:
    args = sys.argv[1:]
    urls = Path(args[0]).read_text().split()
    processes = int(args[args.index("--processes") + 1]) if "--processes" in args else 1
    # As `mfawatch crawl --jobs N` does: hosts dealt round-robin to N groups; this process
    # crawls the first group, N - 1 forked children (Scrapy already imported) the others.
    hosts = sorted({urlsplit(u).netloc for u in urls})
    groups = [set(hosts[i::processes]) for i in range(min(processes, len(hosts)) or 1)]
    children = []
    for group in groups[1:]:
        pid = os.fork()
        if pid == 0:
            crawl([u for u in urls if urlsplit(u).netloc in group], "--parse" in args)
            os._exit(0)
        children.append(pid)
    crawl([u for u in urls if urlsplit(u).netloc in groups[0]], "--parse" in args)
    failed = [pid for pid in children if os.waitpid(pid, 0)[1] != 0]
    if failed:
        sys.exit(f"bare: {len(failed)} child crawls failed")


def crawl(urls: list[str], parse: bool) -> None:
    process = CrawlerProcess(bare_settings())
    process.crawl(BareSpider, urls=urls, parse=parse)
    process.start()


if __name__ == "__main__":
    main()
