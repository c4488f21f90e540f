"""Run calls in child processes, in parallel with this one, and gather what each sends back.

Children are forked: they start with what this process has imported (Scrapy, SQLAlchemy: about
a second of CPU that a fresh interpreter would spend again, each) and with its open descriptors,
so a site lock stays held while any process of the crawl lives, and each child dies with this
process. A fork is safe here only before anything that must not be shared exists: no Twisted
reactor installed (it cannot survive a fork), no thread, no open database connection; the
caller sees to that. Children share the parent's stderr, so their log lines appear as an
in-process crawl's do.
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

T = TypeVar("T")
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
NUDGE = signal.SIGUSR1  # parent to child: a stop signal came, read its count (Stop)


@dataclass(frozen=True)
class Ended:
    """How one child ended: what it sent (None if it died first) and its exit code."""

    result: Any
    exitcode: int | None

    def describe(self) -> str:
        """
        >>> Ended(None, -9).describe(), Ended(None, 1).describe()
        ('killed by SIGKILL', 'exit code 1')
        """
        code = self.exitcode or 0
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"


class Stop:
    """SIGTERM and SIGINT for a crawl of one process or several, noted whenever they come.

    Installed before the first child is forked, so there is no moment (not even before Scrapy
    has started) when a signal kills a process instead of stopping its crawl. The first signal
    asks for a graceful stop (the runs are closed "interrupted"), a second forces it.

    Every signal the parent gets is passed on to its children: one sent to it alone (`kill PID`,
    systemd's KillMode=mixed) or while a child was being forked (that child was not there to get
    it, and its copy of this object was made before the signal was noted) must stop them too.
    What a child is passed is the parent's count, in memory they share, with a nudge (NUDGE)
    to read it: a child counts max(its own, its parent's), so a Ctrl-C that reached both (the
    terminal signals the whole group) or systemd's SIGTERM to every process counts once, not
    twice (which would force the stop).
    """

    def __init__(self) -> None:
        self._own = 0  # the signals this process received
        self._own_signum: int | None = None
        self._seen = 0  # the count last acted on (the parent's may have grown since)
        self._owner = os.getpid()  # the parent: the one writer of _shared
        self._shared = memoryview(mmap.mmap(-1, 8)).cast("i")  # its [count, first signum]
        self._pid = os.getpid()
        self._children: list[int] = []
        self._listener: Callable[[bool], None] | None = None

    @property
    def count(self) -> int:
        """How many stop signals this crawl has had: here, or in the parent (in a child)."""
        return max(self._own, self._shared[0])

    @property
    def signum(self) -> int | None:
        """The first signal received (here, else by the parent), None if none."""
        return self._own_signum or self._shared[1] or None

    def install(self) -> Stop:
        for signum in (*STOP_SIGNALS, NUDGE):
            signal.signal(signum, self._on_signal)
        return self

    def listen(self, listener: Callable[[bool], None] | None) -> None:
        """Call ``listener(first)`` on each new stop signal from now on (None: no more)."""
        self._listener = listener

    def add_child(self, pid: int) -> None:
        self._children.append(pid)
        if self.count:  # it came while this child was being forked
            _kill(pid, NUDGE)

    def forked(self) -> None:
        """In a new child: its children are none, its crawl is its own."""
        self._pid = os.getpid()
        self._children = []
        self._listener = None

    def _on_signal(self, signum: int, _frame: object) -> None:
        if signum != NUDGE:  # a nudge only says: read the parent's count
            self._own += 1
            self._own_signum = self._own_signum or signum
        if os.getpid() == self._owner and signum != NUDGE:
            self._shared[1] = self._shared[1] or signum
            self._shared[0] = self._own
            for pid in self._children:
                _kill(pid, NUDGE)
        if self.count > self._seen:
            self._seen = self.count
            if self._listener is not None:
                self._listener(self._seen == 1)


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has ended
        os.kill(pid, signum)


def run_alongside(
    here: Callable[[], T],
    target: Callable[..., None],
    calls: Sequence[tuple[Any, ...]],
    stop: Stop,
) -> tuple[T, list[Ended]]:
    """``here()`` in this process while ``target(send, *args)`` runs, for each ``args``, in a
    child process of its own; then how each child ended.

    ``target`` must call ``send(result)`` once. A child that dies leaves the others running;
    every child dies with this process (a lock it inherited must not outlive its holder).
    Whatever ``here()`` does, the children are waited for. ``stop`` must be installed.
    """
    context = multiprocessing.get_context("fork")
    children: list[tuple[BaseProcess, Connection]] = []
    for args in calls:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_child, args=(os.getpid(), stop, target, sender.send, *args)
        )
        # Blocked across the fork: Python drops a signal that reaches the child before its
        # interpreter is ready (it clears pending ones after a fork); blocked, it waits.
        signal.pthread_sigmask(signal.SIG_BLOCK, {*STOP_SIGNALS, NUDGE})
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {*STOP_SIGNALS, NUDGE})
        sender.close()  # the child holds the only writer: its death is EOF here
        children.append((process, receiver))
        stop.add_child(process.pid or 0)
    try:
        mine = here()
    finally:
        ended = _wait(children)
    return mine, ended


def _child(
    parent: int, stop: Stop, target: Callable[..., None], send: Callable[[Any], None], *args: Any
) -> None:
    stop.forked()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {*STOP_SIGNALS, NUDGE})  # one that came is handled
    _die_with(parent)
    target(send, *args)


def _die_with(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux; elsewhere a no-op).

    A crawl whose parent was killed must end at once: it holds the parent's site locks (flock
    is shared across fork), and a graceful stop would wait for its downloads in flight, up to
    DOWNLOAD_TIMEOUT. Its runs are then closed "interrupted" by the next crawl of its sites,
    which takes their locks, as for any killed crawl; nothing committed is lost.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def _wait(children: list[tuple[BaseProcess, Connection]]) -> list[Ended]:
    ended = []
    for process, receiver in children:
        try:
            result = receiver.recv()
        except EOFError:
            result = None
        receiver.close()
        process.join()
        ended.append(Ended(result, process.exitcode))
    return ended
