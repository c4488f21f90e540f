"""Layout drift before failure, and unhealthy runs that say why, through the real CLI against
the offline mirror: a redesign of each selector of the layout (the body and the title found only
by a fallback, the date line gone from an unchanged text, the menus renamed, every body
selector gone, every page blocked), and what the fetch note, the run's counter and note,
`mfawatch runs`, `mfawatch history` and the notification say of it.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import partial
from typing import Any

import pytest

from mfawatch.mirror import embassy_site, faults, relations_path
from mfawatch.mirror.pages import relations_page
from scheduler.notify import RunReport, messages_for
from scheduler.service import run_reports
from tests.support import last_fetch

pytestmark = pytest.mark.crawl

EN35, EN36, EN37 = (relations_path("en", i) for i in (35, 36, 37))
PAGES = [(lang, i) for lang in ("en", "az") for i in (35, 36, 37, 38)]
BODY = "div.section_articleInner_body_content"
BODY_DRIFT = f'drift: body matched fallback "{BODY}" (1st "{BODY}--description" matched nothing)'
TITLE_DRIFT = (
    'drift: title matched fallback ".section_articleInner_header h1" '
    '(1st "h1.section_articleInner_header--title" gave no text)'
)
DATE_DRIFT = 'drift: date line not found, the text unchanged (last time: "{}")'
TRIED = f"{BODY}--description, {BODY}, div.section_articleInner_body"

render = partial(relations_page, "seoul")


def newest_run(mfawatch: Any) -> dict[str, Any]:
    return mfawatch.json("runs")[0]


def shown_notes(mfawatch: Any) -> str:
    """The note column of `mfawatch runs` (the last), its wrapped lines put together, without
    white space."""
    cells = [line.split("│")[-2] for line in mfawatch("runs").stdout.splitlines() if "│" in line]
    return re.sub(r"\s+", "", "".join(cells))


def notifications(sessions: Any, since: dt.datetime) -> list[Any]:
    """What the service would send about seoul's runs since ``since``."""
    with sessions() as session:
        reports = run_reports(session, ["seoul"], since)
    return [message for report in reports for message in messages_for(report)]


def test_a_fallback_selector_or_a_lost_date_line_is_drift_before_any_failure(
    mfawatch, mirror, sessions
):
    mfawatch.crawl()
    declared = last_fetch(mfawatch, mirror, EN37)["last_updated_raw"]
    assert declared
    started = dt.datetime.now(dt.UTC)
    # A redesign on its way: the body's inner container renamed (its parent, the layout's
    # 2nd choice, still holds the same text), the title's class renamed, a date line gone.
    mirror.set_handler(EN35, faults.redesigned(render("en", 35)))
    renamed = render("en", 36).replace("section_articleInner_header--title", "article-title")
    mirror.set(EN36, renamed)
    mirror.set(EN37, render("en", 37, last_updated=None))
    result = mfawatch.crawl()
    assert re.search(r"layout drift\s*│\s*3\b", result.stdout), result.stdout

    body, title, date = (last_fetch(mfawatch, mirror, p) for p in (EN35, EN36, EN37))
    assert (body["outcome"], body["note"], body["error"]) == ("unchanged", BODY_DRIFT, None)
    assert (title["outcome"], title["note"], title["error"]) == ("unchanged", TITLE_DRIFT, None)
    # The date line's loss is a change of its own, and drift: the text stayed.
    assert (date["outcome"], date["note"]) == ("unchanged", DATE_DRIFT.format(declared))
    assert [c["kind"] for c in mfawatch.json("changes")] == ["date_only"]
    assert last_fetch(mfawatch, mirror, relations_path("en", 38))["note"] is None

    run = newest_run(mfawatch)
    assert (run["status"], run["note"], run["drifted"], run["errors"]) == ("ok", None, 3, 0)
    table = mfawatch("runs").stdout
    header = next(line for line in table.splitlines() if "drift" in line)
    row = next(line for line in table.splitlines() if f"│ {run['id']} " in line)
    cells = [cell.strip() for cell in row.split("│")]
    assert cells[[c.strip() for c in header.split("┃")].index("drift")] == "3"
    # history shows the note (its table may wrap it: the JSON gives it whole)
    assert "drift:" in mfawatch("history", mirror.url(EN35)).stdout
    note = last_fetch(mfawatch, mirror, EN35)["note"]
    assert note.startswith('drift: body matched fallback "div.section_articleInner_body_content"')

    changes, message = notifications(sessions, started)  # the date_only change, then drift
    assert changes.title == "mfawatch: seoul: 1 new change (1 date_only)"
    assert (message.title, message.failure, message.warning) == (
        "mfawatch: seoul: layout drift on 3 pages", False, True,
    )  # fmt: skip
    lines = message.body.splitlines()
    assert sorted(lines[:3]) == sorted(
        f"{mirror.url(path)}: {note}"
        for path, note in (
            (EN35, BODY_DRIFT),
            (EN36, TITLE_DRIFT),
            (EN37, DATE_DRIFT.format(declared)),
        )
    )
    assert lines[3].startswith("Check the layout: mfawatch layout check URL")

    # The layout's first choices match again: no drift, nothing to say.
    mirror.set_site(embassy_site("seoul"))
    again = dt.datetime.now(dt.UTC)
    mfawatch.crawl()
    assert newest_run(mfawatch)["drifted"] == 0
    assert last_fetch(mfawatch, mirror, EN35)["note"] is None
    # (the date line back is a date_only change again)
    assert [m.warning for m in notifications(sessions, again)] == [False]


