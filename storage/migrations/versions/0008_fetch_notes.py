"""fetch notes

A fetch may carry a warning that is not a failure (the error column's): layout drift ("drift:
body matched fallback ..."), a block answer ("blocked: HTTP 403"). Existing rows have none.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fetches") as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fetches") as batch_op:
        batch_op.drop_column("note")
