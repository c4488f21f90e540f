"""Engines, sessions and schema upgrades.

Alembic is the only schema authority. ``open_database`` brings an empty or older database up to
date before first use; on the common path (already current) it costs one small query and no
Alembic import, which keeps the CLI's query commands quick.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mfawatch.errors import DatabaseError

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///mfawatch.db"
MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration; tests/test_migrations.py checks it against the scripts.
HEAD = "0006"


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else $MFAWATCH_DATABASE_URL, else ./mfawatch.db."""
    return url or os.environ.get("MFAWATCH_DATABASE_URL") or DEFAULT_URL


def describe(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            # A crawl and a CLI may write at once: wait for the lock instead of failing.
            kwargs["connect_args"] = {"timeout": 30}
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DatabaseError(f"bad database URL {describe(url)!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the crawl's writes
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def open_database(url: str | None = None, *, upgrade: bool = True) -> sessionmaker[Session]:
    """A session factory on an up-to-date database."""
    url = database_url(url)
    engine = make_engine(url)
    try:
        if upgrade and current_revision(engine) != HEAD:
            upgrade_schema(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseError(f"cannot use database {describe(url)}: {reason}") from None
    return sessionmaker(engine, expire_on_commit=False)


def close_database(factory: sessionmaker[Session]) -> None:
    """Close the pooled connections of a factory from open_database."""
    factory.kw["bind"].dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade_schema(engine: Engine) -> None:
    from alembic import command
    from alembic.util.exc import CommandError

    log.info("upgrading database schema to %s", HEAD)
    try:
        command.upgrade(alembic_config(engine), "head")
    except CommandError as exc:  # e.g. a revision this version does not know
        engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc).strip().splitlines()[0]
        raise DatabaseError(
            f"cannot upgrade database {where}: {reason} (written by a newer mfawatch?)"
        ) from None
