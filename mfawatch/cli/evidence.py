"""`mfawatch body`, `export warc`, `import warc` and `evidence`: the archive's raw evidence,
out (checked against the hashes recorded when it arrived) and in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kernel.errors import MfawatchError
from mfawatch.cli.common import State, atomic_output, parse_when
from mfawatch.cli.group import PlainCommand

OUTPUT = Annotated[Path, typer.Option("--output", "-o", help="The file to write.")]


def register(app: typer.Typer) -> None:
    app.command()(body)
    app.command()(evidence)
    for name, callback, command in (
        ("export", export, export_warc),
        ("import", _import, import_warc),
    ):
        group = typer.Typer(callback=callback, add_completion=False, rich_markup_mode=None)
        group.command("warc", cls=PlainCommand)(command)
        app.add_typer(group, name=name)


def export() -> None:
    """Export the archive in a standard format (`export warc`)."""


def _import() -> None:
    """Import fetches made by other tools (`import warc`)."""


# The command's own name, for those who look a command up by it (`import` is a keyword).
globals()["import"] = _import


def body(
    ctx: typer.Context,
    fetch_id: Annotated[int, typer.Argument(metavar="FETCH_ID", help="See `history --json`.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file [default: stdout].")
    ] = None,
) -> None:
    """The raw body a fetch received, byte for byte, its SHA-256 checked on the way out."""
    from storage.received import get_fetch, received

    state: State = ctx.obj
    with state.sessions()() as session:
        got = received(session, get_fetch(session, fetch_id))
        if got.body is None:
            status = got.fetch.http_status
            raise MfawatchError(
                f"fetch {fetch_id} kept no body ({got.fetch.outcome}"
                f"{f', HTTP {status}' if status else ''}): nothing to write"
            )
        data = got.body
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    with atomic_output(output) as file:
        file.write(data)
    print(f"{len(data)} bytes of fetch {fetch_id} written to {output}", file=sys.stderr)


def export_warc(
    ctx: typer.Context,
    output: OUTPUT,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    page: Annotated[
        str | None, typer.Option(metavar="URL", help="Only this page (any URL variant, or key).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Fetched on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Fetched on or before (YYYY-MM-DD).")] = None,
) -> None:
    """Fetches as a WARC file (gzipped): request, response and revisit records."""
    from mfawatch.warc import write_warc
    from storage.queries import check_site, resolve_page
    from storage.received import received_many, select_fetches

    state: State = ctx.obj
    start = parse_when(since) if since is not None else None
    end = parse_when(until, end_of_day=True) if until is not None else None
    if start and end and end < start:
        raise MfawatchError("--until is before --since")
    with state.sessions()() as session:
        if site is not None:
            check_site(session, site)
        page_id = resolve_page(session, page, state.identify).id if page is not None else None
        fetches = select_fetches(session, site=site, page_id=page_id, since=start, until=end)
        wanted = [f"--{k} {v}" for k, v in (("site", site), ("page", page)) if v is not None]
        wanted += [f"--{k} {v}" for k, v in (("since", since), ("until", until)) if v is not None]
        description = "mfawatch export of " + (" ".join(wanted) or "the whole archive")
        with atomic_output(output) as file:
            done = write_warc(file, received_many(session, fetches), description=description)
    if not done.records:
        print(f"no fetch matched: {output} holds only its warcinfo record", file=sys.stderr)
        return
    print(
        f"{len(done.fetch_ids)} fetches ({done.responses} responses, {done.revisits} revisits)"
        f" written to {output}",
        file=sys.stderr,
    )


def import_warc(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="WARC or ARC files.")],
) -> None:
    """Fetches from WARC/ARC files, through the same fetch plan as a crawl."""
    from mfawatch.warcimport import import_files

    state: State = ctx.obj
    code = import_files(state.sessions(), state.config(), files)
    raise typer.Exit(code)


def evidence(
    ctx: typer.Context,
    change_id: Annotated[int, typer.Argument(metavar="CHANGE_ID")],
    output: OUTPUT,
) -> None:
    """An evidence bundle (zip) for one change: bodies, texts, diff, WARC, manifest."""
    from mfawatch.evidence import write_bundle

    state: State = ctx.obj
    with state.sessions()() as session, atomic_output(output) as file:
        names = write_bundle(session, change_id, file)
    print(f"evidence for change {change_id} ({len(names)} files) written to {output}")
