"""full-text search over archived versions

SQLite: an FTS5 table indexing versions.text (external content, kept in step by triggers).
PostgreSQL: a GIN index on to_tsvector('simple', text): 'simple' because the archive mixes
Azerbaijani, English and Russian, and no one stemmer fits all three.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE versions_fts USING fts5("
    "title, text, content='versions', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER versions_fts_insert AFTER INSERT ON versions BEGIN "
    "INSERT INTO versions_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER versions_fts_delete AFTER DELETE ON versions BEGIN "
    "INSERT INTO versions_fts(versions_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER versions_fts_update AFTER UPDATE ON versions BEGIN "
    "INSERT INTO versions_fts(versions_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO versions_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "INSERT INTO versions_fts(versions_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS versions_fts_update",
    "DROP TRIGGER IF EXISTS versions_fts_delete",
    "DROP TRIGGER IF EXISTS versions_fts_insert",
    "DROP TABLE IF EXISTS versions_fts",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    else:
        op.create_index(
            "ix_versions_text_fts",
            "versions",
            [sa.text("to_tsvector('simple', coalesce(title, '') || ' ' || text)")],
            postgresql_using="gin",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    else:
        op.drop_index("ix_versions_text_fts", table_name="versions")
