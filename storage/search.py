"""Full-text search across every archived version (SQLite FTS5, PostgreSQL full-text search).

The user's words are searched as words, all of them: query syntax (quotes, operators, a stray
parenthesis) is never passed through, so no input can make the search fail. The index keeps no
copy of the texts (they are stored packed), so snippets are cut here from the unpacked text.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, text, tuple_
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from storage.models import ContentVersion

# Letters and digits: what both indexes call a word (the underscore separates, as in FTS5).
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MARK_START, MARK_END = "\x02", "\x03"  # around matches in snippets; the caller renders them
SNIPPET_WORDS = 24


@dataclass(frozen=True)
class Hit:
    version_id: int
    page_id: int
    page_key: str
    url: str
    title: str | None
    first_seen_at: dt.datetime
    snippet: str  # plain text with MARK_START/MARK_END around the matched words
    first_seen_by: str = "live"  # kernel.status.FetchSource of the fetch that first had it


def index_version(session: Session, version_id: int, title: str | None, body: str) -> None:
    """Add a new version's text to the index (versions are never rewritten)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(_SQLITE_INDEX, {"id": version_id, "title": title or "", "text": body})
    else:
        _index_postgres(session, [{"id": version_id, "doc": f"{title or ''} {body}"}])


def index_versions(session: Session, rows: list[tuple[int, str | None, str]]) -> None:
    """index_version for many new versions at once: (id, title, text) each."""
    if not rows:
        return
    if session.get_bind().dialect.name == "sqlite":
        params = [{"id": i, "title": title or "", "text": body} for i, title, body in rows]
        session.execute(_SQLITE_INDEX, params)
    else:
        _index_postgres(
            session, [{"id": i, "doc": f"{title or ''} {body}"} for i, title, body in rows]
        )


# PostgreSQL refuses a tsvector over 1 MB (a page of that many distinct words): such a text is
# indexed as far as this many bytes of it, which never make one larger (at most about 3x).
POSTGRES_INDEXED_BYTES = 250_000


def _index_postgres(session: Session, docs: list[dict[str, object]]) -> None:
    try:
        with session.begin_nested():
            session.execute(_POSTGRES_INDEX, docs)
        return
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "54000":  # program_limit_exceeded
            raise
    for doc in docs:
        data = str(doc["doc"]).encode()
        if len(data) > POSTGRES_INDEXED_BYTES:
            doc["doc"] = data[:POSTGRES_INDEXED_BYTES].decode(errors="ignore")
    session.execute(_POSTGRES_INDEX, docs)


def search_versions(session: Session, query: str, *, limit: int = 50) -> list[Hit]:
    from storage.content import texts_by_id
    from storage.models import ContentVersion, Page

    words = _WORD.findall(query)
    if not words:
        return []
    if session.get_bind().dialect.name == "sqlite":
        found = session.execute(_SQLITE, {"q": " ".join(f'"{w}"' for w in words), "n": limit})
    else:
        found = session.execute(_POSTGRES, {"q": " & ".join(words), "n": limit})
    ids = [row.id for row in found]
    rows = session.execute(
        select(ContentVersion, Page.key, Page.url)
        .join(Page, ContentVersion.page_id == Page.id)
        .where(ContentVersion.id.in_(ids))
    )
    by_id = {version.id: (version, key, url) for version, key, url in rows}
    texts = texts_by_id(session, by_id)  # for snippets
    sources = _first_sources(session, [version for version, _, _ in by_id.values()])
    hits = []
    for version_id in ids:  # in the index's order, best first
        version, key, url = by_id[version_id]
        hits.append(
            Hit(
                version_id=version.id,
                page_id=version.page_id,
                page_key=key,
                url=url,
                title=version.title,
                first_seen_at=version.first_seen_at,
                snippet=snippet(texts[version.id], words),
                first_seen_by=sources.get(version.id, "live"),
            )
        )
    return hits


def _first_sources(session: Session, versions: list[ContentVersion]) -> dict[int, str]:
    """Where each version was first seen: live, or a web archive's capture. Its first fetch is
    the page's fetch at the version's first_seen_at (the page and time index finds it)."""
    from storage.models import Fetch

    pairs = [(v.page_id, v.first_seen_at) for v in versions]
    if not pairs:
        return {}
    rows = session.execute(
        select(Fetch.version_id, Fetch.source).where(
            tuple_(Fetch.page_id, Fetch.fetched_at).in_(pairs)
        )
    )
    found: dict[int, str] = {}
    for version_id, source in rows:
        if version_id is not None:
            found.setdefault(version_id, source)
    return found


def snippet(body: str, words: list[str], size: int = SNIPPET_WORDS) -> str:
    r"""About ``size`` words of ``body`` around the first match, the matched words marked.

    Words match as the index matches them: case and diacritics aside.

    >>> snippet("Baku and Seoul signed a memorandum.", ["seoul"], size=3)
    '… and \x02Seoul\x03 signed …'
    >>> snippet("Visit to Bakú, then on", ["BAKU"], size=3)
    '… to \x02Bakú\x03, then …'
    """
    wanted = {_fold(w) for w in words}
    first = _first_match(body, words, wanted)
    # Only the words near the match are looked at: texts run to hundreds of KB.
    start, end = max(0, first - 32 * size), min(len(body), first + 32 * size)
    spans = [m.span() for m in _WORD.finditer(body, start, end)]
    if spans and start > 0 and spans[0][0] == start:
        spans = spans[1:]  # perhaps the tail of a word cut by the window
    if spans and end < len(body) and spans[-1][1] == end:
        spans = spans[:-1]
    index = next((i for i, (a, _b) in enumerate(spans) if a >= first), 0)
    lo = max(0, min(index - size // 3, len(spans) - size))
    chosen = spans[lo : lo + size]
    if not chosen:
        return ""
    out, at = [], chosen[0][0]
    for a, b in chosen:
        out.append(body[at:a])
        word = body[a:b]
        out.append(f"{MARK_START}{word}{MARK_END}" if _fold(word) in wanted else word)
        at = b
    head = "… " if _WORD.search(body, 0, chosen[0][0]) else ""
    tail = " …" if _WORD.search(body, chosen[-1][1]) else ""
    return head + " ".join("".join(out).split()) + tail


def _first_match(body: str, words: list[str], wanted: set[str]) -> int:
    """Where the first of the words is: a regular expression finds it as written, case aside;
    a word by word fold finds it when the text has it with diacritics."""
    alternatives = "|".join(map(re.escape, words))
    quick = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.I)
    found = quick.search(body)
    if found:
        return found.start()
    slow = (m.start() for m in _WORD.finditer(body) if _fold(m.group()) in wanted)
    return next(slow, 0)


def _fold(word: str) -> str:
    folded = word.casefold()
    if folded.isascii():  # most words: nothing to decompose
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_SQLITE_INDEX = text("INSERT INTO versions_fts(rowid, title, text) VALUES (:id, :title, :text)")
_POSTGRES_INDEX = text(
    "INSERT INTO version_search(version_id, document) VALUES (:id, to_tsvector('simple', :doc))"
)
_SQLITE = text(
    """
    SELECT rowid AS id FROM versions_fts WHERE versions_fts MATCH :q
    ORDER BY rank, rowid DESC LIMIT :n
    """
)
_POSTGRES = text(
    """
    SELECT s.version_id AS id FROM version_search AS s, to_tsquery('simple', :q) AS q
    WHERE s.document @@ q ORDER BY ts_rank(s.document, q) DESC, s.version_id DESC LIMIT :n
    """
)
