"""packed texts and bodies

Versions' texts are packed (storage.packing) against the page's previous text. Raw HTML moves
to `bodies`, one row per page and distinct bytes, packed against the site's first body and its
own text. Fetches point at their body and keep a URL only when it is not the page's. The search
index keeps no copy of the texts: SQLite's FTS5 table becomes contentless (detail=column), and
PostgreSQL's expression index becomes a tsvector table.

The data are moved, not dropped: the downgrade unpacks them again.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from storage.packing import MAX_DEPTH, pack, unpack

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"
SQLITE_OLD_FTS = [
    "DROP TRIGGER IF EXISTS versions_fts_update",
    "DROP TRIGGER IF EXISTS versions_fts_delete",
    "DROP TRIGGER IF EXISTS versions_fts_insert",
    "DROP TABLE IF EXISTS versions_fts",
]
SQLITE_NEW_FTS = f"CREATE VIRTUAL TABLE versions_fts USING fts5(title, text, content='', detail=column, {TOKENIZE})"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for statement in SQLITE_OLD_FTS:
            op.execute(statement)
    else:
        op.drop_index("ix_versions_text_fts", table_name="versions")
    op.create_table(
        "bodies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("raw_hash", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("base_id", sa.Integer(), nullable=True),
        sa.Column("packed", sa.LargeBinary(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["base_id"], ["bodies.id"], name="fk_bodies_base_id_bodies"),
        sa.ForeignKeyConstraint(["page_id"], ["pages.id"], name="fk_bodies_page_id_pages"),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name="fk_bodies_version_id_versions"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bodies"),
        sa.UniqueConstraint("page_id", "raw_hash", name="uq_bodies_page_id"),
    )
    op.create_index("ix_bodies_version_id", "bodies", ["version_id"])
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("packed_text", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("base_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("depth", sa.Integer(), nullable=True))
    with op.batch_alter_table("fetches") as batch:
        batch.add_column(sa.Column("body_id", sa.Integer(), nullable=True))
        batch.alter_column("url", existing_type=sa.Text(), nullable=True)

    texts = _pack_existing(op.get_bind())

    with op.batch_alter_table("versions") as batch:
        batch.alter_column("packed_text", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("depth", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_versions_base_id_versions", "versions", ["base_id"], ["id"])
        batch.drop_column("text")
        batch.drop_column("raw_hash")
        batch.drop_column("raw_html")
    with op.batch_alter_table("fetches") as batch:
        batch.create_foreign_key("fk_fetches_body_id_bodies", "bodies", ["body_id"], ["id"])
        batch.drop_column("raw_hash")
    _create_search(op.get_bind(), sqlite, texts)


def _pack_existing(conn: Any) -> dict[int, tuple[str | None, str]]:
    """Pack every version's text and raw HTML as the archive now would; their texts, by id."""
    rows = conn.execute(
        sa.text(
            "SELECT v.id, v.page_id, p.site_id, v.title, v.text, v.raw_html, v.first_seen_at "
            "FROM versions v JOIN pages p ON p.id = v.page_id ORDER BY v.page_id, v.id"
        )
    ).all()
    texts: dict[int, tuple[str | None, str]] = {}
    previous: dict[int, tuple[int, int, bytes]] = {}  # page → (version id, depth, text)
    keyframes: dict[int, tuple[int, bytes]] = {}  # site → (body id, bytes)
    for vid, page_id, site_id, title, body_text, raw_html, seen_at in rows:
        text_bytes = body_text.encode()
        base = previous.get(page_id)
        if base is not None and base[1] + 1 >= MAX_DEPTH:
            base = None
        conn.execute(
            sa.text("UPDATE versions SET packed_text = :p, base_id = :b, depth = :d WHERE id = :i"),
            {
                "p": pack(text_bytes, base[2] if base else b""),
                "b": base[0] if base else None,
                "d": base[1] + 1 if base else 0,
                "i": vid,
            },
        )
        previous[page_id] = (vid, base[1] + 1 if base else 0, text_bytes)
        texts[vid] = (title, body_text)
        raw = zlib.decompress(raw_html)
        raw_hash = hashlib.sha256(raw).hexdigest()
        keyframe = keyframes.get(site_id)
        dictionary = (keyframe[1] if keyframe else b"") + text_bytes
        body_id = conn.execute(
            sa.text(
                "INSERT INTO bodies (page_id, raw_hash, version_id, base_id, packed, "
                "first_seen_at) VALUES (:page, :hash, :v, :base, :packed, :at) RETURNING id"
            ),
            {
                "page": page_id,
                "hash": raw_hash,
                "v": vid,
                "base": keyframe[0] if keyframe else None,
                "packed": pack(raw, dictionary),
                "at": seen_at,
            },
        ).scalar_one()
        keyframes.setdefault(site_id, (body_id, raw))
        conn.execute(
            sa.text("UPDATE fetches SET body_id = :b WHERE version_id = :v AND raw_hash = :h"),
            {"b": body_id, "v": vid, "h": raw_hash},
        )
    # NULL is "the page's URL": most fetches used it.
    conn.execute(
        sa.text(
            "UPDATE fetches SET url = NULL "
            "WHERE url = (SELECT p.url FROM pages p WHERE p.id = fetches.page_id)"
        )
    )
    return texts


