"""Run calls in child processes, in parallel with this one, and gather what each sends back.

Children are forked: they start with what this process has imported (Scrapy, SQLAlchemy: about
a second of CPU that a fresh interpreter would spend again, each) and with its open descriptors,
so a site lock stays held while any process of the crawl lives. A fork is safe here only before
anything that must not be shared exists: no Twisted reactor installed (it cannot survive a
fork), no thread, no open database connection; the caller sees to that. Children share the
parent's stderr, so their log lines appear as an in-process crawl's do.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

T = TypeVar("T")


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


def run_alongside(
    here: Callable[[], T], target: Callable[..., None], calls: Sequence[tuple[Any, ...]]
) -> tuple[T, list[Ended]]:
    """``here()`` in this process while ``target(send, *args)`` runs, for each ``args``, in a
    child process of its own; then how each child ended.

    ``target`` must call ``send(result)`` once. A child that dies leaves the others running.
    Whatever ``here()`` does, the children are waited for.
    """
    context = multiprocessing.get_context("fork")
    children: list[tuple[BaseProcess, Connection]] = []
    for args in calls:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=target, args=(sender.send, *args))
        process.start()
        sender.close()  # the child holds the only writer: its death is EOF here
        children.append((process, receiver))
    try:
        mine = here()
    finally:
        ended = _wait(children)
    return mine, ended


def _wait(children: list[tuple[BaseProcess, Connection]]) -> list[Ended]:
    ended = []
    with _signals_for([process for process, _ in children]):
        for process, receiver in children:
            try:
                result = receiver.recv()
            except EOFError:
                result = None
            receiver.close()
            process.join()
            ended.append(Ended(result, process.exitcode))
    return ended


@contextmanager
def _signals_for(children: list[BaseProcess]) -> Iterator[None]:
    """While children run on alone, the parent outlives them: it holds the crawl locks.

    Ctrl-C reaches every process of the terminal's group: the children stop their crawls, the
    parent waits for them. SIGTERM may be meant for the parent alone (`kill PID`): passed on.
    """

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.is_alive() and child.pid:
                os.kill(child.pid, signum)

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not None:  # None: not set from Python, nothing to restore
                signal.signal(signum, handler)
