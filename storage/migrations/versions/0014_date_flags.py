"""declared dates held against the archive

A change may carry a finding about the page's declared date (kernel.datecheck): backdated (a
date earlier than a fetch or capture that still showed the old text), or edited_under_date
(the text changed twice or more under one date), with the fetch that proves it. Existing
changes get theirs at the next backfill or crawl of a page with captures.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch_op:
        batch_op.add_column(sa.Column("date_flag", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("date_proof_fetch_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("date_note", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            "fk_changes_date_proof_fetch_id_fetches", "fetches", ["date_proof_fetch_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("changes") as batch_op:
        batch_op.drop_constraint("fk_changes_date_proof_fetch_id_fetches", type_="foreignkey")
        for name in ("date_note", "date_proof_fetch_id", "date_flag"):
            batch_op.drop_column(name)
