"""The JSON API's shapes: pydantic models, so that /api/openapi.json describes every answer."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class ChangeSummary(BaseModel):
    id: int
    url: str
    page_id: int
    page_key: str
    site: str
    lang: str
    title: str | None
    kind: str = Field(description="new_page, content_updated, silent_edit, date_only, …")
    status: str = Field(description="pending, accepted or dismissed")
    detected_at: dt.datetime
    old_last_updated: dt.date | None = Field(description="The date the old text declared")
    old_last_updated_time: dt.time | None = Field(
        default=None, description="Its time of day, when the page gave one"
    )
    new_last_updated: dt.date | None = Field(description="The date the new text declared")
    new_last_updated_time: dt.time | None = Field(
        default=None, description="Its time of day, when the page gave one"
    )
    words_added: int
    words_removed: int
    historical: bool = Field(
        default=False, description="Found in a web archive's past (mfawatch backfill)"
    )


class Window(BaseModel):
    last_seen_old: dt.datetime | None = Field(description="The last fetch that saw the old state")
    first_seen_new: dt.datetime = Field(description="The first fetch that saw the new state")


class FetchOutcome(BaseModel):
    http_status: int | None
    outcome: str
    error: str | None


class Decision(BaseModel):
    status: str
    note: str | None
    reviewer: str | None
    at: dt.datetime


class DiffPiece(BaseModel):
    op: Literal["equal", "delete", "insert"]
    text: str


class ChangeDetail(ChangeSummary):
    old_version_id: int | None
    new_version_id: int | None
    window: Window
    new_fetch: FetchOutcome
    reviews: list[Decision]
    diff: list[DiffPiece] = Field(description="The word diff; paragraphs end with a newline")


class ReviewIn(BaseModel):
    decision: Literal["accepted", "dismissed", "pending"]
    note: str | None = None


class PageSummary(BaseModel):
    id: int
    url: str
    key: str
    site: str
    lang: str
    title: str | None
    status: str = Field(description="active, removed or broken")
    last_updated: dt.date | None = Field(description="The date the page last declared")
    last_updated_time: dt.time | None = Field(
        default=None, description="Its time of day, when the page gave one"
    )
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    current_version_id: int | None


class TimelineFetch(BaseModel):
    id: int
    fetched_at: dt.datetime
    http_status: int | None
    last_updated: dt.date | None
    last_updated_time: dt.time | None = None
    last_updated_raw: str | None
    last_updated_source: str | None = Field(
        default=None, description="Where it came from: the layout's date source (label, meta:…)"
    )
    outcome: str
    version_id: int | None
    content_hash: str | None
    error: str | None
    url: str
    final_url: str | None
    source: str = Field(default="live", description="live, or the web archive (wayback, warc)")
    archive_url: str | None = Field(default=None, description="An archive capture's memento")


class VersionRef(BaseModel):
    id: int
    first_seen_at: dt.datetime
    content_hash: str


class PageDetail(PageSummary):
    timeline: list[TimelineFetch] = Field(description="Every fetch, oldest first")
    versions: list[VersionRef] = Field(description="Every text the page has had, oldest first")


class Version(BaseModel):
    id: int
    page_id: int
    url: str
    title: str | None
    first_seen_at: dt.datetime
    content_hash: str
    text: str = Field(description="One paragraph a line")


class SearchHit(BaseModel):
    version_id: int
    page_id: int
    page_key: str
    url: str
    title: str | None
    first_seen_at: dt.datetime
    first_seen_by: str = Field(
        default="live", description="live, or the web archive whose capture first had it"
    )
    snippet: str = Field(description="Plain text around the matches")
    matches: list[str] = Field(description="The matched words, as they appear in the snippet")
