"""End to end: real crawls of the offline mirror, the mirror's pages switched between crawls,
and every check made through what a user sees (the CLI's JSON, and the crawl summary).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import partial
from html import escape
from typing import Any

import pytest
from sqlalchemy import func, select

from mfawatch.mirror import content_page, faults, home_page, relations_menu, relations_path
from mfawatch.mirror.missions import page_text
from mfawatch.mirror.pages import relations_page
from mfawatch.mirror.server import etag_for
from storage.models import Change, ContentVersion, Fetch, Page

pytestmark = pytest.mark.crawl

EN35, EN36, EN37, EN38 = (relations_path("en", i) for i in (35, 36, 37, 38))


# A seoul relations page as the mirror serves it, with some content_page arguments changed.
render = partial(relations_page, "seoul")


def paragraphs_of(lang: str, section_id: int) -> list[str]:
    return list(page_text("seoul", lang, section_id).paragraphs)


def edited_35() -> list[str]:
    """35/en with one fact changed: about 70 documents became about 80."""
    paragraphs = paragraphs_of("en", 35)
    assert "about 70 documents" in paragraphs[4]
    paragraphs[4] = paragraphs[4].replace("about 70 documents", "about 80 documents")
    return paragraphs


def serve_menu(mirror, menu: list[tuple[str, str]], ids: tuple[int, ...]) -> None:
    """Re-render the English home page and the given English pages with another menu."""
    mirror.set("/en", home_page(mission="seoul", lang="en", menu=menu))
    for section_id in ids:
        mirror.set(relations_path("en", section_id), render("en", section_id, menu=menu))


def key(mirror, path: str) -> str:
    """The page identity the archive files a mirror path under: host:port/lang/content/id."""
    found = re.search(r"/([a-z]{2})/content/(\d+)", path)
    assert found
    return f"{mirror.url('')[len('http://') :]}/{found[1]}/content/{found[2]}"


def changes(mfawatch, *args: str) -> list[dict[str, Any]]:
    return mfawatch.json("changes", "--status", "all", *args)


def history(mfawatch, mirror, path: str) -> dict[str, Any]:
    return mfawatch.json("history", mirror.url(path))


def outcomes(mfawatch, mirror, path: str) -> list[str]:
    return [f["outcome"] for f in history(mfawatch, mirror, path)["fetches"]]


def only_change(mfawatch) -> dict[str, Any]:
    found = changes(mfawatch)
    assert len(found) == 1, found
    return found[0]


def kinds(mfawatch, mirror) -> list[tuple[str, str]]:
    """(path, kind) of every change, sorted."""
    return sorted((c["url"].removeprefix(mirror.base_url), c["kind"]) for c in changes(mfawatch))


def pick(row: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(row[name] for name in names)


DATES = ("old_last_updated", "new_last_updated")
WORDS = ("words_added", "words_removed")


# -- baseline and quiet crawls ------------------------------------------------------------------


def test_first_crawl_is_a_baseline(mfawatch, mirror):
    result = mfawatch.crawl()
    # The summary says what happened: 8 pages fetched, all new, no change queued.
    assert "Crawl summary" in result.stdout
    assert re.search(r"pages fetched\D+8\b", result.stdout), result.stdout
    assert re.search(r"new pages\D+8\b", result.stdout), result.stdout
    assert re.search(r"new changes\s*│?\s*none", result.stdout), result.stdout

    pages = {p["key"]: p for p in mfawatch.json("pages")}
    expected = {
        key(mirror, relations_path(lang, i)) for lang in ("en", "az") for i in (35, 36, 37, 38)
    }
    assert set(pages) == expected
    political = pick(pages[key(mirror, EN35)], "title", "lang", "site", "status", "last_updated")
    assert political == ("Political cooperation", "en", "seoul", "active", "2023-02-28")
    assert pages[key(mirror, EN36)]["last_updated"] == "2023-03-14"
    # 38/en has no date line: null, not a guess.
    assert pages[key(mirror, EN38)]["last_updated"] is None
    assert pages[key(mirror, relations_path("az", 38))]["last_updated"] == "2022-10-05"
    assert pages[key(mirror, relations_path("az", 35))]["title"] == "Siyasi əməkdaşlıq"
    assert changes(mfawatch) == []


def test_second_crawl_with_nothing_changed_records_unchanged_fetches(mfawatch, mirror):
    mfawatch.crawl()
    mfawatch.crawl()
    assert changes(mfawatch) == []
    for page in mfawatch.json("pages"):
        fetches = mfawatch.json("history", page["url"])["fetches"]
        # Every fetch is a row, even when nothing changed.
        assert [f["outcome"] for f in fetches] == ["new", "unchanged"], page["key"]
        assert fetches[0]["content_hash"] == fetches[1]["content_hash"] is not None
        assert fetches[0]["last_updated"] == fetches[1]["last_updated"]


# -- the kinds of change ------------------------------------------------------------------------


def test_edit_with_a_newer_date_is_content_updated(mfawatch, mirror):
    mfawatch.crawl()
    mirror.set(EN35, render("en", 35, paragraphs=edited_35(), last_updated="15.03.2024"))
    mfawatch.crawl()

    change = only_change(mfawatch)
    assert pick(change, "kind", "status", "url") == ("content_updated", "pending", mirror.url(EN35))
    assert mfawatch.json("changes") == [change]  # the default queue is the pending one

    shown = mfawatch.json("diff", str(change["id"]))
    assert pick(shown, *DATES) == ("2023-02-28", "2024-03-15")
    edits = [(p["op"], p["text"].strip()) for p in shown["diff"] if p["op"] != "equal"]
    assert edits == [("delete", "70"), ("insert", "80")]
    assert pick(shown, *WORDS) == (1, 1)
    # The diff joins back into both texts.
    old = "".join(p["text"] for p in shown["diff"] if p["op"] != "insert")
    new = "".join(p["text"] for p in shown["diff"] if p["op"] != "delete")
    assert (old, new) == tuple(
        "\n".join(["Political cooperation", *t]) for t in (paragraphs_of("en", 35), edited_35())
    )
    # The change happened somewhere between the last fetch of the old text and this one.
    fetches = history(mfawatch, mirror, EN35)["fetches"]
    assert [f["outcome"] for f in fetches] == ["new", "changed"]
    window = pick(shown["window"], "last_seen_old", "first_seen_new")
    assert window == (fetches[0]["fetched_at"], fetches[1]["fetched_at"])
    assert dt.datetime.fromisoformat(window[0]) < dt.datetime.fromisoformat(window[1])


def test_edit_under_the_same_date_or_no_date_is_a_silent_edit(mfawatch, mirror):
    mfawatch.crawl()
    mirror.set(EN35, render("en", 35, paragraphs=edited_35()))
    cultural = [*paragraphs_of("en", 38), "A new Korean cultural centre opened in Baku."]
    mirror.set(EN38, render("en", 38, paragraphs=cultural))
    mfawatch.crawl()

    assert kinds(mfawatch, mirror) == [(EN35, "silent_edit"), (EN38, "silent_edit")]
    found = {c["url"]: c for c in changes(mfawatch)}
    political, no_date = found[mirror.url(EN35)], found[mirror.url(EN38)]
    assert pick(political, "kind", *DATES) == ("silent_edit", "2023-02-28", "2023-02-28")
    assert pick(no_date, "kind", *DATES) == ("silent_edit", None, None)
    # An appended paragraph is only an insertion: the old last words stay as they were.
    assert pick(no_date, *WORDS) == (8, 0)
    shown = mfawatch.json("diff", str(no_date["id"]))
    assert [(p["op"], p["text"].strip()) for p in shown["diff"] if p["op"] != "equal"] == [
        ("insert", "A new Korean cultural centre opened in Baku.")
    ]


def test_newer_date_with_the_same_text_is_date_only(mfawatch, mirror):
    mfawatch.crawl()
    mirror.set(EN35, render("en", 35, last_updated="01.06.2023"))
    mfawatch.crawl()

    change = only_change(mfawatch)
    assert change["kind"] == "date_only"
    shown = mfawatch.json("diff", str(change["id"]))
    assert pick(shown, *DATES, *WORDS) == ("2023-02-28", "2023-06-01", 0, 0)
    assert all(p["op"] == "equal" for p in shown["diff"])
    page = {p["key"]: p for p in mfawatch.json("pages")}[key(mirror, EN35)]
    assert page["last_updated"] == "2023-06-01"


def test_older_date_is_date_regressed_with_or_without_a_text_change(mfawatch, mirror):
    mfawatch.crawl()
    mirror.set(EN35, render("en", 35, last_updated="01.01.2023"))  # text as before
    economic = paragraphs_of("en", 36)
    economic[-1] = "Trade turnover between the two countries fell last year."
    mirror.set(EN36, render("en", 36, paragraphs=economic, last_updated="01.03.2023"))
    mfawatch.crawl()

    assert kinds(mfawatch, mirror) == [(EN35, "date_regressed"), (EN36, "date_regressed")]
    found = {c["url"]: c for c in changes(mfawatch)}
    same_text, new_text = found[mirror.url(EN35)], found[mirror.url(EN36)]
    assert pick(same_text, *DATES, *WORDS) == ("2023-02-28", "2023-01-01", 0, 0)
    assert pick(new_text, *DATES, *WORDS) == ("2023-03-14", "2023-03-01", 3, 6)


def test_rendering_noise_is_no_change(mfawatch, mirror):
    mfawatch.crawl()
    # 35/en: other white space, &nbsp; between words, empty spacer paragraphs, straight quotes
    # instead of curly ones, and the date in a bold paragraph instead of its own element.
    political = paragraphs_of("en", 35)
    political[0] = political[0].replace(" between ", "  \n\t between   ")
    political[-2] = political[-2].replace("Countries’", "Countries'")
    html = render("en", 35, paragraphs=political, date_style="in_paragraph_bold")
    second = escape(political[1])
    assert second in html
    html = html.replace(second, second.replace(" ", "&nbsp;", 5) + "</p>\n<p>&nbsp;</p><p>", 1)
    mirror.set(EN35, html)
    # 36/en the other way round; 37/en from its odd spacing to a plain date element.
    mirror.set(EN36, render("en", 36, date_style="own_element"))
    mirror.set(EN37, render("en", 37, date_style="own_element"))
    result = mfawatch.crawl()

    assert re.search(r"new changes\s*│?\s*none", result.stdout), result.stdout
    assert changes(mfawatch) == []
    for path in (EN35, EN36, EN37):
        fetches = history(mfawatch, mirror, path)["fetches"]
        assert [f["outcome"] for f in fetches] == ["new", "unchanged"], path
        assert fetches[0]["content_hash"] == fetches[1]["content_hash"]
        assert fetches[0]["raw_hash"] != fetches[1]["raw_hash"]  # the bytes did change
        assert fetches[0]["last_updated"] == fetches[1]["last_updated"] is not None


def test_removed_then_restored(mfawatch, mirror):
    mfawatch.crawl()
    # 35: 404. 36: the CMS sends it to the home page. 37: dropped from the menu but still
    # served. 38: dropped from the menu and 404.
    menu = [entry for entry in relations_menu("en") if entry[0] not in (EN37, EN38)]
    serve_menu(mirror, menu, (35, 36, 37))
    mirror.remove(EN35)
    mirror.set_handler(EN36, faults.redirect_to_home())
    mirror.remove(EN38)
    mfawatch.crawl()

    assert kinds(mfawatch, mirror) == [(EN35, "removed"), (EN36, "removed"), (EN38, "removed")]
    # Known pages are re-checked even when no menu links them.
    assert outcomes(mfawatch, mirror, EN37) == ["new", "unchanged"]
    assert outcomes(mfawatch, mirror, EN38) == ["new", "gone"]
    redirected = history(mfawatch, mirror, EN36)["fetches"][-1]
    assert redirected["outcome"] == "gone"
    assert redirected["final_url"] == mirror.url("/en")
    status = {p["key"]: p["status"] for p in mfawatch.json("pages")}
    assert status[key(mirror, EN35)] == status[key(mirror, EN38)] == "removed"
    assert status[key(mirror, EN37)] == "active"
    assert mfawatch.json("show", mirror.url(EN35))["status"] == "removed"

    # 35 and 36 come back as they were; 38 stays gone and is not reported twice.
    mirror.set(EN35, render("en", 35, menu=menu))
    mirror.set(EN36, render("en", 36, menu=menu))
    mfawatch.crawl()

    assert kinds(mfawatch, mirror) == [
        *[(EN35, "removed"), (EN35, "restored"), (EN36, "removed"), (EN36, "restored")],
        (EN38, "removed"),
    ]
    assert outcomes(mfawatch, mirror, EN38) == ["new", "gone", "gone"]
    shown = mfawatch.json("show", mirror.url(EN35))
    assert shown["status"] == "present"
    assert "about 70 documents" in shown["text"]


def test_page_added_to_the_menu_is_new_page(mfawatch, mirror):
    mfawatch.crawl()
    path = "/en/content/39/scientific-cooperation"
    menu = [*relations_menu("en"), (path, "Scientific cooperation")]
    mirror.set("/en", home_page(mission="seoul", lang="en", menu=menu))
    body = ["Azerbaijani and Korean universities run joint research projects."]
    page = dict(mission="seoul", lang="en", title="Scientific cooperation", paragraphs=body)
    mirror.set(path, content_page(**page, last_updated="01.03.2024", menu=menu))
    mfawatch.crawl()

    change = only_change(mfawatch)
    assert pick(change, "kind", "url", *DATES) == ("new_page", mirror.url(path), None, "2024-03-01")
    pages = {p["key"]: p for p in mfawatch.json("pages")}
    assert len(pages) == 9
    assert pages[key(mirror, path)]["title"] == "Scientific cooperation"


def redesign(html: str) -> str:
    """The whole article block renamed: none of the layout's body selectors match any more."""
    return html.replace("section_articleInner", "section_post")


