"""The archive's tables: sites → pages → fetches and content versions → changes → reviews.

After EDGI's web-monitoring-db, with one twist: every fetch is a row, even when nothing
changed, so that the log proves how long a text stood and bounds each change to a window.
Content versions are stored once per page and normalized text; bodies (the raw HTML) once per
page and distinct bytes. Both are packed against a base (storage.packing), which is what keeps
thirty rounds of a ministry in a few megabytes; storage.content reads them back, explicitly and
in batches. These rows read nothing themselves: this module imports no other of storage.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the archive; use UTC-aware datetimes")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: object
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime}  # noqa: RUF012 - SQLAlchemy reads it


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    layout: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set when the first run that archived a page ends ok (storage.runs): until then new pages
    # are the baseline.
    baseline_at: Mapped[dt.datetime | None]

    pages: Mapped[list[Page]] = relationship(back_populates="site")


class Run(Base):
    """One crawl of one site."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # manual | schedule
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # storage.runs.RUN_STATES
    note: Mapped[str | None] = mapped_column(Text)  # why it failed or looks unhealthy
    # kernel.config.layout_fingerprint of the layout it extracted with: bytes already seen
    # need no new extraction unless the layout changed since.
    layout_hash: Mapped[str | None] = mapped_column(String(16))

    site: Mapped[Site] = relationship()


class Page(Base):
    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    # host/lang/key, e.g. seoul.mfa.gov.az/en/content/35: the same page under any URL variant.
    # Bounded, being unique (storage.storable.page_key); every other text that a server or a
    # page sends is a Text, since they send values of any length.
    key: Mapped[str] = mapped_column(String(500), unique=True)
    url: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # kernel.detect.PageStatus
    first_seen_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    declared_raw: Mapped[str | None] = mapped_column(Text)
    declared_date: Mapped[dt.date | None]
    declared_time: Mapped[dt.time | None]  # the time of day, when the page gives one
    # Where the declared value came from: the layout's date source (kernel.config.DATE_SOURCE).
    declared_source: Mapped[str | None] = mapped_column(String(100))
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("versions.id", use_alter=True)
    )
    # Validators from the last good response, for conditional requests.
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)

    site: Mapped[Site] = relationship(back_populates="pages")
    current_version: Mapped[ContentVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )


class ContentVersion(Base):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("page_id", "text_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"))
    text_hash: Mapped[str] = mapped_column(String(64))  # sha256 of kernel.text.comparison_key
    title: Mapped[str | None] = mapped_column(Text)
    # The text (the title line, then one paragraph a line), packed against the base's text:
    # read it with storage.content.read_text (or read_texts, many at once).
    packed_text: Mapped[bytes] = mapped_column(LargeBinary)
    base_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    depth: Mapped[int] = mapped_column(default=0)  # bases below this one
    first_seen_at: Mapped[dt.datetime]


class Body(Base):
    """Bytes as a server sent them: one row per page and distinct bytes, failed pages too."""

    __tablename__ = "bodies"
    __table_args__ = (UniqueConstraint("page_id", "raw_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"))
    raw_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the bytes
    # The text extracted from them; none when extraction failed.
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), index=True)
    # Packed against the base body's bytes (the site's first) plus the version's text: read
    # them with storage.content.read_body (or read_bodies).
    base_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id"))
    packed: Mapped[bytes] = mapped_column(LargeBinary)
    first_seen_at: Mapped[dt.datetime]


class Fetch(Base):
    __tablename__ = "fetches"
    __table_args__ = (Index("ix_fetches_page_id_fetched_at", "page_id", "fetched_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    fetched_at: Mapped[dt.datetime]
    # Only when it was not the page's URL (most fetches): read `.url`.
    other_url: Mapped[str | None] = mapped_column("url", Text)
    final_url: Mapped[str | None] = mapped_column(Text)  # only when redirected
    http_status: Mapped[int | None]
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id"))
    # The normalized text's hash is the version's: a version row is the text's identity.
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    declared_raw: Mapped[str | None] = mapped_column(Text)
    declared_date: Mapped[dt.date | None]
    declared_time: Mapped[dt.time | None]  # the time of day, when the page gives one
    # Where the declared value came from: the layout's date source (kernel.config.DATE_SOURCE).
    declared_source: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))  # Outcome
    error: Mapped[str | None] = mapped_column(Text)
    # A warning, not a failure: "drift: ..." (layout drift), "blocked: ..." (kernel.plan).
    note: Mapped[str | None] = mapped_column(Text)
    # kernel.status.FetchSource: crawled, or a web archive's capture (mfawatch backfill); a
    # capture keeps its memento's URL, the archive's digest and its identity (kernel.captures).
    source: Mapped[str] = mapped_column(String(10), default="live", server_default="live")
    archive_url: Mapped[str | None] = mapped_column(Text)
    archive_digest: Mapped[str | None] = mapped_column(Text)
    archive_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The response's status line and headers as received (kernel.headers), packed
    # (storage.headers); none for a fetch without a response, or from before they were kept.
    headers: Mapped[bytes | None] = mapped_column(LargeBinary)
    # kernel.chain: the hash of this fetch's values and of its page's fetch before it (by id),
    # and the version of the serialization it was hashed with. Set by storage.chain only.
    chain_hash: Mapped[str] = mapped_column(String(64))
    chain_version: Mapped[int] = mapped_column(SmallInteger)

    page: Mapped[Page] = relationship()
    version: Mapped[ContentVersion | None] = relationship()
    body: Mapped[Body | None] = relationship()

    @property
    def url(self) -> str:
        return self.other_url or self.page.url

    @property
    def raw_hash(self) -> str | None:
        return self.body.raw_hash if self.body else None


