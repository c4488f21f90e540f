"""response headers

Each fetch keeps the status line and headers of its response as received, packed
(storage.headers), for WARC export and evidence. Fetches from before have none; an export
synthesizes theirs and says so.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fetches") as batch_op:
        batch_op.add_column(sa.Column("headers", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fetches") as batch_op:
        batch_op.drop_column("headers")
