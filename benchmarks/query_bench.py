"""Query benchmarks on a large archive generated directly with SQL (not crawled): by default
2,000 pages × 500 fetches = 1,000,000 fetches, 4 versions a page, a change at each new version.

    python benchmarks/query_bench.py [--pages 2000] [--fetches 500] [--work DIR]

Prints one JSON object: in-process times of the storage functions the CLI calls (median of
several runs, each in a fresh session) and wall times of the CLI itself (median of 5).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from measure import run
from sqlalchemy.orm import Session, sessionmaker

from kernel.text import bytes_hash, text_hash
from storage.content import read_text
from storage.db import HEAD, alembic_config, close_database, make_engine, open_database
from storage.packing import pack
from storage.queries import list_changes, page_history, resolve_page, version_at
from storage.search import search_versions

SITES, VERSIONS = 20, 4
T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
HOURS_APART = 6  # between two fetches of a page
RARE_WORD = "nakhchivanite"  # planted in one version in a hundred
WORDS = (
    "cooperation", "relations", "embassy", "ministry", "agreement", "visit", "minister",
    "president", "parliament", "trade", "energy", "transport", "culture", "education",
    "science", "republic", "azerbaijan", "bilateral", "signed", "memorandum", "meeting",
    "delegation", "forum", "investment", "economic", "political", "humanitarian", "tourism",
    "consultations", "strategic", "partnership", "development", "joint", "commission",
    "session", "framework", "countries", "mutual", "interest", "regional", "international",
    "organizations", "support", "year", "held",
)  # fmt: skip


# The schema the rows are written in; the migrations after it (0013 chains the fetch log) then
# bring them to the head, as they would an archive of that age.
WRITTEN_AT = "0007"


def generate(db: Path, pages: int, fetches: int, *, upgrade: bool = True) -> float:
    """Write the archive (at WRITTEN_AT, then upgraded unless ``upgrade`` is false); returns
    the seconds it took."""
    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{db}")
    command.upgrade(alembic_config(engine), WRITTEN_AT)  # the schema, by the migrations
    engine.dispose()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous=OFF")
    stamp = T0.strftime("%Y-%m-%d %H:%M:%S.%f")
    conn.executemany(
        "INSERT INTO sites (id, name, layout, created_at, baseline_at) VALUES (?, ?, ?, ?, ?)",
        [(s, f"embassy-{s}", "mfa.gov.az", stamp, stamp) for s in range(1, SITES + 1)],
    )
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1) "
        'INSERT INTO runs (id, site_id, "trigger", started_at, finished_at, status) '
        "SELECT n.i * ? + s.id, s.id, 'schedule', ?, ?, 'ok' FROM n, sites AS s",
        (fetches, SITES, stamp, stamp),
    )
    per_site = max(1, pages // SITES)
    conn.executemany(
        "INSERT INTO pages (id, site_id, key, url, lang, title, status, first_seen_at, "
        "last_seen_at) VALUES (?, ?, ?, ?, 'en', ?, 'active', ?, ?)",
        [
            (
                p,
                min(SITES, (p - 1) // per_site + 1),
                page_key(p),
                page_url(p),
                f"Page {p}",
                stamp,
                stamp,
            )
            for p in range(1, pages + 1)
        ],
    )
    versions = _versions(pages, fetches)
    conn.executemany(
        "INSERT INTO versions (id, page_id, text_hash, title, packed_text, base_id, depth, "
        "first_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [v[:8] for v in versions],
    )
    conn.executemany(  # one body a version, packed against its text as the archive does
        "INSERT INTO bodies (id, page_id, raw_hash, version_id, packed, first_seen_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(v[0], v[1], v[10], v[0], v[9], v[7]) for v in versions],
    )
    conn.executemany(
        "INSERT INTO versions_fts(rowid, title, text) VALUES (?, ?, ?)",
        [(v[0], v[3], v[8]) for v in versions],
    )
    conn.execute(_FETCHES, {"f": fetches, "v": VERSIONS, "t0": T0.strftime("%Y-%m-%d %H:%M:%S")})
    conn.execute(_CHANGES, {"f": fetches, "v": VERSIONS, "p": pages})
    conn.execute(
        "UPDATE pages SET current_version_id = id * :v, declared_date = '2024-01-01', "
        "declared_raw = '01.01.2024'",
        {"v": VERSIONS},
    )
    conn.commit()
    conn.close()
    if upgrade:
        close_database(open_database(f"sqlite:///{db}"))  # up to the head
    return time.perf_counter() - started


def _versions(pages: int, fetches: int) -> list[tuple[Any, ...]]:
    rng = random.Random(7)
    rows = []
    for p in range(1, pages + 1):
        previous = b""
        for k in range(VERSIONS):
            words = rng.choices(WORDS, k=rng.randint(300, 700))  # 2–5 KB of text
            if rng.random() < 0.01:
                words[len(words) // 2] = RARE_WORD
            lines = [" ".join(words[i : i + 40]) for i in range(0, len(words), 40)]
            text = "\n".join([f"Page {p}", *lines])
            first_fetch = -(-k * fetches // VERSIONS)
            seen = T0 + dt.timedelta(hours=HOURS_APART * first_fetch, seconds=p)
            vid, raw = (p - 1) * VERSIONS + k + 1, f"<html><body>{text}</body></html>"
            rows.append((
                vid, p, text_hash(text), f"Page {p}", pack(text.encode(), previous),
                vid - 1 if k else None, k, seen.strftime("%Y-%m-%d %H:%M:%S.%f"), text,
                pack(raw.encode(), text.encode()), bytes_hash(raw.encode()),
            ))  # fmt: skip
            previous = text.encode()
    return rows


# Fetch i of page p (ids in crawl order: round by round) saw version floor(i * V / F).
_FETCHES = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :f - 1),
f AS (
    SELECT p.id AS pid, p.site_id AS sid, n.i AS i,
           n.i * :v / :f AS k, (n.i - 1) * :v / :f AS prev_k,
           n.i > 0 AND (n.i + p.id) % 53 = 0 AND n.i * :v / :f = (n.i - 1) * :v / :f AS failed
    FROM n, pages AS p
)
INSERT INTO fetches (page_id, run_id, fetched_at, url, http_status, body_id, version_id,
                     declared_raw, declared_date, outcome, error)
SELECT pid, i * 20 + sid,
       strftime('%Y-%m-%d %H:%M:%S', :t0, '+' || (i * 6) || ' hours', '+' || pid || ' seconds')
           || '.000000',
       NULL, CASE WHEN failed THEN 503 ELSE 200 END,
       CASE WHEN failed THEN NULL ELSE (pid - 1) * :v + k + 1 END,
       CASE WHEN failed THEN NULL ELSE (pid - 1) * :v + k + 1 END,
       CASE WHEN failed THEN NULL ELSE printf('%02d.01.202%d', k + 1, k) END,
       CASE WHEN failed THEN NULL ELSE printf('202%d-01-%02d', k, k + 1) END,
       CASE WHEN failed THEN 'failed' WHEN i = 0 THEN 'new'
            WHEN k != prev_k THEN 'changed' ELSE 'unchanged' END,
       CASE WHEN failed THEN 'HTTP 503' END
FROM f ORDER BY i, pid
"""

