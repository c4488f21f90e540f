"""Alembic environment: run with the engine that storage.db hands over."""

from __future__ import annotations

from typing import Any

from alembic import context

from storage.db import make_engine
from storage.models import Base

# Tables that other libraries own (APScheduler's job store) are not ours to migrate.
FOREIGN_TABLES = {"apscheduler_jobs"}
# Full-text search lives in migration 0003 only (FTS5 tables, a PostgreSQL expression index):
# the models cannot describe it, so the drift check leaves it alone.
SEARCH_OBJECTS = ("versions_fts", "ix_versions_text_fts")


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if type_ == "table" and name in FOREIGN_TABLES:
        return False
    return not (name or "").startswith(SEARCH_OBJECTS)


def run_migrations() -> None:
    config = context.config
    engine = config.attributes.get("engine") or make_engine(
        config.get_main_option("sqlalchemy.url") or ""
    )
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,  # SQLite cannot ALTER most things in place
            include_object=include_object,
            compare_type=True,
        )
        context.run_migrations()


run_migrations()
