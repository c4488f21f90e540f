"""What a server or a page sent, made storable before any of it is written.

Header values, URLs, titles, texts, declared-date text and errors are text columns without a
length; what is left to do is what a database refuses in any text: PostgreSQL a NUL, both a
lone surrogate (not UTF-8). A page key is the one bounded value, being unique and indexed.
The raw bytes are never touched: the stored body is the evidence of what was sent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.archive import FetchResult

KEY_LENGTH = 500  # storage.models.Page.key
# The fields of a FetchResult that come from the server or the page.
_SENT = (
    "key", "url", "lang", "final_url", "etag", "last_modified", "title", "text", "declared_raw",
    "error", "note",
)  # fmt: skip
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(result: FetchResult) -> FetchResult:
    """The fetch with every text storable (NULs taken out, lone surrogates replaced) and its
    key bounded; the same object when nothing needed it, as for nearly every fetch."""
    changed: dict[str, Any] = {}
    for name in _SENT:
        value = getattr(result, name)
        if value is not None:
            clean = storable_text(value)
            if clean is not value:
                changed[name] = clean
    key = page_key(changed.get("key", result.key))
    if key != result.key:
        changed["key"] = key
    return dataclasses.replace(result, **changed) if changed else result


def storable_text(value: str) -> str:
    """``value`` without NULs, a lone surrogate replaced by U+FFFD; itself if it had neither.

    >>> storable_text("nul\\x00tag"), storable_text("a\\ud800b")
    ('nultag', 'a�b')
    """
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            value = _SURROGATE.sub("\ufffd", value)
    return value


def page_key(key: str) -> str:
    """A page key that fits its column: a longer one is cut, and ends with "…" and a hash of
    the whole key, so that it stays the same on every crawl and unique.

    >>> len(page_key("seoul.mfa.gov.az/en/content/" + "9" * 600))
    500
    """
    if len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode(errors="surrogatepass")).hexdigest()[:16]
    return f"{key[: KEY_LENGTH - len(digest) - 1]}…{digest}"
