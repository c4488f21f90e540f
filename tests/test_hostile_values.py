"""Values from a hostile server or page never cost other pages their records.

PostgreSQL refuses what SQLite lets through (a NUL in a text, a string longer than its column),
and a refused value in a batch once took up to a hundred other pages' fetch rows with it, on
every crawl. Here a site of 200 pages carries one hostile value per page on a few of them.
"""

from __future__ import annotations

import datetime as dt
import string
from collections import Counter
from itertools import islice, product

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kernel.detect import Seen
from mfawatch.mirror import (
    Handler,
    MirrorServer,
    content_page,
    faults,
    home_page,
    html_response,
    static,
)
from storage.archive import FetchResult, record_fetch
from storage.content import read_body, read_text
from storage.models import Fetch, Page, Run, Site
from storage.recorder import CrawlWriter
from storage.runs import finish_run, start_run
from storage.search import search_versions

HOST = "seoul.mfa.gov.az"
PAGES_PER_LANG = 100
LONG_ETAG = '"' + "e" * 298 + '"'
LONG_DATE_LINE = "A" * 300 + " 12, 2023"  # read as a date by the label pattern; not a valid one
LONG_ID = "9" * 600  # a page key longer than its column


def page_path(lang: str, number: int) -> str:
    return f"/{lang}/content/{1000 + number}"


def article(lang: str, number: int, **changed: object) -> str:
    page: dict[str, object] = {
        "mission": "seoul",
        "lang": lang,
        "title": f"Cooperation {lang} {number}",
        "paragraphs": [f"Page {number} of the {lang} site.", "Relations go back to 1992."],
        "last_updated": "28.02.2023",
        "menu": [],
    }
    return content_page(**(page | changed))


def served(body: str, **headers: str) -> Handler:
    return static(html_response(body, headers=headers))


LONG_KEY_PATH = f"/en/content/{LONG_ID}"
NUL_TEXT = ["A NUL\x00 here."]
# path -> handler of the pages that carry a hostile value (one each).
HOSTILE = {
    page_path("en", 1): served(article("en", 1), ETag=LONG_ETAG),
    page_path("en", 2): served(article("en", 2), **{"Last-Modified": "x" * 300}),
    page_path("en", 3): served(article("en", 3), ETag='"nul\x00tag"'),
    page_path("en", 4): served(article("en", 4, title="Cooperation\x00 4", paragraphs=NUL_TEXT)),
    page_path("en", 5): served(article("en", 5, last_updated=LONG_DATE_LINE)),
    page_path("az", 1): faults.binary_png("image/png\x00evil"),  # named in its fetch's error
    LONG_KEY_PATH: served(article("en", 0)),
}


def serve_site(mirror: MirrorServer) -> list[str]:
    """Serve the site; the paths of its pages."""
    paths = {
        page_path(lang, n): static(html_response(article(lang, n)))
        for lang in ("en", "az")
        for n in range(1, PAGES_PER_LANG + 1)
    }
    paths.update(HOSTILE)
    for lang in ("en", "az"):
        menu = [(p, f"Cooperation {p}") for p in paths if p.startswith(f"/{lang}/")]
        mirror.set(f"/{lang}", home_page(mission="seoul", lang=lang, menu=menu))
    for path, handler in paths.items():
        mirror.set_handler(path, handler)
    return list(paths)


def fetches_by_url(sessions: sessionmaker[Session]) -> Counter[str]:
    with sessions() as session:
        rows = session.execute(
            select(Page.url, func.count(Fetch.id)).join(Fetch).group_by(Page.url)
        ).all()
    return Counter({url: n for url, n in rows})


@pytest.mark.crawl
def test_hostile_values_cost_no_other_page_its_fetch(mfawatch, mirror, sessions):
    urls = [mirror.url(path) for path in serve_site(mirror)]
    assert len(urls) == 2 * PAGES_PER_LANG + 1
    for crawl in (1, 2, 3):
        mfawatch.crawl()
        counts = fetches_by_url(sessions)
        assert {u: counts[u] for u in urls} == dict.fromkeys(urls, crawl)
        with sessions() as session:
            run = session.scalars(select(Run).order_by(Run.id.desc())).first()
            assert run is not None and (run.status, run.note) == ("ok", None)
            assert session.scalar(select(Site.baseline_at)) is not None
    with sessions() as session:
        pages = {p.url: p for p in session.scalars(select(Page))}
        last = session.scalars(select(Fetch).where(Fetch.run_id == run.id)).all()
        fetches = {f.page.url: f for f in last}
        bodies = {f.page.url: read_body(session, f.body) for f in last if f.body}
    # Header values and the declared-date text are kept whole.
    long_etag = mirror.url(page_path("en", 1))
    assert pages[long_etag].etag == fetches[long_etag].etag == LONG_ETAG
    long_date = mirror.url(page_path("en", 5))
    assert pages[long_date].declared_raw == LONG_DATE_LINE
    assert fetches[long_date].outcome == "unchanged"
    # A NUL is taken out of what is stored as text; the body keeps the bytes as they came.
    nul_tag = mirror.url(page_path("en", 3))
    assert pages[nul_tag].etag == '"nultag"'
    nul_text = mirror.url(page_path("en", 4))
    assert pages[nul_text].title == "Cooperation 4"
    assert fetches[nul_text].outcome == "unchanged"
    assert b"A NUL\x00 here." in bodies[nul_text]
    not_text = mirror.url(page_path("az", 1))
    assert fetches[not_text].outcome == "failed"
    assert "not a text page (image/pngevil)" in (fetches[not_text].error or "")
    # A key too long for its column is cut, and stays unique and the same on every crawl.
    long_key = mirror.url(LONG_KEY_PATH)
    assert len(pages[long_key].key) <= 500
    assert fetches[long_key].outcome == "unchanged"


