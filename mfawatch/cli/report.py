"""`mfawatch report`: change reports to read or forward (HTML, Markdown, JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kernel.errors import MfawatchError
from mfawatch.cli.common import State, atomic_output, parse_when


def register(app: typer.Typer) -> None:
    app.command()(report)


def report(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="Detected on or after (YYYY-MM-DD).")] = None,
    status: Annotated[
        str, typer.Option(help="pending, accepted, dismissed, unqueued or all.")
    ] = "pending",
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind of change.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, md or json.")] = "html",
    include_historical: Annotated[
        bool,
        typer.Option(
            "--include-historical",
            help="Also the changes found in a web archive's past (mfawatch backfill).",
        ),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file [default: stdout].")
    ] = None,
) -> None:
    """A report of changes: counts by kind and site, then each change with its diff."""
    # Imported here: Jinja2 has no business on the other commands' start-up path.
    from mfawatch.reports import FORMATS, ReportFilters, gather_report, render_report

    if fmt not in FORMATS:
        raise MfawatchError(f"--format must be one of {', '.join(FORMATS)}")
    filters = ReportFilters(
        status=status,
        since=parse_when(since) if since is not None else None,
        site=site,
        kind=kind,
        include_historical=include_historical,
    )
    from storage.queries import check_site

    state: State = ctx.obj
    with state.sessions()() as session:
        if site is not None:
            check_site(session, site)
        gathered = gather_report(session, filters)
        text = render_report(gathered, fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    write_atomically(output, text)
    count = len(gathered.changes)
    typer.echo(f"report of {count} change{'' if count == 1 else 's'} written to {output}")


def write_atomically(path: Path, text: str) -> None:
    """Write a file whole or not at all."""
    with atomic_output(path) as file:
        file.write(text.encode("utf-8"))
