"""The app's guards: the access token, sessions, CSRF, the Host check and the headers.

Sessions: a cookie ``sid.mac``, a random sid and HMAC(secret, sid). Only this server can make
one, and it never carries the access token. With a token, the ``?token=`` visit issues it (it then
stands for the token); without one, the first HTML page does.

CSRF: cookies ignore ports, so a page on another port of this host is "same-site" for the
browser and can set this app's cookies. A write from a browser must therefore (1) come from this
very origin: ``Origin``, when sent, is this scheme://host:port, and ``Sec-Fetch-Site``, when sent,
is same-origin or none; and (2) carry the CSRF token HMAC(secret, "csrf", sid) of its session
(the forms' hidden field, or the X-CSRF-Token header), which no other page can compute. A bearer
token exempts a request: a browser never adds an Authorization header on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Awaitable, Callable, Collection
from urllib.parse import unquote_plus, urlencode, urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware

from kernel.errors import MfawatchError
from mfawatch.web.render import error_page

SESSION_COOKIE = "mfawatch_session"
HOST_PREFIX = "__Host-"  # only this host can set it, Secure, Path=/ (browsers enforce it)
MIN_TOKEN_LENGTH = 32
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Archived HTML is hostile: sandboxed (a unique origin, no scripts, no forms), nothing loaded.
RAW_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src 'none'"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

Handler = Callable[[Request], Awaitable[Response]]


def same_secret(given: str | None, expected: str | None) -> bool:
    """Constant-time equality of two secrets; a missing or empty one never matches.

    >>> same_secret("abc", "abc"), same_secret("", ""), same_secret(None, "abc")
    (True, False, False)
    """
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def check_token(token: str | None) -> None:
    """A token short enough to guess is refused before the app starts."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise MfawatchError(
            f"MFAWATCH_TOKEN has {len(token)} characters, it needs at least {MIN_TOKEN_LENGTH} "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))' makes one)"
        )


def server_secret(token: str | None) -> bytes:
    """The key of every session and CSRF token.

    With a token it is derived from it: sessions outlive a restart and hold in every process
    serving the same token, and a new token ends them all. Without one there is no login to
    keep: a random secret per process, and after a restart a reload gives the form a new token.
    """
    if token is None:
        return secrets.token_bytes(32)
    return hmac.new(token.encode(), b"mfawatch web session key", hashlib.sha256).digest()


class Keys:
    """Sessions and CSRF tokens of one server secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, purpose: str, sid: str) -> str:
        return hmac.new(self._secret, f"{purpose}:{sid}".encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> tuple[str, str]:
        """A new session: its id and its cookie value."""
        sid = secrets.token_urlsafe(24)
        return sid, f"{sid}.{self._mac('session', sid)}"

    def session_id(self, cookie: str | None) -> str | None:
        """The id of a session cookie this server made, else None."""
        sid, _, mac = (cookie or "").partition(".")
        return sid if sid and same_secret(mac, self._mac("session", sid)) else None

    def csrf_token(self, sid: str) -> str:
        return self._mac("csrf", sid)


def check_form_csrf(request: Request, field: str) -> None:
    if not same_secret(field, request.state.csrf_expected):
        raise HTTPException(
            403, "CSRF check failed: reload the page and submit the form again (nothing changed)"
        )


def check_api_csrf(request: Request) -> None:
    """A FastAPI dependency for API writes: a bearer token, or the X-CSRF-Token header."""
    if request.state.bearer:
        return  # a browser never adds an Authorization header on its own
    if not same_secret(request.headers.get("x-csrf-token"), request.state.csrf_expected):
        raise HTTPException(
            403,
            "CSRF check failed: send Authorization: Bearer …, or header X-CSRF-Token with the "
            "csrf_token of a page's form and that page's session cookie",
        )


def install(app: FastAPI, token: str | None, allowed_hosts: Collection[str] | None) -> None:
    check_token(token)
    keys = Keys(server_secret(token))

    async def guard(request: Request, call_next: Handler) -> Response:
        response = _refusal(request, keys, token, allowed_hosts)
        if response is None:
            # A write must carry the CSRF token of the session its cookie names; a page shows
            # the token of its session, a new one on a first visit to a token-less app.
            known = request.state.session_id
            sid, fresh = known, None
            if known is None and token is None:
                sid, fresh = keys.new_session()
            request.state.csrf_expected = keys.csrf_token(known) if known else None
            request.state.csrf_token = keys.csrf_token(sid) if sid else ""
            response = await call_next(request)
            is_html = response.headers.get("content-type", "").startswith("text/html")
            if fresh and request.method == "GET" and is_html:
                _set_session(request, response, fresh)
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        # No Referer leaves the app; and with no-referrer a browser's own forms would send
        # Origin: null, which the cross-origin check refuses.
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    app.add_middleware(BaseHTTPMiddleware, dispatch=guard)


def _refusal(
    request: Request, keys: Keys, token: str | None, allowed_hosts: Collection[str] | None
) -> Response | None:
    """The response that refuses this request, or None to let it through."""
    request.state.bearer = False
    request.state.session_id = keys.session_id(request.cookies.get(session_cookie(request)))
    if allowed_hosts is not None and request.url.hostname not in allowed_hosts:
        # Only when no token guards the app: a DNS-rebinding page must not read it.
        return _refuse(request, 400, "Bad host", "This server does not answer for that host name.")
    if token is not None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        given = request.query_params.get("token")
        if scheme.lower() == "bearer" and same_secret(value.strip(), token):
            request.state.bearer = True
            return None
        if given is not None and same_secret(given, token):
            return _trade_token(request, keys)
        if given is not None or request.state.session_id is None:
            return _refuse(
                request, 401, "Token needed",
                "This app needs its access token: open it once with ?token=…, "
                "or send Authorization: Bearer ….",
            )  # fmt: skip
    if request.method not in SAFE_METHODS and (why := cross_origin(request)):
        return _refuse(
            request, 403, "Refused",
            f"This request came from another site or port ({why}): nothing changed. "
            "Submit the form from the app's own pages.",
        )  # fmt: skip
    return None


def cross_origin(request: Request) -> str | None:
    """Why a browser's request did not come from this origin, or None if it did (or if the
    browser did not say: then the CSRF token alone decides)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site: {site}"
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and (_origin(origin) is None or _origin(origin) != _origin(own)):
        return f"Origin: {origin[:100]!r}"
    return None


