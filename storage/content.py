"""Versions' texts and bodies' bytes, packed on the way in and unpacked on the way out.

A text is packed against the page's previous text; bytes against the site's first body and
their own text. Reading is explicit and batched: read_texts and read_bodies load every base a
row is packed against in one or two queries (storage.models holds the rows, and reads nothing).
Both are immutable once written, so what was unpacked is kept on the instance.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, object_session

from storage.models import Body, ContentVersion, Page
from storage.packing import MAX_DEPTH, pack, unpack

_texts: weakref.WeakKeyDictionary[ContentVersion, str] = weakref.WeakKeyDictionary()
_bytes: weakref.WeakKeyDictionary[Body, bytes] = weakref.WeakKeyDictionary()
CHUNK = 1000  # versions read in one statement


def new_version(
    page: Page,
    text: str,
    *,
    text_hash: str,
    title: str | None,
    first_seen_at: dt.datetime,
    base: ContentVersion | None,
) -> ContentVersion:
    """A version of this text, packed against ``base`` (the page's current version)."""
    if base is not None and base.depth + 1 >= MAX_DEPTH:
        base = None  # start a new chain: no text is more than MAX_DEPTH unpackings away
    base_text = read_text(_session(base), base).encode() if base is not None else b""
    version = ContentVersion(
        page_id=page.id,
        text_hash=text_hash,
        title=title,
        packed_text=pack(text.encode(), base_text),
        base_id=base.id if base is not None else None,
        depth=base.depth + 1 if base is not None else 0,
        first_seen_at=first_seen_at,
    )
    _texts[version] = text
    return version


def read_text(session: Session, version: ContentVersion) -> str:
    """A version's text, unpacked with its bases, read in one query."""
    return read_texts(session, [version])[0]


def read_texts(session: Session, versions: Sequence[ContentVersion]) -> list[str]:
    """The texts of these versions, in their order: one query for all their chains."""
    wanted = [v.id for v in versions if v not in _texts]
    texts = texts_by_id(session, wanted)
    for version in versions:
        if version not in _texts:
            _texts[version] = texts[version.id]
    return [_texts[v] for v in versions]


def texts_by_id(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The texts of the versions of these ids (none for an id the archive lacks).

    One query (a thousand versions a query): a recursive CTE walks each chain down to its
    keyframe (at most MAX_DEPTH rows a version), then every text is unpacked once, bases first.
    """
    wanted = sorted(set(ids))
    packed: dict[int, tuple[int | None, bytes]] = {}
    for start in range(0, len(wanted), CHUNK):  # bound the bound parameters of one statement
        packed.update(_chain_rows(session, set(wanted[start : start + CHUNK]) - packed.keys()))
    plain: dict[int, bytes] = {}
    for version_id in packed:
        chain = []
        at: int | None = version_id
        while at is not None and at not in plain:
            chain.append(at)
            at = packed[at][0]
        for link in reversed(chain):  # a base is unpacked before what is packed against it
            base_id, blob = packed[link]
            plain[link] = unpack(blob, plain[base_id] if base_id is not None else b"")
    return {i: plain[i].decode() for i in wanted if i in plain}


def _chain_rows(session: Session, ids: set[int]) -> dict[int, tuple[int | None, bytes]]:
    """id -> (base id, packed text) for these versions and every base below them."""
    if not ids:
        return {}
    chain = select(ContentVersion.id).where(ContentVersion.id.in_(ids)).cte(recursive=True)
    below = aliased(ContentVersion)
    # UNION, not UNION ALL: many versions of one page share their bases, each is read once.
    chain = chain.union(
        select(below.base_id).join(chain, below.id == chain.c.id).where(below.base_id.is_not(None))
    )
    rows = session.execute(
        select(ContentVersion.id, ContentVersion.base_id, ContentVersion.packed_text).where(
            ContentVersion.id.in_(select(chain.c.id))
        )
    )
    return {row.id: (row.base_id, row.packed_text) for row in rows}


def find_body(session: Session, page_id: int, raw_hash: str) -> Body | None:
    return session.scalar(select(Body).where(Body.page_id == page_id, Body.raw_hash == raw_hash))


def site_keyframe(session: Session, site_id: int) -> tuple[int, bytes] | None:
    """The site's first body with a text: the base of every other body of the site."""
    base = session.scalar(
        select(Body)
        .join(Page, Body.page_id == Page.id)
        .where(Page.site_id == site_id, Body.base_id.is_(None), Body.version_id.is_not(None))
        .order_by(Body.id)
        .limit(1)
    )
    return (base.id, read_body(session, base)) if base is not None else None


def new_body(
    page: Page,
    raw: bytes,
    *,
    raw_hash: str,
    version: ContentVersion | None,
    first_seen_at: dt.datetime,
    keyframe: tuple[int, bytes] | None,
) -> Body:
    """A body of these bytes, packed against the site's keyframe and the version's text."""
    text = read_text(_session(version), version).encode() if version is not None else b""
    body = Body(
        page_id=page.id,
        raw_hash=raw_hash,
        version_id=version.id if version is not None else None,
        base_id=keyframe[0] if keyframe is not None else None,
        packed=pack_body(raw, keyframe[1] if keyframe is not None else b"", text),
        first_seen_at=first_seen_at,
    )
    _bytes[body] = raw
    return body


def read_body(session: Session, body: Body) -> bytes:
    """A body's bytes, read with their keyframe and texts in two queries."""
    return read_bodies(session, [body])[0]


def read_bodies(session: Session, bodies: Sequence[Body]) -> list[bytes]:
    """The bytes of these bodies, in their order: two queries for all of them.

    A body is packed against its keyframe (a body packed against no other) and its own text.
    """
    wanted = [b for b in bodies if b not in _bytes]
    base_ids = {b.base_id for b in wanted if b.base_id is not None}
    bases: dict[int, tuple[int | None, bytes]] = {}
    if base_ids:
        query = select(Body.id, Body.version_id, Body.packed).where(Body.id.in_(base_ids))
        bases = {row.id: (row.version_id, row.packed) for row in session.execute(query)}
    version_ids = {b.version_id for b in wanted} | {version_id for version_id, _ in bases.values()}
    texts = texts_by_id(session, {i for i in version_ids if i is not None})

    def unpacked(packed: bytes, base: bytes, version_id: int | None) -> bytes:
        text = texts[version_id].encode() if version_id is not None else b""
        return unpack(packed, base + text)

    keyframes = {i: unpacked(packed, b"", v) for i, (v, packed) in bases.items()}
    for body in wanted:
        # The site's first page has the menus, scripts and footer; the text has the paragraphs.
        base = keyframes[body.base_id] if body.base_id is not None else b""
        _bytes[body] = unpacked(body.packed, base, body.version_id)
    return [_bytes[b] for b in bodies]


def pack_body(raw: bytes, keyframe: bytes, text: bytes) -> bytes:
    """Bytes packed as read_body unpacks them: against the site's keyframe, then the text."""
    return pack(raw, keyframe + text)


def _session(instance: object) -> Session:
    session = object_session(instance)
    if session is None:
        raise RuntimeError("archived content is read inside the session that loaded it")
    return session
