"""a verifiable fetch log

Every fetch and every review decision gets a chain hash (kernel.chain): over its own values and
the hash of the row before it in its chain (a page's fetches, a change's decisions, by id).
Rows already in the archive are chained here, in id order, from their stored values, and
chain_backfills records that it was done and when: `mfawatch verify` says that the chain vouches
for those rows since then only.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from alembic import op

from kernel.chain import FetchLink, ReviewLink, fetch_link, link_hash
from storage.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
BATCH = 5000
VERSION = 1  # the serialization these rows are chained with, whatever is current later
TABLES = ("fetches", "reviews")

# The columns as they are at this revision (not the models', which move on).
fetches = sa.table(
    "fetches",
    sa.column("id", sa.Integer()),
    sa.column("page_id", sa.Integer()),
    sa.column("fetched_at", UTCDateTime()),
    sa.column("url", sa.Text()),
    sa.column("http_status", sa.Integer()),
    sa.column("body_id", sa.Integer()),
    sa.column("version_id", sa.Integer()),
    sa.column("declared_date", sa.Date()),
    sa.column("declared_time", sa.Time()),
    sa.column("outcome", sa.String()),
    sa.column("error", sa.Text()),
    sa.column("chain_hash", sa.String()),
    sa.column("chain_version", sa.SmallInteger()),
)
pages = sa.table("pages", sa.column("id", sa.Integer()), sa.column("url", sa.Text()))
bodies = sa.table("bodies", sa.column("id", sa.Integer()), sa.column("raw_hash", sa.String()))
versions = sa.table(
    "versions", sa.column("id", sa.Integer()), sa.column("text_hash", sa.String())
)
reviews = sa.table(
    "reviews",
    sa.column("id", sa.Integer()),
    sa.column("change_id", sa.Integer()),
    sa.column("status", sa.String()),
    sa.column("note", sa.Text()),
    sa.column("reviewer", sa.String()),
    sa.column("decided_at", UTCDateTime()),
    sa.column("chain_hash", sa.String()),
    sa.column("chain_version", sa.SmallInteger()),
)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("chain_version", sa.SmallInteger(), nullable=True))
    op.create_table(
        "chain_backfills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.String(length=32), nullable=False),
        sa.Column("chained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetches", sa.Integer(), nullable=False),
        sa.Column("last_fetch_id", sa.Integer(), nullable=True),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("last_review_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_chain_backfills"),
    )
    bind = op.get_bind()
    chained_fetches, last_fetch = _chain_fetches(bind)
    chained_reviews, last_review = _chain_reviews(bind)
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("chain_hash", existing_type=sa.String(64), nullable=False)
            batch_op.alter_column("chain_version", existing_type=sa.SmallInteger(), nullable=False)
    if not (chained_fetches or chained_reviews):
        return
    backfills = sa.table(
        "chain_backfills",
        *(sa.column(name) for name in ("revision", "fetches", "last_fetch_id", "reviews")),
        sa.column("last_review_id"),
        sa.column("chained_at", UTCDateTime()),
    )
    bind.execute(
        sa.insert(backfills).values(
            revision=revision,
            chained_at=dt.datetime.now(dt.UTC),
            fetches=chained_fetches,
            last_fetch_id=last_fetch,
            reviews=chained_reviews,
            last_review_id=last_review,
        )
    )
    # Said at the default log level: the user should know the chain starts here.
    log.warning(
        "migration 0013 chained %d fetches and %d review decisions written before the chain "
        "existed, from their stored values",
        chained_fetches,
        chained_reviews,
    )


def _chain_fetches(bind: Any) -> tuple[int, int | None]:
    query = (
        sa.select(
            fetches,
            sa.func.coalesce(fetches.c.url, pages.c.url).label("requested"),
            bodies.c.raw_hash,
            versions.c.text_hash,
        )
        .select_from(
            fetches.join(pages, fetches.c.page_id == pages.c.id)
            .outerjoin(bodies, fetches.c.body_id == bodies.c.id)
            .outerjoin(versions, fetches.c.version_id == versions.c.id)
        )
        .order_by(fetches.c.id)
        .limit(BATCH)
    )
    heads: dict[int, str] = {}
    done, last = 0, None

    def link(row: Any) -> FetchLink:
        values = row._mapping
        return fetch_link(
            values, url=values["requested"], body_hash=row.raw_hash, text_hash=row.text_hash
        )

    while rows := bind.execute(query.where(fetches.c.id > (last or 0))).all():
        done, last = done + len(rows), rows[-1].id
        _write(bind, fetches, heads, [(row.id, row.page_id, link(row)) for row in rows])
    return done, last


def _chain_reviews(bind: Any) -> tuple[int, int | None]:
    query = sa.select(reviews).order_by(reviews.c.id).limit(BATCH)
    heads: dict[int, str] = {}
    done, last = 0, None
    while rows := bind.execute(query.where(reviews.c.id > (last or 0))).all():
        done, last = done + len(rows), rows[-1].id
        links = [
            (r.id, r.change_id, ReviewLink(r.change_id, r.status, r.note, r.reviewer, r.decided_at))
            for r in rows
        ]
        _write(bind, reviews, heads, links)
    return done, last


def _write(
    bind: Any, table: Any, heads: dict[int, str], links: list[tuple[int, int, Any]]
) -> None:
    """Chain these rows (id order) after their chains' heads, and store their hashes."""
    updates = []
    for row_id, chain, link in links:
        heads[chain] = link_hash(link, heads.get(chain), VERSION)
        updates.append({"row_id": row_id, "digest": heads[chain]})
    bind.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"))
        .values(chain_hash=sa.bindparam("digest"), chain_version=VERSION),
        updates,
    )


def downgrade() -> None:
    op.drop_table("chain_backfills")
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("chain_version")
            batch_op.drop_column("chain_hash")