# One change per new version, at the fetch that first saw it; the newest third still pending.
_CHANGES = """
INSERT INTO changes (page_id, kind, status, detected_at, old_version_id, new_version_id,
                     old_fetch_id, new_fetch_id, old_declared, new_declared, words_added,
                     words_removed)
SELECT f.page_id, CASE WHEN f.page_id % 2 THEN 'content_updated' ELSE 'silent_edit' END,
       CASE WHEN f.version_id % :v = 0 AND f.page_id % 3 = 0 THEN 'pending' ELSE 'accepted' END,
       f.fetched_at, f.version_id - 1, f.version_id, f.id - :p, f.id, NULL, f.declared_date,
       f.page_id % 17, f.page_id % 5
FROM fetches AS f WHERE f.outcome = 'changed' ORDER BY f.id
"""


def page_key(p: int) -> str:
    return f"embassy{(p - 1) % SITES}.mfa.gov.az/en/content/{p}"


def page_url(p: int) -> str:
    return f"https://{page_key(p)}/relations-{p}"


def in_process(db: Path, pages: int, fetches: int, repeat: int) -> dict[str, float]:
    """Median milliseconds of each query, each run in a fresh session."""
    factory = open_database(f"sqlite:///{db}")
    url = page_url(pages // 2)
    middle = T0 + dt.timedelta(hours=HOURS_APART * fetches // 2)
    queries: dict[str, Callable[[Session], object]] = {
        "history": lambda s: page_history(s, resolve_page(s, url, lambda _u: None).id),
        "show_at": lambda s: _show(s, url, middle),
        "changes_page": lambda s: list_changes(s, status="all", limit=50),
        "changes_pending": lambda s: list_changes(s, status="pending", limit=50),
        "search_common": lambda s: search_versions(s, "bilateral cooperation", limit=50),
        "search_rare": lambda s: search_versions(s, RARE_WORD, limit=50),
    }
    try:
        return {name: _median_ms(factory, fn, repeat) for name, fn in queries.items()}
    finally:
        close_database(factory)


def _show(session: Session, url: str, at: dt.datetime) -> str | None:
    _fetch, version = version_at(session, resolve_page(session, url, lambda _u: None).id, at)
    return read_text(session, version) if version else None


def _median_ms(factory: sessionmaker[Session], fn: Callable[[Session], object], n: int) -> float:
    times = []
    for _ in range(n):
        with factory() as session:
            started = time.perf_counter()
            fn(session)
            times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def cli(db: Path, pages: int, fetches: int, repeat: int = 5) -> dict[str, Any]:
    """Median wall seconds of the CLI's query commands (JSON output), and what startup costs."""
    base = [sys.executable, "-m", "mfawatch", "--db", f"sqlite:///{db}"]
    url = page_url(pages // 2)
    day = (T0 + dt.timedelta(hours=HOURS_APART * fetches // 2)).date().isoformat()
    commands = {
        "help": ["--help"],
        "history": ["history", url, "--json"],
        "show_at": ["show", url, "--at", day, "--json"],
        "changes_page": ["changes", "--status", "all", "--limit", "50", "--json"],
    }
    if re.search(r"^\s+search\b", _output([*base, "--help"]), re.M):
        commands["search"] = ["search", "bilateral cooperation", "--json"]
    out: dict[str, Any] = {"wall_s": {}, "cpu_s": {}}
    for name, args in commands.items():
        runs = [run([*base, *args], timeout=120) for _ in range(repeat)]
        out["wall_s"][name] = round(statistics.median(m.wall_s for m in runs), 3)
        out["cpu_s"][name] = round(statistics.median(m.cpu_s for m in runs), 3)
    startup = [run([sys.executable, "-c", "pass"], timeout=60) for _ in range(repeat)]
    out["wall_s"]["python_startup"] = round(statistics.median(m.wall_s for m in startup), 3)
    out["import_profile_ms"] = _import_profile([*base, *commands["changes_page"]])
    return out


def _output(command: list[str]) -> str:
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=60).stdout


def _import_profile(command: list[str], top: int = 12) -> list[tuple[str, float]]:
    """The imports (3 levels deep at most) that cost the most, cumulative ms (-X importtime)."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    costs = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line)
        if match and len(match.group(2)) <= 6:
            costs.append((match.group(3), round(int(match.group(1)) / 1000, 1)))
    return sorted(costs, key=lambda kv: -kv[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--fetches", type=int, default=500, help="per page")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / f"queries-{args.pages}x{args.fetches}-{HEAD}.db"  # a schema of its own
    result: dict[str, Any] = {"pages": args.pages, "fetches": args.pages * args.fetches}
    if db.exists():  # the same parameters make the same archive: kept between runs
        result["generate_s"] = None
    else:
        partial = db.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        result["generate_s"] = round(generate(partial, args.pages, args.fetches), 1)
        partial.rename(db)
    result["db_bytes"] = db.stat().st_size
    result["in_process_ms"] = in_process(db, args.pages, args.fetches, args.repeat)
    result["cli_s"] = cli(db, args.pages, args.fetches)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
