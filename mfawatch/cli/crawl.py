"""`mfawatch crawl`: one crawl now (scraper.crawl runs it), then a summary. The sites are split
between processes (--jobs, this one and children): a crawl is CPU-bound, and a Twisted reactor
uses one core.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from kernel.errors import MfawatchError
from mfawatch.cli.common import CONFIG_OPTION, State, console, site_list


def register(app: typer.Typer) -> None:
    app.command()(crawl)


def crawl(
    ctx: typer.Context,
    site: Annotated[
        str | None, typer.Option("--site", "-s", help="Only this site (comma-separated names).")
    ] = None,
    trigger: Annotated[str, typer.Option(hidden=True)] = "manual",
    setting: Annotated[
        list[str] | None,
        typer.Option("--set", help="A Scrapy setting for this crawl, NAME=VALUE (repeatable)."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            help="Crawl in this many processes, the sites dealt between them; 1: in this one "
            "[default: the number of CPUs, at most one per site]",
            show_default=False,
        ),
    ] = None,
    config_path: Annotated[str | None, CONFIG_OPTION] = None,
) -> None:
    """Crawl the configured sites now and archive every page fetched."""
    state: State = ctx.obj
    state.use_config(config_path)
    config = state.config()  # a bad sites file fails here, before Scrapy starts
    # Checked by the crawl: a name may be a directory's, or a mission's it listed.
    names = site_list(site)
    overrides = setting or []
    from scraper.crawl import parse_settings

    parse_settings(overrides)  # likewise a bad --set
    if jobs is not None and jobs < 1:
        raise MfawatchError("--jobs must be 1 or more")
    sessions = state.sessions()  # likewise a bad database, and the schema gets upgraded
    if not config.contact:  # once per crawl (all checks passed), not once per crawl process
        print(
            f"mfawatch: note: no contact in {config.path}: add a line such as "
            'contact = "mailto:you@example.org" at its top, so that site owners can reach you '
            "(it goes into the User-Agent)",
            file=sys.stderr,
        )
    from scraper.crawl import run
    from storage.runs import total_summary

    crawled = run(
        config, sessions, state.db_url, names,
        trigger=trigger, overrides=overrides, jobs=jobs or os.cpu_count() or 1,
        verbose=state.verbose,
    )  # fmt: skip
    problem = crawled.problem()
    if problem:
        print(problem, file=sys.stderr)
        raise typer.Exit(crawled.exit_code())
    with sessions() as session:
        summary = total_summary(session, crawled.run_ids)
    _print_summary(summary, crawled.statuses, crawled.news)
    raise typer.Exit(crawled.exit_code())


def _print_summary(summary: Any, statuses: dict[str, str], news: list[str]) -> None:
    from rich.table import Table
    from rich.text import Text

    from kernel.text import printable

    table = Table(title="Crawl summary", show_header=False)
    table.add_row("sites", ", ".join(f"{name} ({status})" for name, status in statuses.items()))
    table.add_row("pages fetched", str(summary.fetched))
    table.add_row("new pages", str(summary.new))
    table.add_row("unchanged", str(summary.unchanged))
    table.add_row("changed", str(summary.changed))
    table.add_row("errors", str(summary.errors))
    if summary.drifted:  # pages that matched only a fallback of the layout: see runs, history
        table.add_row("layout drift", str(summary.drifted))
    for outcome, count in sorted(summary.outcomes.items()):
        table.add_row(f"  {outcome}", str(count))
    if summary.changes:
        for kind, count in sorted(summary.changes.items()):
            table.add_row(f"new change: {kind}", str(count))
    else:
        table.add_row("new changes", "none")
    console().print(table)
    # The directories' news, a line each, unwrapped: missions new or gone, a list that listed
    # nobody (and why).
    for line in news:
        console().print(Text(printable(line)), soft_wrap=True)
