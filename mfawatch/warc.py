"""Fetches as WARC (ISO 28500, version 1.1) records, written with warcio.

One `warcinfo` record, then per fetch that got a response a `request` and a `response` record
(WARC-Date the fetch's time, the status line and headers as received, the body as received).
A body already written earlier in the same file becomes a `revisit` record (the
identical-payload-digest profile, pointing at the first), and so does a 304 (the
server-not-modified profile, pointing at the page's last response before it). Digests are
SHA-256, the archive's own hash of the bytes, in WARC's base32 spelling.

What the archive cannot say as received is written all the same and named in an
`MFAWATCH-Headers` field: the head of a fetch from before heads were kept (synthesized from
its status and validators), a body the crawler decoded (Content-Encoding and
Transfer-Encoding renamed `X-Archive-Orig-…`, Content-Length the stored body's), a body not
kept (a 404's, a 5xx's). The request records are reconstructed: method, target and host.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from io import BytesIO
from typing import IO, Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from kernel.headers import Pairs, head_block, header, parse_head, reason
from storage.received import Received

SOFTWARE = "mfawatch/0.1 (warcio)"
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
# Headers that describe the bytes on the wire, not the body as stored: renamed, never dropped.
_TRANSFER = (b"content-encoding", b"transfer-encoding", b"content-length")


def warc_date(moment: dt.datetime) -> str:
    """A WARC 1.1 date: UTC, to the microsecond, as fetches are timed.

    >>> warc_date(dt.datetime(2024, 3, 1, 10, 0, 0, 5, tzinfo=dt.UTC))
    '2024-03-01T10:00:00.000005Z'
    """
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def payload_digest(data: bytes) -> str:
    """WARC's spelling of a SHA-256: ``sha256:`` and base32.

    >>> payload_digest(b"")
    'sha256:4OYMIQUY7QOBJGX36TEJS35ZEQT24QPEMSNZGTFESWMRW6CSXBKQ===='
    """
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


class _Writer(WARCWriter):
    """warcio's writer with SHA-256 digests (the archive's hash)."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


class _ExactHeaders(StatusAndHeaders):
    """HTTP headers written as the bytes given: warcio would re-encode (percent-escape) any
    value that is not ASCII, and a value must reach the file as the server sent it."""

    def __init__(self, block: bytes) -> None:
        protocol, _, pairs = parse_head(block)
        status_line = block.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")[2]
        super().__init__(
            status_line,
            [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs],
            protocol=protocol,
        )
        self.exact = block + b"\r\n"  # the blank line that ends a head

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.exact


@dataclass
class Exported:
    """What an export wrote."""

    responses: int = 0
    revisits: int = 0
    fetch_ids: list[int] = field(default_factory=list)

    @property
    def records(self) -> int:
        return self.responses + self.revisits


@dataclass
class _Sent:
    uri: str
    date: str
    record_id: str


def write_warc(
    out: IO[bytes], fetches: Iterable[Received], *, description: str, empty_note: str = ""
) -> Exported:
    """Write a gzipped WARC of these fetches (oldest first) to ``out``."""
    writer = _Writer(out, gzip=True, warc_version="1.1")
    items = list(fetches)
    info: dict[str, str] = {
        "software": SOFTWARE,
        "format": "WARC File Format 1.1",
        "description": description,
    }
    if not items:
        info["note"] = empty_note or "no fetch matched the selection: this file holds no record"
    writer.write_record(writer.create_warcinfo_record("", info))
    done = Exported()
    by_digest: dict[str, _Sent] = {}
    last_of_page: dict[int, _Sent] = {}
    for item in items:
        _write_fetch(writer, item, by_digest, last_of_page, done)
    return done


