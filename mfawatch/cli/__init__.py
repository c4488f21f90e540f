"""The `mfawatch` command. Each command imports only its own module when it runs, and query
commands never import Scrapy or Twisted (they stay quick); `crawl` imports them when it runs.
"""

from __future__ import annotations

import gc
import logging
import sys
from typing import Annotated

import typer

from mfawatch.cli.common import State
from mfawatch.cli.group import LazyGroup

# Each command's module (its register(app) defines it), imported only when the command runs or
# --help lists them; `demo` is defined below.
COMMANDS = {
    "crawl": "mfawatch.cli.crawl",
    "changes": "mfawatch.cli.review",
    "diff": "mfawatch.cli.review",
    "review": "mfawatch.cli.review",
    "history": "mfawatch.cli.archive",
    "show": "mfawatch.cli.archive",
    "pages": "mfawatch.cli.archive",
    "schedule": "mfawatch.cli.service",
    "runs": "mfawatch.cli.service",
    "report": "mfawatch.cli.report",
    "serve": "mfawatch.cli.web",
    "layout": "mfawatch.cli.layout",
    "sites": "mfawatch.cli.sites",
    "backfill": "mfawatch.cli.backfill",
    "body": "mfawatch.cli.evidence",
    "export": "mfawatch.cli.evidence",
    "import": "mfawatch.cli.evidence",
    "evidence": "mfawatch.cli.evidence",
    "verify": "mfawatch.cli.verify",
}


# Short-lived commands: they run with the cyclic garbage collector off (see main()).
QUICK = {"changes", "diff", "review", "history", "show", "pages", "runs", "sites"}


# The only commands that may create a database (and its tables); the others, queries and
# `review` and `serve`, need an archive that exists and say so when there is none.
CREATES = {"crawl", "schedule", "demo", "backfill"}


class _Commands(LazyGroup):
    modules = COMMANDS


app = typer.Typer(
    cls=_Commands,
    name="mfawatch",
    help="Archive foreign ministries' bilateral-relations pages and review how they change.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="SQLAlchemy database URL [default: $MFAWATCH_DATABASE_URL, ./mfawatch.db]"
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config", "-c", help="Sites file [default: $MFAWATCH_CONFIG, ./sites.toml, built-in]"
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More logging.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from mfawatch.cli.common import config_option

    ctx.obj = State(
        db_url=db,
        config_path=config_option(config) if config is not None else None,
        verbose=verbose,
        may_create=ctx.invoked_subcommand in CREATES,
    )
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand not in QUICK:
        gc.enable()  # off since main(), for start-up


@app.command()
def demo(
    folder: Annotated[str, typer.Option("--dir", help="Where to keep the demo archive.")] = "demo",
) -> None:
    """Crawl a local mirror of two embassy sites, edit it, crawl again, show the changes."""
    from pathlib import Path

    from kernel.errors import MfawatchError
    from mfawatch.demo import run_demo

    if not folder.strip():
        raise MfawatchError("--dir is empty: name the demo's folder")
    raise typer.Exit(run_demo(Path(folder).resolve()))


def main() -> None:
    # No cyclic garbage collection while a command starts: importing SQLAlchemy's ORM allocates
    # much and frees little, and collecting meanwhile costs a tenth of a query command's time.
    # A quick command then exits; the others turn it back on.
    gc.disable()
    try:
        app()
    except KeyboardInterrupt:
        print("mfawatch: interrupted", file=sys.stderr)
        sys.exit(130)
