"""A local stand-in for the Wayback Machine: its CDX search API and its id_ mementos.

The CDX API as the Internet Archive serves it: `/cdx/search/cdx?url=…&matchType=prefix`,
`from`/`to` timestamps, one `filter=[!]field:regex`, `collapse=urlkey`, `limit` and
`showResumeKey` paging (a blank line, then the key to send as `resumeKey`), space-separated
lines or `output=json` (a header row, then one row each).
Matching ignores the scheme, `www.` and the host's case, as the archive's SURT keys do.
Mementos at `/web/{timestamp}id_/{url}`: the original status and body, `Memento-Datetime`, the
original headers as `X-Archive-Orig-*`, a `Link` to the original. Faults to test with: 429s
with Retry-After, 5xx, garbage or a CDX answer cut mid-way, a memento that never ends.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

from kernel.captures import cdx_digest


@dataclass
class Stored:
    """One capture the fake archive holds."""

    url: str  # the original URL captured
    timestamp: str  # 14 digits, UTC
    body: bytes
    status: int = 200
    mimetype: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)  # the original response's
    digest: str | None = None  # what the index lists; by default the body's own
    location: str | None = None  # a redirect's target (a 3xx capture)
    playable: bool = True  # False: the archive answers its own error for the memento

    @property
    def listed_digest(self) -> str:
        return self.digest or cdx_digest(self.body)


@dataclass
class Faults:
    """What the fake archive does wrong, for the next requests."""

    throttle: int = 0  # so many requests answered 429 first
    retry_after: str = "1"
    cdx_status: int | None = None  # every CDX request answered with this status
    cdx_garbage: bool = False
    cdx_cut: bool = False  # the answer stops mid-line, the connection closed
    endless: set[str] = field(default_factory=set)  # timestamps whose memento never ends


CDX_FIELDS = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]


def surt_key(url: str) -> str:
    """A URL as the index compares it: no scheme, no ``www.``, host lower-cased.

    >>> surt_key("HTTPS://WWW.Seoul.mfa.gov.az/en/content/35?x=1")
    'seoul.mfa.gov.az/en/content/35?x=1'
    """
    url = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", url)
    host, _, rest = url.partition("/")
    host = host.lower()
    host = re.sub(r"^www\d*\.", "", host)
    host = re.sub(r":80$", "", host)
    return f"{host}/{rest}"


def timestamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


class FakeWayback:
    """The fake archive, on a loopback port; captures and faults can change while it runs."""

    def __init__(self, host: str = "127.0.0.1", page_size: int = 3) -> None:
        self.captures: list[Stored] = []
        self.faults = Faults()
        self.page_size = page_size  # CDX lines per answer, at most: paging is always tested
        self.requests: list[tuple[float, str]] = []  # (monotonic time, path) of each request
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.stopping = threading.Event()

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, url: str, when: dt.datetime, body: bytes | str, **kwargs: object) -> Stored:
        raw = body.encode() if isinstance(body, str) else body
        stored = Stored(url, timestamp(when), raw, **kwargs)  # type: ignore[arg-type]
        with self._lock:
            self.captures.append(stored)
        return stored

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def cdx_lines(self, query: dict[str, str]) -> tuple[list[list[str]], str | None]:
        """The index's rows for a query, one page of them, and the resume key if more."""
        wanted = surt_key(query.get("url", "").removesuffix("*"))
        prefix = query.get("matchType") == "prefix" or query.get("url", "").endswith("*")
        low = query.get("from", "").ljust(14, "0")
        high = query.get("to", "").ljust(14, "9") if query.get("to") else "9" * 14
        with self._lock:
            rows = sorted(
                (surt_key(c.url), c.timestamp, c) for c in self.captures
            )  # the index's order: by key, then time
        found = [
            [key, ts, c.url, c.mimetype, str(c.status), c.listed_digest, str(len(c.body))]
            for key, ts, c in rows
            if (key.startswith(wanted) if prefix else key == wanted) and low <= ts <= high
        ]
        if query.get("filter"):
            name, _, pattern = query["filter"].partition(":")
            column, negate = CDX_FIELDS.index(name.lstrip("!")), name.startswith("!")
            found = [r for r in found if bool(re.fullmatch(pattern, r[column])) != negate]
        if query.get("collapse") == "urlkey":  # the first row of each key
            found = [r for i, r in enumerate(found) if i == 0 or found[i - 1][0] != r[0]]
        start = int(query.get("resumeKey") or 0)
        size = min(self.page_size, int(query.get("limit") or self.page_size))
        page = found[start : start + size]
        more = str(start + size) if start + size < len(found) else None
        return page, more

    def memento(self, ts: str, url: str) -> Stored | None:
        key = surt_key(url)
        with self._lock:
            return next(
                (c for c in self.captures if c.timestamp == ts and surt_key(c.url) == key), None
            )


