"""`mfawatch demo`: the main job end to end, offline.

Serves a mirror of two embassy sites on 127.0.0.1, crawls them (the baseline), edits the
mirror the way a ministry does, crawls again, then prints the review queue and one diff,
verifies the archive's chains and hashes, and exports it as WARC (demo.warc.gz). It works in
its own folder, where the archive is the default ./mfawatch.db, so that a user can go
on exploring it with the same commands.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from kernel.errors import MfawatchError
from mfawatch.mirror import MirrorServer, embassy_site, relations_path
from mfawatch.mirror.missions import page_text
from mfawatch.mirror.pages import relations_page

MISSIONS = ("seoul", "bern")
WARC = "demo.warc.gz"  # the export, in the demo's folder
# Against our own mirror there is nobody to be polite to; robots.txt is still obeyed.
SITES_TEMPLATE = """\
# Written by `mfawatch demo`: the sites file format, pointed at a local mirror.
contact = "demo@mfawatch.invalid"

[settings]
AUTOTHROTTLE_ENABLED = false
DOWNLOAD_DELAY = 0
MFAWATCH_RETRY_BACKOFF = 0
"""


def run_demo(folder: Path) -> int:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MfawatchError(f"cannot make the demo's folder {folder}: {exc.strerror}") from None
    # The last demo's database goes; its lock folder (mfawatch.db.locks) stays: a lock file
    # removed while a crawl holds it would let a second crawl in.
    for stale in ("mfawatch.db", "mfawatch.db-journal", "mfawatch.db-wal", "mfawatch.db-shm",
                  WARC):  # fmt: skip
        (folder / stale).unlink(missing_ok=True)
    servers = [MirrorServer().start() for _ in MISSIONS]
    example = servers[0].url(relations_path("en", 35))
    try:
        sites = folder / "sites.toml"
        sites.write_text(_sites_file(servers), encoding="utf-8")
        for mission, server in zip(MISSIONS, servers, strict=True):
            server.set_site(embassy_site(mission))
        _step("1/5 First crawl: the baseline (nothing is queued for review)")
        _mfawatch(folder, "crawl")
        before_edits = _second_after_now()
        _step("2/5 The ministry edits its pages")
        for line in _edit(servers[0], servers[1]):
            print(f"    - {line}")
        _step("3/5 Second crawl: every fetch archived, changes classified")
        _mfawatch(folder, "crawl")
        _step("4/5 The review queue, and the diff of the silent edit")
        _mfawatch(folder, "changes")
        silent = json.loads(_mfawatch(folder, "changes", "--kind", "silent_edit", "--json"))
        _mfawatch(folder, "diff", str(silent[0]["id"]))
        _step("5/5 Every chain and stored hash verified; the archive exported as WARC")
        _mfawatch(folder, "verify")
        _mfawatch(folder, "export", "warc", "-o", WARC, said=True)
    finally:
        for server in servers:
            server.stop()
    command = _command(folder)
    print(
        f"\nThe archive is {_shown(folder / 'mfawatch.db')}. Explore it:\n"
        f"    cd {shlex.quote(_shown(folder))}\n"
        f"    {command} changes --status all\n"
        f"    {command} history {example}\n"
        f"    {command} show {example} --at {before_edits}\n"
    )
    return 0


def _second_after_now() -> str:
    """A time in whole seconds that lies after every fetch of the crawl just ended and before
    the next one: the next second, waited out (at most 1 s). Now cut to the second could fall
    before a fetch of that same second, and `show --at` would find no text."""
    now = dt.datetime.now(dt.UTC)
    then = now.replace(microsecond=0) + dt.timedelta(seconds=1)
    time.sleep((then - now).total_seconds())
    return then.isoformat(timespec="seconds")


def _shown(path: Path, start: Path | None = None) -> str:
    """`path` relative to `start` (the current folder) when it lies under the current folder,
    else absolute: what the user can type from where they are."""
    cwd = Path.cwd()
    if not path.is_relative_to(cwd):
        return str(path)
    return os.path.relpath(path, start or cwd)


def _command(folder: Path) -> str:
    """How to run this very mfawatch from inside `folder`."""
    script = Path(os.path.abspath(sys.executable)).parent / "mfawatch"
    if not script.exists():
        return f"{shlex.quote(os.path.abspath(sys.executable))} -m mfawatch"
    on_path = shutil.which("mfawatch")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "mfawatch"
    return shlex.quote(_shown(script, folder) if folder.is_relative_to(Path.cwd()) else str(script))


def _sites_file(servers: list[MirrorServer]) -> str:
    blocks = [SITES_TEMPLATE]
    for mission, server in zip(MISSIONS, servers, strict=True):
        blocks.append(
            f'[[sites]]\nname = "embassy-{mission}"\nlayout = "mfa.gov.az"\n'
            f'start_urls = ["{server.url("/en")}", "{server.url("/az")}"]\n'
        )
    return "\n".join(blocks)


def _edit(seoul: MirrorServer, bern: MirrorServer) -> list[str]:
    # Silent edit: a number changes, the "Last updated" date does not.
    text = page_text("seoul", "en", 35)
    paragraphs = [
        p.replace("about 70 documents", "more than 80 documents") for p in text.paragraphs
    ]
    seoul.set(relations_path("en", 35), relations_page("seoul", "en", 35, paragraphs=paragraphs))
    # A normal update: a paragraph added and the date moved forward.
    text = page_text("seoul", "en", 36)
    added = [*text.paragraphs, "In 2026 the two countries signed a new trade memorandum."]
    seoul.set(
        relations_path("en", 36),
        relations_page("seoul", "en", 36, paragraphs=added, last_updated="02.11.2026"),
    )
    # The date moved backwards with no other change.
    bern.set(relations_path("en", 35), relations_page("bern", "en", 35, last_updated="01.01.2020"))
    # A page taken down.
    bern.remove(relations_path("en", 37))
    return [
        "seoul 'Political cooperation': a number changed, date kept (a silent edit)",
        "seoul 'Economic cooperation': a paragraph added, date moved forward",
        "bern 'Political cooperation': only the date changed, and backwards",
        "bern 'Educational cooperation': now 404",
    ]


def _step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def _mfawatch(folder: Path, *args: str, said: bool = False) -> str:
    """Run the real command there; JSON output is returned, anything else shown (``said``:
    its stderr too, on stdout, as part of the story: export tells what it wrote there)."""
    # Each crawl in its own process, as the scheduler will do: Twisted's reactor runs once.
    command = [sys.executable, "-m", "mfawatch", *args]
    if "--json" in args:
        return subprocess.run(
            command, cwd=folder, check=True, capture_output=True, text=True
        ).stdout
    subprocess.run(command, cwd=folder, check=True, stderr=subprocess.STDOUT if said else None)
    return ""
