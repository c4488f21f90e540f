"""`mfawatch sites`: the sites in effect, the sites file's and those its directories listed,
with where each came from; missions no longer listed too, with when they left the list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from kernel.text import printable
from mfawatch.changeview import iso
from mfawatch.cli.common import CONFIG_OPTION, State, console, print_json

if TYPE_CHECKING:
    from kernel.config import Config, Site
    from storage.models import DiscoveredSite


def register(app: typer.Typer) -> None:
    app.command()(sites)


def sites(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    config_path: Annotated[str | None, CONFIG_OPTION] = None,
) -> None:
    """The sites in effect: configured and discovered, with where each came from."""
    from storage.directories import all_missions, sites_in_effect

    state: State = ctx.obj
    state.use_config(config_path)
    config = state.config()
    with state.sessions()() as session:
        effective = sites_in_effect(session, config)
        missions = {m.name: m for m in all_missions(session)}
    rows = [_row(effective, site, missions.get(site.name)) for site in effective.sites]
    for mission in missions.values():  # listed once, but no site now: gone, or shadowed
        if mission.name not in effective.discovered:
            rows.append(_not_in_effect(config, mission))
    if as_json:
        print_json({
            "config": str(config.path),
            "sites": rows,
            "directories": [_directory(config, d.name, missions) for d in config.directories],
        })  # fmt: skip
        return
    _show(rows)


def _row(config: Config, site: Site, mission: DiscoveredSite | None) -> dict[str, Any]:
    directory = config.discovered.get(site.name)
    found = mission if directory is not None else None
    if directory is None or found is None:
        source: dict[str, Any] = {"kind": "configured", "file": str(config.path)}
    else:
        source = {"kind": "discovered", "directory": directory, "list_url": found.list_url}
    return {
        "name": site.name,
        "in_effect": True,
        "source": source,
        "layout": site.layout.name,
        "start_urls": list(site.start_urls),
        "first_seen_at": iso(found.first_seen_at) if found else None,
        "last_seen_at": iso(found.last_seen_at) if found else None,
        "gone_at": None,
        "why_not": None,
    }


def _not_in_effect(config: Config, mission: DiscoveredSite) -> dict[str, Any]:
    directory = config.directory(mission.directory)
    if mission.gone_at is not None:
        why = "no longer listed"
    elif directory is None:
        why = "its directory is not in the sites file"
    else:
        why = "a site of the sites file has its host, or its name"
    return {
        "name": mission.name,
        "in_effect": False,
        "source": {
            "kind": "discovered",
            "directory": mission.directory,
            "list_url": mission.list_url,
        },
        "layout": directory.layout.name if directory else None,
        "start_urls": [mission.origin + p for p in directory.start_paths] if directory else [],
        "first_seen_at": iso(mission.first_seen_at),
        "last_seen_at": iso(mission.last_seen_at),
        "gone_at": iso(mission.gone_at),
        "why_not": why,
    }


def _directory(config: Config, name: str, missions: dict[str, DiscoveredSite]) -> dict[str, Any]:
    directory = config.directory(name)
    assert directory is not None
    return {
        "name": name,
        "layout": directory.layout.name,
        "list_urls": list(directory.list_urls),
        "hosts": directory.hosts.pattern,
        "start_paths": list(directory.start_paths),
        "missions_listed": sum(
            1 for m in missions.values() if m.directory == name and m.gone_at is None
        ),
    }


def _show(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table("site", "from", "layout", "start URLs", "first seen", "gone")
    for row in rows:
        source = row["source"]
        where = (
            source["file"]
            if source["kind"] == "configured"
            else f"directory {source['directory']} ({source['list_url']})"
        )
        gone = _moment(row["gone_at"]) or ("" if row["in_effect"] else row["why_not"])
        table.add_row(
            Text(printable(row["name"])),
            Text(printable(where)),
            Text(printable(row["layout"] or "")),
            Text(printable(" ".join(row["start_urls"]))),
            _moment(row["first_seen_at"]),
            Text(printable(gone)),
        )
    console().print(table)


def _moment(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else ""
