"""`mfawatch changes`, `diff` and `review`: the review queue from the terminal."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kernel.errors import MfawatchError
from kernel.status import REVIEW_FILTERS
from kernel.text import printable
from mfawatch.changeview import (
    change_detail,
    change_pieces,
    change_summary,
    declared_text,
    diff_json,
)
from mfawatch.cli.common import State, at_least_one, console, parse_when, print_json

if TYPE_CHECKING:
    from rich.text import Text

    from kernel.diffing import Piece

JSON = Annotated[bool, typer.Option("--json", help="Print JSON only.")]


def register(app: typer.Typer) -> None:
    app.command()(changes)
    app.command()(diff)
    app.command()(review)


def changes(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(
            help="pending, accepted, dismissed, unqueued or all "
            "[default: pending; with --historical: all]",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind of change.")] = None,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    since: Annotated[str | None, typer.Option(help="Detected on or after (YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 200,
    historical: Annotated[
        bool,
        typer.Option(
            "--historical", help="Only changes found in a web archive's past (mfawatch backfill)."
        ),
    ] = False,
    as_json: JSON = False,
) -> None:
    """List detected changes (the review queue by default)."""
    status = ("all" if historical else "pending") if status is None else status
    if status not in REVIEW_FILTERS:
        raise MfawatchError(f"--status must be one of {', '.join(REVIEW_FILTERS)}")
    if kind is not None:
        from kernel.detect import ChangeKind

        if kind not in set(ChangeKind):
            raise MfawatchError(f"--kind must be one of {', '.join(ChangeKind)}")
    when = parse_when(since) if since is not None else None
    at_least_one(limit, "--limit")
    from storage.queries import check_site, list_changes

    state: State = ctx.obj
    with state.sessions()() as session:
        if site is not None:
            check_site(session, site)
        rows = [
            change_summary(c)
            for c in list_changes(
                session,
                status=status,
                kind=kind,
                site=site,
                since=when,
                limit=limit,
                historical=True if historical else None,
            )
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        which = ("" if status == "all" else status + " ") + ("historical " if historical else "")
        console().print(f"No {which}changes.")
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("id", "kind", "status", "detected", "last updated (old → new)", "site", "page")
    for row in rows:
        declared = _declared_move(row)
        table.add_row(
            str(row["id"]),
            row["kind"],
            row["status"],
            row["detected_at"][:16].replace("T", " "),
            declared,
            row["site"],
            Text(printable(row["page_key"])),
        )
    console().print(table)


def diff(
    ctx: typer.Context,
    change_id: Annotated[int, typer.Argument(metavar="ID", help="A change id.")],
    as_json: JSON = False,
) -> None:
    """Show one change: word-level diff, declared dates and the observation window."""
    from storage.queries import change_texts, get_change

    state: State = ctx.obj
    with state.sessions()() as session:
        change = get_change(session, change_id)
        pieces = change_pieces(change, change_texts(session, [change]))
        data = change_detail(change)
    if as_json:
        data["diff"] = diff_json(pieces)
        print_json(data)
        return
    _print_change_header(data)
    console().print(render_diff(pieces), soft_wrap=True)


def render_diff(pieces: list[Piece]) -> Text:
    """git's --word-diff=plain markers, [-deleted-] and {+inserted+}, coloured on terminals."""
    from rich.text import Text

    from kernel.diffing import Op

    body = Text()
    for piece in pieces:
        text = printable(piece.text)
        if piece.op is Op.EQUAL:
            body.append(text)
            continue
        core = text.rstrip()
        start, end = ("[-", "-]") if piece.op is Op.DELETE else ("{+", "+}")
        style = "red strike" if piece.op is Op.DELETE else "bold green"
        body.append(f"{start}{core}{end}", style=style)
        body.append(text[len(core) :])
    return body


def _print_change_header(data: dict[str, Any]) -> None:
    from rich.text import Text

    window = data["window"]
    lines = [
        f"change #{data['id']}  {data['kind']}  ({data['status']})",
        f"page      {printable(data['url'])}  [{data['site']}, {data['lang']}]",
        f"declared  {_declared_move(data)}",
        f"window    last seen old {window['last_seen_old'] or '-'}; "
        f"first seen new {window['first_seen_new']}",
        f"words     +{data['words_added']} -{data['words_removed']}",
    ]
    if data["new_fetch"]["error"] or data["after"]:
        lines.append(f"fetch     {printable(data['new_fetch']['note'])}")
    if data["date_note"]:  # names an archive's URL: escaped like archived text
        lines.append(f"date      {printable(data['date_note'])}")
    if data["after"]:  # the diff below is the last text; this is what came after it
        lines.append(f"after     {data['after']}")
    for r in data["reviews"]:
        # Notes come from whoever could post a review: escaped like archived text.
        who, note = printable(r["reviewer"] or "-"), printable(r["note"] or "")
        lines.append(f"review    {r['at']} {r['status']} by {who}: {note}")
    console().print(Text("\n".join(lines) + "\n"))


def review(
    ctx: typer.Context,
    change_id: Annotated[int, typer.Argument(metavar="ID", help="A change id.")],
    accept: Annotated[bool, typer.Option("--accept", help="The change is real and noted.")] = False,
    dismiss: Annotated[bool, typer.Option("--dismiss", help="The change is noise.")] = False,
    reopen: Annotated[bool, typer.Option("--reopen", help="Put it back in the queue.")] = False,
    note: Annotated[str | None, typer.Option(help="Why; kept in the decision history.")] = None,
    as_json: JSON = False,
) -> None:
    """Accept or dismiss a change (the history of decisions is kept)."""
    chosen = [
        name
        for name, on in (("accepted", accept), ("dismissed", dismiss), ("pending", reopen))
        if on
    ]
    if len(chosen) != 1:
        raise MfawatchError("give exactly one of --accept, --dismiss, --reopen")
    from storage.queries import review_change

    state: State = ctx.obj
    with state.sessions().begin() as session:
        change = review_change(session, change_id, chosen[0], note, _reviewer(), again=False)
        data = change_summary(change)
    if as_json:
        print_json(data)
    else:
        console().print(f"change #{change_id} is now {chosen[0]}")


def _reviewer() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _declared_move(row: dict[str, Any]) -> str:
    old = declared_text(row["old_last_updated"], row["old_last_updated_time"]) or "none"
    new = declared_text(row["new_last_updated"], row["new_last_updated_time"]) or "none"
    return f"{old} → {new}"
