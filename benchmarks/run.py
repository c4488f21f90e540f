"""`make bench`: mfawatch's benchmark (issue 5). Runs every stage, prints a table with each
budget's PASS/MISS, and writes benchmarks/results.json.

    python benchmarks/run.py [--sites 20] [--pages 100] [--rounds 30] [--quick] [--stages …]

Every option has an environment variable too (BENCH_SITES, BENCH_PAGES, …; see --help).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from crawl_bench import URLWATCH, crawl_stage, polite_stage, storage_stage
from ministry import Ministry
from report import print_report

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STAGES = ("crawl", "storage", "polite", "queries", "diff")
log = logging.getLogger("bench")

# name: (default, quick default, type, help)
OPTIONS: dict[str, tuple[Any, Any, type, str]] = {
    "sites": (20, 3, int, "embassy sites in the synthetic ministry"),
    "pages": (100, 20, int, "relations pages per site"),
    "change_rate": (0.02, 0.02, float, "share of pages changed per round"),
    "rounds": (30, 10, int, "rounds of changes in the storage stage"),
    "storage_sites": (3, 2, int, "sites (of --sites) crawled round after round for storage"),
    "polite_sites": (200, 20, int, "hosts of the polite crawl at scale"),
    "polite_pages": (20, 5, int, "relations pages per host of the polite crawl"),
    "query_pages": (2000, 200, int, "pages in the generated query archive"),
    "query_fetches": (500, 100, int, "fetches per page in the generated query archive"),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")),
                        help="a small run for development (BENCH_QUICK=1)")  # fmt: skip
    for name, (_default, _quick, kind, text) in OPTIONS.items():
        env = f"BENCH_{name.upper()}"
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None,
                            help=f"{text} (${env})")  # fmt: skip
    parser.add_argument("--stages", default=os.environ.get("BENCH_STAGES", ",".join(STAGES)),
                        help=f"comma-separated, of {','.join(STAGES)} ($BENCH_STAGES)")  # fmt: skip
    parser.add_argument("--validators", action="store_true",
                        default=bool(os.environ.get("BENCH_VALIDATORS")),
                        help="ETags on pages, 304s ($BENCH_VALIDATORS)")  # fmt: skip
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--output", type=Path, default=Path(os.environ.get(
        "BENCH_OUTPUT", HERE / "results.json")))  # fmt: skip
    args = parser.parse_args()
    for name, (default, quick, kind, _text) in OPTIONS.items():
        if getattr(args, name) is None:
            env = os.environ.get(f"BENCH_{name.upper()}")
            setattr(args, name, kind(env) if env else quick if args.quick else default)
    return args


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    args = parse_args()
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        sys.exit(f"unknown stages: {', '.join(sorted(unknown))}")
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "parameters": {k: getattr(args, k) for k in OPTIONS}
        | {"stages": stages, "validators": args.validators},
        "machine": machine_facts(),
    }
    results["machine"]["load_before"] = os.getloadavg()
    started = time.perf_counter()
    if {"crawl", "storage"} & set(stages):
        run_crawls(args, stages, results)
    if "polite" in stages:
        run_polite(args, results)
    if "queries" in stages:
        log.info("queries: %d pages × %d fetches", args.query_pages, args.query_fetches)
        results["queries"] = run_json(
            [str(HERE / "query_bench.py"), "--pages", str(args.query_pages),
             "--fetches", str(args.query_fetches), "--work", str(args.work)],
            timeout=1200,
        )  # fmt: skip
    if "diff" in stages:
        log.info("diff: word_diff on pathological inputs")
        results["diff"] = run_json([str(HERE / "diff_bench.py")], timeout=600)
    results["machine"]["load_after"] = os.getloadavg()
    results["total_s"] = round(time.perf_counter() - started, 1)
    results["budgets"] = print_report(results)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    log.info("results written to %s (%.0f s)", args.output, results["total_s"])
    return 0


def run_crawls(args: argparse.Namespace, stages: list[str], results: dict[str, Any]) -> None:
    """The crawl and storage stages share one ministry server process."""
    if not URLWATCH.exists():
        log.warning("no urlwatch at %s: `make bench` installs it; urlwatch is skipped", URLWATCH)
    work = args.work / "crawl"
    _clean(work)
    log.info("ministry: %d sites × %d pages", args.sites, args.pages)
    ministry = Ministry(args.sites, args.pages, work / "ministry.log", args.validators)
    timeout = max(180.0, 0.3 * args.sites * args.pages)
    try:
        if "crawl" in stages:
            results["crawl"] = crawl_stage(ministry, work, timeout, args.change_rate)
        if "storage" in stages:
            results["storage"] = storage_stage(
                ministry, work, args.storage_sites, args.rounds, args.change_rate, timeout
            )
    finally:
        ministry.close()


def run_polite(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """A ministry server of its own: many hosts, few pages each."""
    work = args.work / "polite"
    _clean(work)
    ministry = Ministry(args.polite_sites, args.polite_pages, work / "ministry.log")
    try:
        results["polite"] = polite_stage(ministry, work, timeout=600)
    finally:
        ministry.close()


def run_json(command: list[str], timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, *command],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    if done.returncode != 0:
        log.error("%s failed:\n%s", Path(command[0]).name, done.stderr[-2000:])
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout)


def machine_facts() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    packages = ("scrapy", "twisted", "sqlalchemy", "lxml", "parsel", "beautifulsoup4", "typer")
    versions = {name: version(name) for name in packages}
    versions["mfawatch"] = version("mfawatch")
    versions["sqlite"] = __import__("sqlite3").sqlite_version
    if URLWATCH.exists():
        versions["urlwatch"] = _output([str(URLWATCH), "--version"]).split()[-1]
    return {
        "cores": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": _output(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
    }


def _output(command: list[str]) -> str:
    try:
        return subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=60
        ).stdout.strip()
    except OSError:
        return ""


def _clean(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()


if __name__ == "__main__":
    sys.exit(main())
