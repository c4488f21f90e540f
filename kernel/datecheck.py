"""A page's declared "last updated" date held against what its fetches and captures showed.

Two findings, each with the fetch that proves it:

- **backdated**: the page declares a date earlier than a fetch (usually an archive's capture)
  that still showed another text, before its current text first appeared: the text came
  later than the date it claims;
- **edited_under_date**: its text changed twice or more while the declared date stayed the
  same (one silent edit is already a change kind; repeated ones are a pattern). Said instead
  of backdated when both hold: the proof then is the first fetch under that date.

A finding belongs to the fetch where the claim first appeared (the new fetch of its change).
Pure: storage.datecheck loads the sightings and stores the findings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class DateFlag(StrEnum):
    BACKDATED = "backdated"
    EDITED_UNDER_DATE = "edited_under_date"


@dataclass(frozen=True)
class Sighting:
    """One good fetch of a page that showed a text (failed and gone fetches show none)."""

    fetch_id: int
    at: dt.datetime
    version_id: int
    declared: dt.date | None
    source: str = "live"
    archive_url: str | None = None


@dataclass(frozen=True)
class Finding:
    flag: DateFlag
    proof: Sighting  # the fetch that proves it
    note: str


def _fetch(s: Sighting) -> str:
    what = "fetch" if s.source == "live" else "capture"
    where = f"fetch {s.fetch_id}" + (f", {s.archive_url}" if s.archive_url else "")
    return f"the {what} of {s.at.date().isoformat()} ({where})"


def date_findings(sightings: Sequence[Sighting]) -> dict[int, Finding]:
    """Findings by the fetch id where each claim first appeared; sightings in any order.

    >>> def s(i, year, version, declared):
    ...     return Sighting(i, dt.datetime(year, 6, 1), version, dt.date(*declared))
    >>> found = date_findings([s(1, 2016, 1, (2016, 1, 1)), s(2, 2018, 1, (2016, 1, 1)),
    ...                        s(3, 2019, 2, (2017, 1, 1))])
    >>> found[3].flag, found[3].proof.fetch_id
    (<DateFlag.BACKDATED: 'backdated'>, 2)
    >>> print(found[3].note)
    backdated: declared 2017-01-01 but the fetch of 2018-06-01 (fetch 2) still showed the old text
    >>> date_findings([s(1, 2016, 1, (2016, 1, 1)), s(2, 2019, 2, (2019, 1, 1))])
    {}
    >>> found = date_findings([s(1, 2016, 1, (2016, 1, 1)), s(2, 2017, 2, (2016, 1, 1)),
    ...                        s(3, 2018, 3, (2016, 1, 1))])
    >>> found[2].flag, found[3].flag, found[3].proof.fetch_id
    (<DateFlag.BACKDATED: 'backdated'>, <DateFlag.EDITED_UNDER_DATE: 'edited_under_date'>, 1)
    >>> print(found[3].note)  # doctest: +NORMALIZE_WHITESPACE
    edited 2 times under declared 2016-01-01: the fetch of 2016-06-01 (fetch 1) already
    showed another text with that date
    """
    order = sorted(sightings, key=lambda s: (s.at, s.fetch_id))
    found: dict[int, Finding] = {}
    first_seen: dict[int, int] = {}  # version → index of its first sighting
    claims: set[tuple[int, dt.date]] = set()
    run: tuple[Sighting, int] | None = None  # the first sighting under the date, text changes
    for i, now in enumerate(order):
        first_seen.setdefault(now.version_id, i)
        before = order[i - 1] if i else None
        if now.declared is None:
            run = None
            continue
        if before is None or run is None or before.declared != now.declared:
            run = (now, 0)
        elif before.version_id != now.version_id:
            run = (run[0], run[1] + 1)
        claim = (now.version_id, now.declared)
        fresh = claim not in claims  # backdating is judged where a claim first appears
        claims.add(claim)
        proof = _still_old(order, first_seen[now.version_id]) if fresh else None
        if run[1] >= 2 and before is not None and before.version_id != now.version_id:
            note = (
                f"edited {run[1]} times under declared {now.declared.isoformat()}: "
                f"{_fetch(run[0])} already showed another text with that date"
            )
            found[now.fetch_id] = Finding(DateFlag.EDITED_UNDER_DATE, run[0], note)
        elif proof is not None and now.declared < proof.at.date():
            note = (
                f"backdated: declared {now.declared.isoformat()} but {_fetch(proof)} "
                "still showed the old text"
            )
            found[now.fetch_id] = Finding(DateFlag.BACKDATED, proof, note)
    return found


def _still_old(order: Sequence[Sighting], first: int) -> Sighting | None:
    """The last sighting of another text before a text first appeared, if any."""
    if first == 0:
        return None
    return order[first - 1]  # the one just before: another text, or this one appeared earlier