def test_broken_layout_is_reported_once_and_never_taken_for_a_deletion(mfawatch, mirror):
    mfawatch.crawl()
    # faults.redesigned() only renames the innermost body class: the layout's fallback
    # selector still finds the same text, so there is nothing to report.
    mirror.set_handler(EN35, faults.redesigned())
    mirror.set_handler(EN36, faults.redesigned(redesign(render("en", 36))))
    mirror.set_handler(EN37, faults.redesigned(redesign(render("en", 37))))
    mfawatch.crawl()
    broken = [(EN36, "extraction_failed"), (EN37, "extraction_failed")]
    assert kinds(mfawatch, mirror) == broken
    mfawatch.crawl()  # still broken: nothing new to review
    assert len(changes(mfawatch)) == 2
    # While it is broken, the archive still shows the last good text.
    last_good = mfawatch.json("show", mirror.url(EN37))
    assert last_good["status"] == "present"
    assert last_good["text"].splitlines()[1:] == paragraphs_of("en", 37)

    # 36 comes back with the same text: nothing happened to it. 37 comes back edited: the
    # edit is against the last good version, not against the broken fetches.
    mirror.set(EN36, render("en", 36))
    educational = [*paragraphs_of("en", 37), "A Korean trade office opened in Baku."]
    mirror.set(EN37, render("en", 37, paragraphs=educational))
    mfawatch.crawl()

    assert kinds(mfawatch, mirror) == [*broken, (EN37, "silent_edit")]
    edit = next(c for c in changes(mfawatch) if c["kind"] == "silent_edit")
    shown = mfawatch.json("diff", str(edit["id"]))
    assert pick(shown, *WORDS) == (7, 0)
    added = [p for p in shown["diff"] if p["op"] != "equal"]
    assert [(p["op"], p["text"].strip()) for p in added] == [
        ("insert", "A Korean trade office opened in Baku.")
    ]
    assert outcomes(mfawatch, mirror, EN35) == ["new", "unchanged", "unchanged", "unchanged"]
    assert outcomes(mfawatch, mirror, EN36) == ["new", *["extraction_failed"] * 2, "unchanged"]
    assert "body not found" in history(mfawatch, mirror, EN36)["fetches"][1]["error"]
    status = {p["key"]: p["status"] for p in mfawatch.json("pages")}
    assert status[key(mirror, EN36)] == status[key(mirror, EN37)] == "active"