# -- the write paths, fed directly -----------------------------------------------------------

T0 = dt.datetime(2024, 1, 1, 6, 0, tzinfo=dt.UTC)


def fetch(n: int, crawl: int, **hostile: str) -> FetchResult:
    """Page ``n``'s fetch in the ``crawl``-th crawl, with ``hostile`` values in place."""
    title = f"Cooperation {n}"
    result = FetchResult(
        site="seoul",
        key=f"{HOST}/en/content/{n}",
        url=f"https://{HOST}/en/content/{n}",
        lang="en",
        seen=Seen.CONTENT,
        fetched_at=T0 + dt.timedelta(days=crawl, seconds=n),
        http_status=200,
        etag=f'"{n}"',
        raw=f"<html><h1>{title}</h1><p>Page {n}.</p></html>".encode(),
        title=title,
        text=f"{title}\nPage {n}.",
        declared_raw="28.02.2023",
        declared_date=dt.date(2023, 2, 28),
    )
    for name, value in hostile.items():
        setattr(result, name, value)
    return result


def crawl(
    sessions: sessionmaker[Session], results: list[FetchResult], batched: bool = True
) -> CrawlWriter | None:
    """One run of these fetches, through the crawl's writer or one record_fetch at a time."""
    with sessions.begin() as session:
        run_id = start_run(session, "seoul", "mfa.gov.az", "manual")
    writer = None
    if batched:
        writer = CrawlWriter(sessions, run_id)
        for result in results:
            writer.record(result)
        writer.flush()
    else:
        for result in results:
            with sessions.begin() as session:
                record_fetch(session, run_id, result)
    with sessions.begin() as session:
        finish_run(session, run_id, "ok")
    return writer


def stored(sessions: sessionmaker[Session]) -> list[tuple[str, str, str | None, str | None]]:
    """(page URL, outcome, ETag, error) of every fetch, in order."""
    with sessions() as session:
        rows = session.execute(
            select(Page.url, Fetch.outcome, Fetch.etag, Fetch.error)
            .join(Fetch.page)
            .order_by(Fetch.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def distinct_words(count: int) -> str:
    """``count`` different words: more than PostgreSQL's full-text index takes of one text."""
    alphabet = string.ascii_lowercase
    words = ("".join(letters) for k in (1, 2, 3, 4) for letters in product(alphabet, repeat=k))
    return " ".join(islice(words, count))


MANY_WORDS = f"Cooperation 3\n{distinct_words(200_000)}"
HOSTILE_VALUES: dict[str, dict[str, str]] = {
    "long ETag": {"etag": LONG_ETAG},
    "long Last-Modified": {"last_modified": "x" * 300},
    "NUL in a header": {"etag": '"nul\x00tag"'},
    "NUL in the text": {"text": "Cooperation 3\nA NUL\x00 here.", "title": "Coop\x00eration 3"},
    "lone surrogate in the text": {"text": "Cooperation 3\nHalf a pair: \ud800."},
    "long date line": {"declared_raw": LONG_DATE_LINE},
    "NUL in an error": {"error": "declared date '\x00' is not a valid date"},
    "long key": {"key": f"{HOST}/en/content/{LONG_ID}"},
    "long lang": {"lang": "x" * 30},
    "many distinct words": {"text": MANY_WORDS},
}


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "one by one"])
@pytest.mark.parametrize("name", sorted(HOSTILE_VALUES))
def test_a_hostile_value_is_stored_on_every_write_path(sessions, batched, name):
    # Batched, the first crawl writes a baseline batch (storage.baseline), the second a batch
    # of unchanged fetches; one by one, record_fetch writes each.
    hostile = HOSTILE_VALUES[name]
    first = [fetch(n, 1, **(hostile if n == 3 else {})) for n in range(1, 6)]
    crawl(sessions, first, batched=batched)
    second = [fetch(n, 2, **(hostile if n == 3 else {})) for n in range(1, 6)]
    crawl(sessions, second, batched=batched)
    outcomes = [outcome for _, outcome, *_ in stored(sessions)]
    assert outcomes == ["new"] * 5 + ["unchanged"] * 5
    with sessions() as session:
        page = session.scalar(select(Page).where(Page.url == second[2].url))
        assert page is not None and page.current_version is not None
        last = session.scalars(select(Fetch).where(Fetch.page_id == page.id)).all()[-1]
        values = [page.key, page.lang, page.title, page.etag, page.declared_raw, last.error]
        values += [read_text(session, page.current_version), last.last_modified]
        assert all("\x00" not in v for v in values if v is not None)
        assert len(page.key) <= 500
        assert (
            last.body is not None and read_body(session, last.body) == second[2].raw
        )  # the bytes as sent
    if "etag" in hostile and "\x00" not in hostile["etag"]:
        assert page.etag == last.etag == hostile["etag"]  # kept whole
    if name == "many distinct words":
        with sessions() as session:
            assert read_text(session, page.current_version) == MANY_WORDS  # archived whole
            assert [h.url for h in search_versions(session, "Cooperation aaa")] == [page.url]
    if "declared_raw" in hostile:
        assert page.declared_raw == last.declared_raw == hostile["declared_raw"]


