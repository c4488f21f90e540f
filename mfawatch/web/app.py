"""The review app: ``create_app(sessions)`` for uvicorn (``mfawatch serve``) or a test client."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException

from kernel.errors import ArchiveDamaged, NotFound
from mfawatch.web import api, routes, security
from mfawatch.web.render import render

STATIC = Path(__file__).with_name("static")


def create_app(
    sessions: sessionmaker[Session],
    *,
    token: str | None = None,
    allowed_hosts: Collection[str] | None = None,
) -> FastAPI:
    """The app on an archive. ``token``: every request must carry it (see web.security).
    ``allowed_hosts``: the Host names it answers for (None: any); for a token-less app on
    loopback, so that a DNS-rebinding web page cannot reach it."""
    app = FastAPI(
        title="mfawatch review API",
        summary="The review queue, changes, pages, archived versions and search of an archive.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # both load their assets from a CDN
        redoc_url=None,
    )
    app.state.sessions = sessions
    app.include_router(api.router)
    app.include_router(routes.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(ArchiveDamaged, _damaged)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    security.install(app, token, allowed_hosts)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _not_found(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    return render(request, "error.html", {"title": "Not found", "message": str(exc)}, 404)


async def _damaged(request: Request, exc: Exception) -> Response:
    """Stored bytes that no longer hash to what was recorded (a body shown raw, a bundle):
    the server's archive is at fault, so a 500, but said plainly, not a traceback."""
    message = f"{exc} (`mfawatch verify` checks the whole archive)"
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=500)
    context = {"title": "Archive damaged", "message": message}
    return render(request, "error.html", context, 500)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _is_api(request) or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    titles = {400: "Bad request", 403: "Refused", 404: "Not found", 405: "Method not allowed"}
    title = titles.get(exc.status_code, "Error")
    return render(request, "error.html", {"title": title, "message": exc.detail}, exc.status_code)


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_api(request):
        return await request_validation_exception_handler(request, exc)
    if all(e["loc"][0] == "path" for e in exc.errors()):  # /changes/-1, /pages/99999999999
        message = f"nothing in the archive is at {request.url.path}"
        return render(request, "error.html", {"title": "Not found", "message": message}, 404)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in exc.errors()
    )
    return render(request, "error.html", {"title": "Bad request", "message": problems}, 400)