def _write_fetch(
    writer: _Writer,
    item: Received,
    by_digest: dict[str, _Sent],
    last_of_page: dict[int, _Sent],
    done: Exported,
) -> None:
    fetch = item.fetch
    status = fetch.http_status or 0
    uri = fetch.final_url or fetch.url
    date = warc_date(fetch.fetched_at)
    block, how = http_head(item)
    fields = {"WARC-Date": date, "MFAWATCH-Fetch-Id": str(fetch.id)}
    if how:
        fields["MFAWATCH-Headers"] = how
    digest = payload_digest(item.body) if item.body is not None else None
    earlier = by_digest.get(digest) if digest else None
    headers = _ExactHeaders(block)
    if earlier is not None and digest is not None:
        fields["WARC-Refers-To"] = earlier.record_id
        record = writer.create_revisit_record(
            uri, digest, earlier.uri, earlier.date, http_headers=headers, warc_headers_dict=fields
        )
        done.revisits += 1
    elif status == 304:
        before = last_of_page.get(fetch.page_id)
        record = writer.create_warc_record(
            uri, "revisit", http_headers=headers, warc_headers_dict=fields
        )
        record.rec_headers.add_header("WARC-Profile", NOT_MODIFIED_PROFILE)
        if before is not None:
            record.rec_headers.add_header("WARC-Refers-To", before.record_id)
            record.rec_headers.add_header("WARC-Refers-To-Target-URI", before.uri)
            record.rec_headers.add_header("WARC-Refers-To-Date", before.date)
        done.revisits += 1
    else:
        body = item.body or b""
        record = writer.create_warc_record(
            uri,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=headers,
            warc_headers_dict=fields,
        )
        done.responses += 1
    record_id = record.rec_headers.get_header("WARC-Record-ID")
    sent = _Sent(uri, date, record_id)
    if record.rec_type == "response":
        if digest is not None:
            by_digest[digest] = sent
        last_of_page[fetch.page_id] = sent
    asked = _request_head(uri)
    request = writer.create_warc_record(
        uri,
        "request",
        payload=BytesIO(asked),
        length=len(asked),  # without it warcio spools to a temporary file it leaves open
        warc_headers_dict={"MFAWATCH-Request": "reconstructed: method, target and Host only"},
    )
    writer.write_request_response_pair(request, record)
    done.fetch_ids.append(fetch.id)


def http_head(item: Received) -> tuple[bytes, str]:
    """The head block a record carries for this fetch, and what was not as received ("" if
    nothing)."""
    fetch = item.fetch
    status = fetch.http_status or 0
    body = item.body or b""
    notes = []
    if item.head is None:
        pairs: Pairs = []
        if fetch.etag:
            pairs.append((b"ETag", fetch.etag.encode("latin-1", "replace")))
        if fetch.last_modified:
            pairs.append((b"Last-Modified", fetch.last_modified.encode("latin-1", "replace")))
        protocol = "HTTP/1.1"
        notes.append("synthesized: fetched before mfawatch kept response headers")
    else:
        protocol, status, pairs = parse_head(item.head)
        if item.body is None and status != 304 and header(pairs, b"content-length") != b"0":
            notes.append("body not archived")
    if status != 304:
        pairs, renamed = _for_stored_body(pairs, len(body))
        if renamed and item.head is not None:
            notes.append("transfer headers renamed X-Archive-Orig-*: the body is as decoded")
    line = f"{status} {reason(status)}".strip()
    block = head_block(protocol, status, pairs).replace(
        f"{protocol} {status}".encode(), f"{protocol} {line}".encode(), 1
    )
    return block, "; ".join(notes)


def _for_stored_body(pairs: Pairs, length: int) -> tuple[Pairs, bool]:
    """Headers fit for the stored body: those about the bytes on the wire renamed (kept)."""
    kept: Pairs = []
    renamed = has_length = False
    for name, value in pairs:
        lower = name.lower()
        if lower == b"content-length" and value.strip() == str(length).encode():
            kept.append((name, value))
            has_length = True
        elif lower in _TRANSFER:
            kept.append((b"X-Archive-Orig-" + name, value))
            renamed = True
        else:
            kept.append((name, value))
    if not has_length:
        kept.append((b"Content-Length", str(length).encode()))
    return kept, renamed


def _request_head(uri: str) -> bytes:
    parts = urlsplit(uri)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
