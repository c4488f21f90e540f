"""`mfawatch report`: a realistic archive (two sites, every common kind of change, a hostile
page) built through the write path, reported as HTML, Markdown and JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from kernel.detect import Seen
from storage.archive import FetchResult, record_fetch
from storage.queries import review_change
from storage.runs import finish_run, start_run

T0 = dt.datetime(2023, 3, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
HOSTILE = "<script>alert(1)</script>"
HOSTILE_IMG = "<img src=x onerror=alert(1)>"


def long_text(documents: int) -> str:
    paragraphs = [f"Paragraph {n}: Azerbaijan and Korea keep talking." for n in range(1, 13)]
    paragraphs[5] = f"About {documents} documents signed."
    return "\n".join(["Political cooperation", *paragraphs])


@dataclass
class Seeing:
    """One page as a crawl sees it; text None means 404."""

    key: str
    text: str | None
    declared: dt.date | None = dt.date(2023, 2, 28)
    title: str = "Political cooperation"
    lang: str = "en"
    time: dt.time | None = None

    def result(self, site: str, at: dt.datetime) -> FetchResult:
        host = f"{site}.mfa.gov.az"
        return FetchResult(
            site=site, key=f"{host}/{self.lang}/content/{self.key}",
            url=f"https://{host}/{self.lang}/content/{self.key}/page", lang=self.lang,
            seen=Seen.CONTENT if self.text is not None else Seen.GONE, fetched_at=at,
            http_status=200 if self.text is not None else 404, raw=(self.text or "").encode(),
            title=self.title, text=self.text,
            declared_raw=self.declared.strftime("%d.%m.%Y") if self.declared else None,
            declared_date=self.declared, declared_time=self.time,
        )  # fmt: skip


def crawl(sessions: sessionmaker[Session], site: str, at: dt.datetime, *pages: Seeing) -> None:
    with sessions.begin() as session:
        run_id = start_run(session, site, "mfa.gov.az", "manual")
        for page in pages:
            record_fetch(session, run_id, page.result(site, at))
        finish_run(session, run_id, "ok")


def build_archive(sessions: sessionmaker[Session]) -> None:
    """Seoul: a silent edit in a long page, an update, a removal, a new page. Bern: a date-only
    bump, a date moved backwards, a silent edit that brings hostile text (and title)."""
    d2 = dt.date(2023, 3, 2)
    political = Seeing("35", long_text(70))
    siyasi = Seeing("36", "Siyasi əməkdaşlıq\nİlk mətn.", lang="az", title="Siyasi əməkdaşlıq")
    economic = Seeing("37", "Economic cooperation\nTrade grew.", title="Economic cooperation")
    relations = Seeing("10", "Relations\nSame words.", title="Relations")
    treaties = Seeing("11", "Treaties\nOld list.", title="Treaties")
    culture = Seeing("12", "Culture\nA concert.", title="Culture")
    crawl(sessions, "seoul", T0, political, siyasi, economic)
    crawl(sessions, "bern", T0 + HOUR, relations, treaties, culture)

    political = replace(political, text=long_text(80))
    crawl(sessions, "seoul", T0 + DAY, political, siyasi, economic)
    relations = replace(relations, declared=d2)
    culture = replace(
        culture,
        text=f"Culture\nA concert. {HOSTILE} {HOSTILE_IMG} *bold* [x](y)",
        title=f"Culture {HOSTILE}",
    )
    crawl(sessions, "bern", T0 + DAY + HOUR, relations, treaties, culture)

    siyasi = replace(siyasi, text="Siyasi əməkdaşlıq\nYeni mətn.", declared=d2)
    economic = replace(economic, text=None)
    humanitarian = Seeing("38", "Humanitarian\nAid sent.", title="Humanitarian")
    crawl(sessions, "seoul", T0 + 2 * DAY, political, siyasi, economic, humanitarian)
    treaties = replace(treaties, text="Treaties\nNew list.", declared=dt.date(2023, 1, 5))
    crawl(sessions, "bern", T0 + 2 * DAY + HOUR, relations, treaties, culture)


# Most important kinds first, then newest: (kind, site, page key suffix).
EXPECTED_ORDER = [
    ("silent_edit", "bern", "/en/content/12"),
    ("silent_edit", "seoul", "/en/content/35"),
    ("date_regressed", "bern", "/en/content/11"),
    ("removed", "seoul", "/en/content/37"),
    ("content_updated", "seoul", "/az/content/36"),
    ("date_only", "bern", "/en/content/10"),
    ("new_page", "seoul", "/en/content/38"),
]


@pytest.fixture
def archive(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    build_archive(sessions)
    return sessions


def report(mfawatch: Any, *args: str) -> str:
    result = mfawatch("report", *args)
    assert result.code == 0, result.stderr
    return str(result.stdout)


def report_json(mfawatch: Any, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(report(mfawatch, "--format", "json", *args))
    return data


def change_id(data: dict[str, Any], key_suffix: str) -> int:
    [found] = [c["id"] for c in data["changes"] if c["page_key"].endswith(key_suffix)]
    return int(found)


def test_summary_counts_by_kind_and_site(mfawatch: Any, archive: object) -> None:
    data = report_json(mfawatch)
    assert data["summary"] == {
        "silent_edit": {"bern": 1, "seoul": 1},
        "date_regressed": {"bern": 1},
        "removed": {"seoul": 1},
        "content_updated": {"seoul": 1},
        "date_only": {"bern": 1},
        "new_page": {"seoul": 1},
    }
    assert list(data["summary"]) == [kind for kind, _, _ in EXPECTED_ORDER[1:]]
    markdown = report(mfawatch, "--format", "md")
    assert "| kind | bern | seoul | total |" in markdown
    assert "| silent\\_edit | 1 | 1 | 2 |" in markdown
    assert "| removed | 0 | 1 | 1 |" in markdown
    assert "| total | 3 | 4 | 7 |" in markdown
    html = report(mfawatch)
    assert re.search(
        r"<th>silent edit</th>\s*<td>1</td><td>1</td>\s*<td class=\"total\">2</td>", html
    )


def test_changes_most_important_first_then_newest(mfawatch: Any, archive: object) -> None:
    data = report_json(mfawatch)
    assert [(c["kind"], c["site"], c["page_key"][c["page_key"].index("/") :])
            for c in data["changes"]] == EXPECTED_ORDER  # fmt: skip
    html = report(mfawatch)
    positions = [html.index(f'id="change-{c["id"]}"') for c in data["changes"]]
    assert positions == sorted(positions)
    markdown = report(mfawatch, "--format", "md")
    headings = re.findall(r"^### \d+\. (\S+):", markdown, re.MULTILINE)
    assert headings == [kind.replace("_", "\\_") for kind, _, _ in EXPECTED_ORDER]


def test_json_matches_the_diff_command(mfawatch: Any, archive: object) -> None:
    data = report_json(mfawatch, "--status", "all", "--site", "seoul")
    assert data["filters"] == {
        "status": "all", "since": None, "site": "seoul", "kind": None, "include_historical": False,
    }  # fmt: skip
    assert dt.datetime.fromisoformat(data["generated_at"]).tzinfo is not None
    assert data["period"]["from"].startswith("2023-03-02T09:00")
    for change in data["changes"]:
        assert change == mfawatch.json("diff", str(change["id"]))


def test_html_shows_the_edit_dates_window_and_context(mfawatch: Any, archive: object) -> None:
    html = report(mfawatch)
    section = _section(html, change_id(report_json(mfawatch), "/35"))
    assert "<del>70</del> <ins>80</ins> " in section
    assert "2023-02-28 → 2023-02-28" in section
    assert "last seen old 2023-03-01 09:00 UTC; first seen new 2023-03-02 09:00 UTC" in section
    assert 'href="https://seoul.mfa.gov.az/en/content/35/page"' in section
    # The changed paragraph with one paragraph around it, "…" for the rest.
    assert "Paragraph 5:" in section and "Paragraph 7:" in section
    assert "Paragraph 4:" not in section and "Paragraph 8:" not in section
    assert section.count('<p class="gap">…</p>') == 2
    removed = _section(html, change_id(report_json(mfawatch), "/37"))
    assert "The page is gone" in removed and "HTTP 404" in removed


def test_markdown_shows_the_edit_dates_and_window(mfawatch: Any, archive: object) -> None:
    markdown = report(mfawatch, "--format", "md")
    part = markdown[markdown.index("content/35") :]
    part = part[: part.index("###")]
    assert "About [-70-]{+80+} documents signed." in part
    assert "- declared date: 2023\\-02\\-28 → 2023\\-02\\-28" not in part  # own values unescaped
    assert "declared date: 2023-02-28 → 2023-02-28" in part
    assert "window: last seen old 2023-03-01 09:00 UTC; first seen new 2023-03-02 09:00 UTC" in part
    assert "Paragraph 4:" not in part and part.count("\n…\n") == 2
    assert "[Political cooperation]" not in part  # the link is to the URL, escaped
    updated = markdown[markdown.index("content\\_updated: Siyasi") :]
    assert "[-İlk-]{+Yeni+} mətn." in updated[: updated.index("###")]


def test_a_declared_time_is_shown_beside_its_date(
    mfawatch: Any, sessions: sessionmaker[Session]
) -> None:
    page = Seeing("35", "Political cooperation\nOld.", time=dt.time(8, 59))
    crawl(sessions, "seoul", T0, page)
    crawl(sessions, "seoul", T0 + DAY, replace(page, text="Political cooperation\nNew."))
    moved = "2023-02-28 08:59 → 2023-02-28 08:59"
    assert moved in report(mfawatch)
    assert f"declared date: {moved}" in report(mfawatch, "--format", "md")
    [change] = report_json(mfawatch)["changes"]
    assert change["old_last_updated_time"] == change["new_last_updated_time"] == "08:59:00"


@pytest.mark.parametrize(
    ("args", "count"),
    [
        ((), 6),  # change 1 was accepted
        (("--since", "2023-03-03"), 4),
        (("--since", "2023-03-02", "--status", "all"), 7),
        (("--since", "2023-03-04"), 0),
        (("--site", "bern"), 3),
        (("--kind", "silent_edit"), 1),
        (("--kind", "silent_edit", "--status", "all"), 2),
        (("--kind", "silent_edit", "--site", "seoul", "--status", "all"), 1),
        (("--status", "accepted"), 1),
        (("--status", "dismissed"), 0),
        (("--status", "all"), 7),
    ],
)
def test_filters(
    mfawatch: Any, archive: sessionmaker[Session], args: tuple[str, ...], count: int
) -> None:
    with archive.begin() as session:
        review_change(session, 1, "accepted", "checked", "tester")
    data = report_json(mfawatch, *args)
    assert len(data["changes"]) == count
    assert sum(n for by_site in data["summary"].values() for n in by_site.values()) == count
    if "--since" in args:
        assert all(c["detected_at"] >= args[1] for c in data["changes"])
        assert data["period"]["from"] == f"{args[1]}T00:00:00+00:00"


def test_html_is_self_contained(mfawatch: Any, archive: object) -> None:
    html = report(mfawatch, "--status", "all")
    assert "<style>" in html and "@media print" in html and "print-color-adjust: exact" in html
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert not re.search(r"<[^>]*\ssrc=", html) and "@import" not in html and "url(" not in html
    live = {c["url"] for c in report_json(mfawatch, "--status", "all")["changes"]}
    assert set(re.findall(r'href="([^"]*)"', html)) == live
    assert all(u in live for u in re.findall(r"https?://[^\s\"<]+", html))


def test_hostile_text_is_escaped_everywhere(mfawatch: Any, archive: sessionmaker[Session]) -> None:
    with archive.begin() as session:
        review_change(session, 1, "pending", f"note {HOSTILE} {HOSTILE_IMG}", "tester")
    html = report(mfawatch)
    assert "<script" not in html and "<img" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 2  # diff and review note
    assert "Culture &lt;script&gt;" in html  # the title
    markdown = report(mfawatch, "--format", "md")
    assert "<script" not in markdown and "<img" not in markdown
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in markdown
    assert "\\*bold\\* \\[x\\]\\(y\\)" in markdown
    assert "note &lt;script&gt;" in markdown
    data = report_json(mfawatch)  # JSON keeps the text exactly
    assert HOSTILE in data["changes"][0]["title"]


def test_output_file(mfawatch: Any, archive: object, tmp_path: Path) -> None:
    for fmt, name in (("html", "r.html"), ("md", "r.md"), ("json", "r.json")):
        target = tmp_path / name
        result = mfawatch("report", "--format", fmt, "-o", str(target))
        assert result.code == 0, result.stderr
        assert result.stdout == f"report of 7 changes written to {target}\n"
        assert target.read_text(encoding="utf-8").startswith(
            {"html": "<!doctype html>", "md": "# mfawatch", "json": "{"}[fmt]
        )
    assert len(json.loads((tmp_path / "r.json").read_text())["changes"]) == 7
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".r")) == []


def test_empty_report(mfawatch: Any, archive: object) -> None:
    for fmt in ("html", "md"):
        assert "No changes match" in report(mfawatch, "--kind", "restored", "--format", fmt)
    data = report_json(mfawatch, "--kind", "restored")
    assert data["changes"] == [] and data["summary"] == {} and data["period"]["from"] is None


def test_a_since_in_the_future_is_an_empty_period_that_ends_where_it_begins(
    mfawatch: Any, archive: object
) -> None:
    data = report_json(mfawatch, "--since", "2999-01-01")
    assert data["changes"] == []
    assert data["period"] == {
        "from": "2999-01-01T00:00:00+00:00",
        "to": "2999-01-01T00:00:00+00:00",
    }
    markdown = report(mfawatch, "--since", "2999-01-01", "--format", "md")
    assert "from 2999-01-01 00:00 UTC up to 2999-01-01 00:00 UTC" in markdown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last week"], "not a date"),
        (["--kind", "edited"], "--kind must be one of"),
        (["--status", "maybe"], "--status must be one of"),
        (["--format", "pdf"], "--format must be one of"),
        (["-o", "/nonexistent/folder/r.html"], "cannot write /nonexistent/folder/r.html"),
    ],
)
def test_bad_input_gets_one_line(
    mfawatch: Any, archive: object, args: list[str], message: str
) -> None:
    result = mfawatch("report", *args)
    assert result.code == 2
    assert result.stderr.startswith("mfawatch: error:") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""


def _section(html: str, change: int) -> str:
    start = html.index(f'id="change-{change}"')
    return html[start : html.index("</section>", start)]
