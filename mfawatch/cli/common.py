"""What every command shares: the database, the config, parsing dates, printing safely."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import typer

from kernel.errors import ConfigError, MfawatchError
from kernel.text import json_text

# Imported where used: Rich, the sites file's parser and the ORM cost a query command time
# (and --json prints without Rich).
if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.orm import Session, sessionmaker

    from kernel.config import Config

# `mfawatch crawl --config FILE` and `mfawatch --config FILE crawl` both work.
CONFIG_OPTION = typer.Option("--config", "-c", help="Sites file (as the global --config).")


@functools.cache
def console() -> Console:
    from rich.console import Console

    shown = Console(highlight=False)
    if not shown.is_terminal:  # piped or captured: no terminal to fit, keep rows whole
        shown.width = 160
    return shown


@dataclass
class State:
    db_url: str | None
    config_path: str | None
    verbose: bool = False
    may_create: bool = False  # True for the commands in mfawatch.cli.CREATES
    _sessions: sessionmaker[Session] | None = field(default=None, repr=False)

    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            from storage.db import open_database

            self._sessions = open_database(self.db_url, create=self.may_create)
        return self._sessions

    def close(self) -> None:
        if self._sessions is not None:
            from storage.db import close_database

            close_database(self._sessions)
            self._sessions = None

    def use_config(self, path: str | None) -> None:
        """A command's own --config (as in `mfawatch crawl --config FILE`) wins."""
        if path is not None:
            self.config_path = config_option(path)

    def config(self) -> Config:
        from kernel.config import load_config

        return load_config(self.config_path)

    def identify(self, url: str) -> str | None:
        """A URL's page identity under any configured layout (None if none applies)."""
        from kernel.config import page_identity

        try:
            layouts = self.config().layouts()
        except ConfigError:
            return None  # a query must not need a valid sites file
        for layout in layouts:
            found = page_identity(layout, url)
            if found:
                return str(found[0])
        return None


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"mfawatch: error: {message}", file=sys.stderr)
    sys.exit(code)


def parse_when(value: str, *, end_of_day: bool = False) -> dt.datetime:
    """An ISO date or date-time given on the command line, as aware UTC.

    A bare date means its start, or with ``end_of_day`` its last moment: "what did the page
    say on 1 March" includes every fetch of 1 March.

    >>> parse_when("2023-03-01", end_of_day=True).isoformat()
    '2023-03-01T23:59:59.999999+00:00'
    >>> parse_when("2023-03-01T10:00+04:00").isoformat()
    '2023-03-01T06:00:00+00:00'
    """
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            moment = dt.time.max if end_of_day else dt.time.min
            return dt.datetime.combine(day, moment, tzinfo=dt.UTC)
        parsed = dt.datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except ValueError:
        raise MfawatchError(
            f"not a date: {value!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM])"
        ) from None
    except OverflowError:  # 9999-12-31T23:59:59-12:00 is in year 10000 in UTC
        raise MfawatchError(
            f"date out of range: {value!r} (in UTC it is not in years 1-9999)"
        ) from None


def at_least_one(value: int, option: str) -> int:
    """A count such as --limit: 0 or less is a mistake, not "no limit"."""
    if value < 1:
        raise MfawatchError(f"{option} must be 1 or more, got {value}")
    return value


def print_json(data: Any) -> None:
    sys.stdout.write(json_text(data) + "\n")


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[IO[bytes]]:
    """A binary file written whole or not at all: a temporary beside it, then a rename
    (-o of report, body, export and evidence)."""
    if not path.name or path.is_dir():
        raise MfawatchError(f"-o names no file to write: {str(path)!r}")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # 0o666 and the umask, as for any new file (a temporary file would be private).
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise MfawatchError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise MfawatchError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def config_option(path: str) -> str:
    """--config as given; empty, it names no file (rather than meaning the default)."""
    if not path.strip():
        raise MfawatchError("--config is empty: name a sites file")
    return path


def site_list(value: str | None) -> list[str]:
    """--site's comma-separated names; None: every site. An empty name is a mistake (a
    trailing comma, an unset shell variable), never every site."""
    if value is None:
        return []
    names = [name.strip() for name in value.split(",")]
    if not all(names):
        raise MfawatchError(f"--site names an empty site: {value!r}")
    return names
