"""`mfawatch crawl --jobs N`: the sites dealt between N crawl processes writing one archive.

Three embassy sites, each its own mirror server (a site's pages are keyed by its host): with
--jobs 2, the mfawatch process crawls two of them and a child process the third.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mfawatch.mirror import MirrorServer, embassy_site, faults
from tests.conftest import FAST, REPO, Mfawatch
from tests.support import wait_for

pytestmark = pytest.mark.crawl

MISSIONS = ("seoul", "bern", "amman")
PAGES_PER_SITE = 8  # 4 relations pages in English and in Azerbaijani
# The crawl processes are found through /proc.
needs_proc = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")


@pytest.fixture
def mirrors() -> Iterator[dict[str, MirrorServer]]:
    servers = {name: MirrorServer().start() for name in MISSIONS}
    try:
        for name, server in servers.items():
            server.set_site(embassy_site(name))
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def sites_file(path: Path, mirrors: dict[str, MirrorServer]) -> Path:
    lines = ['contact = "tests@mfawatch.invalid"', "[settings]"]
    lines += [f"{name} = {json.dumps(value)}" for name, value in FAST.items()]
    for name, server in mirrors.items():
        starts = json.dumps([server.url("/en"), server.url("/az")])
        lines += [
            "[[sites]]",
            f'name = "{name}"',
            'layout = "mfa.gov.az"',
            f"start_urls = {starts}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def mfawatch(db_url: str, tmp_path: Path, mirrors: dict[str, MirrorServer]) -> Mfawatch:
    return Mfawatch(db_url, sites_file(tmp_path / "sites.toml", mirrors))


def summary(stdout: str) -> dict[str, str]:
    """The crawl summary's rows, label → value."""
    rows = (re.split(r"\s*│\s*", line.strip(" │")) for line in stdout.splitlines() if "│" in line)
    return {row[0]: row[1] for row in rows if len(row) == 2}


def archived(mfawatch: Mfawatch) -> dict[str, int]:
    """Pages per site in the archive, each with exactly one fetch."""
    counts: dict[str, int] = {}
    for page in mfawatch.json("pages"):
        assert [f["outcome"] for f in mfawatch.json("history", page["url"])["fetches"]] == ["new"]
        counts[page["site"]] = counts.get(page["site"], 0) + 1
    return counts


def test_two_jobs_archive_what_one_does(
    mfawatch: Mfawatch, tmp_path: Path, mirrors: dict[str, MirrorServer]
) -> None:
    result = mfawatch.crawl("--jobs", "2")
    assert archived(mfawatch) == dict.fromkeys(MISSIONS, PAGES_PER_SITE)
    runs = mfawatch.json("runs")
    assert sorted((r["site"], r["status"], r["fetched"]) for r in runs) == sorted(
        (name, "ok", PAGES_PER_SITE) for name in MISSIONS
    )
    # Both processes log their progress to the same stderr: every page has its line.
    for server in mirrors.values():
        assert result.stderr.count(server.url("/")) >= PAGES_PER_SITE, result.stderr

    # The same crawl in one process, into another archive, sums up the same.
    reference = Mfawatch(f"sqlite:///{tmp_path / 'one-job.db'}", mfawatch.sites)
    alone = reference.crawl("--jobs", "1")
    assert summary(result.stdout) == summary(alone.stdout)
    assert summary(result.stdout)["sites"] == "seoul (ok), bern (ok), amman (ok)"
    assert summary(result.stdout)["new pages"] == str(PAGES_PER_SITE * len(MISSIONS))