class Change(Base):
    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_status_detected_at", "status", "detected_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # kernel.detect.ChangeKind
    status: Mapped[str] = mapped_column(String(20), default="pending")
    detected_at: Mapped[dt.datetime]
    old_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    new_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    # The window: the last fetch that saw the old state, the first that saw the new one.
    old_fetch_id: Mapped[int | None] = mapped_column(ForeignKey("fetches.id"))
    new_fetch_id: Mapped[int] = mapped_column(ForeignKey("fetches.id"))
    old_declared: Mapped[dt.date | None]
    new_declared: Mapped[dt.date | None]
    old_declared_time: Mapped[dt.time | None]
    new_declared_time: Mapped[dt.time | None]
    words_added: Mapped[int] = mapped_column(default=0)
    words_removed: Mapped[int] = mapped_column(default=0)
    # Found in a web archive's past (its window starts at an archive capture): not queued
    # unless asked (kernel.status.ReviewStatus.UNQUEUED).
    historical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The declared date held against the page's fetches and captures (kernel.datecheck):
    # backdated, or edited_under_date; the fetch that proves it and the finding in words.
    date_flag: Mapped[str | None] = mapped_column(String(20))
    date_proof_fetch_id: Mapped[int | None] = mapped_column(ForeignKey("fetches.id"))
    date_note: Mapped[str | None] = mapped_column(Text)

    page: Mapped[Page] = relationship()
    old_version: Mapped[ContentVersion | None] = relationship(foreign_keys=[old_version_id])
    new_version: Mapped[ContentVersion | None] = relationship(foreign_keys=[new_version_id])
    old_fetch: Mapped[Fetch | None] = relationship(foreign_keys=[old_fetch_id])
    new_fetch: Mapped[Fetch] = relationship(foreign_keys=[new_fetch_id])
    date_proof_fetch: Mapped[Fetch | None] = relationship(foreign_keys=[date_proof_fetch_id])
    reviews: Mapped[list[Review]] = relationship(back_populates="change", order_by="Review.id")


class Review(Base):
    """One review decision; the change's status is the latest one."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(100))
    # kernel.chain, as on fetches: this decision and the change's decision before it.
    chain_hash: Mapped[str] = mapped_column(String(64))
    chain_version: Mapped[int] = mapped_column(SmallInteger)

    change: Mapped[Change] = relationship(back_populates="reviews")


class DiscoveredSite(Base):
    """A site that a directory's list linked (a ministry's mission), not one of the sites file:
    when the list first and last showed it, and when it left the list (None while listed)."""

    __tablename__ = "discovered_sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    directory: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # its site's name
    host: Mapped[str] = mapped_column(String(255))  # as page identities name it
    origin: Mapped[str] = mapped_column(Text)  # scheme://host[:port] as linked
    list_url: Mapped[str] = mapped_column(Text)  # the list page that linked it
    first_seen_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    gone_at: Mapped[dt.datetime | None]


class DirectoryEvent(Base):
    """A mission appearing on a directory's list, leaving it, or coming back: news."""

    __tablename__ = "directory_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    directory: Mapped[str] = mapped_column(String(100))
    site_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # storage.directories.EVENTS
    at: Mapped[dt.datetime] = mapped_column(index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)


class ChainBackfill(Base):
    """Rows written before the chain existed, chained afterwards from their stored values (by
    migration 0013): the chain vouches for them since ``chained_at`` only."""

    __tablename__ = "chain_backfills"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[str] = mapped_column(String(32))  # the migration that chained them
    chained_at: Mapped[dt.datetime]
    fetches: Mapped[int]
    last_fetch_id: Mapped[int | None]  # fetches up to this id were chained then
    reviews: Mapped[int]
    last_review_id: Mapped[int | None]
