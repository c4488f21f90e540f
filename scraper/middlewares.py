"""Downloader middleware: wait before each retry, longer each time (Scrapy retries at once)."""

from __future__ import annotations

import asyncio
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class RetryBackoffMiddleware:
    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        base = crawler.settings.getfloat("MFAWATCH_RETRY_BACKOFF")
        if base <= 0:
            raise NotConfigured
        return cls(base, crawler.settings.getfloat("MFAWATCH_RETRY_BACKOFF_MAX", 60.0))

    async def process_request(self, request: Request) -> None:
        retries = request.meta.get("retry_times", 0)
        if retries:
            await asyncio.sleep(min(self.base * 2 ** (retries - 1), self.cap))
