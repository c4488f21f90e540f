"""Crawl benchmarks against the synthetic ministry: mfawatch's crawl vs a bare Scrapy spider vs
urlwatch (first crawl, re-crawl with 2% of pages changed, re-crawl with none changed), then the
storage each keeps over rounds of 2% changes.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import sys
from pathlib import Path
from typing import Any

from bare_spider import POLITENESS_OFF
from measure import Measured, run
from ministry import Ministry

log = logging.getLogger("bench")
HERE = Path(__file__).resolve().parent
URLWATCH = HERE / ".venv-urlwatch" / "bin" / "urlwatch"
TABLES = ("fetches", "versions", "bodies", "changes", "pages", "runs")
PRAGMAS = ("page_count", "freelist_count", "page_size")
# Bytes per table, its indexes and the search index counted with it.
DBSTAT = """
SELECT CASE WHEN name LIKE 'versions_fts%' THEN 'search index'
            WHEN name LIKE '%fetches%' THEN 'fetches' WHEN name LIKE '%bodies%' THEN 'bodies'
            WHEN name LIKE '%versions%' THEN 'versions'
            ELSE 'other' END AS part, sum(pgsize)
FROM dbstat GROUP BY part ORDER BY 2 DESC
"""
URLWATCH_CONFIG = """\
display: {new: true, error: true, unchanged: false, empty-diff: true}
report:
  stdout: {enabled: true, color: false}
"""


class Crawlers:
    """The three crawlers' commands, with their files in one work folder."""

    def __init__(
        self, ministry: Ministry, work: Path, timeout: float, *, polite: bool = False
    ) -> None:
        self.ministry = ministry
        self.work = work = work.resolve()
        self.timeout = timeout
        self.sites_file = work / ("sites-polite.toml" if polite else "sites.toml")
        self.sites_file.write_text(_sites_toml(ministry, polite), encoding="utf-8")
        (work / "urlwatch.yaml").write_text(URLWATCH_CONFIG, encoding="utf-8")
        (work / "hooks.py").write_text("", encoding="utf-8")

    def mfawatch(self, db: Path, sites: range | None = None, label: str = "") -> Measured:
        command = [sys.executable, "-m", "mfawatch", "--db", f"sqlite:///{db}"]
        command += ["-c", str(self.sites_file), "crawl"]
        if sites is not None:
            command += ["--site", ",".join(_site_name(self.ministry, i) for i in sites)]
        return self._run(command, f"mfawatch{label}")

    def bare(self, urls: list[str], label: str = "", parse: bool = False) -> Measured:
        listing = self.work / "urls.txt"
        listing.write_text("\n".join(urls) + "\n", encoding="utf-8")
        # As many crawl processes as mfawatch's default --jobs: its start-up costs both sides.
        processes = min(os.cpu_count() or 1, len(self.ministry.missions))
        command = [sys.executable, str(HERE / "bare_spider.py"), str(listing)]
        command += ["--processes", str(processes)]
        if parse:
            return self._run([*command, "--parse"], f"bare-parse{label}")
        return self._run(command, f"bare{label}")

    def urlwatch(self, urls: list[str], cache: Path, label: str = "") -> Measured | None:
        if not URLWATCH.exists():
            return None
        jobs = self.work / f"urls-{cache.stem}.yaml"
        if not jobs.exists():
            jobs.write_text("---\n".join(f"url: {json.dumps(u)}\n" for u in urls), encoding="utf-8")
        command = [str(URLWATCH), "--urls", str(jobs), "--config", str(self.work / "urlwatch.yaml")]
        command += ["--hooks", str(self.work / "hooks.py"), "--cache", str(cache)]
        return self._run(command, f"urlwatch{label}")

    def _run(self, command: list[str], label: str) -> Measured:
        measured = run(command, timeout=self.timeout, log=self.work / f"{label}.log", cwd=self.work)
        log.info("  %-24s wall %6.1f s  cpu %6.1f s  rss %5.0f MB", label, measured.wall_s,
                 measured.cpu_s, measured.max_rss_mb)  # fmt: skip
        return measured


def crawl_stage(ministry: Ministry, work: Path, timeout: float, rate: float) -> dict[str, Any]:
    """Stages 2–4: the whole ministry, crawled three times by each crawler (and by the bare
    spider a second time, parsing each page with lxml)."""
    crawlers = Crawlers(ministry, work, timeout)
    urls = ministry.urls()
    db, cache = work / "crawl.db", work / "urlwatch-crawl.db"
    out: dict[str, Any] = {"pages": len(ministry.urls(home=False)), "urls": len(urls)}
    for step in ("first", "changed", "unchanged"):
        if step == "changed":
            out["pages_changed"] = len(bump(ministry, range(len(ministry.missions)), rate, 1))
        log.info("crawl: %s", step)
        before = db_stats(db)
        result: dict[str, Any] = {"bare": crawlers.bare(urls, f"-{step}").as_dict()}
        # Scrapy plus one lxml parse a page: the floor of any crawler that reads the pages.
        result["bare_parse"] = crawlers.bare(urls, f"-{step}", parse=True).as_dict()
        result["mfawatch"] = crawlers.mfawatch(db, label=f"-{step}").as_dict()
        after = db_stats(db)
        result["db_bytes"] = after["bytes"]
        result["db_bytes_added"] = after["used_bytes"] - before["used_bytes"]
        result["db_tables_added"] = {
            t: n - before["tables"].get(t, 0) for t, n in after["tables"].items()
        }
        result["rows_added"] = {t: after["rows"][t] - before["rows"].get(t, 0) for t in TABLES}
        watched = crawlers.urlwatch(urls, cache, f"-{step}")
        if watched is not None:
            result["urlwatch"] = watched.as_dict()
            result["urlwatch_cache_bytes"] = file_bytes(cache)
        out[step] = result
    fetched = out["unchanged"]["rows_added"]["fetches"]
    out["bytes_per_unchanged_fetch"] = out["unchanged"]["db_bytes_added"] / max(fetched, 1)
    return out


