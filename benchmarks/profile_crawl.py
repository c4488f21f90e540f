"""Where mfawatch's crawl spends its CPU: a baseline crawl of the synthetic ministry, then a
re-crawl of the unchanged pages under cProfile, summed by component. With --first, the first
crawl (every page extracted, as in the full-crawl budget) is the one profiled.

    python benchmarks/profile_crawl.py [--sites 5] [--pages 100] [--first]

Prints the cumulative time of mfawatch's own steps (per page too) and the functions with the
most time of their own; the raw profile stays in benchmarks/work/profile/ (recrawl.prof or
first.prof).
"""

from __future__ import annotations

import argparse
import pstats
import shutil
import sys
from pathlib import Path

from crawl_bench import Crawlers
from measure import run
from ministry import Ministry

HERE = Path(__file__).resolve().parent
# mfawatch's own steps, by cumulative time: (file, function) → what it is.
STEPS = (
    ("scraper/spiders/mfa.py", "parse_page", "parse_page (extraction)"),
    ("scraper/extract.py", "extract_page", "  extract_page"),
    ("scraper/extract.py", "_body_paragraphs", "    _body_paragraphs (BeautifulSoup)"),
    ("scraper/extract.py", "_find_date_line", "    _find_date_line"),
    ("scraper/spiders/mfa.py", "parse_menu", "parse_menu (the start pages' menus)"),
    ("kernel/config.py", "page_identity", "page_identity (menus, requests, redirects)"),
    ("scraper/pipelines.py", "process_item", "pipeline (a transaction per page)"),
    ("storage/archive.py", "record_fetch", "  record_fetch"),
    ("kernel/text.py", "text_hash", "  text_hash"),
)


def summarize(profile: Path, pages: int, top: int = 15) -> None:
    stats = pstats.Stats(str(profile))
    raw = stats.stats  # type: ignore[attr-defined]
    total = max(cum for (_cc, _nc, _own, cum, _callers) in raw.values())
    print(f"\n{total:.1f} s profiled; mfawatch's steps, cumulative ({pages} pages):")
    for filename, function, label in STEPS:
        found = [
            (calls, cum)
            for (path, _line, name), (_cc, calls, _own, cum, _callers) in raw.items()
            if path.endswith(filename) and name == function
        ]
        calls, cum = (sum(c for c, _ in found), sum(t for _, t in found)) if found else (0, 0.0)
        print(f"  {cum:7.2f} s  {1000 * cum / pages:6.2f} ms/page  {calls:>7} calls  {label}")
    print()
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=5)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--first", action="store_true", help="profile the first crawl instead")
    args = parser.parse_args()
    work = HERE / "work" / "profile"
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("*.db*"):  # the archive, its WAL, its site locks' folder
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()
    ministry = Ministry(args.sites, args.pages, work / "ministry.log")
    name = "first" if args.first else "recrawl"
    try:
        crawlers = Crawlers(ministry, work, timeout=900)
        db = work / "profile.db"
        if not args.first:
            crawlers.mfawatch(db, label="-baseline")
        profile = work / f"{name}.prof"
        # Scrapy's own command runs the same crawl in this one process, however many
        # processes `mfawatch crawl` would deal the sites to.
        command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "scrapy"]
        command += ["crawl", "mfa", "-a", f"config={crawlers.sites_file}"]
        command += ["-s", f"MFAWATCH_DATABASE_URL=sqlite:///{db}"]
        measured = run(command, timeout=900, log=work / f"{name}.log", cwd=HERE.parent)
        print(f"{name} under cProfile: wall {measured.wall_s:.1f} s, cpu {measured.cpu_s:.1f} s")
    finally:
        ministry.close()
    summarize(profile, args.sites * args.pages)


if __name__ == "__main__":
    main()
