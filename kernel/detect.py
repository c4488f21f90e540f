"""Change classification: a pure function of what the archive knew and what a fetch saw.

The rule, in the order it is applied:

- a page seen for the first time, or with a text for the first time, is ``new_page`` (nothing
  during a site's baseline crawl);
- 404/410 or a redirect away is ``removed``; a removed page that answers again is ``restored``;
- a fetch whose body or layout was not found is ``extraction_failed`` once, and is never taken
  for the text being deleted: the next good fetch is compared with the last good version;
- a declared date that moved backwards is ``date_regressed``, whatever the text did (declared
  values compare by date; on the same date a time decides only when both have one);
- otherwise changed text is ``content_updated`` when the declared date moved forward (or
  appeared) and ``silent_edit`` when it did not; unchanged text with another date is ``date_only``.

Transient failures (5xx, timeouts, 403 blocks) change nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class ChangeKind(StrEnum):
    NEW_PAGE = "new_page"
    CONTENT_UPDATED = "content_updated"
    SILENT_EDIT = "silent_edit"
    DATE_ONLY = "date_only"
    DATE_REGRESSED = "date_regressed"
    REMOVED = "removed"
    RESTORED = "restored"
    EXTRACTION_FAILED = "extraction_failed"


# A reviewer's order: the kinds that most need a human first.
KIND_PRIORITY = (
    ChangeKind.SILENT_EDIT,
    ChangeKind.DATE_REGRESSED,
    ChangeKind.REMOVED,
    ChangeKind.EXTRACTION_FAILED,
    ChangeKind.CONTENT_UPDATED,
    ChangeKind.DATE_ONLY,
    ChangeKind.NEW_PAGE,
    ChangeKind.RESTORED,
)


def kind_rank(kind: str) -> int:
    """A kind's place in the reviewer's order; an unknown kind comes last.

    >>> kind_rank("silent_edit"), kind_rank("new_page") > kind_rank("removed"), kind_rank("x")
    (0, True, 8)
    """
    return KIND_PRIORITY.index(kind) if kind in KIND_PRIORITY else len(KIND_PRIORITY)


class PageStatus(StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"
    BROKEN = "broken"  # fetched, but the layout did not match


class Seen(StrEnum):
    """What one fetch observed, before comparison."""

    CONTENT = "content"
    NOT_MODIFIED = "not_modified"  # a 304 to a conditional request
    SAME_BYTES = "same_bytes"  # the very bytes of the last good fetch: nothing to extract
    GONE = "gone"
    EXTRACTION_FAILED = "extraction_failed"
    FAILED = "failed"


# Observations that vouch for the last good version, its declared date included.
VOUCHED = frozenset({Seen.NOT_MODIFIED, Seen.SAME_BYTES})


@dataclass(frozen=True)
class Known:
    """What the archive knew of a page before this fetch (its last good version)."""

    status: PageStatus
    text_hash: str | None
    declared: dt.date | None
    declared_time: dt.time | None = None


@dataclass(frozen=True)
class Observation:
    seen: Seen
    text_hash: str | None = None
    declared: dt.date | None = None
    declared_time: dt.time | None = None


@dataclass(frozen=True)
class Verdict:
    kind: ChangeKind | None
    status: PageStatus


def classify_change(  # noqa: PLR0911 - one return per rule reads best
    known: Known | None, obs: Observation, *, baseline: bool
) -> Verdict:
    """Classify one fetch against the page's previous state.

    >>> d1, d2 = dt.date(2023, 2, 28), dt.date(2023, 3, 5)
    >>> was = Known(PageStatus.ACTIVE, "a", d1)
    >>> classify_change(was, Observation(Seen.CONTENT, "b", d2), baseline=False).kind
    <ChangeKind.CONTENT_UPDATED: 'content_updated'>
    >>> classify_change(was, Observation(Seen.CONTENT, "b", d1), baseline=False).kind
    <ChangeKind.SILENT_EDIT: 'silent_edit'>
    >>> classify_change(was, Observation(Seen.CONTENT, "a", d2), baseline=False).kind
    <ChangeKind.DATE_ONLY: 'date_only'>
    >>> classify_change(Known(PageStatus.ACTIVE, "a", d2), Observation(Seen.CONTENT, "a", d1),
    ...                 baseline=False).kind
    <ChangeKind.DATE_REGRESSED: 'date_regressed'>
    >>> classify_change(was, Observation(Seen.CONTENT, "a", d1), baseline=False).kind is None
    True
    """
    if known is None:
        return _first_sight(obs, baseline=baseline)
    if obs.seen is Seen.FAILED:
        return Verdict(None, known.status)
    if obs.seen is Seen.GONE:
        kind = None if known.status is PageStatus.REMOVED else ChangeKind.REMOVED
        return Verdict(kind, PageStatus.REMOVED)
    if obs.seen is Seen.EXTRACTION_FAILED:
        kind = None if known.status is PageStatus.BROKEN else ChangeKind.EXTRACTION_FAILED
        return Verdict(kind, PageStatus.BROKEN)
    if known.text_hash is None:  # never archived with a text (broken, gone, failed): its first
        return _first_sight(obs, baseline=baseline)
    if obs.seen in VOUCHED:
        kind = ChangeKind.RESTORED if known.status is PageStatus.REMOVED else None
        return Verdict(kind, PageStatus.ACTIVE)
    if known.status is PageStatus.REMOVED:
        return Verdict(ChangeKind.RESTORED, PageStatus.ACTIVE)
    return Verdict(_compare(known, obs), PageStatus.ACTIVE)


def _first_sight(obs: Observation, *, baseline: bool) -> Verdict:
    if obs.seen is Seen.CONTENT or obs.seen in VOUCHED:
        return Verdict(None if baseline else ChangeKind.NEW_PAGE, PageStatus.ACTIVE)
    if obs.seen is Seen.EXTRACTION_FAILED:
        return Verdict(None if baseline else ChangeKind.EXTRACTION_FAILED, PageStatus.BROKEN)
    if obs.seen is Seen.GONE:
        return Verdict(None, PageStatus.REMOVED)
    return Verdict(None, PageStatus.ACTIVE)


def declared_move(
    old: dt.date, old_time: dt.time | None, new: dt.date, new_time: dt.time | None
) -> int:
    """-1, 0 or 1: whether a declared value moved back, stayed or moved forward.

    By date first; on the same date the time decides when both carry one, and a date alone is
    the same date as any time on it.

    >>> d = dt.date(2017, 10, 3)
    >>> declared_move(d, dt.time(8, 59), d, dt.time(9, 30)), declared_move(d, None, d, dt.time(9))
    (1, 0)
    >>> declared_move(d, dt.time(23, 0), d + dt.timedelta(days=1), dt.time(1, 0))
    1
    """
    if old != new:
        return 1 if new > old else -1
    if old_time is None or new_time is None or old_time == new_time:
        return 0
    return 1 if new_time > old_time else -1


def _compare(known: Known, obs: Observation) -> ChangeKind | None:
    text_changed = obs.text_hash != known.text_hash
    old, new = known.declared, obs.declared
    move = None
    if old is not None and new is not None:
        move = declared_move(old, known.declared_time, new, obs.declared_time)
    if move is not None and move < 0:
        return ChangeKind.DATE_REGRESSED
    if not text_changed:
        same = move == 0 if move is not None else old == new
        return None if same else ChangeKind.DATE_ONLY
    # A date that appeared counts as moving forward; one that vanished does not.
    moved_forward = new is not None and (old is None or move == 1)
    return ChangeKind.CONTENT_UPDATED if moved_forward else ChangeKind.SILENT_EDIT
