"""Runs: one crawl of one site, from start to its status (ok, failed, timed_out, interrupted,
unhealthy), with counts derived from its fetches and changes.

A site's baseline is its first run that ended ok (healthy) having archived at least one page
with a good text: until then pages found are not changes.

A run is *unhealthy* when the crawl finished but the site looks redesigned or is blocking us:
no page could be fetched (or every page answered with a block), most pages did not match the
layout, the "last updated" line vanished from most pages that had it, or no start page's menus
linked a relations page. Its note says why, and names what to look at: the start pages whose
menus linked nothing, the first page that did not match and the selectors tried on it.

A fetch whose note says "drift: ..." (kernel.plan) still worked, by a fallback of the layout:
runs count them, to be told before pages fail.
"""

from __future__ import annotations

import datetime as dt
import errno
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, aliased, joinedload

from kernel.config import LABEL_SOURCE
from kernel.status import GOOD_OUTCOMES, FetchSource, Outcome, ReviewStatus, RunStatus
from storage.models import Change, Fetch, Page, Run, Site, utcnow

RUN_STATES = tuple(RunStatus)
DISK_FULL = "disk full"
_SQLITE_FULL = 13  # sqlite3.SQLITE_FULL from Python 3.11 on
_PG_DISK_FULL = "53100"  # PostgreSQL's SQLSTATE disk_full (psycopg.errors.DiskFull)


def failure_cause(exc: BaseException) -> str:
    """Why a write failed, as a run's note gives it: "disk full" for a full disk, whatever
    reported it (errno ENOSPC or EDQUOT, SQLite's SQLITE_FULL, PostgreSQL's DiskFull); else
    the first line of the database's own message.

    >>> import errno, sqlite3
    >>> failure_cause(OSError(errno.ENOSPC, "No space left on device"))
    'disk full'
    >>> full = sqlite3.OperationalError("database or disk is full")
    >>> full.sqlite_errorcode = 13
    >>> failure_cause(full)
    'disk full'
    >>> failure_cause(ValueError("bad value\\nmore"))
    'bad value'
    """
    orig = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's exception
    if isinstance(orig, OSError) and orig.errno in (errno.ENOSPC, errno.EDQUOT):
        return DISK_FULL
    if getattr(orig, "sqlite_errorcode", None) == _SQLITE_FULL:
        return DISK_FULL
    if getattr(orig, "sqlstate", None) == _PG_DISK_FULL:
        return DISK_FULL
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


def start_run(
    session: Session, site_name: str, layout: str, trigger: str, layout_hash: str | None = None
) -> int:
    site = session.scalar(select(Site).where(Site.name == site_name))
    if site is None:
        site = Site(name=site_name, layout=layout)
        session.add(site)
    site.layout = layout
    run = Run(site=site, trigger=trigger, status=RunStatus.RUNNING, layout_hash=layout_hash)
    session.add(run)
    session.flush()
    return run.id


DRIFT = "drift:"  # how a fetch's note flags layout drift
BLOCKED = "blocked:"  # and a block answer (403, an interstitial)


@dataclass(frozen=True)
class Discovery:
    """What a crawl saw of a site's start pages, which no fetch row says (scraper.spiders)."""

    linked: int = 0  # relations pages that the menus (or sitemaps) gave
    # Each start page whose menus linked none, and why ("…: nav, aside matched nothing").
    unlinked: tuple[str, ...] = ()


def finish_run(
    session: Session,
    run_id: int,
    status: str,
    note: str | None = None,
    discovery: Discovery | None = None,
) -> str:
    """Close a run; a crawl that finished "ok" is checked for health first. Returns the status."""
    run = session.get_one(Run, run_id)
    if status == "ok":
        problem = health_problem(session, run_id, discovery)
        if problem:  # after the crawl's own note (why pages were not fetched), if any
            status, note = "unhealthy", f"{note}; {problem}" if note else problem
    run.status = status
    run.note = note
    run.finished_at = utcnow()
    if status == "ok" and run.site.baseline_at is None and _archived_a_page(session, run_id):
        run.site.baseline_at = run.finished_at
    return status


def _archived_a_page(session: Session, run_id: int) -> bool:
    """Whether the run stored a page with a good version: the baseline is the first run that
    did, so that a first crawl of 404s or of a wrong layout does not make every page a change."""
    good = select(Fetch.id).where(Fetch.run_id == run_id, Fetch.outcome.in_(GOOD_OUTCOMES))
    return session.scalar(good.limit(1)) is not None


