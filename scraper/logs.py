"""Log lines carry no control characters from the network.

URLs, Location headers, error messages and page titles end up in log messages, Scrapy's own
("Redirecting (301) to <GET …>") as much as mfawatch's. Every record of the crawl process is
escaped as the query commands escape their output (kernel.text.printable: ESC shown as
``\\x1b``), whatever logger made it and whatever handler writes it.
"""

from __future__ import annotations

import logging

from kernel.text import printable


class PrintableRecord(logging.LogRecord):
    """A log record whose message and traceback text are escaped for a terminal."""

    def getMessage(self) -> str:
        return printable(super().getMessage())

    # Formatters cache the formatted traceback here; the setter escapes it on the way in.
    @property
    def exc_text(self) -> str | None:
        return self._exc_text

    @exc_text.setter
    def exc_text(self, value: str | None) -> None:
        self._exc_text = None if value is None else printable(value)


def escape_log_records() -> None:
    """Make every log record of this process a PrintableRecord (once: records are made by one
    factory per process)."""
    if logging.getLogRecordFactory() is not PrintableRecord:
        logging.setLogRecordFactory(PrintableRecord)
