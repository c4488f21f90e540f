"""Run a child process and measure it alone: wall time, CPU (user + sys) and peak RSS.

``os.wait4`` returns the resource usage of that one child (and its waited-for descendants),
so the ministry server, another child of the benchmark, is never counted. Its peak RSS is that
of the largest single process, though: a crawl that runs in several processes at once is
measured by sampling the sum of its process group's RSS as well, and the larger figure counts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    returncode: int
    timed_out: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


class ChildFailed(RuntimeError):
    """A measured command exited non-zero or ran out of time."""


def run(
    command: list[str],
    *,
    timeout: float,
    log: Path | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> Measured:
    """Run ``command`` to its end (killed after ``timeout`` seconds), output to ``log``."""
    out = log.open("ab") if log else subprocess.DEVNULL
    try:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # its own process group: a timeout kills all of it
        )
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        done = threading.Event()
        group_peak = [0]
        sampler = threading.Thread(target=_sample, args=(process.pid, done, group_peak))
        sampler.start()
        try:
            _pid, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
            done.set()
            sampler.join()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    measured = Measured(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        max_rss_mb=max(usage.ru_maxrss, group_peak[0]) / 1024,  # KiB on Linux
        returncode=process.returncode,
        timed_out=expired.is_set(),
    )
    if check and (measured.returncode != 0 or measured.timed_out):
        what = "timed out" if measured.timed_out else f"exited {measured.returncode}"
        raise ChildFailed(f"{' '.join(command[:4])} … {what} (log: {log})")
    return measured


def _sample(group: int, done: threading.Event, peak: list[int]) -> None:
    """Keep in ``peak[0]`` the largest sum of RSS (KiB) of the processes of ``group``."""
    while not done.wait(0.05):
        peak[0] = max(peak[0], _group_rss_kib(group))


def _group_rss_kib(group: int) -> int:
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != group:  # the process group id
                continue
            with open(f"/proc/{entry.name}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        except (OSError, ValueError, IndexError, StopIteration):
            continue  # gone meanwhile, or a kernel thread
    return total