def close_stale_runs(session: Session, site_names: Sequence[str], status: str, note: str) -> int:
    """Mark runs still "running" for these sites as ended (their process died).

    Only the holder of the sites' crawl locks may call this: then no live crawl owns them.
    """
    site_ids = select(Site.id).where(Site.name.in_(site_names))
    result = session.execute(
        update(Run)
        .where(Run.site_id.in_(site_ids), Run.status == RunStatus.RUNNING)
        .values(status=status, note=note, finished_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def mark_timed_out(session: Session, site_name: str, since: dt.datetime, note: str) -> int:
    """Mark the site's runs started since `since` as timed out: the crawl was stopped for running
    too long, whether it still closed its runs itself ("interrupted") or died first ("running").
    """
    site_ids = select(Site.id).where(Site.name == site_name)
    result = session.execute(
        update(Run)
        .where(Run.site_id.in_(site_ids), Run.started_at >= since)
        .where(Run.status.in_((RunStatus.RUNNING, RunStatus.INTERRUPTED)))
        .values(status="timed_out", note=note, finished_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def health_problem(session: Session, run_id: int, discovery: Discovery | None = None) -> str | None:
    """Why a finished run looks unhealthy, with what to look at, or None."""
    outcomes, blocked = _outcomes(session, run_id), _outcomes(session, run_id, BLOCKED)
    fetched = sum(outcomes.values())
    seen = sum(outcomes[o] for o in GOOD_OUTCOMES) + outcomes[Outcome.GONE]
    # Pages fetched but not matching the layout first: "could not be fetched" would mislead.
    # An interstitial is a block, not a page of another layout.
    broken = outcomes[Outcome.EXTRACTION_FAILED] - blocked[Outcome.EXTRACTION_FAILED]
    if broken * 2 > fetched:
        problem = f"{broken} of {fetched} pages did not match the layout (redesign or block page?)"
        return f"{problem}; {_first_broken(session, run_id)}"
    if seen == 0:
        return _nothing_seen(fetched, blocked.total(), discovery)
    had, lost = _date_lines_lost(session, run_id)
    if lost and lost * 2 > had:
        return f'the "last updated" line vanished from {lost} of {had} pages that had it'
    if discovery is not None and discovery.unlinked and not discovery.linked:
        # The known pages were checked again, but a new page would go unseen.
        return "; ".join(["no start page's menus linked a relations page", *discovery.unlinked])
    return None


def _nothing_seen(fetched: int, blocked: int, discovery: Discovery | None) -> str:
    """Why no page was read: none found (the start pages say why), or every one blocked."""
    if not fetched:
        return "; ".join(["no page was found", *(discovery.unlinked if discovery else ())])
    block = f"blocked: {blocked} of {fetched} pages answered 403/interstitial"
    if blocked == fetched:
        return block
    problem = f"no page could be fetched ({fetched} tried)"
    return f"{problem}; {block}" if blocked else problem


def _outcomes(session: Session, run_id: int, noted: str | None = None) -> Counter[str]:
    """The run's fetches by outcome; only those whose note starts with ``noted``, if given."""
    query = select(Fetch.outcome, func.count()).where(Fetch.run_id == run_id)
    if noted is not None:
        query = query.where(Fetch.note.startswith(noted, autoescape=True))
    return Counter({outcome: n for outcome, n in session.execute(query.group_by(Fetch.outcome))})


def _first_broken(session: Session, run_id: int) -> str:
    """The run's first page that did not match the layout, and why (the selectors tried)."""
    url, other, error = session.execute(
        select(Page.url, Fetch.other_url, Fetch.error)
        .join(Page, Fetch.page_id == Page.id)
        .where(Fetch.run_id == run_id, Fetch.outcome == Outcome.EXTRACTION_FAILED)
        .where(or_(Fetch.note.is_(None), ~Fetch.note.startswith(BLOCKED, autoescape=True)))
        .order_by(Fetch.id)
        .limit(1)
    ).one()
    return f"first failing page {other or url}: {error}"


def _date_lines_lost(session: Session, run_id: int) -> tuple[int, int]:
    """Of this run's good fetches whose previous good fetch had a date line, how many lost it
    (a date from another of the layout's date sources, such as a <meta>, is no date line)."""
    earlier, previous = aliased(Fetch), aliased(Fetch)
    previous_id = (
        select(func.max(earlier.id))
        .where(earlier.page_id == Fetch.page_id, earlier.id < Fetch.id)
        .where(earlier.outcome.in_(GOOD_OUTCOMES), earlier.source == FetchSource.LIVE)
        .correlate(Fetch)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Fetch.declared_source)
        .join(previous, previous.id == previous_id)
        .where(Fetch.run_id == run_id, Fetch.outcome.in_(GOOD_OUTCOMES))
        .where(previous.declared_source == LABEL_SOURCE)
    ).all()
    return len(rows), sum(1 for (now,) in rows if now != LABEL_SOURCE)


@dataclass(frozen=True)
class RunSummary:
    fetched: int = 0
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    errors: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)
    drifted: int = 0  # fetches flagged as layout drift


def summarize(outcomes: Counter[str], kinds: Counter[str], drifted: int = 0) -> RunSummary:
    return RunSummary(
        fetched=sum(outcomes.values()),
        unchanged=outcomes[Outcome.UNCHANGED] + outcomes[Outcome.NOT_MODIFIED],
        new=outcomes[Outcome.NEW],
        changed=outcomes[Outcome.CHANGED],
        errors=outcomes[Outcome.FAILED] + outcomes[Outcome.EXTRACTION_FAILED],
        outcomes=dict(outcomes),
        changes=dict(kinds),
        drifted=drifted,
    )


def run_summaries(session: Session, run_ids: Sequence[int]) -> dict[int, RunSummary]:
    """Counts per run, in two grouped queries whatever the number of runs."""
    outcomes: dict[int | None, Counter[str]] = defaultdict(Counter)
    for run_id, outcome, n in session.execute(
        select(Fetch.run_id, Fetch.outcome, func.count())
        .where(Fetch.run_id.in_(run_ids))
        .group_by(Fetch.run_id, Fetch.outcome)
    ):
        outcomes[run_id][outcome] = n
    kinds: dict[int | None, Counter[str]] = defaultdict(Counter)
    for run_id, kind, n in session.execute(
        select(Fetch.run_id, Change.kind, func.count())
        .join(Fetch, Change.new_fetch_id == Fetch.id)
        .where(Fetch.run_id.in_(run_ids))
        .group_by(Fetch.run_id, Change.kind)
    ):
        kinds[run_id][kind] = n
    drifted: dict[int | None, int] = {}
    for run_id, n in session.execute(
        select(Fetch.run_id, func.count())
        .where(Fetch.run_id.in_(run_ids), Fetch.note.startswith(DRIFT, autoescape=True))
        .group_by(Fetch.run_id)
    ):
        drifted[run_id] = n
    return {rid: summarize(outcomes[rid], kinds[rid], drifted.get(rid, 0)) for rid in run_ids}


def total_summary(session: Session, run_ids: Sequence[int]) -> RunSummary:
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    drifted = 0
    for summary in run_summaries(session, run_ids).values():
        outcomes.update(summary.outcomes)
        kinds.update(summary.changes)
        drifted += summary.drifted
    return summarize(outcomes, kinds, drifted)


def list_runs(
    session: Session,
    *,
    site: str | None = None,
    ids: Sequence[int] | None = None,
    since: dt.datetime | None = None,
    limit: int | None = 50,
) -> Sequence[Run]:
    """Runs, newest first."""
    query = select(Run).join(Run.site).options(joinedload(Run.site))
    if site:
        query = query.where(Site.name == site)
    if ids is not None:
        query = query.where(Run.id.in_(ids))
    if since:
        query = query.where(Run.started_at >= since)
    query = query.order_by(Run.started_at.desc(), Run.id.desc())
    return session.scalars(query.limit(limit) if limit else query).all()


def last_run_start(session: Session, site_name: str) -> dt.datetime | None:
    return session.scalar(
        select(Run.started_at)
        .join(Run.site)
        .where(Site.name == site_name)
        .order_by(Run.started_at.desc())
        .limit(1)
    )


def drift_notes(session: Session, run_id: int, limit: int = 20) -> Sequence[tuple[str, str]]:
    """(URL, note) of the first fetches of a run flagged as layout drift."""
    rows = session.execute(
        select(Fetch.other_url, Page.url, Fetch.note)
        .join(Page, Fetch.page_id == Page.id)
        .where(Fetch.run_id == run_id, Fetch.note.startswith(DRIFT, autoescape=True))
        .order_by(Fetch.id)
        .limit(limit)
    )
    return [(other or url, note or "") for other, url, note in rows]


def new_changes(session: Session, run_id: int) -> Sequence[tuple[int, str, str]]:
    """(id, kind, page URL) of the changes a run found that still wait for review."""
    rows = session.execute(
        select(Change.id, Change.kind, Page.url)
        .join(Fetch, Change.new_fetch_id == Fetch.id)
        .join(Page, Change.page_id == Page.id)
        .where(Fetch.run_id == run_id, Change.status == ReviewStatus.PENDING)
        .order_by(Change.id)
    )
    return [(cid, kind, url) for cid, kind, url in rows]
