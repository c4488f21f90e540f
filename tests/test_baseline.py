"""The baseline is the first crawl that archived pages: a first crawl that archived nothing
usable (every page failed extraction, could not be fetched or answered 404) is not it, so the
crawl after the user fixed the layout, or after the site came back, queues nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mfawatch.mirror import embassy_site, faults, relations_path
from tests.conftest import Mfawatch, write_sites

pytestmark = pytest.mark.crawl

PAGES = [relations_path(lang, i) for lang in ("en", "az") for i in (35, 36, 37, 38)]
# The shipped layout with a body selector that matches nothing on the mirror.
WRONG_BODY = """
[layouts."wrong-body"]
extends = "mfa.gov.az"
[layouts."wrong-body".extract]
body = ["div.no-such-article-body"]
"""


def kinds(mfawatch: Mfawatch) -> list[str]:
    return sorted(c["kind"] for c in mfawatch.json("changes", "--status", "all"))


def statuses(mfawatch: Mfawatch) -> list[str]:
    """Each run's status, oldest first."""
    return [r["status"] for r in reversed(mfawatch.json("runs"))]


def page_states(mfawatch: Mfawatch) -> set[str]:
    return {p["status"] for p in mfawatch.json("pages")}


def test_a_layout_fixed_after_a_first_crawl_that_matched_nothing_queues_nothing(
    mfawatch, mirror, tmp_path: Path
):
    wrong = write_sites(tmp_path / "wrong.toml", mirror, extra=WRONG_BODY)
    wrong.write_text(wrong.read_text().replace('"mfa.gov.az"\nstart', '"wrong-body"\nstart'))
    Mfawatch(mfawatch.db_url, wrong).crawl(check=False)
    assert page_states(mfawatch) == {"broken"}

    mfawatch.crawl()  # the layout fixed: this crawl is the baseline
    assert kinds(mfawatch) == []
    assert page_states(mfawatch) == {"active"}
    assert statuses(mfawatch) == ["unhealthy", "ok"]
    mirror.remove(relations_path("en", 38))
    mfawatch.crawl()  # and after it, changes are changes again
    assert kinds(mfawatch) == ["removed"]


def test_a_site_whose_pages_were_unreachable_at_first_queues_nothing_when_they_answer(
    mfawatch, mirror
):
    for path in PAGES:  # the menus answer, every page resets the connection
        mirror.set_handler(path, faults.dropped_connection())
    mfawatch.crawl(check=False)
    assert len(mfawatch.json("pages")) == 8

    mirror.set_site(embassy_site("seoul"))
    mfawatch.crawl()
    assert kinds(mfawatch) == []
    assert statuses(mfawatch) == ["unhealthy", "ok"]


def test_a_first_crawl_of_404s_is_not_the_baseline(mfawatch, mirror):
    for path in PAGES:
        mirror.remove(path)
    mfawatch.crawl()
    assert page_states(mfawatch) == {"removed"}
    assert statuses(mfawatch) == ["ok"]  # healthy, but nothing archived

    mirror.set_site(embassy_site("seoul"))
    mfawatch.crawl()
    assert kinds(mfawatch) == []
    assert page_states(mfawatch) == {"active"}