def storage_stage(
    ministry: Ministry, work: Path, sites: int, rounds: int, rate: float, timeout: float
) -> dict[str, Any]:
    """Stage 5: a fresh archive and cache of `sites` sites, then `rounds` rounds of changes."""
    crawlers = Crawlers(ministry, work, timeout)
    chosen = range(min(sites, len(ministry.missions)))
    urls = ministry.urls(chosen)
    db, cache = work / "storage.db", work / "urlwatch-storage.db"
    base = [list(v) for v in ministry.versions]  # this stage's own floor starts from here
    checkpoints = sorted({1, 10, rounds} & set(range(1, rounds + 1)))
    out: dict[str, Any] = {"sites": len(chosen), "pages": len(ministry.urls(chosen, home=False))}
    out["rounds"] = []
    log.info("storage: %d pages, %d rounds at %.0f%%", out["pages"], rounds, rate * 100)
    crawlers.mfawatch(db, chosen, "-storage-0")
    crawlers.urlwatch(urls, cache, "-storage-0")
    for round_no in range(1, rounds + 1):
        changed = bump(ministry, chosen, rate, 1000 + round_no)
        mfa = crawlers.mfawatch(db, chosen, "-storage")
        watched = crawlers.urlwatch(urls, cache, "-storage")
        if round_no not in checkpoints:
            continue
        stats = db_stats(db)
        out["rounds"].append(
            {
                "round": round_no,
                "pages_changed_per_round": len(changed),
                "mfawatch_db_bytes": stats["bytes"],
                "mfawatch_rows": stats["rows"],
                "mfawatch_db_parts": stats["tables"],
                "urlwatch_cache_bytes": file_bytes(cache) if watched else None,
                "floor_zlib_bytes": floor_since(ministry, chosen, base),
                "mfawatch_crawl_wall_s": round(mfa.wall_s, 2),
            }
        )
    return out


def bump(ministry: Ministry, sites: range, rate: float, seed: int) -> list[tuple[int, int]]:
    """Give `rate` of these sites' pages (at least one) their next version."""
    pages = [(i, j) for i in sites for j in range(ministry.pages)]
    chosen = random.Random(seed).sample(pages, max(1, round(rate * len(pages))))
    ministry.bump(chosen)
    return chosen


def floor_since(ministry: Ministry, sites: range, base: list[list[int]]) -> int:
    """zlib bytes of the distinct versions served since `base` (each page's version then)."""
    from ministry import _floor

    return sum(
        _floor(ministry.missions[i], j, v, ministry.pages)
        for i in sites
        for j in range(ministry.pages)
        for v in range(base[i][j], ministry.versions[i][j] + 1)
    )


def db_stats(db: Path) -> dict[str, Any]:
    """The archive's size: on disk (with its WAL), in used pages, per table; its row counts."""
    if not db.exists():
        return {"bytes": 0, "used_bytes": 0, "rows": {}, "tables": {}}
    conn = sqlite3.connect(db)
    try:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
        pragma = {p: conn.execute(f"PRAGMA {p}").fetchone()[0] for p in PRAGMAS}
        tables = dict(conn.execute(DBSTAT).fetchall())
    finally:
        conn.close()
    used = (pragma["page_count"] - pragma["freelist_count"]) * pragma["page_size"]
    return {"bytes": file_bytes(db), "used_bytes": used, "rows": rows, "tables": tables}


def file_bytes(path: Path) -> int:
    """A SQLite file's size with its -wal and -journal files."""
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    return sum(f.stat().st_size for f in files if f.exists())


def _site_name(ministry: Ministry, index: int) -> str:
    return f"embassy-{ministry.missions[index]}"


def polite_stage(ministry: Ministry, work: Path, timeout: float) -> dict[str, Any]:
    """Issue 11's polite crawl at scale: every host of the ministry crawled with the default
    politeness (one request at a time per host, its delay), all hosts at once. Its floor is
    the pages of a host times the delay: a crawler that keeps every host busy comes near it."""
    from scraper import settings

    crawlers = Crawlers(ministry, work, timeout, polite=True)
    db = work / "polite.db"
    log.info("polite: %d hosts × %d pages, default politeness", len(ministry.missions),
             ministry.pages)  # fmt: skip
    measured = crawlers.mfawatch(db, label="-polite")
    fetched = sqlite3.connect(db).execute("SELECT count(*) FROM fetches").fetchone()[0]
    floor = ministry.pages * settings.DOWNLOAD_DELAY
    return {
        "hosts": len(ministry.missions),
        "pages_per_host": ministry.pages,
        "delay_s": settings.DOWNLOAD_DELAY,
        "floor_s": floor,
        "fetches": fetched,
        "pages_per_s": round(fetched / measured.wall_s, 1),
        "mfawatch": measured.as_dict(),
    }


def _sites_toml(ministry: Ministry, polite: bool = False) -> str:
    lines = ['contact = "bench@mfawatch.invalid"', "", "[settings]"]
    if not polite:
        lines += [f"{k} = {json.dumps(v)}" for k, v in POLITENESS_OFF.items()]
    for i, base in enumerate(ministry.base_urls):
        lines += ["", "[[sites]]", f'name = "{_site_name(ministry, i)}"', 'layout = "mfa.gov.az"']
        lines.append(f'start_urls = ["{base}/en"]')
    return "\n".join(lines) + "\n"
