"""`mfawatch schedule` (the service) and `mfawatch runs` (what it did)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

from kernel.errors import MfawatchError
from kernel.text import printable
from mfawatch.changeview import iso
from mfawatch.cli.common import (
    CONFIG_OPTION,
    State,
    at_least_one,
    console,
    parse_when,
    print_json,
)


def register(app: typer.Typer) -> None:
    app.command()(schedule)
    app.command()(runs)


def schedule(
    ctx: typer.Context,
    every: Annotated[
        str | None, typer.Option(help="Crawl every so often: 90s, 30m, 6h, 1d.")
    ] = None,
    cron: Annotated[
        str | None, typer.Option(help='Or at crontab times, in UTC: "0 3 * * *".')
    ] = None,
    jitter: Annotated[
        str | None, typer.Option(help="Spread starts by up to this much: 10m.")
    ] = None,
    timeout: Annotated[str, typer.Option(help="Stop a crawl running longer than this.")] = "2h",
    grace: Annotated[
        str, typer.Option(help="On SIGTERM, how long running crawls may go on.")
    ] = "60s",
    config_path: Annotated[str | None, CONFIG_OPTION] = None,
) -> None:
    """Run in the foreground and crawl every site on its schedule, until SIGTERM or Ctrl-C.

    A site's own `schedule` in the sites file wins over --every/--cron.
    """
    if every and cron:
        raise MfawatchError("give --every or --cron, not both")
    from scheduler.service import Options, Service
    from scheduler.timing import make_trigger, parse_duration
    from storage.db import database_url

    if cron is not None and len(cron.split()) != 5:
        raise MfawatchError(
            f"--cron takes 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(cron.split())}: {cron!r}"
        )
    for schedule_text in (every, cron):
        if schedule_text is not None:
            make_trigger(schedule_text)  # a bad one is refused now, naming what is wrong

    options = Options(
        every=every if every is not None else cron,
        jitter=parse_duration(jitter) if jitter else None,
        timeout=parse_duration(timeout),
        grace=parse_duration(grace),
    )
    state: State = ctx.obj
    state.use_config(config_path)
    config = state.config()
    _log_to_stderr(state.verbose)
    service = Service(config, database_url(state.db_url), state.sessions(), options)
    raise typer.Exit(service.run())


def _log_to_stderr(verbose: bool) -> None:
    """One line per run start and end, with time: what a service's journal wants."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in root.handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    if not verbose:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


def runs(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    since: Annotated[str | None, typer.Option(help="Started on or after (YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Every crawl run: site, trigger, times, status, counts and new changes by kind."""
    when = parse_when(since) if since is not None else None
    at_least_one(limit, "--limit")
    from storage.queries import check_site
    from storage.runs import list_runs, run_summaries

    state: State = ctx.obj
    with state.sessions()() as session:
        if site is not None:
            check_site(session, site)
        found = list_runs(session, site=site, since=when, limit=limit)
        counts = run_summaries(session, [r.id for r in found])
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "site": r.site.name,
                "trigger": r.trigger,
                "started_at": iso(r.started_at),
                "finished_at": iso(r.finished_at),
                "status": r.status,
                "note": r.note,
                "fetched": counts[r.id].fetched,
                "new": counts[r.id].new,
                "unchanged": counts[r.id].unchanged,
                "changed": counts[r.id].changed,
                "errors": counts[r.id].errors,
                "changes": counts[r.id].changes,
                "drifted": counts[r.id].drifted,
            }
            for r in found
        ]
    if as_json:
        print_json(rows)
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("id", "site", "trigger", "started", "took", "status", "fetched", "new",
                  "unchanged", "changed", "errors", "drift", "new changes", "note")  # fmt: skip
    for row, run in zip(rows, found, strict=True):
        took = run.finished_at - run.started_at if run.finished_at else None
        table.add_row(
            str(row["id"]), row["site"], row["trigger"], row["started_at"][:19].replace("T", " "),
            str(took).split(".")[0] if took else "-", row["status"], str(row["fetched"]),
            str(row["new"]), str(row["unchanged"]), str(row["changed"]), str(row["errors"]),
            str(row["drifted"]),
            ", ".join(f"{k} {n}" for k, n in sorted(row["changes"].items())) or "-",
            Text(printable(row["note"] or ""), overflow="fold"),  # whole: it says why
        )  # fmt: skip
    console().print(table)
