"""`mfawatch verify`: every chain of the fetch log and the review history, every stored hash,
and the chain heads to lodge elsewhere (or lodged earlier, to check)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kernel.errors import MfawatchError
from kernel.text import printable
from mfawatch.cli.common import State, console, print_json

if TYPE_CHECKING:
    from storage.verify import Head, Verification

# As storage.verify.NOUNS names a chain's table (not imported: `--help` loads no storage).
NOUNS = {"fetches": "fetch", "reviews": "review"}
TABLES = {noun: table for table, noun in NOUNS.items()}
_HASH = re.compile(r"[0-9a-f]{64}")


def register(app: typer.Typer) -> None:
    app.command()(verify)


def verify(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Option(help="Only this site's pages.")] = None,
    heads: Annotated[
        bool, typer.Option("--heads", help="Print each chain's head, to lodge elsewhere.")
    ] = False,
    against: Annotated[
        Path | None,
        typer.Option("--against", metavar="FILE", help="Check heads printed by --heads earlier."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Recompute every chain and every stored hash; exit 1 if anything was changed."""
    lodged = read_heads(against) if against is not None else []
    from storage.verify import check_heads, verify_archive

    state: State = ctx.obj
    with state.sessions()() as session:
        found = verify_archive(session, site)
        found.broken += check_heads(session, lodged)
        result = as_dict(found)
    if as_json:
        if not heads:
            del result["heads"]
        print_json(result)
    elif heads and found.ok:
        from storage.verify import heads_text

        sys.stdout.write(heads_text(found.heads))
        print(summary(found), file=sys.stderr)
    else:
        show(found, result, checked=len(lodged))
    if not found.ok:
        raise typer.Exit(1)


def as_dict(found: Verification) -> dict[str, Any]:
    from storage.verify import backfill_note

    return {
        "ok": found.ok,
        "fetches": found.fetches,
        "page_chains": sum(head.table == "fetches" for head in found.heads),
        "reviews": found.reviews,
        "change_chains": sum(head.table == "reviews" for head in found.heads),
        "bodies": found.bodies,
        "versions": found.versions,
        "broken": [
            {"table": b.table, "id": b.row_id, "chain": b.chain, "why": b.why} for b in found.broken
        ],
        "chained_by_migration": [
            {
                "revision": b.revision,
                "chained_at": b.chained_at.isoformat(),
                "fetches": b.fetches,
                "last_fetch_id": b.last_fetch_id,
                "reviews": b.reviews,
                "last_review_id": b.last_review_id,
                "note": backfill_note(b),
            }
            for b in found.backfills
        ],
        "heads": [
            {"table": h.table, "id": h.row_id, "hash": h.hash, "chain": h.chain}
            for h in found.heads
        ],
    }


def summary(found: Verification) -> str:
    counts = as_dict(found)
    return (
        f"{found.fetches} fetches in {counts['page_chains']} page chains, "
        f"{found.reviews} review decisions in {counts['change_chains']} change chains, "
        f"{found.bodies} bodies, {found.versions} texts: "
        + ("every chain and every hash holds" if found.ok else f"{len(found.broken)} broken")
    )


def show(found: Verification, result: dict[str, Any], *, checked: int) -> None:
    from rich.text import Text

    out = console()
    for broken in result["broken"]:
        noun = {"bodies": "body", "versions": "text", **NOUNS}[broken["table"]]
        line = f"BROKEN {noun} {broken['id']} ({broken['chain']}): {broken['why']}"
        out.print(Text(printable(line)))
    for backfill in result["chained_by_migration"]:
        out.print(Text(printable(backfill["note"])))
    if checked:
        held = "every one is still in its chain" if found.ok else "see above"
        out.print(Text(f"{checked} lodged heads checked: {held}"))
    out.print(Text(summary(found)))


def read_heads(path: Path) -> list[Head]:
    """Heads from a file that `verify --heads` (or `--heads --json`) printed."""
    from storage.verify import Head

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MfawatchError(f"cannot read heads file {str(path)!r}: {exc}") from None
    try:
        if text.lstrip().startswith("{"):
            entries = [
                (NOUNS.get(h["table"], ""), h["id"], h["hash"], h["chain"])
                for h in json.loads(text)["heads"]
            ]
        else:
            entries = [
                tuple(line.split(" ", 3))  # type: ignore[misc]
                for line in text.splitlines()
                if line.strip() and not line.startswith("#")
            ]
        heads = [
            Head(TABLES[noun], str(chain), int(i), digest) for noun, i, digest, chain in entries
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise MfawatchError(
            f"{str(path)!r} is not a heads file of `mfawatch verify --heads` ({exc!r})"
        ) from None
    for head in heads:
        if not _HASH.fullmatch(head.hash):
            raise MfawatchError(f"{str(path)!r}: not a chain hash: {head.hash!r}")
    if not heads:
        raise MfawatchError(f"{str(path)!r} lists no chain heads")
    return heads
