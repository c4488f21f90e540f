"""What every command shares: the database, the config, parsing dates, printing safely."""

from __future__ import annotations

import datetime as dt
import functools
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

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
        if path:
            self.config_path = path

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
