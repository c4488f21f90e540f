"""Raw evidence out and in: `mfawatch body`, the response heads kept, `export warc` (checked by
warcio itself, replayed by pywb), and `import warc` (a round trip into an empty archive).
Real crawls of the offline mirror, on SQLite or PostgreSQL as the fixtures say.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from mfawatch.mirror.pages import relations_page, relations_path
from storage.db import close_database, open_database
from storage.headers import unpack_head
from storage.models import Body, Fetch, Run
from tests.conftest import Mfawatch, fresh_database
from tests.support import pywb

pytestmark = pytest.mark.crawl

BIN = Path(sys.executable).parent
EN35, EN36 = relations_path("en", 35), relations_path("en", 36)
# What a hostile server may put in a header: an escape sequence, a Latin-1 byte, a quote.
HOSTILE = "\x1b[31mred\x1b[0m caf\xe9 \"'<x>"


def served(mirror, path: str, **changed: Any) -> bytes:
    section = int(path.split("/")[3])
    body = relations_page("seoul", "en", section, **changed).encode()
    mirror.set(path, body, headers={"X-Hostile": HOSTILE}, etag=True)
    return body


@pytest.fixture
def crawled(mirror, mfawatch: Mfawatch, sessions) -> dict[str, bytes]:
    """Two crawls, the first a day in the past: 35 edited in between (a date-only change),
    36 served with an ETag both times (the second fetch a 304)."""
    old35 = served(mirror, EN35)
    served(mirror, EN36)
    mfawatch.crawl()
    with sessions.begin() as session:  # the baseline crawl happened yesterday
        for fetch in session.scalars(select(Fetch)):
            fetch.fetched_at -= dt.timedelta(days=1)
    new35 = served(mirror, EN35, last_updated="05.03.2023")
    mfawatch.crawl()
    return {"old35": old35, "new35": new35}


def fetch_ids(mfawatch: Mfawatch, mirror, path: str) -> list[int]:
    return [f["id"] for f in mfawatch.json("history", mirror.url(path))["fetches"]]


def records(path: Path) -> list[Any]:
    """(type, WARC headers, HTTP head bytes, payload) of every record."""
    out = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            head = b""
            if record.http_headers is not None:
                head = record.http_headers.to_bytes()
            out.append((record.rec_type, dict(record.rec_headers.headers), head,
                        record.content_stream().read()))  # fmt: skip
    return out


def raw_records(path: Path) -> list[bytes]:
    """Each record's whole block, as the bytes in the file."""
    with path.open("rb") as stream:
        return [r.raw_stream.read() for r in ArchiveIterator(stream, no_record_parse=True)]


def warcio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "warcio"), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_body_is_the_bytes_received_and_checked(crawled, mirror, mfawatch, sessions, tmp_path):
    first, second = fetch_ids(mfawatch, mirror, EN35)
    out = tmp_path / "old.html"
    assert mfawatch("body", str(first), "-o", str(out)).code == 0
    assert out.read_bytes() == crawled["old35"]
    shown = mfawatch("body", str(second))
    assert shown.code == 0 and shown.stdout.encode() == crawled["new35"]
    assert b"05.03.2023" in crawled["new35"] and b"05.03.2023" not in crawled["old35"]
    # A 304 kept no body: said, not an empty file.
    not_modified = fetch_ids(mfawatch, mirror, EN36)[1]
    refused = mfawatch("body", str(not_modified), "-o", str(tmp_path / "none"))
    assert refused.code == 2 and "kept no body" in refused.stderr
    assert not (tmp_path / "none").exists()
    assert mfawatch("body", "999999").code == 2
    # Bytes that no longer hash to what was recorded on arrival are refused.
    with sessions.begin() as session:
        body_id = session.scalar(select(Fetch.body_id).where(Fetch.id == first))
        session.execute(update(Body).where(Body.id == body_id).values(raw_hash="0" * 64))
    damaged = mfawatch("body", str(first), "-o", str(tmp_path / "bad.html"))
    assert damaged.code == 1 and "does not match its recorded SHA-256" in damaged.stderr
    assert not (tmp_path / "bad.html").exists()


