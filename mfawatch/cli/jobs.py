"""Run calls in child processes, in parallel, and gather what each sends back.

"spawn" starts each child as a fresh interpreter: a Twisted reactor of its own (it cannot
restart, nor survive a fork), no copy of the parent's database connections. Children share the
parent's stderr, so their log lines appear as an in-process crawl's do.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any


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


def run_in_processes(target: Callable[..., None], calls: Sequence[tuple[Any, ...]]) -> list[Ended]:
    """``target(send, *args)`` for each ``args`` in a child process of its own, all at once.

    ``target`` must be importable (a module's function) and call ``send(result)`` once. A child
    that dies leaves the others running; its entry says how it ended.
    """
    context = multiprocessing.get_context("spawn")
    children = []
    for args in calls:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=target, args=(sender.send, *args))
        process.start()
        sender.close()  # the child holds the only writer: its death is EOF here
        children.append((process, receiver))
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
    """While children run, the parent outlives them: it must hold the crawl locks until the end.

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
            signal.signal(signum, handler)
