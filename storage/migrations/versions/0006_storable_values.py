"""storable values

What servers and pages send has no length a crawler can promise: the validators (ETag,
Last-Modified), the declared-date text and the language of a page's URL become text columns.
PostgreSQL refused a longer value, and with it the batch of other pages' fetches it came in.
The page key stays bounded (it is unique): storage.storable cuts a longer one.

The downgrade cuts longer values to the old lengths.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> (column, its old length)
COLUMNS = {
    "pages": [("lang", 10), ("declared_raw", 200), ("etag", 200), ("last_modified", 100)],
    "fetches": [("etag", 200), ("last_modified", 100), ("declared_raw", 200)],
}
NOT_NULL = {("pages", "lang")}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for column, length in columns:
                batch_op.alter_column(
                    column,
                    existing_type=sa.String(length),
                    type_=sa.Text(),
                    existing_nullable=(table, column) not in NOT_NULL,
                )


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        for column, length in columns:
            op.execute(
                sa.text(
                    f"UPDATE {table} SET {column} = substr({column}, 1, {length}) "
                    f"WHERE length({column}) > {length}"
                )
            )
        with op.batch_alter_table(table) as batch_op:
            for column, length in columns:
                batch_op.alter_column(
                    column,
                    existing_type=sa.Text(),
                    type_=sa.String(length),
                    existing_nullable=(table, column) not in NOT_NULL,
                )
