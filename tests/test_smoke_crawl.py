from __future__ import annotations


def test_baseline_then_edit(mfawatch, mirror):
    first = mfawatch.crawl()
    assert "pages fetched" in first.stdout
    assert mfawatch.json("changes", "--status", "all") == []
    pages = mfawatch.json("pages")
    assert len(pages) == 8
