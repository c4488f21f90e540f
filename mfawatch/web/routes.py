"""The review app's HTML pages. Archived text reaches them only through autoescaped templates
and mfawatch.htmldiff; the raw archived HTML only through the sandboxed /versions/{id}/raw.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kernel.detect import KIND_PRIORITY, ChangeKind
from kernel.diffing import word_diff
from kernel.errors import NotFound
from kernel.status import REVIEW_STATES
from mfawatch.changeview import AFTER, change_pieces, fetch_note
from mfawatch.web import data
from mfawatch.web.render import render
from mfawatch.web.security import RAW_CSP, check_form_csrf
from storage.content import read_text, read_texts
from storage.models import ContentVersion
from storage.queries import (
    change_texts,
    date_flags,
    get_change,
    list_pages,
    page_history,
    review_change,
    version_raw,
)
from storage.search import search_versions

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(data.get_session)]


@router.get("/", response_class=HTMLResponse)
def queue(
    request: Request,
    session: SessionDep,
    kind: str = "",
    site: str = "",
    lang: str = "",
    since: str = "",
    status: str = "pending",
) -> HTMLResponse:
    filters = data.Filters.parse(status, kind, site, lang, since)
    changes, counts = data.queue(session, filters)
    sites, langs = data.choices(session)
    return render(
        request,
        "queue.html",
        {
            "filters": filters,
            "changes": changes,
            "counts": [(k, counts[k]) for k in KIND_PRIORITY if counts[k]],
            "total": sum(counts.values()),
            "kinds": list(ChangeKind),
            "statuses": data.STATUSES,
            "sites": sites,
            "langs": langs,
        },
    )


@router.get("/changes/{change_id}", response_class=HTMLResponse)
def change(request: Request, change_id: data.Id, session: SessionDep) -> HTMLResponse:
    found = get_change(session, change_id)
    return render(
        request,
        "change.html",
        {
            "change": found,
            "diff": data.diff_blocks(change_pieces(found, change_texts(session, [found]))),
            "after": AFTER.get(found.kind),
            "fetch_note": fetch_note(
                found.new_fetch.http_status, found.new_fetch.outcome, found.new_fetch.error
            ),
            "live": data.live_url(found.page.url),
            "reviews": found.reviews,
        },
    )


@router.post("/changes/{change_id}/review")
def review(
    request: Request,
    change_id: data.Id,
    session: SessionDep,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Record the decision, then on to the next pending change (or the empty queue)."""
    check_form_csrf(request, csrf_token)
    if decision not in REVIEW_STATES:
        raise HTTPException(400, f"decision must be one of {', '.join(REVIEW_STATES)}")
    found = review_change(session, change_id, decision, note.strip() or None, data.reviewer())
    session.commit()
    following = data.next_pending(session, found)
    return RedirectResponse("/" if following is None else f"/changes/{following}", 303)


@router.get("/pages", response_class=HTMLResponse)
def pages(request: Request, session: SessionDep) -> HTMLResponse:
    return render(request, "pages.html", {"pages": list_pages(session)})


@router.get("/pages/{page_id}", response_class=HTMLResponse)
def page(request: Request, page_id: data.Id, session: SessionDep) -> HTMLResponse:
    context = _page_context(session, page_id)
    return render(request, "page.html", context)


@router.get("/pages/{page_id}/compare", response_class=HTMLResponse)
def compare(
    request: Request, page_id: data.Id, session: SessionDep, a: str = "", b: str = ""
) -> HTMLResponse:
    """Two versions of one page, diffed as a change is (the last two by default)."""
    context = _page_context(session, page_id)
    default_a, default_b = context["compare"]
    try:
        old_id, new_id = int(a or default_a or 0), int(b or default_b or 0)
    except ValueError:
        raise HTTPException(400, "a and b must be version ids") from None
    old, new = _page_version(session, page_id, old_id), _page_version(session, page_id, new_id)
    context.update(
        compare=(old.id, new.id),
        old=old,
        new=new,
        diff=data.diff_blocks(word_diff(*read_texts(session, [old, new]))),
    )
    return render(request, "page.html", context)


@router.get("/versions/{version_id}", response_class=HTMLResponse)
def version(request: Request, version_id: data.Id, session: SessionDep) -> HTMLResponse:
    found = data.get_version(session, version_id)
    return render(
        request,
        "version.html",
        {
            "version": found,
            "page": data.get_page(session, found.page_id),
            "paragraphs": [line for line in read_text(session, found).split("\n") if line.strip()],
        },
    )


@router.get("/versions/{version_id}/raw")
def raw(version_id: data.Id, session: SessionDep) -> Response:
    """The archived bytes as fetched; the CSP sandboxes them (no script runs, nothing loads)."""
    found = data.get_version(session, version_id)
    return Response(
        version_raw(session, found.id),
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": RAW_CSP},
    )


@router.get("/fetches/{fetch_id}/raw")
def fetch_raw(fetch_id: data.Id, session: SessionDep) -> Response:
    """The bytes one fetch received (their SHA-256 checked), sandboxed as /versions/…/raw."""
    from storage.received import get_fetch, received

    got = received(session, get_fetch(session, fetch_id))
    if got.body is None:
        raise NotFound(f"fetch {fetch_id} kept no body ({got.fetch.outcome})")
    return Response(
        got.body,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": RAW_CSP},
    )


@router.get("/changes/{change_id}/evidence.zip")
def evidence(change_id: data.Id, session: SessionDep) -> Response:
    """The change's evidence bundle (mfawatch.evidence), as `mfawatch evidence` writes it."""
    import io

    from mfawatch.evidence import write_bundle

    out = io.BytesIO()
    write_bundle(session, change_id, out)
    return Response(
        out.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="change-{change_id}.zip"'},
    )


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, session: SessionDep, q: str = "") -> HTMLResponse:
    hits = search_versions(session, q) if q.strip() else []
    return render(request, "search.html", {"q": q, "hits": hits})


def _page_context(session: Session, page_id: int) -> dict[str, Any]:
    found = data.get_page(session, page_id)
    versions = data.page_versions(session, page_id)
    pair: tuple[int | None, int | None] = (None, None)
    if versions:  # the last two texts, the natural first comparison
        pair = (versions[-2].id if len(versions) > 1 else versions[0].id, versions[-1].id)
    return {
        "page": found,
        "live": data.live_url(found.url),
        "timeline": [fetch for fetch, _digest in page_history(session, page_id)],
        "memento": data.live_url,  # an archive capture's link, if a browser may follow it
        "date_flag": date_flags(session, [page_id]).get(page_id),
        "versions": versions,
        "compare": pair,
        "diff": None,
    }


def _page_version(session: Session, page_id: int, version_id: int) -> ContentVersion:
    found = data.get_version(session, version_id)
    if found.page_id != page_id:
        raise NotFound(f"version {version_id} is not a version of page {page_id}")
    return found