# A value the database refuses although it was made storable: a trigger stands in for
# whatever a database may refuse (a server encoding other than UTF-8, a constraint).
REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE INSERT ON fetches WHEN NEW.etag = '\"poison\"' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned\x1b[2J value'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.etag = '\"poison\"' THEN RAISE EXCEPTION E'poisoned\\x1b[2J value'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON fetches FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


def refuse_poison(
    sessions: sessionmaker[Session], condition: str = "NEW.etag = '\"poison\"'"
) -> None:
    with sessions.begin() as session:
        for statement in REFUSE[session.get_bind().dialect.name]:
            session.execute(text(statement.replace("NEW.etag = '\"poison\"'", condition)))


@pytest.mark.parametrize("path", ["baseline batch", "unchanged batch", "alone"])
def test_a_fetch_the_database_refuses_costs_only_itself(sessions, path):
    # "alone": the refused fetch is a change, which record_fetch writes in its own transaction.
    if path != "baseline batch":
        crawl(sessions, [fetch(n, 1) for n in range(1, 6)])
    refuse_poison(sessions)
    poison = {"etag": '"poison"'} | ({"text": "Cooperation 3\nEdited."} if path == "alone" else {})
    writer = crawl(sessions, [fetch(n, 2, **(poison if n == 3 else {})) for n in range(1, 6)])
    assert writer is not None and writer.dropped == 0
    rows = stored(sessions)[-5:]
    good = "new" if path == "baseline batch" else "unchanged"
    assert [(url.rsplit("/", 1)[1], outcome) for url, outcome, *_ in rows] == [
        ("1", good), ("2", good), ("3", "failed"), ("4", good), ("5", good)
    ]  # fmt: skip
    error = rows[2][3] or ""
    assert error.startswith("not archived, the database refused it: ")
    assert "poisoned\\x1b[2J value" in error  # the database's reason, escaped
    with sessions() as session:
        assert session.scalar(select(Site.baseline_at)) is not None
    # The next crawl, without the poison, records the page as usual.
    crawl(sessions, [fetch(n, 3) for n in range(1, 6)])
    outcomes = [outcome for _, outcome, *_ in stored(sessions)[-5:]]
    assert (
        outcomes
        == ["unchanged"] * 2
        + ["new" if path == "baseline batch" else "unchanged"]
        + ["unchanged"] * 2
    )


def test_a_fetch_whose_failure_is_refused_too_costs_only_itself(sessions):
    crawl(sessions, [fetch(n, 1) for n in range(1, 6)])
    # Every fetch row of page 3 is refused, the one saying it was refused included.
    refuse_poison(sessions, "NEW.page_id = (SELECT id FROM pages WHERE url LIKE '%/content/3')")
    with sessions.begin() as session:
        run_id = start_run(session, "seoul", "mfa.gov.az", "manual")
    writer = CrawlWriter(sessions, run_id)
    for n in range(1, 6):
        writer.record(fetch(n, 2))
    with pytest.raises(SQLAlchemyError, match="poisoned"):
        writer.flush()
    assert writer.dropped == 1
    rows = stored(sessions)[5:]
    assert [(url.rsplit("/", 1)[1], outcome) for url, outcome, *_ in rows] == [
        (str(n), "unchanged") for n in (1, 2, 4, 5)
    ]
