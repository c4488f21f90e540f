"""Where mfawatch's crawl spends its CPU: a baseline crawl of the synthetic ministry, then a
re-crawl of the unchanged pages under cProfile, summed by component.

    python benchmarks/profile_crawl.py [--sites 5] [--pages 100]

Prints the cumulative time of mfawatch's own steps (per page too) and the functions with the
most time of their own; the raw profile stays in benchmarks/work/profile/recrawl.prof.
"""

from __future__ import annotations

import argparse
import pstats
import sys
from pathlib import Path

from crawl_bench import Crawlers
from measure import run
from ministry import Ministry

HERE = Path(__file__).resolve().parent
# mfawatch's own steps, by cumulative time: (file, function) → what it is.
STEPS = (
    ("scraper/spiders/mfa.py", "parse_page", "parse_page (extraction + menu links)"),
    ("scraper/extract.py", "extract_page", "  extract_page"),
    ("scraper/extract.py", "_body_paragraphs", "    _body_paragraphs (BeautifulSoup)"),
    ("scraper/extract.py", "_find_date_line", "    _find_date_line"),
    ("scraper/spiders/mfa.py", "parse_menu", "  parse_menu (every page's menus)"),
    ("mfawatch/config.py", "page_identity", "    page_identity"),
    ("scraper/pipelines.py", "process_item", "pipeline (a transaction per page)"),
    ("storage/archive.py", "record_fetch", "  record_fetch"),
    ("mfawatch/text.py", "text_hash", "  text_hash"),
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
    args = parser.parse_args()
    work = HERE / "work" / "profile"
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("*.db*"):
        old.unlink()
    ministry = Ministry(args.sites, args.pages, work / "ministry.log")
    try:
        crawlers = Crawlers(ministry, work, timeout=900)
        db = work / "profile.db"
        crawlers.mfawatch(db, label="-baseline")
        profile = work / "recrawl.prof"
        command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "mfawatch"]
        command += ["--db", f"sqlite:///{db}", "-c", str(crawlers.sites_file), "crawl"]
        measured = run(command, timeout=900, log=work / "recrawl.log", cwd=work)
        print(f"re-crawl under cProfile: wall {measured.wall_s:.1f} s, cpu {measured.cpu_s:.1f} s")
    finally:
        ministry.close()
    summarize(profile, args.sites * args.pages)


if __name__ == "__main__":
    main()
