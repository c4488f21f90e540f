"""A local HTTP server standing in for a ministry site: content can be switched between crawls.

Routes map an exact request target (path plus query string) to a handler. `set()` installs a
static response (optionally with ETag/Last-Modified validators answered with 304),
`set_handler()` any callable, which is how the fault fixtures in `faults.py` plug in.
"""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import logging
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

logger = logging.getLogger(__name__)

HTML = "text/html; charset=utf-8"
SERVER_NAME = "mfawatch-mirror"
DEFAULT_ROBOTS = "User-agent: *\nDisallow: /private/\n"
NOT_FOUND_HTML = (
    "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
    "<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p>"
    "</body></html>\n"
)
# Statuses that never carry a body (RFC 9110 section 6.4.1).
_NO_BODY = frozenset({204, 304})


@dataclass(frozen=True)
class Request:
    """One request as received: header names are lower-case, repeated headers joined by ", "."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


# Requests are recorded exactly as handlers see them.
RecordedRequest = Request


@dataclass(frozen=True)
class Response:
    """What a handler answers. Content-Length is always computed by the server."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering; stop() cuts the wait short.
    delay: float = 0.0
    # Close the connection after this many body bytes, although Content-Length promised more.
    cut_after: int | None = None
    # Close the connection without answering at all (no status line): a reset to the client.
    hang_up: bool = False


Handler = Callable[[Request], Response]


def to_bytes(body: bytes | str, content_type: str = HTML) -> bytes:
    """Encode a str body in the charset its Content-Type declares (utf-8 when none).

    >>> to_bytes("Привет", "text/html; charset=windows-1251")
    b'\\xcf\\xf0\\xe8\\xe2\\xe5\\xf2'
    """
    if isinstance(body, bytes):
        return body
    charset = "utf-8"
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    # Legacy encodings cannot hold every character; browsers get numeric references instead.
    return body.encode(charset, errors="xmlcharrefreplace")


