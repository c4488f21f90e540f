"""`mfawatch import warc`: WARC and ARC files made by any tool, as fetches of the archive.

A response record of a page that a configured site's layout recognises (kernel.config
page_identity) becomes a fetch at its WARC-Date, seen as the crawl sees a response (the
spider's own `observe`: status, redirect, extraction) and written through the same plan
(storage.archive.record_fetch), in a run of trigger `import` per site. Records are taken in
date order, so that each is compared with the state before it. A revisit is its status and
headers with the payload it refers to (by digest: a record of the same files, or a body the
archive has); a server-not-modified revisit is a 304. A record already in the archive (same
page, time and body hash), or whose capture it already has, is skipped, so importing a file
twice adds nothing.

An imported fetch is of source ``warc`` (kernel.status.FetchSource), its capture (the
archive_url/archive_digest columns) the record's identity: ``warc:<WARC-Record-ID>``, or for an
ARC record (which has no id; warcio invents a random one) ``arc:<date> <URL>``, and the
record's WARC-Payload-Digest.

A file that stops being WARC (truncated, or not WARC at all) is reported with the offset
where it did, after what came before it is imported; the exit code is then 1.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import logging
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from kernel.captures import Capture
from kernel.config import Config, Site, layout_fingerprint, page_identity
from kernel.detect import Seen
from kernel.errors import MfawatchError
from kernel.headers import head_block
from kernel.plan import FetchResult
from kernel.status import FetchSource, RunStatus
from kernel.text import printable
from storage.archive import record_fetch
from storage.models import Body, Fetch, Page
from storage.runs import finish_run, start_run

log = logging.getLogger(__name__)
TRIGGER = "import"


@dataclass(order=True)
class _Entry:
    """A record found in the first pass: where it is, and what it is of."""

    date: dt.datetime
    order: int
    path: Path = field(compare=False)
    offset: int = field(compare=False)
    uri: str = field(compare=False)
    kind: str = field(compare=False)  # response | revisit
    site: Site = field(compare=False)
    digest: str | None = field(compare=False)
    refers_to: str | None = field(compare=False)  # a revisit's WARC-Refers-To (record id)
    not_modified: bool = field(compare=False, default=False)
    identity: str = field(compare=False, default="")  # the capture's URL (module docstring)


@dataclass
class _Tally:
    imported: int = 0
    duplicates: int = 0
    unrecognised: int = 0
    unresolved: int = 0
    other: int = 0  # warcinfo, request, metadata, resource records
    broken: list[str] = field(default_factory=list)


def import_files(sessions: sessionmaker[Session], config: Config, paths: list[Path]) -> int:
    """Import the files; prints a summary, returns the exit code (1 if a file broke off)."""
    for path in paths:  # refused before anything is imported: a name mistyped, a folder
        if not path.is_file():
            why = "is a folder" if path.is_dir() else "does not exist"
            raise MfawatchError(f"{printable(str(path))} {why}: give WARC or ARC files")
    tally = _Tally()
    entries: list[_Entry] = []
    payloads: dict[str, tuple[Path, int]] = {}  # digest or record id -> a response record
    for path in paths:
        entries += _index(path, config, tally, payloads, len(entries))
    runs: dict[str, int] = {}
    try:
        for entry in sorted(entries):
            result = _result(entry, payloads, sessions)
            if result is None:
                tally.unresolved += 1
                continue
            with sessions.begin() as session:
                if _already(session, result):
                    tally.duplicates += 1
                    continue
            if entry.site.name not in runs:
                with sessions.begin() as session:
                    layout = entry.site.layout
                    runs[entry.site.name] = start_run(
                        session, entry.site.name, layout.name, TRIGGER, layout_fingerprint(layout)
                    )
            try:
                with sessions.begin() as session:
                    record_fetch(session, runs[entry.site.name], result)
            except IntegrityError:
                # Another import recorded the same capture since it was looked for.
                with sessions() as session:
                    if not _captured(session, result):
                        raise
                tally.duplicates += 1
                continue
            tally.imported += 1
    finally:
        with sessions.begin() as session:
            for run_id in runs.values():
                finish_run(session, run_id, RunStatus.OK, "imported from WARC")
    print(
        f"imported {tally.imported} fetches; skipped {tally.duplicates} already archived, "
        f"{tally.unrecognised} of pages no layout recognises, {tally.unresolved} revisits "
        f"whose payload was not found, {tally.other} other records",
        file=sys.stderr,
    )
    for line in tally.broken:
        print(f"mfawatch: error: {line}", file=sys.stderr)
    return 1 if tally.broken else 0


def _index(
    path: Path,
    config: Config,
    tally: _Tally,
    payloads: dict[str, tuple[Path, int]],
    start: int,
) -> list[_Entry]:
    """The records of one file worth importing; a file that breaks off is noted in tally."""
    found: list[_Entry] = []
    try:
        stream = path.open("rb")
    except OSError as exc:
        tally.broken.append(f"cannot read {printable(str(path))}: {exc.strerror or exc}")
        return found
    offset = 0
    with stream:
        if not _looks_archived(stream):
            tally.broken.append(
                f"{printable(str(path))}: not WARC from offset 0 on (neither WARC nor ARC)"
            )
            return found
        # Records unparsed: each block is counted against its Content-Length, which is how a
        # file cut short shows (warcio reads a truncated gzip member without complaint).
        iterator = ArchiveIterator(stream, arc2warc=True, no_record_parse=True)
        try:
            for record in iterator:
                got = _length(record.raw_stream)
                offset = iterator.get_record_offset()  # only once read: asking reads it
                if record.length is not None and got < int(record.length):
                    raise EOFError(f"the record ends after {got} of its {record.length} bytes")
                entry = _entry(record, path, offset, config, tally, start + len(found))
                if record.rec_type == "response":
                    record_id = record.rec_headers.get_header("WARC-Record-ID")
                    digest = record.rec_headers.get_header("WARC-Payload-Digest")
                    for name in (record_id, digest):
                        if name:
                            payloads.setdefault(name, (path, offset))
                if entry is not None:
                    found.append(entry)
        except (ArchiveLoadFailed, EOFError, OSError, ValueError, zlib.error) as exc:
            why = printable(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
            tally.broken.append(
                f"{printable(str(path))}: not WARC from offset {offset} on"
                f"{f' ({why})' if why else ''}; the records before it were read"
            )
    return found


def _length(stream: IO[bytes]) -> int:
    """How many bytes are left in a stream, read to its end."""
    total = 0
    while chunk := stream.read(65536):
        total += len(chunk)
    return total


def _looks_archived(stream: IO[bytes]) -> bool:
    """Whether a file starts as a WARC (``WARC/``) or an ARC (``filedesc://``) does, gzipped
    or not: warcio reads any text as ARC records, so this is asked first."""
    start = stream.read(2)
    stream.seek(0)
    if start == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=stream) as unzipped:
                start = unzipped.read(11)
        except (OSError, EOFError, zlib.error):
            return False
        finally:
            stream.seek(0)
    else:
        start = stream.read(11)
        stream.seek(0)
    return start.startswith((b"WARC/", b"filedesc://"))


def _entry(
    record: Any, path: Path, offset: int, config: Config, tally: _Tally, order: int
) -> _Entry | None:
    headers = record.rec_headers
    if record.rec_type not in ("response", "revisit"):
        tally.other += 1
        return None
    uri = headers.get_header("WARC-Target-URI") or ""
    site = _site_of(config, uri)
    if site is None:
        tally.unrecognised += 1
        return None
    date = _date(headers.get_header("WARC-Date") or "")
    profile = headers.get_header("WARC-Profile") or ""
    return _Entry(
        date=date,
        order=order,
        path=path,
        offset=offset,
        uri=uri,
        kind=record.rec_type,
        site=site,
        digest=headers.get_header("WARC-Payload-Digest"),
        refers_to=headers.get_header("WARC-Refers-To"),
        not_modified=record.rec_type == "revisit" and profile.endswith("server-not-modified"),
        identity=_identity(record, uri, date),
    )


def _identity(record: Any, uri: str, date: dt.datetime) -> str:
    """A record's stable identity: its WARC-Record-ID (an ARC record has none)."""
    record_id = record.rec_headers.get_header("WARC-Record-ID")
    if record.format == "warc" and record_id:
        return f"warc:{record_id}"
    return f"arc:{date:%Y%m%d%H%M%S} {uri}"


def _site_of(config: Config, uri: str) -> Site | None:
    """The configured site a URL is a relations page of (its host's site, as a crawl has it)."""
    host = (urlsplit(uri).hostname or "").lower()
    fits = [
        site
        for site in config.sites
        if page_identity(site.layout, uri) is not None
        and any(host == d or host.endswith("." + d) for d in site.allowed_domains)
    ]
    started = [s for s in fits if any(urlsplit(u).hostname == host for u in s.start_urls)]
    chosen = started or fits
    return chosen[0] if chosen else None


def _date(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = dt.datetime.strptime(text, "%Y%m%d%H%M%S")  # an ARC record's date
    return moment.replace(tzinfo=moment.tzinfo or dt.UTC).astimezone(dt.UTC)


def _result(
    entry: _Entry, payloads: dict[str, tuple[Path, int]], sessions: sessionmaker[Session]
) -> FetchResult | None:
    """The fetch a record comes to, seen as the crawl sees a response (None: a revisit whose
    payload is nowhere)."""
    head = _head_bytes(entry.path, entry.offset)
    status, pairs, protocol = _parse(head)
    body: bytes | None = None
    if entry.kind == "response":
        body = _content(entry.path, entry.offset)
    elif not entry.not_modified:
        where = payloads.get(entry.refers_to or "") or payloads.get(entry.digest or "")
        body = _content(*where) if where is not None else _archived_body(sessions, entry)
        if body is None:
            return None
    return _observed(entry, status, pairs, protocol, body if status != 304 else None)


def _observed(
    entry: _Entry, status: int, pairs: list[tuple[bytes, bytes]], protocol: str, body: bytes | None
) -> FetchResult:
    from scrapy.http import Headers
    from scrapy.responsetypes import responsetypes

    from scraper.spiders.mfa import observe

    found = page_identity(entry.site.layout, entry.uri)
    assert found is not None  # _site_of chose the site by it
    page, _ = found
    result = FetchResult(
        site=entry.site.name, key=str(page), url=entry.uri, lang=page.lang, seen=Seen.FAILED,
        fetched_at=entry.date, final_url=entry.uri, http_status=status,
    )  # fmt: skip
    headers = Headers()
    for name, value in pairs:
        headers.appendlist(name, value)
    result.etag = _text(headers.get(b"ETag"))
    result.last_modified = _text(headers.get(b"Last-Modified"))
    result.headers = head_block(protocol, status, pairs)
    result.raw = body
    result.capture = Capture(FetchSource.WARC, entry.identity, entry.digest)
    kind = responsetypes.from_args(headers=headers, url=entry.uri, body=body or b"")
    response = kind(url=entry.uri, status=status, headers=headers, body=body or b"")
    observe(result, response, entry.site, None)
    return result


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value else None


def _read(path: Path, offset: int, read: Callable[[Any], bytes], **options: Any) -> bytes:
    """``read`` of the record at ``offset``, the file closed after."""
    with path.open("rb") as stream:
        stream.seek(offset)
        iterator = iter(ArchiveIterator(stream, arc2warc=True, **options))
        try:
            return read(next(iterator))
        except StopIteration:
            return b""
        finally:
            iterator.close()


def _head_bytes(path: Path, offset: int) -> bytes:
    """The HTTP head of a record as the bytes in the file (warcio decodes them as text)."""

    def head_of(record: Any) -> bytes:
        stream: IO[bytes] = record.raw_stream
        head = b""
        while not head.endswith((b"\r\n\r\n", b"\n\n")):
            line = stream.readline()
            if not line:
                break
            head += line
        return head

    return _read(path, offset, head_of, no_record_parse=True)


def _content(path: Path, offset: int) -> bytes:
    """A response record's payload, as the crawl would have stored it (transfer and content
    encodings decoded)."""
    return _read(path, offset, lambda record: bytes(record.content_stream().read()))


def _parse(head: bytes) -> tuple[int, list[tuple[bytes, bytes]], str]:
    lines = head.replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")
    first = lines[0].decode("latin-1").split(" ")
    protocol = first[0] if first[0].startswith("HTTP/") else "HTTP/1.1"
    try:
        status = int(first[1])
    except (IndexError, ValueError):
        status = 200
    pairs = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        pairs.append((name.strip(), value.strip()))
    return status, pairs, protocol


def _archived_body(sessions: sessionmaker[Session], entry: _Entry) -> bytes | None:
    """The bytes a revisit refers to, when the archive has them (a SHA-256 digest only)."""
    from storage.content import read_body

    digest = entry.digest or ""
    if not digest.startswith("sha256:"):
        return None
    try:
        raw_hash = base64.b32decode(digest.removeprefix("sha256:")).hex()
    except ValueError:
        return None
    found = page_identity(entry.site.layout, entry.uri)
    key = str(found[0]) if found else ""
    with sessions() as session:
        body = session.scalar(
            select(Body)
            .join(Page, Body.page_id == Page.id)
            .where(Page.key == key, Body.raw_hash == raw_hash)
        )
        return read_body(session, body) if body is not None else None


def _already(session: Session, result: FetchResult) -> bool:
    """Whether the archive has this fetch: the same page, time and body (or no body)."""
    query = (
        select(Fetch.id, Body.raw_hash)
        .join(Page, Fetch.page_id == Page.id)
        .outerjoin(Body, Fetch.body_id == Body.id)
        .where(Page.key == result.key, Fetch.fetched_at == result.fetched_at)
    )
    # A body the archive does not keep (a 404's, a 304's) has no hash to compare.
    rows = session.execute(query)
    return any(raw_hash in (None, result.raw_hash) for _, raw_hash in rows) or _captured(
        session, result
    )


def _captured(session: Session, result: FetchResult) -> bool:
    """Whether the archive has a fetch of this record (its capture key is unique)."""
    if result.capture is None:
        return False
    key = result.capture.key
    return session.scalar(select(Fetch.id).where(Fetch.archive_key == key)) is not None