# -- reviewing and reading the archive ----------------------------------------------------------


def test_review_flow_and_queue_filters(mfawatch, mirror):
    today = dt.datetime.now(dt.UTC).date()
    mfawatch.crawl()
    mirror.set(EN35, render("en", 35, paragraphs=edited_35(), last_updated="15.03.2024"))
    mirror.set(EN36, render("en", 36, last_updated="20.03.2024"))
    mfawatch.crawl()
    queue = {c["kind"]: c for c in mfawatch.json("changes")}
    assert set(queue) == {"content_updated", "date_only"}
    updated, date_only = queue["content_updated"], queue["date_only"]

    result = mfawatch("review", str(updated["id"]), "--accept", "--note", "checked")
    assert result.code == 0, result.stderr
    assert [c["id"] for c in mfawatch.json("changes")] == [date_only["id"]]
    accepted = mfawatch.json("changes", "--status", "accepted")
    assert [(c["id"], c["status"]) for c in accepted] == [(updated["id"], "accepted")]
    assert mfawatch.json("changes", "--status", "dismissed") == []
    reviews = mfawatch.json("diff", str(updated["id"]))["reviews"]
    assert [(r["status"], r["note"]) for r in reviews] == [("accepted", "checked")]

    def ids(*args: str) -> set[int]:
        return {c["id"] for c in changes(mfawatch, *args)}

    both = {updated["id"], date_only["id"]}
    assert ids("--kind", "date_only") == {date_only["id"]}
    assert ids("--kind", "content_updated") == {updated["id"]}
    assert ids("--site", "seoul") == both
    # A site the archive does not have is a mistake to name, not an empty queue.
    unknown = mfawatch("changes", "--site", "bern")
    assert (unknown.code, unknown.stderr) == (
        2,
        "mfawatch: error: no site 'bern' in the archive (its sites: seoul)\n",
    )
    assert ids("--since", today.isoformat()) == both
    assert ids("--since", (today + dt.timedelta(days=2)).isoformat()) == set()
    assert ids("--kind", "date_only", "--site", "seoul", "--since", today.isoformat()) == {
        date_only["id"]
    }