def _handler(archive: FakeWayback) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # tests read archive.requests

        def do_GET(self) -> None:
            archive.requests.append((time.monotonic(), self.path))
            faults = archive.faults
            if faults.throttle > 0:
                faults.throttle -= 1
                self._answer(429, b"Too Many Requests", {"Retry-After": faults.retry_after})
                return
            parts = urlsplit(self.path)
            if parts.path == "/cdx/search/cdx":
                self._cdx({k: v[-1] for k, v in parse_qs(parts.query).items()})
                return
            match = re.match(r"^/web/(\d{14})id_/(.+)$", self.path)
            if match is None:
                self._answer(404, b"not an archive URL", {})
                return
            self._memento(match.group(1), match.group(2))

        def _cdx(self, query: dict[str, str]) -> None:
            faults = archive.faults
            if faults.cdx_status is not None:
                self._answer(faults.cdx_status, b"the index is down", {})
                return
            if faults.cdx_garbage:
                self._answer(200, b"<html>Welcome to our new portal!</html>\n", {})
                return
            rows, more = archive.cdx_lines(query)
            if query.get("output") == "json":
                table: list[list[str]] = [CDX_FIELDS, *rows]
                if more:
                    table += [[], [more]]
                body = json.dumps(table).encode()
            else:
                lines = [" ".join(row) for row in rows]
                if more:
                    lines += ["", more]
                body = ("\n".join(lines) + "\n").encode() if lines else b""
            if faults.cdx_cut and body:
                self._cut(body)
                return
            self._answer(200, body, {"Content-Type": "text/plain"})

        def _memento(self, ts: str, url: str) -> None:
            stored = archive.memento(ts, url)
            if stored is None:
                self._answer(404, b"Wayback Machine doesn't have that page archived.", {})
                return
            if not stored.playable:
                error = {"X-Archive-Wayback-Runtime-Error": "LiveWebCacheUnavailableException"}
                self._answer(502, b"<html>Hrm. Wayback Machine has not archived that</html>",
                             error)  # fmt: skip
                return
            when = dt.datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
            headers = {f"X-Archive-Orig-{k}": v for k, v in stored.headers.items()}
            headers["Memento-Datetime"] = email.utils.format_datetime(when, usegmt=True)
            headers["Content-Type"] = stored.headers.get("Content-Type", stored.mimetype)
            headers["Link"] = f'<{stored.url}>; rel="original"'
            if stored.location:
                headers["Location"] = f"{archive.base}/web/{ts}id_/{stored.location}"
            if ts in archive.faults.endless:
                self._endless(headers)
                return
            self._answer(stored.status, stored.body, headers)

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _cut(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2 + 3])
            self.wfile.flush()
            self.close_connection = True

        def _endless(self, headers: dict[str, str]) -> None:
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
            for chunk in _trickle():
                if archive.stopping.is_set():
                    break
                try:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                except OSError:
                    break
                time.sleep(0.05)
            self.close_connection = True

    return Handler


def _trickle() -> Iterator[bytes]:
    yield b"<html><head><title>Political cooperation</title></head><body>"
    while True:
        yield b"<p>still coming</p>"
