"""Alembic environment: run with the engine that storage.db hands over."""

from __future__ import annotations

from typing import Any

from alembic import context

from storage.db import make_engine
from storage.models import Base

# Tables that other libraries own (APScheduler's job store) are not ours to migrate.
FOREIGN_TABLES = {"apscheduler_jobs"}
# Full-text search lives in migrations 0003 and 0005 only (FTS5 tables, PostgreSQL tsvectors):
# the models cannot describe it, so the drift check leaves it alone.
SEARCH_OBJECTS = ("versions_fts", "ix_versions_text_fts", "version_search")


UPGRADE_LOCK = 0x6D666177  # "mfaw": the PostgreSQL advisory lock held while migrating


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
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration copies a table and drops the old one, which foreign keys
            # pointing at it would refuse; the switch only works outside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        with connection.begin():
            # Processes that find the same empty or old database (a scheduler and the crawl it
            # starts) upgrade it one at a time: the second then finds it current.
            if sqlite:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK})")
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=True,  # SQLite cannot ALTER most things in place
                include_object=include_object,
                compare_type=True,
            )
            context.run_migrations()
            if sqlite:  # what the copies must still satisfy
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise RuntimeError(f"migration broke a foreign key: {tuple(broken)}")
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


run_migrations()
