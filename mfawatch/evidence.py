"""An evidence bundle for one change: a zip that can be checked without mfawatch.

It holds both raw bodies (the exact bytes of the last fetch of the old state and the first of
the new), both extracted texts, the diff (self-contained HTML, and text), a WARC of the
fetches that bound the window (those two and every fetch between them), the review history,
a manifest.json (URLs, times, statuses, declared dates, the SHA-256 of every file; each fetch's
chain hash with the exact bytes it hashes, and the page chain's head) and a README.txt saying
how to check it with sha256sum, warcio, and `mfawatch verify --against chain-head.txt`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from html import escape
from typing import IO, Any

from sqlalchemy.orm import Session

from kernel.chain import canonical
from kernel.diffing import Op, Piece
from mfawatch.changeview import AFTER, change_detail, change_pieces, declared_text, iso
from mfawatch.htmldiff import inline_html
from mfawatch.warc import write_warc
from storage.content import read_texts
from storage.models import Change, Fetch
from storage.queries import change_texts, get_change
from storage.received import Received, received_many, select_fetches
from storage.verify import Chained, fetches_chained, heads_text, page_head

README = """\
Evidence for change {id} ({kind}) of {url}
made by mfawatch on {made}.

What is here
  old/body.html, new/body.html   the bytes the server sent, as received, on the last fetch
                                 that saw the old state and the first that saw the new one
  old/text.txt, new/text.txt     the text mfawatch extracted from them
  diff.html, diff.txt            the difference between the texts ([-deleted-] {{+inserted+}})
  fetches.warc.gz                every fetch of the window as WARC (ISO 28500) records
  reviews.json                   every review decision on this change
  manifest.json                  URLs, times, HTTP statuses, declared dates, each fetch's
                                 chain hash, the page chain's head, and the SHA-256 of every
                                 other file
  chain-head.txt                 the page chain's head when the bundle was made, as
                                 `mfawatch verify --heads` writes it
  SHA256SUMS                     the SHA-256 of every file here, manifest.json included

How to check it, without mfawatch
  1. Nothing was changed since the bundle was made: in this folder,
       sha256sum -c SHA256SUMS
     (the same hashes are in manifest.json, under "sha256").
  2. The bodies are those of the fetches: each fetch in manifest.json gives the SHA-256 the
     archive recorded for its body when it arrived (body_sha256); `sha256sum old/body.html`
     gives the same.
  3. The WARC is whole and its digests hold: `pip install warcio`, then
       warcio check -v fetches.warc.gz
     Its WARC-Payload-Digest values are the same SHA-256s in base32.
  4. Replay: any WARC player (pywb, ReplayWeb.page) opens fetches.warc.gz.
  5. The fetches are in the archive's chain. mfawatch chains the fetches of a page: each
     fetch's chain_hash (in manifest.json) is the SHA-256, in hex, of its chain_input, the
     UTF-8 bytes of a JSON object with its keys sorted and no white space (RFC 8785): "chain"
     ("fetch"), "v" (the chain_version), "prev" (chain_prev: the chain hash of the page's
     fetch before it, null for its first), and the fetch's values: fetched_at (UTC, to the
     microsecond, ending in Z), url (the URL requested), http_status, body_hash (the SHA-256
     of the body, as in step 2), text_hash, declared_date, declared_time, outcome, error.
     Recompute it with
       printf '%s' 'CHAIN_INPUT' | sha256sum
     (or any SHA-256 tool over those bytes), and check that body_hash is body_sha256. Each
     hash covers the one before it, so a fetch rewritten later changes every hash after it,
     up to the head: the last fetch of the page when the bundle was made (page_chain_head,
     and chain-head.txt). Whoever holds the archive can check that it still holds that head,
     and so every fetch before it unchanged, with
       mfawatch verify --against chain-head.txt
     (exit 0: the head is in the chain and every chain verifies; 1 says which broke).
