"""CPU of the archive's write path alone, per page: a baseline of the benchmark's pages, then
the same pages unchanged, then the same bytes (no extraction), through CrawlWriter as a crawl
writes them, on a fresh SQLite archive.

    python benchmarks/profile_storage.py [--pages 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from ministry import mission_name, page_text, render_page

from kernel.detect import Seen
from storage.archive import FetchResult
from storage.db import close_database, open_database
from storage.recorder import CrawlWriter
from storage.runs import finish_run, start_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    mission = mission_name(0)
    pages = [
        (render_page(mission, j, 0, args.pages).encode(), page_text(mission, j, 0))
        for j in range(args.pages)
    ]
    with tempfile.TemporaryDirectory() as work:
        sessions = open_database(f"sqlite:///{Path(work) / 'archive.db'}")
        for label, seen in (("new", Seen.CONTENT), ("unchanged", Seen.CONTENT),
                            ("same bytes", Seen.SAME_BYTES)):  # fmt: skip
            with sessions.begin() as session:
                run_id = start_run(session, "site", "mfa.gov.az", "manual")
            started = time.process_time()
            writer = CrawlWriter(sessions, run_id)
            for j, (raw, (paragraphs, declared)) in enumerate(pages):
                text = "\n".join([f"Page {j}", *paragraphs])
                content = seen is Seen.CONTENT
                writer.record(
                    FetchResult(
                        site="site",
                        key=f"bench.example/en/content/{j}",
                        url=f"http://bench.example/en/content/{j}",
                        lang="en",
                        seen=seen,
                        fetched_at=dt.datetime.now(dt.UTC),
                        http_status=200,
                        raw=raw,
                        title=f"Page {j}" if content else None,
                        text=text if content else None,
                        declared_raw=declared if content else None,
                        declared_date=dt.datetime.strptime(declared, "%d.%m.%Y").date(),
                    )
                )
            writer.flush()
            per_page = (time.process_time() - started) / len(pages) * 1000
            with sessions.begin() as session:
                finish_run(session, run_id, "ok")
            print(f"{label:<11} {per_page:6.2f} ms CPU a page")
        close_database(sessions)


if __name__ == "__main__":
    main()