def test_show_at_a_moment_and_any_url_variant(mfawatch, mirror):
    mfawatch.crawl()
    between = dt.datetime.now(dt.UTC).isoformat()
    mirror.set(EN35, render("en", 35, paragraphs=edited_35(), last_updated="15.03.2024"))
    mfawatch.crawl()

    then = mfawatch.json("show", mirror.url(EN35), "--at", between)
    assert "about 70 documents" in then["text"]
    assert then["last_updated"] == "2023-02-28"
    now = mfawatch.json("show", mirror.url(EN35))
    assert "about 80 documents" in now["text"]
    assert now["last_updated"] == "2024-03-15"
    assert now["text"].splitlines()[0] == "Political cooperation"

    for variant in ("/index.php/en/content/35", "/en/content/35", "/en/content/35/other-slug"):
        shown = mfawatch.json("show", mirror.url(variant))
        assert (shown["key"], shown["content_hash"]) == (now["key"], now["content_hash"])
    assert mfawatch.json("show", key(mirror, EN35))["content_hash"] == now["content_hash"]

    # Before the first fetch the archive knows nothing: one clear line, non-zero exit.
    early = mfawatch("show", mirror.url(EN35), "--at", "2000-01-01")
    assert early.code != 0
    assert early.stdout == ""
    lines = early.stderr.strip().splitlines()
    assert len(lines) == 1, early.stderr
    assert lines[0].startswith("mfawatch: error:")
    assert "2000-01-01" in lines[0]


