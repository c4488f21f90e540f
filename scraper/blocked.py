"""Block answers: a 403 (or 429), or a 200 that is an anti-bot interstitial, not the page.

A fetch that got one is noted "blocked: ..." (the fetch's note), so that a run whose pages
all answered so says it was blocked, not that the layout broke (storage.runs). We never try to
get past one: it is recorded as what it is.
"""

from __future__ import annotations

import re

from scrapy.http import Response, TextResponse

BLOCK_STATUSES = (403, 429)
# What the interstitials that others' logs show say (Cloudflare's challenge, mid.ru's wait
# screen, DDoS-Guard), in a page too small to hold an article.
_INTERSTITIAL = re.compile(
    r"(?i)just a moment\.\.\.|checking if the site connection is secure|"
    r"data processing\.\.\. please, wait|enable javascript and cookies to continue|"
    r"ddos-guard|attention required! \| cloudflare"
)
_SMALL = 20_000  # bytes: an interstitial is a few kB, an article page rarely so little


def block_note(response: Response) -> str | None:
    """The fetch note of a block answer (None if the response is not one).

    >>> from scrapy.http import HtmlResponse
    >>> block_note(HtmlResponse("https://x.test/", status=403, body=b"no"))
    'blocked: HTTP 403'
    >>> wait = b"<html><body>Data processing... Please, wait.</body></html>"
    >>> block_note(HtmlResponse("https://x.test/", body=wait))
    'blocked: interstitial ("Data processing... Please, wait")'
    >>> block_note(HtmlResponse("https://x.test/", body=b"<p>An article.</p>")) is None
    True
    """
    challenge = response.headers.get(b"cf-mitigated") is not None
    if response.status in BLOCK_STATUSES:
        return f"blocked: HTTP {response.status}" + (" (a challenge)" if challenge else "")
    if challenge:
        return "blocked: interstitial (cf-mitigated)"
    if not isinstance(response, TextResponse) or len(response.body) > _SMALL:
        return None
    found = _INTERSTITIAL.search(response.text)
    return f'blocked: interstitial ("{found.group()}")' if found else None