"""


def write_bundle(session: Session, change_id: int, out: IO[bytes]) -> list[str]:
    """Write the bundle of a change to ``out`` (a zip); the names of its files."""
    change = get_change(session, change_id)
    window = _window(session, change)
    old_fetch, new_fetch = change.old_fetch, change.new_fetch
    items = {r.fetch.id: r for r in received_many(session, window)}
    for fetch in (old_fetch, new_fetch):  # a window's ends without a response (a timeout)
        if fetch is not None and fetch.id not in items:
            items.update({r.fetch.id: r for r in received_many(session, [fetch])})
    versions = [v for v in (change.old_version, change.new_version) if v is not None]
    texts = dict(zip([v.id for v in versions], read_texts(session, versions), strict=True))
    pieces = change_pieces(change, change_texts(session, [change]))
    files: dict[str, bytes] = {}
    for side, fetch, version_id in (
        ("old", old_fetch, change.old_version_id),
        ("new", new_fetch, change.new_version_id),
    ):
        got = items.get(fetch.id) if fetch is not None else None
        if got is not None and got.body is not None:
            files[f"{side}/body.html"] = got.body
        if version_id is not None:
            files[f"{side}/text.txt"] = texts[version_id].encode()
    files["diff.html"] = _diff_html(change, pieces).encode()
    files["diff.txt"] = _diff_text(pieces).encode()
    warc = io.BytesIO()
    write_warc(
        warc,
        [items[f.id] for f in window],
        description=f"mfawatch evidence for change {change.id}: the fetches of its window",
    )
    files["fetches.warc.gz"] = warc.getvalue()
    detail = change_detail(change)
    files["reviews.json"] = _json(detail["reviews"])
    made = iso(dt.datetime.now(dt.UTC)) or ""
    chained = fetches_chained(session, [f.id for f in window])
    head = page_head(session, change.page_id)
    if head is not None:
        files["chain-head.txt"] = heads_text([head]).encode()
    files["README.txt"] = README.format(
        id=change.id, kind=change.kind, url=change.page.url, made=made
    ).encode()
    manifest = {
        "change": {k: v for k, v in detail.items() if k != "reviews"},
        "made_at": made,
        "fetches": [
            _fetch_entry(items[f.id], f, old_fetch, new_fetch, chained[f.id]) for f in window
        ],
        "page_chain_head": {"fetch_id": head.row_id, "chain_hash": head.hash, "page": head.chain}
        if head is not None
        else None,
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        "verify": "see README.txt: sha256sum for the files, warcio check for the WARC, "
        "sha256sum of each chain_input for its chain_hash, mfawatch verify --against "
        "chain-head.txt for the chain",
    }
    files["manifest.json"] = _json(manifest)
    files["SHA256SUMS"] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items()
    ).encode()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            bundle.writestr(f"change-{change.id}/{name}", data)
    return list(files)


def _window(session: Session, change: Change) -> list[Fetch]:
    """The fetches that bound the change: the old state's last, the new state's first, and
    every fetch between them that got a response."""
    start = change.old_fetch.fetched_at if change.old_fetch else change.new_fetch.fetched_at
    found = select_fetches(
        session, page_id=change.page_id, since=start, until=change.new_fetch.fetched_at
    )
    ends = [f for f in (change.old_fetch, change.new_fetch) if f is not None]
    by_id = {f.id: f for f in [*found, *ends]}
    return sorted(by_id.values(), key=lambda f: (f.fetched_at, f.id))


def _fetch_entry(
    got: Received, fetch: Fetch, old: Fetch | None, new: Fetch, chained: Chained
) -> dict[str, Any]:
    role = "last fetch of the old state" if old is not None and fetch.id == old.id else None
    role = "first fetch of the new state" if fetch.id == new.id else role
    return {
        "id": fetch.id,
        "role": role or "between",
        "url": fetch.url,
        "final_url": fetch.final_url,
        "fetched_at": iso(fetch.fetched_at),
        "http_status": fetch.http_status,
        "outcome": fetch.outcome,
        "last_updated": iso(fetch.declared_date),
        "last_updated_time": iso(fetch.declared_time),
        "last_updated_raw": fetch.declared_raw,
        "body_sha256": got.raw_hash,
        "headers_kept": got.head is not None,
        "chain_hash": chained.hash,
        "chain_version": chained.version,
        "chain_prev": chained.prev,
        # What chain_hash is the SHA-256 of (kernel.chain): recomputed without mfawatch.
        "chain_input": canonical(chained.link, chained.prev, chained.version).decode(
            "utf-8", "surrogatepass"
        ),
    }


def _diff_text(pieces: list[Piece]) -> str:
    marks = {Op.DELETE: ("[-", "-]"), Op.INSERT: ("{+", "+}")}
    out = []
    for piece in pieces:
        start, end = marks.get(piece.op, ("", ""))
        out.append(f"{start}{piece.text}{end}")
    return "".join(out) + "\n"


def _diff_html(change: Change, pieces: list[Piece]) -> str:
    old = declared_text(change.old_declared, change.old_declared_time) or "none"
    new = declared_text(change.new_declared, change.new_declared_time) or "none"
    after = AFTER.get(change.kind)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>Change {change.id}: {escape(change.kind)}</title>"
        "<style>body{font:16px/1.5 serif;max-width:50em;margin:2em auto}"
        "del{background:#fdd;text-decoration:line-through}ins{background:#dfd}</style>"
        f"</head><body><h1>Change {change.id}: {escape(change.kind)}</h1>"
        f"<p>{escape(change.page.url)}</p>"
        f"<p>Last updated: {escape(old)} → {escape(new)}</p>"
        f"{inline_html(pieces)}"
        f"{f'<p><ins>{escape(after)}</ins></p>' if after else ''}</body></html>\n"
    )


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=True, indent=2) + "\n").encode()