def _create_search(conn: Any, sqlite: bool, texts: dict[int, tuple[str | None, str]]) -> None:
    if sqlite:
        op.execute(SQLITE_NEW_FTS)
        insert = "INSERT INTO versions_fts(rowid, title, text) VALUES (:i, :t, :x)"
        for vid, (title, body_text) in texts.items():
            conn.execute(sa.text(insert), {"i": vid, "t": title or "", "x": body_text})
        return
    op.create_table(
        "version_search",
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("document", postgresql.TSVECTOR(), nullable=False),
    )
    op.create_index(
        "ix_version_search_document", "version_search", ["document"], postgresql_using="gin"
    )
    if texts:
        conn.execute(
            sa.text(
                "INSERT INTO version_search(version_id, document) "
                "VALUES (:i, to_tsvector('simple', :doc))"
            ),
            [{"i": vid, "doc": f"{title or ''} {t}"} for vid, (title, t) in texts.items()],
        )


def downgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TABLE IF EXISTS versions_fts")
    else:
        op.drop_table("version_search")
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("raw_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("raw_html", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("fetches") as batch:
        batch.add_column(sa.Column("raw_hash", sa.String(length=64), nullable=True))
    _unpack_existing(conn)
    with op.batch_alter_table("fetches") as batch:
        batch.drop_constraint("fk_fetches_body_id_bodies", type_="foreignkey")
        batch.drop_column("body_id")
        batch.alter_column("url", existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table("versions") as batch:
        batch.drop_constraint("fk_versions_base_id_versions", type_="foreignkey")
        batch.drop_column("packed_text")
        batch.drop_column("base_id")
        batch.drop_column("depth")
        batch.alter_column("text", existing_type=sa.Text(), nullable=False)
        batch.alter_column("raw_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("raw_html", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_index("ix_bodies_version_id", table_name="bodies")
    op.drop_table("bodies")
    if sqlite:
        op.execute(
            "CREATE VIRTUAL TABLE versions_fts USING fts5("
            f"title, text, content='versions', content_rowid='id', {TOKENIZE})"
        )
        op.execute(
            "CREATE TRIGGER versions_fts_insert AFTER INSERT ON versions BEGIN "
            "INSERT INTO versions_fts(rowid, title, text) VALUES (new.id, new.title, new.text); "
            "END"
        )
        op.execute(
            "CREATE TRIGGER versions_fts_delete AFTER DELETE ON versions BEGIN "
            "INSERT INTO versions_fts(versions_fts, rowid, title, text) "
            "VALUES ('delete', old.id, old.title, old.text); END"
        )
        op.execute(
            "CREATE TRIGGER versions_fts_update AFTER UPDATE ON versions BEGIN "
            "INSERT INTO versions_fts(versions_fts, rowid, title, text) "
            "VALUES ('delete', old.id, old.title, old.text); "
            "INSERT INTO versions_fts(rowid, title, text) VALUES (new.id, new.title, new.text); "
            "END"
        )
        op.execute("INSERT INTO versions_fts(versions_fts) VALUES ('rebuild')")
    else:
        op.create_index(
            "ix_versions_text_fts",
            "versions",
            [sa.text("to_tsvector('simple', coalesce(title, '') || ' ' || text)")],
            postgresql_using="gin",
        )


def _unpack_existing(conn: Any) -> None:
    texts: dict[int, bytes] = {}
    for vid, packed, base_id in conn.execute(
        sa.text("SELECT id, packed_text, base_id FROM versions ORDER BY id")
    ):
        texts[vid] = unpack(packed, texts[base_id] if base_id else b"")
        conn.execute(sa.text("UPDATE versions SET text = :t WHERE id = :i"), {
            "t": texts[vid].decode(), "i": vid
        })  # fmt: skip
    raws: dict[int, bytes] = {}
    for bid, vid, base_id, packed, raw_hash in conn.execute(
        sa.text("SELECT id, version_id, base_id, packed, raw_hash FROM bodies ORDER BY id")
    ):
        dictionary = (raws[base_id] if base_id else b"") + (texts[vid] if vid else b"")
        raws[bid] = unpack(packed, dictionary)
        if vid is not None:  # a version keeps the first bytes it was seen in
            conn.execute(
                sa.text(
                    "UPDATE versions SET raw_hash = :h, raw_html = :r "
                    "WHERE id = :i AND raw_html IS NULL"
                ),
                {"h": raw_hash, "r": zlib.compress(raws[bid], 6), "i": vid},
            )
    empty = {"h": hashlib.sha256(b"").hexdigest(), "r": zlib.compress(b"", 6)}
    conn.execute(
        sa.text("UPDATE versions SET raw_hash = :h, raw_html = :r WHERE raw_html IS NULL"), empty
    )
    conn.execute(
        sa.text(
            "UPDATE fetches SET raw_hash = (SELECT raw_hash FROM bodies b WHERE b.id = body_id)"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE fetches SET url = (SELECT p.url FROM pages p WHERE p.id = fetches.page_id) "
            "WHERE url IS NULL"
        )
    )
