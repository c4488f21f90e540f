"""Re-crawls of pages whose bytes did not change skip extraction, but never hide a change: a
layout edited since the last crawl re-extracts every page with the new rules. And the crawl
started through Scrapy's own command is the same crawl.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from kernel.config import LAYOUTS_DIR
from mfawatch.mirror import relations_path

EN35 = relations_path("en", 35)
REPO = Path(__file__).resolve().parents[1]


def test_same_bytes_are_unchanged_fetches(mfawatch: Any, mirror: Any) -> None:
    mfawatch.crawl()
    mfawatch.crawl()
    fetches = mfawatch.json("history", mirror.url(EN35))["fetches"]
    assert [f["outcome"] for f in fetches] == ["new", "unchanged"]
    # The archive still shows what the page declared and which bytes it saw.
    assert fetches[1]["last_updated"] == fetches[0]["last_updated"] == "2023-02-28"
    assert fetches[1]["raw_hash"] == fetches[0]["raw_hash"]
    assert fetches[1]["content_hash"] == fetches[0]["content_hash"]


def test_an_edited_layout_re_extracts_unchanged_bytes(
    mfawatch: Any, mirror: Any, sites_file: Path
) -> None:
    mfawatch.crawl()
    text = mfawatch.json("show", mirror.url(EN35))["text"]
    assert "about 70 documents" in text
    # The user decides one paragraph is boilerplate: the same bytes must be read again.
    builtin = tomllib.loads((LAYOUTS_DIR / "mfa.gov.az.toml").read_text(encoding="utf-8"))
    drop_text = [*builtin["extract"]["drop_text"], "about 70 documents"]
    config = sites_file.read_text(encoding="utf-8").replace(
        'layout = "mfa.gov.az"', 'layout = "edited"'
    )
    config += (
        '\n[layouts.edited]\nextends = "mfa.gov.az"\n'
        f"[layouts.edited.extract]\ndrop_text = {json.dumps(drop_text)}\n"
    )
    sites_file.write_text(config, encoding="utf-8")
    mfawatch.crawl()
    assert "about 70 documents" not in mfawatch.json("show", mirror.url(EN35))["text"]
    [change] = mfawatch.json("changes")
    assert (change["kind"], change["url"]) == ("silent_edit", mirror.url(EN35))


def test_scrapy_crawl_from_the_repository_root_runs_the_same_crawl(
    mfawatch: Any, mirror: Any, sites_file: Path
) -> None:
    # Issue 2: `scrapy crawl mfa` (scrapy.cfg at the root) archives exactly as `mfawatch crawl`.
    scrapy = Path(sys.executable).with_name("scrapy")
    proc = subprocess.run(
        [str(scrapy), "crawl", "mfa", "-a", f"config={sites_file}",
         "-s", f"MFAWATCH_DATABASE_URL={mfawatch.db_url}"],
        check=False, capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    pages = mfawatch.json("pages")
    assert len(pages) == 8 and {p["status"] for p in pages} == {"active"}
    [run] = mfawatch.json("runs")
    assert (run["status"], run["trigger"], run["new"]) == ("ok", "manual", 8)
