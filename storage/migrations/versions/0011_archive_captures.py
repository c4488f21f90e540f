"""archive captures

A fetch may be a web archive's capture of the page (mfawatch backfill): its source (live,
wayback, warc), the memento's URL, the archive's digest and the capture's identity, unique so
that a backfill never records a capture twice. A change found in that past is historical.
Existing fetches are live; existing changes are not historical.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fetches") as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(10), nullable=False, server_default="live")
        )
        batch_op.add_column(sa.Column("archive_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("archive_digest", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("archive_key", sa.String(64), nullable=True))
        batch_op.create_unique_constraint("uq_fetches_archive_key", ["archive_key"])
    with op.batch_alter_table("changes") as batch_op:
        batch_op.add_column(
            sa.Column("historical", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("changes") as batch_op:
        batch_op.drop_column("historical")
    with op.batch_alter_table("fetches") as batch_op:
        batch_op.drop_constraint("uq_fetches_archive_key", type_="unique")
        for name in ("archive_key", "archive_digest", "archive_url", "source"):
            batch_op.drop_column(name)