def crawl_children(pid: int) -> list[int]:
    """The crawl processes that `pid` forked: with --jobs N, N - 1 of them, the first group of
    sites being crawled by `pid` itself."""
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for t in tasks.iterdir() for c in (t / "children").read_text().split()]


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie has ended: its descriptors, locks, are closed)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def start_crawl(mfawatch: Mfawatch, output: int) -> subprocess.Popen[str]:
    """`crawl --jobs 2` in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "mfawatch", "--db", mfawatch.db_url, "-c", str(mfawatch.sites),
         "crawl", "--jobs", "2", "--set", "DOWNLOAD_TIMEOUT=300"],
        stdout=output, stderr=output, text=True, cwd=REPO, start_new_session=True,
    )  # fmt: skip


def crawl_with_bern_stuck(
    mfawatch: Mfawatch, bern: MirrorServer, output: int, delay: float = 600
) -> tuple[Any, int]:
    """`crawl --jobs 2`, bern's crawl (the child process's only site) hanging on its home pages
    for `delay` seconds: the crawl process, and that child's pid once bern's crawl has begun."""
    for path in ("/en", "/az"):
        bern.set_handler(path, faults.slow(delay))
    proc = start_crawl(mfawatch, output)
    try:
        wait_for(lambda: bern.hits("/en") + bern.hits("/az") > 0, "bern's crawl to start")
        [child] = crawl_children(proc.pid)
    except BaseException:
        proc.kill()
        raise
    return proc, child


@needs_proc
def test_a_crashed_job_loses_nothing_of_the_others(
    mfawatch: Mfawatch, mirrors: dict[str, MirrorServer]
) -> None:
    proc, child = crawl_with_bern_stuck(mfawatch, mirrors["bern"], subprocess.PIPE)
    try:
        os.kill(child, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert "mfawatch: error: the crawl of bern ended early (killed by SIGKILL)\n" in stderr
    rows = summary(stdout)
    assert rows["sites"] == "seoul (ok), bern (interrupted), amman (ok)"
    assert rows["new pages"] == str(2 * PAGES_PER_SITE)
    runs = {r["site"]: r for r in mfawatch.json("runs")}
    assert runs["bern"]["status"] == "interrupted"
    assert runs["bern"]["note"] == "the crawl process died"
    assert {name: runs[name]["fetched"] for name in ("seoul", "amman")} == {
        "seoul": PAGES_PER_SITE,
        "amman": PAGES_PER_SITE,
    }


@needs_proc
def test_a_killed_parent_takes_its_jobs_with_it_and_frees_their_sites(
    mfawatch: Mfawatch, mirrors: dict[str, MirrorServer]
) -> None:
    # The parent took every site's lock, which its child shares. Killed, it must not leave that
    # child crawling bern and holding bern's lock: a second crawl of bern would be refused,
    # naming the dead parent's pid.
    proc, child = crawl_with_bern_stuck(mfawatch, mirrors["bern"], subprocess.DEVNULL)
    try:
        proc.kill()
        proc.wait(timeout=30)
        wait_for(lambda: not alive(child), "the orphaned crawl process to end")
    finally:
        proc.kill()
        if alive(child):
            os.kill(child, signal.SIGKILL)
    mirrors["bern"].set_site(embassy_site("bern"))
    mfawatch.crawl("--site", "bern")
    runs = [r for r in mfawatch.json("runs") if r["site"] == "bern"]
    assert [(r["status"], r["note"]) for r in runs] == [
        ("ok", None),
        ("interrupted", "the crawl process died"),
    ]


@needs_proc
@pytest.mark.parametrize(
    ("sig", "to_group", "when"),
    [
        (signal.SIGTERM, False, "early"),
        (signal.SIGTERM, False, "late"),
        (signal.SIGINT, True, "early"),
        (signal.SIGINT, False, "early"),
    ],
    ids=["SIGTERM-early", "SIGTERM-late", "Ctrl-C-early", "SIGINT-to-parent-early"],
)
def test_a_signal_stops_every_process_of_the_crawl(
    mfawatch: Mfawatch, mirrors: dict[str, MirrorServer], sig: int, to_group: bool, when: str
) -> None:
    # Ctrl-C signals the whole process group, `kill PID` (or systemd's KillMode=mixed) the
    # parent only. Early: the child has just been forked, no crawl has begun (nor installed
    # Scrapy's handlers); late: bern's crawl in the child waits on a slow page.
    if when == "early":
        for server in mirrors.values():  # no crawl can end before the signal, however late
            for path in ("/en", "/az"):
                server.set_handler(path, faults.slow(3))
        proc = start_crawl(mfawatch, subprocess.PIPE)
        [child] = wait_for(lambda: crawl_children(proc.pid), "the child process")
    else:
        proc, child = crawl_with_bern_stuck(mfawatch, mirrors["bern"], subprocess.PIPE, delay=3)
    try:
        if to_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
        left = alive(child)  # the parent waits for its children before it exits
    finally:
        proc.kill()
        if alive(child):
            os.kill(child, signal.SIGKILL)
    assert not left, "the child crawls on after its parent was stopped"
    assert "Traceback" not in stderr, stderr
    runs = {r["site"]: r["status"] for r in mfawatch.json("runs")}
    if not runs:  # stopped before any run began: nothing to sum up
        assert (proc.returncode, stderr, stdout) == (128 + sig, "mfawatch: interrupted\n", "")
    else:  # every run that began is closed, and bern's had no time to finish
        assert proc.returncode == 1
        assert "running" not in runs.values()
        assert runs.get("bern", "not begun") in (
            {"interrupted"} if when == "late" else {"interrupted", "not begun"}
        )
        assert summary(stdout)["sites"].count("(interrupted)") >= 1
    assert when == "late" or set(runs.values()) <= {"interrupted"}


def test_jobs_is_documented_and_checked(mfawatch: Mfawatch) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "mfawatch", "crawl", "--help"],
        check=True, capture_output=True, text=True, cwd=REPO,
    ).stdout  # fmt: skip
    assert re.search(r"-j, --jobs\b.*processes", " ".join(shown.split())), shown
    result = mfawatch.crawl("--jobs", "0", check=False)
    assert (result.code, result.stderr) == (2, "mfawatch: error: --jobs must be 1 or more\n")


# Runs a module as `python -m` does, noting (pid, name) each time a database engine is made or
# the sites file read, in the file $COUNTS: forked children append to it too.
COUNTING = """\
import os, runpy, sys
import kernel.config, storage.db

