"""The app's guards: the access token, CSRF double-submit, the Host check and the headers.

The token is for an app reachable beyond this machine: ``Authorization: Bearer`` for scripts,
or ``?token=`` once in a browser, which trades it for an HttpOnly cookie. CSRF protection is a
double submit: a random cookie that forms (hidden field) and API clients (header) send back.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Collection
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware

from mfawatch.web.render import error_page

CSRF_COOKIE = "mfawatch_csrf"
TOKEN_COOKIE = "mfawatch_token"
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


def check_form_csrf(request: Request, field: str) -> None:
    if not same_secret(field, request.cookies.get(CSRF_COOKIE)):
        raise HTTPException(
            403, "CSRF check failed: reload the page and submit the form again (nothing changed)"
        )


def check_api_csrf(request: Request) -> None:
    """A FastAPI dependency for API writes: a bearer token, or the X-CSRF-Token header."""
    if request.state.bearer:
        return  # a browser never adds an Authorization header on its own
    if not same_secret(request.headers.get("x-csrf-token"), request.cookies.get(CSRF_COOKIE)):
        raise HTTPException(
            403, f"CSRF check failed: send header X-CSRF-Token equal to the {CSRF_COOKIE} cookie"
        )


def install(app: FastAPI, token: str | None, allowed_hosts: Collection[str] | None) -> None:
    async def guard(request: Request, call_next: Handler) -> Response:
        response = _refusal(request, token, allowed_hosts)
        if response is None:
            cookie = request.cookies.get(CSRF_COOKIE)
            request.state.csrf_token = cookie or secrets.token_urlsafe(32)
            response = await call_next(request)
            is_html = response.headers.get("content-type", "").startswith("text/html")
            if not cookie and request.method == "GET" and is_html:
                _set_cookie(request, response, CSRF_COOKIE, request.state.csrf_token)
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    app.add_middleware(BaseHTTPMiddleware, dispatch=guard)


def _refusal(
    request: Request, token: str | None, allowed_hosts: Collection[str] | None
) -> Response | None:
    """The response that refuses this request, or None to let it through."""
    request.state.bearer = False
    if allowed_hosts is not None and request.url.hostname not in allowed_hosts:
        # Only when no token guards the app: a DNS-rebinding page must not read it.
        return _refuse(request, 400, "Bad host", "This server does not answer for that host name.")
    if token is None:
        return None
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and same_secret(value.strip(), token):
        request.state.bearer = True
        return None
    given = request.query_params.get("token")
    if given is not None and same_secret(given, token):
        return _trade_token(request, token)
    if given is None and same_secret(request.cookies.get(TOKEN_COOKIE), token):
        return None
    return _refuse(
        request, 401, "Token needed",
        "This app needs its access token: open it once with ?token=…, "
        "or send Authorization: Bearer ….",
    )  # fmt: skip


def _trade_token(request: Request, token: str) -> Response:
    """The token from the URL becomes a cookie; the URL goes back to being one without it."""
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
    target = request.url.path + (f"?{query}" if query else "")
    response = RedirectResponse(target, status_code=307)
    _set_cookie(request, response, TOKEN_COOKIE, token)
    return response


def _refuse(request: Request, status: int, title: str, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        response: Response = JSONResponse({"detail": message}, status_code=status)
    else:
        response = error_page(status, title, message)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