def test_response_heads_are_kept_as_received(crawled, mirror, mfawatch, sessions):
    first, second = fetch_ids(mfawatch, mirror, EN36)
    with sessions() as session:
        heads = {f.id: unpack_head(f.headers) for f in session.scalars(select(Fetch)) if f.headers}
    assert heads[first].startswith(b"HTTP/1.1 200\r\n")
    assert b"X-Hostile: " + HOSTILE.encode("latin-1") + b"\r\n" in heads[first]
    assert b"Etag: " in heads[first]
    assert heads[second].startswith(b"HTTP/1.1 304\r\n")
    assert len(heads) == 16  # every fetch of the mirror's 8 pages, twice


def test_export_passes_warcio_and_says_what_each_fetch_was(crawled, mirror, mfawatch, tmp_path):
    out = tmp_path / "all.warc.gz"
    result = mfawatch("export", "warc", "-o", str(out))
    assert result.code == 0, result.stderr
    # 8 pages twice: 35 changed, 36 a 304, the other six the same bytes again.
    assert "16 fetches (9 responses, 7 revisits)" in result.stderr
    check = warcio("check", "-v", str(out))
    assert check.returncode == 0 and "digest pass" in check.stdout, check.stdout + check.stderr
    index = warcio("index", "-f", "warc-type,warc-target-uri", str(out))
    assert index.returncode == 0
    assert index.stdout.count('"response"') == 9 and index.stdout.count('"revisit"') == 7
    found = records(out)
    assert found[0][0] == "warcinfo"
    responses = {r[1]["WARC-Record-ID"]: r for r in found if r[0] == "response"}
    requests = [r for r in found if r[0] == "request"]
    assert len(requests) == 16
    assert all(r[1]["WARC-Concurrent-To"] for r in requests)
    bodies = {r[3] for r in responses.values()}
    assert {crawled["old35"], crawled["new35"]} <= bodies
    for _, fields, _, _ in responses.values():
        digest = fields["WARC-Payload-Digest"]
        assert digest.startswith("sha256:") and "WARC-Block-Digest" in fields
        assert fields["WARC-Date"].endswith("Z") and fields["WARC-Target-URI"]
    # The hostile header, byte for byte in the file (warcio would have percent-encoded it).
    raw = b"".join(raw_records(out))
    assert b"X-Hostile: " + HOSTILE.encode("latin-1") + b"\r\n" in raw
    (revisit,) = [r for r in found if r[0] == "revisit" and r[2].startswith(b"HTTP/1.1 304")]
    assert revisit[1]["WARC-Profile"].endswith("/revisit/server-not-modified")
    assert revisit[2].startswith(b"HTTP/1.1 304 Not Modified\r\n")
    assert revisit[1]["WARC-Refers-To"] in responses


def test_identical_bodies_are_revisits(mirror, mfawatch, tmp_path):
    served(mirror, EN35)
    mirror.set(EN36, relations_page("seoul", "en", 36))  # no validators: fetched whole again
    mfawatch.crawl()
    mfawatch.crawl()
    out = tmp_path / "twice.warc.gz"
    assert mfawatch("export", "warc", "--page", mirror.url(EN36), "-o", str(out)).code == 0
    kinds = [(r[0], r[1]) for r in records(out) if r[0] in ("response", "revisit")]
    assert [k for k, _ in kinds] == ["response", "revisit"]
    first, again = kinds[0][1], kinds[1][1]
    assert again["WARC-Profile"].endswith("/revisit/identical-payload-digest")
    assert again["WARC-Payload-Digest"] == first["WARC-Payload-Digest"]
    assert again["WARC-Refers-To-Target-URI"] == first["WARC-Target-URI"]
    assert again["WARC-Refers-To-Date"] == first["WARC-Date"]
    assert warcio("check", str(out)).returncode == 0


