"""The archive's vocabulary of states: one definition each, used by storage, crawls and every
front end (a value stored in the database is one of these strings).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What one fetch came to, as stored on its row."""

    NEW = "new"  # the first text seen of this page
    CHANGED = "changed"  # text differs from the page's current version
    UNCHANGED = "unchanged"
    NOT_MODIFIED = "not_modified"  # 304 to a conditional request
    GONE = "gone"  # 404/410 or redirected away
    EXTRACTION_FAILED = "extraction_failed"
    FAILED = "failed"  # HTTP error, network error, block page status, not HTML


# Fetches that saw the page's text (or were told it had not changed).
GOOD_OUTCOMES = (Outcome.NEW, Outcome.CHANGED, Outcome.UNCHANGED, Outcome.NOT_MODIFIED)


class RunStatus(StrEnum):
    """How a crawl run of one site ended (or that it has not)."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    INTERRUPTED = "interrupted"
    UNHEALTHY = "unhealthy"  # finished, but too few pages came out right


class ReviewStatus(StrEnum):
    """A change's place in the review queue: the latest decision on it."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"
    # A change found in an archive's past (mfawatch backfill): kept out of the queue unless
    # asked (`backfill --queue`, or `review --reopen`), so years of history do not flood it.
    UNQUEUED = "unqueued"


REVIEW_STATES = tuple(ReviewStatus)
# What a review listing can be filtered by: a status, or every change.
REVIEW_FILTERS = (*REVIEW_STATES, "all")


class FetchSource(StrEnum):
    """Where a fetch's bytes came from: the site itself, or a web archive's capture of it."""

    LIVE = "live"  # crawled
    WAYBACK = "wayback"  # a Wayback Machine capture (mfawatch backfill)
    WARC = "warc"  # a record of a WARC file
    MEMENTO = "memento"  # a capture in another web archive, from its RFC 7089 TimeMap
