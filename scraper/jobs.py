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
    asks for a graceful stop (the runs are closed "interrupted"), a second forces it. SIGTERM
    may be meant for the parent alone (`kill PID`, systemd's KillMode=mixed): it is passed on to
    the children. Ctrl-C reaches every process of the terminal's group by itself.
    """

    def __init__(self) -> None:
        self.signum: int | None = None  # the first signal received
        self.count = 0
        self._pid = os.getpid()
        self._children: list[int] = []
        self._listener: Callable[[bool], None] | None = None

    def install(self) -> Stop:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        return self

    def listen(self, listener: Callable[[bool], None] | None) -> None:
        """Call ``listener(first)`` on each signal from now on (None: no more)."""
        self._listener = listener

    def add_child(self, pid: int) -> None:
        self._children.append(pid)
        if self.signum == signal.SIGTERM:  # it came while this child was being forked
            _kill(pid, signal.SIGTERM)

    def forked(self) -> None:
        """In a new child: its children are none, its crawl is its own."""
        self._pid = os.getpid()
        self._children = []
        self._listener = None

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.count += 1
        self.signum = self.signum or signum
        if signum == signal.SIGTERM and os.getpid() == self._pid:
            for pid in self._children:
                _kill(pid, signum)
        if self._listener is not None:
            self._listener(self.count == 1)


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
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
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
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # a signal that came is handled
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