def test_an_old_fetch_without_a_head_gets_one_synthesized(crawled, mfawatch, sessions, tmp_path):
    with sessions.begin() as session:
        session.execute(update(Fetch).values(headers=None))
    out = tmp_path / "old.warc.gz"
    assert mfawatch("export", "warc", "-o", str(out)).code == 0
    responses = [r for r in records(out) if r[0] == "response"]
    assert responses and all(r[1]["MFAWATCH-Headers"].startswith("synthesized") for r in responses)
    assert all(r[2].startswith(b"HTTP/1.1 200 OK\r\n") for r in responses)
    assert warcio("check", str(out)).returncode == 0


def test_an_empty_selection_is_a_valid_warc_that_says_so(crawled, mfawatch, tmp_path):
    out = tmp_path / "none.warc.gz"
    result = mfawatch("export", "warc", "--since", "2999-01-01", "-o", str(out))
    assert result.code == 0 and "holds only its warcinfo" in result.stderr
    (info,) = records(out)
    assert info[0] == "warcinfo" and b"no fetch matched" in info[3]
    assert warcio("check", str(out)).returncode == 0
    assert mfawatch("export", "warc", "--site", "nowhere", "-o", str(out)).code == 2


def test_pywb_replays_a_page_at_a_past_time(crawled, mirror, mfawatch, tmp_path):
    out = tmp_path / "replay.warc.gz"
    assert mfawatch("export", "warc", "-o", str(out)).code == 0
    dates = {r[3]: r[1]["WARC-Date"] for r in records(out) if r[0] == "response"}
    past = _timestamp(dates[crawled["old35"]])
    now = _timestamp(dates[crawled["new35"]])
    assert past < now
    with pywb(tmp_path / "pywb", "evidence", [out]) as port:
        url = mirror.url(EN35)
        assert _get(port, f"/evidence/{past}id_/{url}") == crawled["old35"]
        assert _get(port, f"/evidence/{now}id_/{url}") == crawled["new35"]


def _timestamp(warc_date: str) -> str:
    return "".join(c for c in warc_date[:19] if c.isdigit())


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as got:
        return bytes(got.read())


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """A second, empty archive on the same database server as the test's."""
    with fresh_database(tmp_path / "empty.db") as url:
        yield url


def comparable(path: Path) -> list[tuple[Any, ...]]:
    """The records but what differs between two exports of the same fetches: record ids,
    the warcinfo, and the fetch ids of the archive they came from."""
    ignored = {"WARC-Record-ID", "WARC-Concurrent-To", "WARC-Refers-To", "MFAWATCH-Fetch-Id"}
    return [
        (kind, sorted((k, v) for k, v in fields.items() if k not in ignored), head, payload)
        for kind, fields, head, payload in records(path)
        if kind != "warcinfo"
    ]


