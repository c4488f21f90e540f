"""When crawls are due: schedules as text ("6h", "0 3 * * *"), APScheduler triggers, restarts.

The next run is derived from the run records, not from a job store: after a restart a crawl that
fell due while the service was down runs once, now, and one not yet due waits for its time.
"""

from __future__ import annotations

import datetime as dt
import re

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from kernel.errors import ConfigError

_DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|m|h|d|w)")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


_LONGEST = dt.timedelta(days=3653)


def parse_duration(text: str) -> dt.timedelta:
    """A duration like ``6h``, ``90s``, ``1h30m`` or ``2d``.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    >>> parse_duration("soon")
    Traceback (most recent call last):
    ...
    kernel.errors.ConfigError: not a duration: 'soon' (use e.g. 90s, 30m, 6h, 1d)
    """
    compact = text.replace(" ", "").lower()
    parts = list(_DURATION.finditer(compact))
    if not parts or "".join(m.group() for m in parts) != compact:
        cron = " and not a crontab line, which has five fields" if len(text.split()) > 1 else ""
        raise ConfigError(f"not a duration: {text!r} (use e.g. 90s, 30m, 6h, 1d){cron}")
    try:
        total = sum(
            (dt.timedelta(**{_UNITS[m["unit"]]: float(m["n"])}) for m in parts), dt.timedelta()
        )
    except OverflowError:
        total = dt.timedelta.max
    if total > _LONGEST:  # beyond it, the next fire time soon leaves the calendar
        raise ConfigError(f"a duration too long to schedule (ten years at most): {text!r}")
    if total <= dt.timedelta():
        raise ConfigError(f"a schedule interval must be longer than zero: {text!r}")
    return total


def make_trigger(
    schedule: str, jitter: dt.timedelta | None = None, start: dt.datetime | None = None
) -> BaseTrigger:
    """An interval (``6h``) or a crontab line (``0 3 * * *``), in UTC.

    An interval counts from ``start`` (the site's first crawl under this service), so the
    second crawl comes one whole interval after the first, not at some earlier clock slot.

    >>> make_trigger("6h").interval
    datetime.timedelta(seconds=21600)
    """
    seconds = int(jitter.total_seconds()) if jitter else None
    if len(schedule.split()) == 5:
        try:
            trigger = CronTrigger.from_crontab(schedule, timezone=dt.UTC)
        except ValueError as exc:
            raise ConfigError(f"not a crontab schedule: {schedule!r} ({exc})") from None
        trigger.jitter = seconds
        return trigger
    interval = parse_duration(schedule)
    return IntervalTrigger(
        seconds=interval.total_seconds(),
        start_date=start or dt.datetime.now(dt.UTC),
        timezone=dt.UTC,
        jitter=seconds,
    )


def first_run_time(
    trigger: BaseTrigger, last_start: dt.datetime | None, now: dt.datetime
) -> dt.datetime:
    """When a site's first crawl under this service is due.

    Never crawled: now. Otherwise the first fire time after the last run started; if that
    moment has passed while the service was down, now — once, not once per missed slot.

    >>> now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    >>> six = make_trigger("6h")
    >>> first_run_time(six, now - dt.timedelta(hours=7), now) == now
    True
    >>> first_run_time(six, now - dt.timedelta(hours=1), now)
    datetime.datetime(2026, 1, 1, 17, 0, tzinfo=datetime.timezone.utc)
    """
    if last_start is None:
        return now
    if isinstance(trigger, IntervalTrigger):
        due = last_start + trigger.interval  # the interval counts from the last crawl
    else:
        due = trigger.get_next_fire_time(None, last_start) or now
    return max(due, now)
