"""`mfawatch verify` on a large archive: query_bench's generated archive (written with SQL at
the schema before the chain, then upgraded, so migration 0013 chains every row), verified.

    python benchmarks/verify_bench.py [--pages 200] [--fetches 500] [--work DIR]

Prints one JSON object: the seconds to write the rows, to upgrade them (chaining), and to
verify them, in process and through the CLI (`mfawatch verify --json`: wall, CPU, peak RSS),
with the rate per million fetches.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from measure import run
from query_bench import generate

from storage.db import close_database, open_database
from storage.verify import verify_archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--fetches", type=int, default=500, help="per page")
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / f"verify-{args.pages}x{args.fetches}.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    total = args.pages * args.fetches
    result: dict[str, Any] = {"pages": args.pages, "fetches": total}
    result["write_s"] = round(generate(db, args.pages, args.fetches, upgrade=False), 1)
    started = time.perf_counter()
    close_database(open_database(url))  # migration 0013 chains every row
    result["upgrade_s"] = round(time.perf_counter() - started, 1)
    result["db_bytes"] = db.stat().st_size

    factory = open_database(url)
    try:
        with factory() as session:
            wall, cpu = time.perf_counter(), time.process_time()
            found = verify_archive(session)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        close_database(factory)
    if not found.ok:
        raise SystemExit(f"the generated archive does not verify: {found.broken[:3]}")
    counted = {"reviews": found.reviews, "bodies": found.bodies, "versions": found.versions}
    result |= counted
    result["in_process"] = {
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    command = [sys.executable, "-m", "mfawatch", "--db", url, "verify", "--json"]
    measured = run(command, timeout=3600)
    result["cli"] = measured.as_dict()
    per_million = 1_000_000 / total
    result["per_million_fetches_s"] = {
        "upgrade": round(result["upgrade_s"] * per_million, 1),
        "verify_wall": round(measured.wall_s * per_million, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