def html_response(
    body: bytes | str,
    status: int = 200,
    *,
    content_type: str = HTML,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A Response with a Content-Type header and the body encoded for it."""
    return Response(
        status, to_bytes(body, content_type), {"Content-Type": content_type, **(headers or {})}
    )


def static(response: Response) -> Handler:
    """A handler that always answers `response`."""

    def handler(_request: Request) -> Response:
        return response

    return handler


def etag_for(body: bytes) -> str:
    """The quoted strong ETag the server uses: the body's sha256."""
    return f'"{hashlib.sha256(body).hexdigest()}"'


def _not_modified(headers: Mapping[str, str], etag: str | None, last_modified: str | None) -> bool:
    # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if etag is None:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = headers.get("if-modified-since")
    if since is None or last_modified is None:
        return False
    return since.strip() == last_modified or _not_later(last_modified, since)


def _not_later(last_modified: str, since: str) -> bool:
    try:
        return email.utils.parsedate_to_datetime(
            last_modified
        ) <= email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # unparsable or naive/aware mix: only the exact string matches


def _validated(response: Response, etag: str | None, last_modified: str | None) -> Handler:
    """`response`, or 304 when the request's validators match `etag`/`last_modified`."""
    validators = {"ETag": etag} if etag else {}
    if last_modified:
        validators["Last-Modified"] = last_modified
    full = dataclasses.replace(response, headers={**validators, **response.headers})
    not_modified = Response(304, b"", validators)

    def handler(request: Request) -> Response:
        if _not_modified(request.headers, etag, last_modified):
            return not_modified
        return full

    return handler


def redirect_response(location: str, status: int = 301) -> Response:
    """A redirect to `location`, sent as given (relative or absolute), with a small body."""
    href = escape(location)
    body = f'<!DOCTYPE html>\n<html><body>Moved to <a href="{href}">{href}</a>.</body></html>\n'
    return html_response(body, status, headers={"Location": location})


class MirrorServer:
    """A threaded HTTP/1.1 server on a loopback address whose pages can be changed at will."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self._routes: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _MirrorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.set("/robots.txt", DEFAULT_ROBOTS, content_type="text/plain; charset=utf-8")

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind and serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("MirrorServer is already running")
        self._stopping.clear()
        httpd = _MirrorHTTPServer((self.host, self.port), _MirrorRequestHandler)
        httpd.mirror = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits at most this long for the loop
            name=f"mirror-{self.host}:{httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        logger.debug("mirror serving on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; handlers still waiting (slow faults) wake up."""
        self._stopping.set()
        httpd, thread = self._httpd, self._thread
        self._httpd, self._thread = None, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        logger.debug("mirror on %s:%s stopped", self.host, httpd.server_address[1])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://host:port` with the port actually bound."""
        if self._httpd is None:
            raise RuntimeError("MirrorServer is not running: call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- content ---------------------------------------------------------------------------

    def set(
        self,
        path: str,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str = HTML,
        headers: dict[str, str] | None = None,
        etag: bool = False,
        last_modified: str | None = None,
    ) -> None:
        """Serve `body` at `path` (exact path and query string) from now on."""
        response = html_response(body, status, content_type=content_type, headers=headers)
        tag = etag_for(response.body) if etag else None
        self._install({path: _validated(response, tag, last_modified)})

    def set_site(self, pages: Mapping[str, str | bytes]) -> None:
        """Serve many HTML pages at once; a concurrent crawl sees all of them or none."""
        self._install({path: static(html_response(body)) for path, body in pages.items()})

    def set_handler(self, path: str, fn: Handler) -> None:
        """Answer `path` with `fn(request)`: the escape hatch for fault fixtures."""
        self._install({path: fn})

    def remove(self, path: str) -> None:
        """`path` answers 404 from now on."""
        with self._lock:
            self._routes.pop(path, None)

    def redirect(self, path: str, location: str, status: int = 301) -> None:
        """`path` redirects to `location` (sent as given: relative or absolute)."""
        self._install({path: static(redirect_response(location, status))})

    def _install(self, routes: Mapping[str, Handler]) -> None:
        for path in routes:
            if not path.startswith("/"):
                raise ValueError(f"mirror paths start with '/': {path!r}")
        with self._lock:
            self._routes.update(routes)

    # -- what was asked --------------------------------------------------------------------

    def hits(self, path: str) -> int:
        """How many requests asked for exactly `path` (with its query string)."""
        with self._lock:
            return sum(1 for request in self.requests if request.path == path)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- called by the request handler threads ---------------------------------------------

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _respond(self, request: Request) -> Response:
        with self._lock:
            handler = self._routes.get(request.path)
        if handler is None:
            return html_response(NOT_FOUND_HTML, 404)
        try:
            return handler(request)
        except Exception:
            logger.exception("mirror handler for %s failed", request.path)
            return html_response("<h1>Internal Server Error</h1>", 500)

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _MirrorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once
    mirror: MirrorServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a client hanging up is routine here.
        logger.debug("mirror: error serving %s: %r", client_address, sys.exc_info()[1])


class _MirrorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    timeout = 30  # a client that connects and says nothing must not pin a thread forever
    server: _MirrorHTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("mirror %s: " + format, self.address_string(), *args)

    def _serve(self) -> None:
        mirror = self.server.mirror
        request = self._read_request()
        mirror._record(request)
        response = mirror._respond(request)
        if response.delay > 0:
            mirror._wait(response.delay)
        try:
            self._write(response, head_only=request.method == "HEAD")
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("mirror: client left before %s was sent", request.path)

    def _read_request(self) -> Request:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        length = int(headers.get("content-length", "0") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        return Request(self.command, self.path, headers, body)

    def _write(self, response: Response, *, head_only: bool) -> None:
        status, body = response.status, response.body
        if response.hang_up:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.log_request(status)
        self.send_response_only(status)
        for name, value in self._headers_for(response).items():
            self.send_header(name, value)
        self.end_headers()
        if head_only or status in _NO_BODY:
            return
        if response.cut_after is not None:
            self.wfile.write(body[: response.cut_after])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # the promised rest never comes
            return
        self.wfile.write(body)

    def _headers_for(self, response: Response) -> dict[str, str]:
        # Case-insensitive merge: a handler's "content-type" replaces the default Content-Type.
        merged: dict[str, tuple[str, str]] = {}
        defaults = {"Date": self.date_time_string(), "Server": SERVER_NAME}
        if response.status not in _NO_BODY:
            defaults["Content-Type"] = HTML
        for name, value in (*defaults.items(), *response.headers.items()):
            merged[name.lower()] = (name, value)
        merged.pop("content-length", None)
        if response.status not in _NO_BODY:
            merged["content-length"] = ("Content-Length", str(len(response.body)))
        merged["connection"] = ("Connection", "close")
        return dict(merged.values())
