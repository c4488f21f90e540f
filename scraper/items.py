"""The crawl's one item: a fetch as the archive takes it (a dataclass, as Scrapy allows)."""

from __future__ import annotations

from storage.archive import FetchResult

__all__ = ["FetchResult"]
