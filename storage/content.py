"""Versions' texts and bodies' bytes, packed on the way in and unpacked on the way out.

A text is packed against the page's previous text; bytes against the site's first body and
their own text. Both are immutable once written, so what was unpacked is kept on the instance.
"""

from __future__ import annotations

import datetime as dt
import weakref

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from storage.models import Body, ContentVersion, Page
from storage.packing import MAX_DEPTH, pack, unpack

_texts: weakref.WeakKeyDictionary[ContentVersion, str] = weakref.WeakKeyDictionary()
_bytes: weakref.WeakKeyDictionary[Body, bytes] = weakref.WeakKeyDictionary()


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
    base_text = base.text.encode() if base is not None else b""
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


def load_bases(session: Session, versions: list[ContentVersion]) -> None:
    """Load the base chains of many versions at once, a query per level, not per version."""
    wanted = {v.base_id for v in versions if v.base_id is not None and v not in _texts}
    while wanted:
        found = session.scalars(select(ContentVersion).where(ContentVersion.id.in_(wanted))).all()
        wanted = {v.base_id for v in found if v.base_id is not None and v not in _texts}


def read_text(version: ContentVersion) -> str:
    cached = _texts.get(version)
    if cached is not None:
        return cached
    base_text = b""
    if version.base_id is not None:
        base = _session(version).get_one(ContentVersion, version.base_id)
        base_text = read_text(base).encode()
    text = unpack(version.packed_text, base_text).decode()
    _texts[version] = text
    return text


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
    return (base.id, read_body(base)) if base is not None else None


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
    text = version.text.encode() if version is not None else b""
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


def read_body(body: Body) -> bytes:
    cached = _bytes.get(body)
    if cached is not None:
        return cached
    session = _session(body)
    # The site's first page has the menus, scripts and footer; the text has the paragraphs.
    base = read_body(session.get_one(Body, body.base_id)) if body.base_id is not None else b""
    version = session.get_one(ContentVersion, body.version_id) if body.version_id else None
    raw = unpack(body.packed, base + (version.text.encode() if version is not None else b""))
    _bytes[body] = raw
    return raw


def pack_body(raw: bytes, keyframe: bytes, text: bytes) -> bytes:
    """Bytes packed as read_body unpacks them: against the site's keyframe, then the text."""
    return pack(raw, keyframe + text)


def _session(instance: object) -> Session:
    session = object_session(instance)
    if session is None:
        raise RuntimeError("archived content is read inside the session that loaded it")
    return session
