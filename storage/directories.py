"""What directories' lists showed: the missions found (discovered sites), when each was first
and last listed and when it left the list, and the news of each reading (events).

A reading of a directory is a run of its own (under the directory's name, as a site of the
archive), so that `mfawatch runs` shows it and an empty list makes an unhealthy run. A reading
that was not complete (a list page that failed or listed nothing) marks nobody gone: the
missions found before stay watched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.config import Config
from kernel.directory import Mission, with_missions
from storage.models import DirectoryEvent, DiscoveredSite, Run, utcnow


class Event(StrEnum):
    NEW = "new"  # first listed
    GONE = "gone"  # no longer listed
    BACK = "back"  # listed again after it had gone


EVENTS = tuple(Event)


@dataclass(frozen=True)
class Listed:
    """One mission as a list page linked it."""

    name: str
    host: str
    origin: str
    list_url: str


@dataclass
class Reading:
    """What one reading changed: the names new, gone and back."""

    new: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    back: list[str] = field(default_factory=list)


def event_line(kind: str, name: str) -> str:
    """How reports, summaries and notifications say an event.

    >>> event_line("new", "seoul"), event_line("gone", "bern")
    ('new mission seoul', 'mission bern no longer listed')
    """
    return {
        Event.NEW: f"new mission {name}",
        Event.GONE: f"mission {name} no longer listed",
        Event.BACK: f"mission {name} listed again",
    }.get(Event(kind), f"{kind} {name}")


def listed_missions(session: Session, directory: str | None = None) -> Sequence[DiscoveredSite]:
    """The missions still listed (of one directory, or all), in the order first found."""
    query = select(DiscoveredSite).where(DiscoveredSite.gone_at.is_(None))
    if directory is not None:
        query = query.where(DiscoveredSite.directory == directory)
    return session.scalars(query.order_by(DiscoveredSite.id)).all()


def sites_in_effect(session: Session, config: Config) -> Config:
    """``config`` with every mission its directories still list, after its own sites."""
    rows = listed_missions(session)
    return with_missions(config, [(r.directory, Mission(r.name, r.host, r.origin)) for r in rows])


def all_missions(session: Session) -> Sequence[DiscoveredSite]:
    """Every mission ever found, gone ones too, in the order first found."""
    return session.scalars(select(DiscoveredSite).order_by(DiscoveredSite.id)).all()


def record_reading(
    session: Session,
    directory: str,
    listed: Sequence[Listed],
    *,
    complete: bool,
    run_id: int | None,
    now: dt.datetime | None = None,
) -> Reading:
    """Record what a reading of ``directory`` listed. Missions not listed are marked gone only
    when the reading was ``complete`` (every list page read and listing someone)."""
    now = now or utcnow()
    rows = {
        row.name: row
        for row in session.scalars(select(DiscoveredSite).where(DiscoveredSite.name.in_(
            [m.name for m in listed]
        ) | (DiscoveredSite.directory == directory)))
    }  # fmt: skip
    reading = Reading()
    seen: set[str] = set()
    for mission in listed:
        row = rows.get(mission.name)
        if row is not None and row.directory != directory:
            if row.gone_at is None:
                continue  # another directory's mission of that name, still listed there
            row.directory = directory
        seen.add(mission.name)
        if row is None:
            row = DiscoveredSite(
                directory=directory, name=mission.name, host=mission.host,
                origin=mission.origin, list_url=mission.list_url, first_seen_at=now,
                last_seen_at=now,
            )  # fmt: skip
            session.add(row)
            rows[mission.name] = row
            reading.new.append(mission.name)
        elif row.gone_at is not None:
            row.gone_at = None
            reading.back.append(mission.name)
        row.last_seen_at = now
        row.host, row.origin, row.list_url = mission.host, mission.origin, mission.list_url
    if complete:
        for row in rows.values():
            if row.directory == directory and row.gone_at is None and row.name not in seen:
                row.gone_at = now
                reading.gone.append(row.name)
    for kind, names in ((Event.NEW, reading.new), (Event.BACK, reading.back),
                        (Event.GONE, reading.gone)):  # fmt: skip
        for name in names:
            session.add(
                DirectoryEvent(directory=directory, site_name=name, kind=kind, at=now,
                               run_id=run_id)
            )  # fmt: skip
    session.flush()
    return reading


def events(
    session: Session,
    *,
    since: dt.datetime | None = None,
    run_id: int | None = None,
    names: Sequence[str] | None = None,
) -> Sequence[DirectoryEvent]:
    """Events, oldest first: since a moment, of one reading (its run), or of some sites (a
    name may be a directory's or a mission's)."""
    query = select(DirectoryEvent)
    if since is not None:
        query = query.where(DirectoryEvent.at >= since)
    if run_id is not None:
        query = query.where(DirectoryEvent.run_id == run_id)
    if names is not None:
        query = query.where(
            DirectoryEvent.directory.in_(names) | DirectoryEvent.site_name.in_(names)
        )
    return session.scalars(query.order_by(DirectoryEvent.at, DirectoryEvent.id)).all()


def close_reading_run(session: Session, run_id: int, status: str, note: str | None) -> None:
    """End a reading's run. Not storage.runs.finish_run: a reading fetches no page, which that
    health check would take for a run that found nothing."""
    run = session.get_one(Run, run_id)
    run.status, run.note, run.finished_at = status, note, utcnow()