def renamed_menus(mirror: Any) -> None:
    """Start pages whose header and menu are <div>s of other classes now (the sidebar stays)."""
    site = embassy_site("seoul")
    for path in ("/en", "/az"):
        html = site[path].replace('<nav class="section_menu">', '<div class="section_topnav">')
        html = html.replace('<header class="section_header">', '<div class="section_top">')
        mirror.set(path, html.replace("</nav>", "</div>").replace("</header>", "</div>"))


# A start page whose menus linked no relations page, as an unhealthy run's note names it.
UNLINKED = re.compile(
    r"start page (\S+): (\d+) links in its menus, none a relations page; "
    r"nav, header, \.section_menu, ul\.menu matched nothing"
)


def test_renamed_menus_make_an_unhealthy_run_that_names_the_start_pages_and_selectors(
    mfawatch, mirror, sessions
):
    renamed_menus(mirror)
    started = dt.datetime.now(dt.UTC)
    first = mfawatch.crawl(check=False)
    assert first.code == 1, first.stderr
    run = newest_run(mfawatch)
    starts = UNLINKED.findall(run["note"])
    assert run["status"] == "unhealthy"
    assert run["note"] == "; ".join(
        ["no page was found", *(m.group() for m in UNLINKED.finditer(run["note"]))]
    )
    assert sorted(url for url, _ in starts) == [mirror.url("/az"), mirror.url("/en")]
    assert all(int(n) > 0 for _, n in starts)  # the sidebar still matches
    (message,) = notifications(sessions, started)
    assert message.title == "mfawatch: seoul: crawl unhealthy"
    assert f"ended unhealthy: {run['note']}." in message.body
    assert run["note"].replace(" ", "") in shown_notes(mfawatch)

    # Known pages are re-checked all the same, but a new page would go unseen: unhealthy too.
    mirror.set_site(embassy_site("seoul"))
    mfawatch.crawl()
    renamed_menus(mirror)
    assert mfawatch.crawl(check=False).code == 1
    run = newest_run(mfawatch)
    assert (run["status"], run["fetched"], run["errors"]) == ("unhealthy", 8, 0)
    head = "no start page's menus linked a relations page"
    assert run["note"] == "; ".join([head, *(m.group() for m in UNLINKED.finditer(run["note"]))])
    assert sorted(url for url, _ in UNLINKED.findall(run["note"])) == [
        mirror.url("/az"), mirror.url("/en"),
    ]  # fmt: skip


def test_a_layout_that_matches_nothing_names_the_first_failing_page_and_the_selectors(
    mfawatch, mirror
):
    mfawatch.crawl()
    for lang, i in PAGES:
        mirror.set(relations_path(lang, i), render(lang, i).replace("section_articleInner", "x"))
    assert mfawatch.crawl(check=False).code == 1
    run = newest_run(mfawatch)
    urls = "|".join(re.escape(mirror.url(relations_path(lang, i))) for lang, i in PAGES)
    expected = (
        re.escape("8 of 8 pages did not match the layout (redesign or block page?); ")
        + f"first failing page ({urls}): "
        + re.escape(f"body not found (tried {TRIED})")
    )
    assert run["status"] == "unhealthy"
    assert re.fullmatch(expected, run["note"]), run["note"]
    assert run["note"].replace(" ", "") in shown_notes(mfawatch)


BLOCKS = {
    "403": (faults.challenge_403, "blocked: HTTP 403 (a challenge)"),
    "interstitial": (
        faults.wait_interstitial,
        'blocked: interstitial ("Data processing... Please, wait")',
    ),
}


@pytest.mark.parametrize("block", BLOCKS)
def test_a_site_that_answers_only_blocks_is_unhealthy_blocked(mfawatch, mirror, sessions, block):
    mfawatch.crawl()
    handler, note = BLOCKS[block]
    for lang, i in PAGES:
        mirror.set_handler(relations_path(lang, i), handler())
    started = dt.datetime.now(dt.UTC)
    assert mfawatch.crawl(check=False).code == 1
    run = newest_run(mfawatch)
    said = "blocked: 8 of 8 pages answered 403/interstitial"
    assert (run["status"], run["note"], run["drifted"]) == ("unhealthy", said, 0)
    assert last_fetch(mfawatch, mirror, EN35)["note"] == note
    assert said.replace(" ", "") in shown_notes(mfawatch)
    # (interstitials are extraction_failed changes, queued for review: a message of their own)
    (message,) = [m for m in notifications(sessions, started) if m.failure]
    assert f"The crawl of seoul ended unhealthy: {said}." in message.body


def test_blocked_start_pages_say_so(mfawatch, mirror):
    for path in ("/en", "/az"):
        mirror.set_handler(path, faults.challenge_403())
    assert mfawatch.crawl(check=False).code == 1
    run = newest_run(mfawatch)
    head, *starts = run["note"].split("; ")
    assert (run["status"], head) == ("unhealthy", "no page was found")
    assert sorted(starts) == [
        f"start page {mirror.url(path)}: blocked: HTTP 403 (a challenge)" for path in ("/az", "/en")
    ]


def test_notifications_show_notes_escaped() -> None:
    hostile = "http://x.test/\x1b[2J\u202e"
    report = RunReport(
        "seoul", "unhealthy", f"first failing page {hostile}: body not found", 1, 1, [],
        drifted=1, drift=[(hostile, "drift: date line not found\x9b")],
    )  # fmt: skip
    for message in messages_for(report):
        assert "\x1b" not in message.body and "\u202e" not in message.body
        assert "\x9b" not in message.body
        assert "\\x1b[2J" in message.body
