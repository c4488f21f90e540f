"""Notifications through Apprise: one message per run that found changes, one per run whose
pages matched only a fallback of the layout (drift, a warning before pages fail), one per failed
or unhealthy run. Notes come from pages too: control characters are shown, not sent.

Target URLs carry secrets (tokens, passwords, in their paths too): they are never
logged or printed, not even under -v; a target is named by its scheme only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from kernel.detect import kind_rank
from kernel.errors import ConfigError
from kernel.text import printable

log = logging.getLogger(__name__)

MAX_LISTED = 20


@dataclass(frozen=True)
class ChangeNote:
    id: int
    kind: str
    url: str


@dataclass(frozen=True)
class RunReport:
    site: str
    status: str
    note: str | None
    fetched: int
    errors: int
    changes: Sequence[ChangeNote]
    drifted: int = 0  # fetches flagged as layout drift
    drift: Sequence[tuple[str, str]] = ()  # (URL, note) of the first of them
    # A directory's reading: missions new on its list, gone from it ("new mission seoul").
    news: Sequence[str] = ()


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    failure: bool
    warning: bool = False


def messages_for(report: RunReport) -> list[Message]:
    """What to say about one run: its new changes, its failure, both, or nothing.

    >>> r = RunReport("embassy-seoul", "ok", None, 8, 0,
    ...               [ChangeNote(4, "content_updated", "u4"), ChangeNote(5, "silent_edit", "u5")])
    >>> [m.title for m in messages_for(r)]
    ['mfawatch: embassy-seoul: 2 new changes (1 silent_edit, 1 content_updated)']
    >>> print(messages_for(r)[0].body)
    #5 silent_edit u5
    #4 content_updated u4
    """
    out = []
    if report.changes:
        ordered = sorted(report.changes, key=lambda c: (kind_rank(c.kind), c.id))
        counts: dict[str, int] = {}
        for change in ordered:
            counts[change.kind] = counts.get(change.kind, 0) + 1
        summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        lines = [f"#{c.id} {c.kind} {c.url}" for c in ordered[:MAX_LISTED]]
        if len(ordered) > MAX_LISTED:
            lines.append(f"… and {len(ordered) - MAX_LISTED} more: mfawatch changes")
        title = f"mfawatch: {report.site}: {len(ordered)} new change{'s' * (len(ordered) != 1)}"
        out.append(Message(f"{title} ({summary})", "\n".join(lines), failure=False))
    if report.drifted:
        out.append(_drift_message(report))
    if report.news:
        title = (
            f"mfawatch: {report.site}: {len(report.news)} mission{'s' * (len(report.news) != 1)}"
        )
        out.append(Message(f"{title} new or gone", "\n".join(report.news), failure=False))
    if report.status != "ok":
        note = printable(report.note or "no details")
        body = (
            f"The crawl of {report.site} ended {report.status}: {note}.\n"
            f"Pages fetched: {report.fetched}, errors: {report.errors}. See: mfawatch runs"
        )
        out.append(Message(f"mfawatch: {report.site}: crawl {report.status}", body, failure=True))
    return out


def _drift_message(report: RunReport) -> Message:
    """Layout drift: pages still read, by a fallback of the layout; a redesign may be on its
    way. Said before any page fails.

    >>> r = RunReport("seoul", "ok", None, 8, 0, [], 1, [("u5", 'drift: body matched fallback')])
    >>> m = _drift_message(r)
    >>> print(m.title); print(m.body)
    mfawatch: seoul: layout drift on 1 page
    u5: drift: body matched fallback
    Check the layout: mfawatch layout check URL; see mfawatch runs, history URL
    """
    n = report.drifted
    lines = [f"{printable(url)}: {printable(note)}" for url, note in report.drift[:MAX_LISTED]]
    if n > len(lines):
        lines.append(f"… and {n - len(lines)} more")
    lines.append("Check the layout: mfawatch layout check URL; see mfawatch runs, history URL")
    title = f"mfawatch: {report.site}: layout drift on {n} page{'s' * (n != 1)}"
    return Message(title, "\n".join(lines), failure=False, warning=True)


def describe_target(url: str) -> str:
    """A target as it may be logged: its scheme and nothing else.

    >>> describe_target("tgram://123456:secret-token@chat")
    'tgram://…'
    """
    return f"{url.split('://', 1)[0]}://…" if "://" in url else "<target>"


def check_targets(targets: Sequence[str]) -> None:
    """Each target an Apprise URL, checked when the service starts, not when its first
    message is due weeks later (ConfigError naming it as it may be logged)."""
    if not targets:
        return
    import apprise

    logging.getLogger("apprise").setLevel(logging.CRITICAL)  # it would log the whole URL
    for number, url in enumerate(targets, 1):
        if not apprise.Apprise().add(url):
            raise ConfigError(
                f"notify: target {number} ({describe_target(url)}) is not an Apprise URL"
            )


def send(targets: Sequence[str], messages: Sequence[Message]) -> int:
    """Send each message to every target; the number of messages every target took."""
    if not targets or not messages:
        return 0
    import apprise

    # Apprise logs delivery problems with the target URL, and urllib3 (under requests) logs
    # each request's path at DEBUG, where webhooks keep their tokens: keep both quiet, even
    # under -v, and say ourselves, without the URL, what failed.
    for name in ("apprise", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    hub = apprise.Apprise()
    for url in targets:
        if not hub.add(url):
            log.error("notification target %s is not a valid Apprise URL", describe_target(url))
    sent = 0
    for message in messages:
        kind = apprise.NotifyType.INFO
        if message.failure:
            kind = apprise.NotifyType.FAILURE
        elif message.warning:
            kind = apprise.NotifyType.WARNING
        if hub.notify(body=message.body, title=message.title, notify_type=kind):
            sent += 1
        else:
            log.error("notification %r not delivered to every target", message.title)
    return sent
