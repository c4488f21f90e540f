"""The `mfawatch` command. Query commands never import Scrapy or Twisted (they stay quick);
`crawl` imports them when it runs.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mfawatch.cli import archive, crawl, report, review, service, web
from mfawatch.cli.common import State
from mfawatch.errors import MfawatchError


class _Commands(TyperGroup):
    """Every command's MfawatchError becomes one line on stderr and its exit code (2, or 3 for
    a site that another process is crawling)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except MfawatchError as exc:
            print(f"mfawatch: error: {exc}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None


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
    ctx.obj = State(db_url=db, config_path=config, verbose=verbose)
    ctx.call_on_close(ctx.obj.close)


for module in (crawl, review, archive, service, report, web):
    module.register(app)


@app.command()
def demo(
    folder: Annotated[str, typer.Option("--dir", help="Where to keep the demo archive.")] = "demo",
) -> None:
    """Crawl a local mirror of two embassy sites, edit it, crawl again, show the changes."""
    from pathlib import Path

    from mfawatch.demo import run_demo

    raise typer.Exit(run_demo(Path(folder).resolve()))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        print("mfawatch: interrupted", file=sys.stderr)
        sys.exit(130)