def test_export_import_export_round_trip(crawled, mirror, mfawatch, empty_db_url, tmp_path):
    first = tmp_path / "first.warc.gz"
    assert mfawatch("export", "warc", "-o", str(first)).code == 0
    close_database(open_database(empty_db_url, create=True))
    other = Mfawatch(empty_db_url, mfawatch.sites)
    imported = other("import", "warc", str(first))
    assert imported.code == 0, imported.stderr
    assert "imported 16 fetches" in imported.stderr
    again = other("import", "warc", str(first))
    assert "imported 0 fetches; skipped 16 already archived" in again.stderr
    second = tmp_path / "second.warc.gz"
    assert other("export", "warc", "-o", str(second)).code == 0
    assert comparable(second) == comparable(first)
    # Imported through the plan: the same outcomes, the date-only change found again.
    assert [c["kind"] for c in other.json("changes", "--status", "all")] == ["date_only"]
    runs = other.json("runs")
    assert [r["trigger"] for r in runs] == ["import"]
    # Each fetch marked as from an archive: the WARC record it was, by its id and digest.
    fetches = other.json("history", mirror.url(EN35))["fetches"]
    assert {f["source"] for f in fetches} == {"warc"}
    expected = {
        (f"warc:{f['WARC-Record-ID']}", f.get("WARC-Payload-Digest"))
        for kind, f, _, _ in records(first)
        if kind in ("response", "revisit")
    }
    factory = open_database(empty_db_url)
    with factory() as session:
        shown = {tuple(r) for r in session.execute(select(Fetch.archive_url, Fetch.archive_digest))}
    close_database(factory)
    assert shown == expected and len(shown) == 16
    table = other("history", mirror.url(EN35))
    assert table.code == 0 and "warc" in table.stdout


def test_import_of_a_truncated_file_keeps_what_came_before(crawled, mfawatch, empty_db_url,
                                                           tmp_path):  # fmt: skip
    whole = tmp_path / "whole.warc.gz"
    assert mfawatch("export", "warc", "-o", str(whole)).code == 0
    data = whole.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    close_database(open_database(empty_db_url, create=True))
    other = Mfawatch(empty_db_url, mfawatch.sites)
    result = other("import", "warc", str(cut))
    assert result.code == 1
    assert "not WARC from offset" in result.stderr
    count = int(result.stderr.split("imported ")[1].split(" ")[0])
    assert 0 < count < 16
    junk = tmp_path / "junk.warc"
    junk.write_bytes(b"this is not a WARC file\n" * 10)
    result = other("import", "warc", str(junk))
    assert result.code == 1 and "not WARC from offset 0" in result.stderr
    garbled = tmp_path / "garbled.warc.gz"  # a gzip header, then what does not inflate
    garbled.write_bytes(data[:10] + b"\xff" * 200)
    result = other("import", "warc", str(garbled))
    assert result.code == 1 and "not WARC from offset 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_skips_pages_no_layout_recognises(mfawatch, sessions, tmp_path):
    path = tmp_path / "other.warc.gz"
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        head = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        for url in ("http://example.org/news/1", "http://example.org/en/content/35"):
            writer.write_record(writer.create_warc_record(
                url, "response", payload=BytesIO(b"<p>x</p>"), length=8, http_headers=head,
            ))  # fmt: skip
    result = mfawatch("import", "warc", str(path))
    assert result.code == 0
    assert "imported 0 fetches" in result.stderr and "2 of pages no layout" in result.stderr
    with sessions() as session:
        assert session.scalar(select(Run.id)) is None


def test_a_record_imported_twice_under_one_id_is_recorded_once(mfawatch, sessions, mirror,
                                                              tmp_path):  # fmt: skip
    """A hostile file: two records claiming the same WARC-Record-ID (and digest) at different
    times. The second is the same capture (its archive_key is taken): skipped, never raised."""
    path = tmp_path / "twice.warc.gz"
    page = relations_page("seoul", "en", 35).encode()
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        head = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        for date in ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"):
            fields = {"WARC-Record-ID": "<urn:uuid:11111111-2222-3333-4444-555555555555>",
                      "WARC-Date": date}  # fmt: skip
            writer.write_record(writer.create_warc_record(
                mirror.url(EN35), "response", payload=BytesIO(page), length=len(page),
                http_headers=head, warc_headers_dict=fields,
            ))  # fmt: skip
    result = mfawatch("import", "warc", str(path))
    assert result.code == 0, result.stderr
    assert "imported 1 fetches; skipped 1 already archived" in result.stderr
    with sessions() as session:
        rows = session.execute(select(Fetch.source, Fetch.archive_url)).all()
    assert rows == [("warc", "warc:<urn:uuid:11111111-2222-3333-4444-555555555555>")]