def _origin(url: str) -> tuple[str, str, int] | None:
    """An origin as compared: scheme, host, port (the default one when it is not written).

    >>> _origin("HTTP://127.0.0.1"), _origin("null"), _origin("http://a:x")
    (('http', '127.0.0.1', 80), None, None)
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    if default is None or not parts.hostname:
        return None
    return parts.scheme.lower(), parts.hostname, port or default


def session_cookie(request: Request) -> str:
    """The session cookie's name: ``__Host-`` wherever the browser keeps a Secure cookie
    (https, and http on loopback, which browsers count as secure); elsewhere (plain http to
    another address) a Secure cookie would be dropped, so the plain name."""
    return HOST_PREFIX + SESSION_COOKIE if _secure(request) else SESSION_COOKIE


def _secure(request: Request) -> bool:
    if request.url.scheme == "https":
        return True
    host = request.url.hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _trade_token(request: Request, keys: Keys) -> Response:
    """The token from the URL becomes a session cookie; the URL goes back to being one without
    it, on this server: leading slashes and backslashes are folded into one, so that
    ``//evil.example/?token=…`` cannot send the browser to another host."""
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
    target = "/" + request.url.path.lstrip("/\\") + (f"?{query}" if query else "")
    response = RedirectResponse(target, status_code=307)
    _set_session(request, response, keys.new_session()[1])
    return response


def _refuse(request: Request, status: int, title: str, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        response: Response = JSONResponse({"detail": message}, status_code=status)
    else:
        response = error_page(status, title, message)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _set_session(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        session_cookie(request), value, httponly=True, samesite="strict",
        secure=_secure(request), path="/",
    )  # fmt: skip


_SEPARATOR = re.compile(r"([&;])")


def redact_token(target: str) -> str:
    """A request target as the access log shows it: the value of every parameter whose name
    is "token" once percent-decoded (any number of times, any case) becomes "…".

    >>> redact_token("/changes/1?kind=x&%74oken=s3cret&TOK%2545N=s3cret")
    '/changes/1?kind=x&%74oken=…&TOK%2545N=…'
    """
    path, mark, query = target.partition("?")
    if not mark:
        return target
    parts = []
    for part in _SEPARATOR.split(query):
        name, equals, _value = part.partition("=")
        hidden = equals and _decoded(name).strip().lower() == "token"
        parts.append(f"{name}=…" if hidden else part)
    return f"{path}?{''.join(parts)}"


def _decoded(text: str) -> str:
    for _ in range(10):  # each round undoes one layer of percent-encoding
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return text