def test_versions_are_stored_once_per_distinct_text(mfawatch, mirror, sessions):
    original, edited = render("en", 35), render("en", 35, paragraphs=edited_35())
    for html in (original, original, edited, original):
        mirror.set(EN35, html)
        mfawatch.crawl()

    assert outcomes(mfawatch, mirror, EN35) == ["new", "unchanged", "changed", "changed"]
    found = sorted(changes(mfawatch), key=lambda c: c["id"])
    assert [c["kind"] for c in found] == ["silent_edit", "silent_edit"]
    with sessions() as session:
        page = session.scalar(select(Page).where(Page.key == key(mirror, EN35)))
        assert page is not None
        versions = session.scalars(
            select(ContentVersion)
            .where(ContentVersion.page_id == page.id)
            .order_by(ContentVersion.id)
        ).all()
        fetch_count = session.scalar(select(func.count()).where(Fetch.page_id == page.id))
        back = session.get_one(Change, found[1]["id"])
        assert len(versions) == 2
        assert fetch_count == 4
        # Going back to the old text points at the old version; no copy is made.
        assert back.new_version_id == versions[0].id
        assert back.old_version_id == versions[1].id
        assert page.current_version_id == versions[0].id


def test_conditional_requests_are_answered_not_modified(mfawatch, mirror):
    html = render("en", 35)
    mirror.set(EN35, html, etag=True)
    mfawatch.crawl()
    first = [r for r in mirror.requests if r.path == EN35]
    assert first
    assert all("if-none-match" not in r.headers for r in first)
    mirror.clear_requests()
    mfawatch.crawl()

    second = [r for r in mirror.requests if r.path == EN35]
    assert second
    # The validator the server gave in the first crawl is sent back.
    assert all(r.headers.get("if-none-match") == etag_for(html.encode()) for r in second)
    assert changes(mfawatch) == []
    fetches = history(mfawatch, mirror, EN35)["fetches"]
    assert [f["outcome"] for f in fetches] == ["new", "not_modified"]
    assert fetches[1]["http_status"] == 304
    # A 304 vouches for the text and the date it confirmed.
    assert fetches[1]["content_hash"] == fetches[0]["content_hash"]
    assert fetches[1]["last_updated"] == "2023-02-28"
    assert "about 70 documents" in mfawatch.json("show", mirror.url(EN35))["text"]
