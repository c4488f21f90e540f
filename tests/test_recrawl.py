"""Re-crawls of pages whose bytes did not change skip extraction, but never hide a change: a
layout edited since the last crawl re-extracts every page with the new rules.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from mfawatch.config import LAYOUTS_DIR
from mfawatch.mirror import relations_path

EN35 = relations_path("en", 35)


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
