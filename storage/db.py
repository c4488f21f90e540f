"""Engines, sessions and schema upgrades.

Alembic is the only schema authority. ``open_database`` brings an empty or older database up to
date before first use; on the common path (already current) it costs one small query and no
Alembic import, which keeps the CLI's query commands quick.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import DatabaseError
from kernel.text import printable

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///mfawatch.db"
MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration; tests/test_migrations.py checks it against the scripts.
HEAD = "0014"


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else $MFAWATCH_DATABASE_URL, else ./mfawatch.db.

    An empty argument is a mistake (`--db ""`), not a wish for the default.
    """
    if url is not None and not url.strip():
        raise DatabaseError(f"the database URL is empty ({url!r}): give e.g. {DEFAULT_URL}")
    return url or os.environ.get("MFAWATCH_DATABASE_URL") or DEFAULT_URL


def describe(url: str) -> str:
    """The URL with any password hidden, for messages and logs.

    >>> describe("postgresql://me:s3cret@db/x")
    'postgresql://me:***@db/x'
    >>> describe("mysql+nosuch://me:s3cret@db:x/y")
    'mysql+nosuch://***@db:x/y'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # As typed, minus what may be a password (between :// and @).
        return _USER_INFO.sub("://***@", url)


_USER_INFO = re.compile(r"://[^/@]*@")


def _not_a_url(url: str) -> str:
    """What to say about a --db that SQLAlchemy cannot parse (a file path, most often).

    >>> print(_not_a_url("/srv/archive.db"))
    not a database URL: '/srv/archive.db' (a SQLite file is sqlite:////srv/archive.db)
    """
    typed = repr(describe(url))  # repr: control characters shown, not obeyed
    if "://" in url:
        return f"not a database URL: {typed} (see {URL_FORMS})"
    return f"not a database URL: {typed} (a SQLite file is sqlite:///{printable(url)})"


URL_FORMS = "sqlite:///relative.db, sqlite:////absolute.db, postgresql://user@host/db"


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseError(_not_a_url(url)) from None
    try:
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            # A crawl and a CLI may write at once: wait for the lock instead of failing.
            kwargs["connect_args"] = {"timeout": 30}
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DatabaseError(
            f"bad database URL {describe(url)!r}: {exc} (see {URL_FORMS})"
        ) from None
    except ImportError as exc:  # a dialect SQLAlchemy knows whose driver is not installed
        raise DatabaseError(
            f"no driver for database URL {describe(url)!r} ({exc}); "
            "mfawatch uses SQLite and PostgreSQL (psycopg)"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the crawl's writes
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def open_database(
    url: str | None = None, *, upgrade: bool = True, create: bool = True
) -> sessionmaker[Session]:
    """A session factory on an up-to-date database.

    With ``create`` false, a database without mfawatch's tables (or a SQLite file that does
    not exist) is an error, and nothing is created: a query run in the wrong folder says so.
    """
    url = database_url(url)
    engine = make_engine(url)
    try:
        if not create:
            _must_exist(engine, url)
        if upgrade or not create:
            revision = current_revision(engine)
            if revision is None and not create:
                raise DatabaseError(f"no archive in {_where(engine, url)}: {NO_ARCHIVE_HINT}")
            if upgrade and revision != HEAD:
                upgrade_schema(engine)
    except DatabaseError:
        engine.dispose()
        raise
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseError(f"cannot use database {describe(url)}: {reason}") from None
    return sessionmaker(engine, expire_on_commit=False)


NO_ARCHIVE_HINT = "`mfawatch crawl` creates one; or give --db URL / $MFAWATCH_DATABASE_URL"


def _sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database (None: in memory, or not SQLite)."""
    name = engine.url.database
    if engine.dialect.name != "sqlite" or not name or name == ":memory:":
        return None
    if engine.url.query.get("uri") == "true":  # sqlite:///file:PATH?mode=ro&uri=true
        name = name.removeprefix("file:").split("?")[0]
        if not name or name == ":memory:" or engine.url.query.get("mode") == "memory":
            return None
    return Path(name)


def _where(engine: Engine, url: str) -> str:
    found = _sqlite_file(engine)
    return repr(str(found.absolute())) if found else describe(url)


def _must_exist(engine: Engine, url: str) -> None:
    found = _sqlite_file(engine)
    if found is not None and not found.exists():
        raise DatabaseError(f"no archive at {_where(engine, url)}: {NO_ARCHIVE_HINT}")


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

    # Alembic's default stdout is the one of the moment it was imported (a default argument),
    # which may since have been closed (a command run in process by a test's CliRunner).
    cfg = Config(stdout=sys.stdout)
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
