"""Scrapy settings for mfawatch: polite by default.

A sites file's [settings] table overrides any of these for its crawls (mfawatch crawl, or
python -m scraper.crawl), as does `scrapy crawl mfa -s NAME=VALUE`.
"""

from __future__ import annotations

import os

BOT_NAME = "mfawatch"
SPIDER_MODULES = ["scraper.spiders"]
NEWSPIDER_MODULE = "scraper.spiders"

# Honest and reachable: the sites file's `contact` is appended by mfawatch crawl.
USER_AGENT = "mfawatch/0.1 (archiver of public bilateral-relations pages)"
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_FORMATTER = "scraper.pipelines.ItemLogFormatter"  # items logged by URL, never whole

# Throttling: one request at a time per site, slower when the server is slow.
# Requests waiting out their site's delay count against CONCURRENT_REQUESTS: with 8, a crawl of
# many sites kept only 8 of them busy. The per-site limit is the politeness; this only lets
# every site of a crawl be busy at once (Scrapy's "broad crawls" advice), and the downloader-
# aware queue hands out the next request of the least busy site, not 100 of the first one.
CONCURRENT_REQUESTS = 128
CONCURRENT_REQUESTS_PER_DOMAIN = 1
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 2
MFAWATCH_RETRY_BACKOFF = 2.0  # seconds before the first retry, doubling after
MFAWATCH_RETRY_BACKOFF_MAX = 60.0
# A page that failed after its retries gets its one line from the pipeline, with the reason.
RETRY_GIVE_UP_LOG_LEVEL = "INFO"
REDIRECT_MAX_TIMES = 5
# A relations page is tens of KB; 16 MB leaves room for a bloated one and stops a runaway.
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

DOWNLOADER_MIDDLEWARES = {
    "scraper.middlewares.RetryBackoffMiddleware": 560,
    # Scrapy's own lets simultaneous first requests past robots.txt (see the replacement).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "scraper.middlewares.SharedRobotsTxtMiddleware": 100,
    # Sees a redirect before RedirectMiddleware (600) would follow it off the site.
    "scraper.middlewares.OffsiteRedirectMiddleware": 650,
    # Keeps the response head before HttpCompressionMiddleware (590) edits it.
    "scraper.middlewares.ResponseHeadMiddleware": 595,
}
# Scrapy components the crawl has no use for, off: no depth or URL-length limits (page
# identities decide what is fetched), no meta-copy warnings, no per-byte download stats, no
# remote-control server. bare_spider.py (the benchmark's yardstick) drops the same.
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}
DOWNLOADER_STATS = False
REMOTE_CONTROL_ENABLED = False
# A response gives one item, and the pipeline writes it synchronously: Scrapy's default of 100
# parallel item tasks per response only costs CPU.
CONCURRENT_ITEMS = 1

# Pages are deduplicated by identity in the spider; redirects of a page must not be dropped.
DUPEFILTER_CLASS = "scraper.middlewares.PageDupeFilter"
ITEM_PIPELINES = {"scraper.pipelines.ArchivePipeline": 300}

# Where the archive is; None means $MFAWATCH_DATABASE_URL, then ./mfawatch.db.
MFAWATCH_DATABASE_URL = os.environ.get("MFAWATCH_DATABASE_URL")
# The crawl process's session factory, shared by the pipeline and the process's other users
# of the database (set by scraper.crawl); None: the pipeline opens MFAWATCH_DATABASE_URL itself.
MFAWATCH_SESSIONS = None
MFAWATCH_TRIGGER = "manual"

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
