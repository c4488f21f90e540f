"""declared time

A declared "last updated" value may carry a time of day ("10/03/2017 - 08:59"): kept beside
the declared date, as written (no time zone), on fetches, pages and both sides of a change.
Existing rows have none.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = {
    "fetches": ["declared_time"],
    "pages": ["declared_time"],
    "changes": ["old_declared_time", "new_declared_time"],
}


def upgrade() -> None:
    for table, names in COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for name in names:
                batch_op.add_column(sa.Column(name, sa.Time(), nullable=True))


def downgrade() -> None:
    for table, names in COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for name in names:
                batch_op.drop_column(name)
