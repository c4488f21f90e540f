"""Full-text search across every archived version (SQLite FTS5, PostgreSQL full-text search).

The user's words are searched as words, all of them: query syntax (quotes, operators, a stray
parenthesis) is never passed through, so no input can make the search fail.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

_WORD = re.compile(r"\w+", re.UNICODE)
MARK_START, MARK_END = "\x02", "\x03"  # around matches in snippets; the caller renders them


@dataclass(frozen=True)
class Hit:
    version_id: int
    page_id: int
    page_key: str
    url: str
    title: str | None
    first_seen_at: dt.datetime
    snippet: str  # plain text with MARK_START/MARK_END around the matched words


def search_versions(session: Session, query: str, *, limit: int = 50) -> list[Hit]:
    words = _WORD.findall(query)
    if not words:
        return []
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(_SQLITE, {"q": " ".join(f'"{w}"' for w in words), "n": limit})
    else:
        rows = session.execute(_POSTGRES, {"q": " & ".join(words), "n": limit})
    return [
        Hit(
            version_id=r.id,
            page_id=r.page_id,
            page_key=r.key,
            url=r.url,
            title=r.title,
            first_seen_at=_aware(r.first_seen_at),
            snippet=r.snippet,
        )
        for r in rows
    ]


def _aware(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):  # SQLite returns text from a raw query
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


_SQLITE = text(
    f"""
    SELECT v.id, v.page_id, p.key, p.url, v.title, v.first_seen_at,
           snippet(versions_fts, 1, '{MARK_START}', '{MARK_END}', ' … ', 24) AS snippet
    FROM versions_fts
    JOIN versions AS v ON v.id = versions_fts.rowid
    JOIN pages AS p ON p.id = v.page_id
    WHERE versions_fts MATCH :q
    ORDER BY versions_fts.rank, v.id DESC
    LIMIT :n
    """
)

_POSTGRES = text(
    f"""
    SELECT v.id, v.page_id, p.key, p.url, v.title, v.first_seen_at,
           ts_headline('simple', v.text, q,
                       'StartSel={MARK_START}, StopSel={MARK_END}, MaxFragments=2, MaxWords=24')
               AS snippet
    FROM versions AS v
    JOIN pages AS p ON p.id = v.page_id,
         to_tsquery('simple', :q) AS q
    WHERE to_tsvector('simple', coalesce(v.title, '') || ' ' || v.text) @@ q
    ORDER BY ts_rank(to_tsvector('simple', coalesce(v.title, '') || ' ' || v.text), q) DESC,
             v.id DESC
    LIMIT :n
    """
)
