"""Sitemaps (sitemaps.org 0.9) and the robots.txt lines that name them, for mirrored sites."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def urlset(urls: Iterable[str]) -> str:
    """A sitemap listing ``urls`` (absolute, as the protocol wants them)."""
    entries = "".join(f"<url><loc>{escape(u)}</loc></url>\n" for u in urls)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{_NS}">\n{entries}</urlset>\n'


def sitemap_index(urls: Iterable[str]) -> str:
    """A sitemap index naming the sitemaps at ``urls``."""
    entries = "".join(f"<sitemap><loc>{escape(u)}</loc></sitemap>\n" for u in urls)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{_NS}">\n'
        f"{entries}</sitemapindex>\n"
    )


def robots_txt(sitemaps: Iterable[str], disallow: str = "/private/") -> str:
    """A robots.txt allowing all but ``disallow``, with a Sitemap: line per URL."""
    lines = ["User-agent: *", f"Disallow: {disallow}", *(f"Sitemap: {u}" for u in sitemaps)]
    return "\n".join(lines) + "\n"
