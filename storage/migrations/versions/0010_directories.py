"""directories

The missions a directory's list links (sites of their own, not in the sites file), with when
the list first and last showed each and when it left the list; and the news of each reading:
a mission new on the list, gone from it, back on it.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discovered_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directory", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("list_url", sa.Text(), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("gone_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discovered_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_discovered_sites_name")),
    )
    op.create_index(
        op.f("ix_discovered_sites_directory"), "discovered_sites", ["directory"], unique=False
    )
    op.create_table(
        "directory_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directory", sa.String(length=100), nullable=False),
        sa.Column("site_name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_directory_events_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_events")),
    )
    op.create_index(op.f("ix_directory_events_at"), "directory_events", ["at"], unique=False)
    op.create_index(
        op.f("ix_directory_events_run_id"), "directory_events", ["run_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("directory_events")
    op.drop_table("discovered_sites")
