"""declared source

A declared date may come from the visible label line or from a machine-readable place the
layout names (extract.date_sources: a <meta> value, JSON-LD, <time datetime>, the
Last-Modified header): each fetch, and each page, keeps which one. Before this revision the
label line was the only source: rows with a declared value get "label".

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("fetches", "pages")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("declared_source", sa.String(100), nullable=True))
        op.execute(
            sa.text(
                f"UPDATE {table} SET declared_source = 'label' WHERE declared_raw IS NOT NULL"
            )
        )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("declared_source")
