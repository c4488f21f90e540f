"""Where a page's declared-date findings are computed and stored (kernel.datecheck).

Called after a backfill of a page and after a crawl's change of a page that has archive
captures; it recomputes all of the page's findings, so running it again changes nothing.
Callers own the transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.datecheck import Sighting, date_findings
from kernel.status import GOOD_OUTCOMES
from storage.models import Change, Fetch

COLUMNS = (Fetch.id, Fetch.fetched_at, Fetch.version_id, Fetch.declared_date, Fetch.source,
           Fetch.archive_url)  # fmt: skip


def check_dates(session: Session, page_id: int) -> int:
    """Flag the page's changes whose declared date its history contradicts; returns how many."""
    rows = session.execute(
        select(*COLUMNS)
        .where(Fetch.page_id == page_id, Fetch.outcome.in_(GOOD_OUTCOMES))
        .where(Fetch.version_id.is_not(None))
    )
    sightings = [
        Sighting(id_, at, version, declared, source, archive_url)
        for id_, at, version, declared, source, archive_url in rows
        if version is not None  # the query's filter; for the type checker
    ]
    found = date_findings(sightings)
    flagged = 0
    for change in session.scalars(select(Change).where(Change.page_id == page_id)):
        finding = found.get(change.new_fetch_id) if change.new_version_id is not None else None
        change.date_flag = str(finding.flag) if finding else None
        change.date_proof_fetch_id = finding.proof.fetch_id if finding else None
        change.date_note = finding.note if finding else None
        flagged += finding is not None
    session.flush()
    return flagged