def counted(module, name):
    real = getattr(module, name)
    def call(*args, **kwargs):
        with open(os.environ["COUNTS"], "a") as out:
            out.write(f"{os.getpid()} {name}\\n")
        return real(*args, **kwargs)
    setattr(module, name, call)

counted(storage.db, "make_engine")
counted(kernel.config, "load_config")
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("entry", ["mfawatch", "scraper.crawl"])
def test_a_crawl_process_opens_one_engine_and_reads_the_sites_file_once(
    mfawatch: Mfawatch, tmp_path: Path, entry: str
) -> None:
    # The CLI's crawl and the scheduler's crawl process (python -m scraper.crawl): the spider,
    # the pipeline and the child of --jobs 2 all use the process's engine and config.
    counts = tmp_path / "counts"
    args = {
        "mfawatch": ["--db", mfawatch.db_url, "-c", str(mfawatch.sites), "crawl", "--jobs", "2"],
        "scraper.crawl": ["-c", str(mfawatch.sites), "--jobs", "2", "--trigger", "manual"],
    }[entry]
    env = {**os.environ, "COUNTS": str(counts), "MFAWATCH_DATABASE_URL": mfawatch.db_url}
    with subprocess.Popen(
        [sys.executable, "-c", COUNTING, entry, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
    ) as proc:  # fmt: skip
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    runs = mfawatch.json("runs")
    assert sorted((r["site"], r["status"]) for r in runs) == sorted(
        (name, "ok") for name in MISSIONS
    )
    noted = [line.split() for line in counts.read_text().splitlines()]
    assert sorted(noted) == [[str(proc.pid), "load_config"], [str(proc.pid), "make_engine"]]
