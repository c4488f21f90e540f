"""Every error mfawatch raises on purpose; the CLI turns each into one line and exit code 2."""

from __future__ import annotations


class MfawatchError(Exception):
    """Base class: a problem the user can fix, with a message that says which."""

    exit_code = 2


class ConfigError(MfawatchError):
    """Raised by ``kernel.config`` for a sites or layout file that cannot be used."""


class DatabaseError(MfawatchError):
    """Raised by ``storage.db`` when the database URL or the database itself is unusable."""


class NotFound(MfawatchError):
    """Raised by ``storage.queries`` for a page, change or version that is not in the archive."""


class AlreadyDecided(MfawatchError):
    """Raised by ``storage.queries.review_change`` for a decision the change already has."""


class ExtractionFailed(MfawatchError):
    """Raised by ``scraper.extract`` when a page does not match its layout."""


class PageGone(ExtractionFailed):
    """Raised by ``scraper.extract`` when a 200 page says that it does not exist (a soft 404)."""


class PageBlocked(ExtractionFailed):
    """Raised by ``scraper.extract`` when a page is a bot-protection screen that the layout's
    ``blocked_text`` names (mid.ru's "Data processing... Please, wait."): a block, not a page."""


class SiteBusy(MfawatchError):
    """Raised by ``scraper.locks`` when another live process is crawling the site."""

    exit_code = 3  # the scheduler tells "busy" from a real failure by it


class ArchiveError(MfawatchError):
    """Raised by ``scraper.wayback`` when a web archive cannot be read: unreachable, answering
    errors or what is not its API, or refusing (rate limits past the retries)."""


class ArchiveUnreachable(ArchiveError):
    """Raised by ``scraper.wayback`` when the archive cannot be reached at all, or keeps
    answering 429: nothing more can be done in this backfill."""


class ArchiveDamaged(MfawatchError):
    """Raised by ``storage.received`` when stored bytes no longer hash to their recorded hash."""

    exit_code = 1  # not a mistake of the user's: the archive itself does not hold
