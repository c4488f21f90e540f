"""The query and review commands, on an archive built directly through the write path (fast:
no crawl), and the CLI's promises: JSON only on stdout with --json, one-line errors, escaping.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from kernel.detect import Seen
from mfawatch.cli import COMMANDS, QUICK, app
from storage.archive import FetchResult, record_fetch
from storage.models import Fetch, Review
from storage.runs import finish_run, start_run

KEY = "seoul.mfa.gov.az/en/content/35"
URL = "https://seoul.mfa.gov.az/en/content/35/political-cooperation"
T0 = dt.datetime(2023, 3, 1, 9, 0, tzinfo=dt.UTC)


def crawl_once(
    sessions: sessionmaker[Session],
    at: dt.datetime,
    text: str | None,
    declared: dt.date | None,
    time: dt.time | None = None,
) -> None:
    """One crawl of one page through the archive's write path, as the pipeline does it."""
    with sessions.begin() as session:
        run_id = start_run(session, "seoul", "mfa.gov.az", "manual")
        seen = Seen.CONTENT if text is not None else Seen.GONE
        result = FetchResult(
            site="seoul", key=KEY, url=URL, lang="en", seen=seen, fetched_at=at,
            http_status=200 if text is not None else 404, raw=(text or "").encode(),
            title="Political cooperation", text=text,
            declared_raw=declared.strftime("%d.%m.%Y") if declared else None,
            declared_date=declared, declared_time=time,
        )  # fmt: skip
        record_fetch(session, run_id, result)
        finish_run(session, run_id, "ok")


@pytest.fixture
def archive(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Baseline on 1 March, a silent edit on 2 March, unchanged on 3 March."""
    crawl_once(
        sessions, T0, "Political cooperation\nAbout 70 documents signed.", dt.date(2023, 2, 28)
    )
    crawl_once(
        sessions, T0 + dt.timedelta(days=1), "Political cooperation\nAbout 80 documents signed.",
        dt.date(2023, 2, 28),
    )  # fmt: skip
    crawl_once(
        sessions, T0 + dt.timedelta(days=2), "Political cooperation\nAbout 80 documents signed.",
        dt.date(2023, 2, 28),
    )  # fmt: skip
    return sessions


def test_changes_json_lists_the_silent_edit(mfawatch: Any, archive: object) -> None:
    [change] = mfawatch.json("changes")
    assert change["kind"] == "silent_edit"
    assert change["status"] == "pending"
    assert change["url"] == URL
    assert change["old_last_updated"] == change["new_last_updated"] == "2023-02-28"
    assert change["detected_at"].startswith("2023-03-02")
    assert mfawatch.json("changes", "--kind", "removed") == []
    assert mfawatch.json("changes", "--since", "2023-03-03") == []
    assert len(mfawatch.json("changes", "--since", "2023-03-02", "--site", "seoul")) == 1


def test_diff_shows_words_dates_and_window(mfawatch: Any, archive: object) -> None:
    data = mfawatch.json("diff", "1")
    assert {"op": "delete", "text": "70 "} in data["diff"]
    assert {"op": "insert", "text": "80 "} in data["diff"]
    assert data["window"]["last_seen_old"].startswith("2023-03-01T09:00")
    assert data["window"]["first_seen_new"].startswith("2023-03-02T09:00")
    plain = mfawatch("diff", "1").stdout
    assert "[-70-]" in plain and "{+80+}" in plain
    assert "2023-02-28 → 2023-02-28" in plain


def test_review_keeps_every_decision(mfawatch: Any, archive: sessionmaker[Session]) -> None:
    assert mfawatch("review", "1", "--dismiss", "--note", "typo fix").code == 0
    assert mfawatch("review", "1", "--accept", "--note", "no: a real number").code == 0
    assert mfawatch.json("changes") == []
    assert [c["id"] for c in mfawatch.json("changes", "--status", "accepted")] == [1]
    reviews = mfawatch.json("diff", "1")["reviews"]
    assert [(r["status"], r["note"]) for r in reviews] == [
        ("dismissed", "typo fix"),
        ("accepted", "no: a real number"),
    ]
    with archive() as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 2


def test_review_needs_exactly_one_decision(mfawatch: Any, archive: object) -> None:
    result = mfawatch("review", "1", "--accept", "--dismiss")
    assert result.code == 2
    assert "exactly one of" in result.stderr
    assert mfawatch.json("changes")[0]["status"] == "pending"


def test_show_at_a_moment_and_history(mfawatch: Any, archive: object) -> None:
    assert "About 70" in mfawatch.json("show", URL, "--at", "2023-03-01")["text"]
    assert "About 80" in mfawatch.json("show", URL)["text"]
    # Any URL variant, and the identity key, name the same page.
    assert mfawatch.json("show", KEY)["key"] == KEY
    history = mfawatch.json("history", URL)["fetches"]
    assert [f["outcome"] for f in history] == ["new", "changed", "unchanged"]
    assert history[1]["content_hash"] == history[2]["content_hash"] != history[0]["content_hash"]
    assert all(f["last_updated"] == "2023-02-28" for f in history)


def test_a_declared_time_is_shown_beside_its_date(
    mfawatch: Any, sessions: sessionmaker[Session]
) -> None:
    day = dt.date(2017, 10, 3)
    crawl_once(sessions, T0, "Political cooperation\nAbout 70.", day, dt.time(8, 59))
    later = T0 + dt.timedelta(days=1)
    crawl_once(sessions, later, "Political cooperation\nAbout 80.", day, dt.time(17, 30))
    [change] = mfawatch.json("changes")
    assert change["kind"] == "content_updated"  # the same day, a later time
    assert (change["old_last_updated"], change["old_last_updated_time"]) == (
        "2017-10-03",
        "08:59:00",
    )
    assert (change["new_last_updated"], change["new_last_updated_time"]) == (
        "2017-10-03",
        "17:30:00",
    )
    moved = "2017-10-03 08:59 → 2017-10-03 17:30"
    assert moved in mfawatch("diff", "1").stdout
    assert moved in mfawatch("changes").stdout
    history = mfawatch("history", URL).stdout
    assert "2017-10-03 08:59" in history and "2017-10-03 17:30" in history
    assert [f["last_updated_time"] for f in mfawatch.json("history", URL)["fetches"]] == [
        "08:59:00",
        "17:30:00",
    ]
    assert "last updated: 2017-10-03 17:30" in mfawatch("show", URL).stdout
    assert "last updated: 2017-10-03 08:59" in mfawatch("show", URL, "--at", "2023-03-01").stdout
    assert "2017-10-03 17:30" in mfawatch("pages").stdout
    assert mfawatch.json("pages")[0]["last_updated_time"] == "17:30:00"


def test_show_a_removed_page(mfawatch: Any, archive: sessionmaker[Session]) -> None:
    crawl_once(archive, T0 + dt.timedelta(days=3), None, None)
    assert mfawatch.json("show", URL)["status"] == "removed"
    assert "About 80" in mfawatch.json("show", URL, "--at", "2023-03-03")["text"]
    assert mfawatch.json("changes", "--kind", "removed")[0]["url"] == URL


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", URL, "--at", "2023-02-01"], "no text of this page on or before"),
        (["show", URL, "--at", "yesterday"], "not a date"),
        (["history", "https://nowhere.example/en/content/1"], "no archived page"),
        (["diff", "999"], "no change with id 999"),
        (["changes", "--status", "maybe"], "--status must be one of"),
        (["changes", "--kind", "edited"], "--kind must be one of"),
    ],
)
def test_bad_arguments_get_one_line(
    tmp_path: Path, db_url: str, archive: object, args: list[str], message: str
) -> None:
    proc = run_cli("--db", db_url, *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("mfawatch: error:") and message in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_bad_database_url_is_one_line(tmp_path: Path) -> None:
    for url in ("nosuchdb://x", "postgresql://nobody@127.0.0.1:1/none"):
        proc = run_cli("--db", url, "changes", cwd=tmp_path)
        assert proc.returncode == 2, url
        assert proc.stderr.startswith("mfawatch: error:") and proc.stderr.count("\n") == 1


# Issue 10 §4: every bad invocation gets one line on stderr and exit 2, never a traceback or
# a silent exit 0, and changes nothing. {db} is this test's archive, {ro} the same opened
# read-only (chmod does not stop root: a read-only URI, a read-only PostgreSQL transaction),
# {path} its file path without sqlite:///, {none} an archive that does not exist. Arguments
# given as bytes run in a subprocess, as the shell passes them.
BAD_INVOCATIONS = [
    pytest.param(["--db", "{path}", "changes"], "needs-sqlite-url", "a SQLite file is sqlite:///",
                 id="db-plain-path"),
    pytest.param(["--db", "/tmp/\x1b[2J.db", "changes"], "no-escape", r"'/tmp/\x1b[2J.db'",
                 id="db-plain-path-escaped"),
    pytest.param(["--db", "mysql://me@localhost/x", "changes"], "", "no driver for database URL",
                 id="db-driver-missing"),
    pytest.param(["--db", "", "changes"], "", "the database URL is empty", id="db-empty"),
    pytest.param(["--db", "{ro}", "review", "1", "--accept"], "", "the database refused:",
                 id="review-read-only"),
    pytest.param(["--db", "{db}", "show", URL, "--at", "9999-12-31T23:59:59-12:00"], "",
                 "date out of range", id="at-after-9999"),
    pytest.param(["--db", "{db}", "changes", "--since", "0001-01-01T00:00:00+14:00"], "",
                 "date out of range", id="since-before-1"),
    pytest.param(["--db", "{db}", "runs", "--since", "0001-01-01T00:00:00+14:00"], "",
                 "date out of range", id="runs-since-before-1"),
    pytest.param(["--db", "{db}", "diff", "99999999999999999999"], "",
                 "out of range (at most 9223372036854775807)", id="diff-id-beyond-64-bits"),
    pytest.param(["--db", "{db}", "review", "99999999999999999999", "--accept"], "",
                 "out of range (at most 9223372036854775807)", id="review-id-beyond-64-bits"),
    pytest.param(["--db", "{db}", "show", "99999999999999999999"], "", "no archived page",
                 id="page-id-beyond-64-bits"),
    pytest.param(["--db", "{db}", "changes", "--limit", "-1"], "", "--limit must be 1 or more",
                 id="limit-negative"),
    pytest.param(["--db", "{db}", "changes", "--limit", "0"], "", "--limit must be 1 or more",
                 id="limit-zero"),
    pytest.param(["--db", "{db}", "runs", "--limit", "0"], "", "--limit must be 1 or more",
                 id="runs-limit-zero"),
    pytest.param(["--db", "{db}", "serve", "--port", "99999"], "", "--port must be 1 to 65535",
                 id="serve-port"),
    pytest.param(["--db", "{db}", "changes", "--since", ""], "", "not a date: ''",
                 id="since-empty"),
    pytest.param(["--db", "{db}", "show", URL, "--at", ""], "", "not a date: ''", id="at-empty"),
    pytest.param(["--db", "{db}", "history", b"\xff"], "", r"URL is not UTF-8 text: b'\xff'",
                 id="url-not-utf8"),
    pytest.param(["--db", "{db}", "review", "1", "--dismiss", "--note", b"caf\xe9"], "",
                 r"--note is not UTF-8 text: b'caf\xe9'", id="note-not-utf8"),
    pytest.param(["--db", "{db}", "schedule", "--cron", "0 3 * *"], "",
                 "--cron takes 5 fields (minute hour day-of-month month day-of-week), got 4",
                 id="cron-four-fields"),
    pytest.param(["--db", "{db}", "schedule", "--cron", "61 * * * *"], "",
                 "the last value (61) is higher than the maximum value (59)", id="cron-minute"),
    *(
        pytest.param(["--db", "{db}", command, "--site", "nowhere"], "",
                     "no site 'nowhere' in the archive (its sites: seoul)", id=f"{command}-site")
        for command in ("changes", "pages", "runs", "report")
    ),
    pytest.param(["changes"], "", "no archive at '{cwd}/mfawatch.db'", id="no-archive-default"),
    pytest.param(["--db", "{none}", "pages"], "", "no archive ", id="no-archive-db"),
    pytest.param(["--db", "{none}", "review", "1", "--accept"], "", "no archive ",
                 id="no-archive-review"),
    pytest.param(["--db", "{db}", "review", "1", "--accept"], "accept-first",
                 "change #1 is already accepted; nothing recorded", id="review-twice"),
    # Found by a sweep of 330 bad invocations: what ended in a traceback or click's usage block.
    pytest.param(["--db", "{db}", "changes", "--limit", str(2**63)], "",
                 "out of range (at most 9223372036854775807)", id="limit-beyond-64-bits"),
    pytest.param(["--db", "{db}", "body", str(2**63)], "", "out of range",
                 id="body-id-beyond-64-bits"),
    pytest.param(["--db", "{db}", "history", "http://[::1/en"], "", "no archived page",
                 id="url-unparsable"),
    pytest.param(["--db", "{db}", "layout", "check", "http://[::1/en"], "",
                 "not a URL that parses", id="layout-check-url-unparsable"),
    pytest.param(["--db", "{db}", "backfill", "--page", "http://[::1/en"], "",
                 "--page is not a URL that parses", id="backfill-page-unparsable"),
    pytest.param(["--db", "{db}", "backfill", "--archive", "http://[::1/tm/", "--page", URL], "",
                 "--archive is not an http(s) URL", id="backfill-archive-unparsable"),
    pytest.param(["--db", "{db}", "report", "-o", ""], "", "-o names no file to write",
                 id="report-output-empty"),
    pytest.param(["--db", "{db}", "evidence", "1", "-o", ""], "", "-o names no file to write",
                 id="evidence-output-empty"),
    pytest.param(["--db", "{db}", "schedule", "--every", "99999999999d"], "",
                 "a duration too long to schedule", id="every-overflow"),
    pytest.param(["--db", "{db}", "schedule", "--every", "6h", "--jitter", "99999999999d"], "",
                 "a duration too long to schedule", id="jitter-overflow"),
    pytest.param(["--db", "{db}", "import", "warc", "nothere.warc"], "",
                 "nothere.warc does not exist", id="import-missing-file"),
    pytest.param(["--db", "{db}", "crawl", "--site", ""], "", "--site names an empty site",
                 id="crawl-site-empty"),
    pytest.param(["--db", "{db}", "backfill", "--site", "seoul,"], "",
                 "--site names an empty site", id="backfill-site-trailing-comma"),
    pytest.param(["--db", "{db}", "changes", "--status", ""], "", "--status must be one of",
                 id="status-empty"),
    pytest.param(["--db", "{db}", "-c", "", "sites"], "", "--config is empty", id="config-empty"),
    pytest.param(["demo", "--dir", ""], "", "--dir is empty", id="demo-dir-empty"),
    pytest.param(["--db", "{db}", "changes", "--nosuch"], "",
                 "No such option: --nosuch (see mfawatch changes --help)", id="usage-option"),
    pytest.param(["--db", "{db}", "diff", "-1"], "", "a negative number reads as an option",
                 id="usage-negative-id"),
    pytest.param(["--db", "{db}", "nosuchcommand"], "", "No such command 'nosuchcommand'",
                 id="usage-command"),
    pytest.param(["--db"], "", "Option '--db' requires an argument", id="usage-db-missing"),
    pytest.param(["--db", "{db}", "export", "warc"], "", "Missing option '--output'",
                 id="usage-missing-option"),
    pytest.param(["--db", "{db}", "export", "warc", "-o", "x.warc.gz", "--since", "2030-01-01",
                  "--until", "2020-01-01"], "", "--until is before --since",
                 id="export-window-backwards"),
]  # fmt: skip


def read_only(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"
    options = f"{parsed.query.get('options', '')} -cdefault_transaction_read_only=on"
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def missing(url: str, tmp_path: Path) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'none' / 'archive.db'}"
    options = "-csearch_path=no_such_schema"  # a database with no mfawatch tables
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


@pytest.mark.parametrize(("args", "before", "message"), BAD_INVOCATIONS)
def test_every_bad_invocation_is_one_line(
    tmp_path: Path,
    db_url: str,
    archive: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str | bytes],
    before: str,
    message: str,
) -> None:
    cwd = tmp_path / "empty"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("MFAWATCH_DATABASE_URL", raising=False)
    path = make_url(db_url).database if db_url.startswith("sqlite") else str(tmp_path / "a.db")
    given = {"{db}": db_url, "{ro}": read_only(db_url), "{path}": str(path),
             "{none}": missing(db_url, tmp_path)}  # fmt: skip
    argv = [given.get(a, a) if isinstance(a, str) else a for a in args]
    if before == "accept-first":
        assert CliRunner().invoke(app, ["--db", db_url, "review", "1", "--accept"]).exit_code == 0
    with archive() as session:
        reviews = session.scalars(select(Review.id)).all()
    if any(isinstance(a, bytes) for a in argv):
        proc = subprocess.run(
            [sys.executable, "-m", "mfawatch", *argv],
            check=False, capture_output=True, timeout=60, cwd=cwd,
        )  # fmt: skip
        code, stdout, stderr = proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    else:
        # In process, as a user runs it; an exception (a traceback) fails the test here.
        result = CliRunner().invoke(app, [str(a) for a in argv], catch_exceptions=False)
        code, stdout, stderr = result.exit_code, result.stdout, result.stderr
    assert "Traceback" not in stderr
    assert code == 2, (code, stderr)
    assert stderr.startswith("mfawatch: error: ") and stderr.count("\n") == 1, stderr
    assert message.replace("{cwd}", str(cwd)) in stderr
    assert "\x1b" not in stderr
    assert stdout == ""
    assert list(cwd.iterdir()) == []  # nothing created where the command ran
    assert not (tmp_path / "none").exists()
    with archive() as session:
        assert session.scalars(select(Review.id)).all() == reviews  # nothing recorded


def test_diff_escapes_review_notes(mfawatch: Any, archive: object) -> None:
    note = "ok\x1b[2J\x1b]0;pwned\x07 \x9b31m"
    assert mfawatch("review", "1", "--dismiss", "--note", note).code == 0
    shown = mfawatch("diff", "1").stdout
    assert not any(c in shown for c in "\x1b\x07\x9b")
    assert r"ok\x1b[2J\x1b]0;pwned\x07 \x9b31m" in shown
    assert mfawatch.json("diff", "1")["reviews"][0]["note"] == note  # kept exactly


def test_json_escapes_del_and_c1_controls(mfawatch: Any, sessions: sessionmaker[Session]) -> None:
    text = "Political cooperation\nA\x7fB\x85C\x9b2JD \u0259"
    crawl_once(sessions, T0, text, None)
    out = mfawatch("show", URL, "--json").stdout
    assert not any(0x7F <= ord(c) <= 0x9F or (ord(c) < 0x20 and c != "\n") for c in out)
    assert r"A\u007fB\u0085C\u009b2JD ə" in out  # Azerbaijani stays readable
    assert json.loads(out)["text"] == text
    crawl_once(sessions, T0 + dt.timedelta(days=1), text + "\nE\x9dF", None)  # a change
    for args in (["diff", "1", "--json"], ["report", "--format", "json"]):
        out = mfawatch(*args).stdout
        assert "E\\u009dF" in out and not any(0x7F <= ord(c) <= 0x9F for c in out), args


def test_review_of_a_decided_change_can_still_change_it(mfawatch: Any, archive: object) -> None:
    assert mfawatch("review", "1", "--accept").code == 0
    again = mfawatch("review", "1", "--accept", "--note", "twice")
    assert again.code == 2 and "already accepted" in again.stderr
    assert mfawatch("review", "1", "--reopen").code == 0
    assert [r["status"] for r in mfawatch.json("diff", "1")["reviews"]] == ["accepted", "pending"]


def test_a_password_in_the_database_url_is_never_shown(tmp_path: Path) -> None:
    proc = run_cli("--db", "postgresql://user:s3cret@127.0.0.1:1/x", "pages", cwd=tmp_path)
    assert proc.returncode == 2
    assert "s3cret" not in proc.stderr and "***" in proc.stderr


def test_hostile_text_is_shown_not_obeyed(mfawatch: Any, sessions: sessionmaker[Session]) -> None:
    hostile = (
        "Political cooperation\n"
        "Evil \x1b[2J\x1b]0;pwned\x07 <script>alert(1)</script> [bold]x[/bold]"
    )
    crawl_once(sessions, T0, hostile, None)
    shown = mfawatch("show", URL).stdout
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b[2J" in shown
    assert "<script>alert(1)</script>" in shown and "[bold]x[/bold]" in shown  # as text
    data = mfawatch.json("show", URL)  # JSON keeps the text exactly, escaped by the encoder
    assert data["text"] == hostile
    assert "\x1b" not in mfawatch("show", URL, "--json").stdout


def test_json_output_is_only_json(tmp_path: Path, db_url: str, archive: object) -> None:
    for args in (["changes"], ["pages"], ["history", URL], ["show", URL], ["diff", "1"]):
        proc = run_cli("--db", db_url, *args, "--json", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        json.loads(proc.stdout)  # nothing else on stdout


def test_an_unchanged_fetch_costs_one_row(mfawatch: Any, archive: sessionmaker[Session]) -> None:
    with archive() as session:
        before = session.scalar(select(func.count()).select_from(Fetch))
    crawl_once(
        archive, T0 + dt.timedelta(days=5), "Political cooperation\nAbout 80 documents signed.",
        dt.date(2023, 2, 28),
    )  # fmt: skip
    with archive() as session:
        assert session.scalar(select(func.count()).select_from(Fetch)) == before + 1
    pages = mfawatch.json("pages")
    assert [(p["key"], p["status"], p["last_updated"]) for p in pages] == [
        (KEY, "active", "2023-02-28")
    ]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mfawatch", *args],
        check=False, capture_output=True, text=True, timeout=60, cwd=cwd,
    )  # fmt: skip


def test_query_commands_never_import_the_crawler(
    tmp_path: Path, db_url: str, archive: object
) -> None:
    # Issue 2: queries stay light; Scrapy/Twisted (and Jinja2, the web app) load only when used.
    # With --json, not even Rich; typer parses their options without pydantic; and no other
    # command's module loads.
    probe = (
        "import sys\n"
        "from mfawatch.cli import app\n"
        "for args in (['changes'], ['pages'], ['history', sys.argv[2]], ['diff', '1'],\n"
        "             ['show', sys.argv[2], '--at', '2023-03-02'], ['runs']):\n"
        "    try:\n"
        "        app(['--db', sys.argv[1], *args, '--json'])\n"
        "    except SystemExit as stop:\n"
        "        assert not stop.code, (args, stop.code)\n"
        "heavy = sorted(m for m in ('scrapy', 'twisted', 'jinja2', 'fastapi', 'dateparser',\n"
        "                           'pydantic', 'rich', 'mfawatch.cli.crawl', 'mfawatch.cli.web',\n"
        "                           'mfawatch.cli.report')\n"
        "               if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, db_url, URL],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_help_lists_every_command_without_loading_the_database(tmp_path: Path) -> None:
    # Each command's module loads to list it, but none of what the commands use when they run.
    probe = (
        "import sys\n"
        "from mfawatch.cli import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    heavy = ('sqlalchemy', 'rich', 'pydantic')\n"
        "    print('HEAVY', sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        check=True, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.stderr == "HEAVY []\n"
    rows = proc.stdout.split("Commands:\n")[1].splitlines()
    listed = dict(row.split(None, 1) for row in rows)
    assert list(listed) == [*COMMANDS, "demo"]
    assert set(COMMANDS) >= QUICK
    for name, summary in listed.items():
        module = importlib.import_module(COMMANDS.get(name, "mfawatch.cli"))
        doc = inspect.getdoc(getattr(module, name)) or ""
        assert doc.startswith(summary.removesuffix("...")), name


@pytest.mark.parametrize("module", sorted(set(COMMANDS.values())))
def test_every_command_module_is_in_the_registry(module: str) -> None:
    app = typer.Typer()
    importlib.import_module(module).register(app)
    registered = {info.callback.__name__ for info in app.registered_commands if info.callback}
    registered |= {info.name for info in app.registered_groups}  # `layout check`, a group
    assert registered == {name for name, where in COMMANDS.items() if where == module}


def test_numbers_are_checked_without_pydantic(mfawatch: Any, archive: object) -> None:
    result = mfawatch("changes", "--limit", "many")
    assert result.code == 2
    assert "Invalid value for '--limit': not an integer: 'many'" in result.stderr
    assert len(mfawatch.json("changes", "--limit", "1")) == 1


def test_repeated_options_are_read_without_pydantic(tmp_path: Path, db_url: str) -> None:
    # Each crawl process parses its options; pydantic would add a tenth of a second to each.
    probe = (
        "import sys\n"
        "from mfawatch.cli import app\n"
        "try:\n"
        "    app(['--db', sys.argv[1], 'crawl', '--set', 'A=1', '--set', 'B'])\n"
        "except SystemExit as stop:\n"
        "    print('EXIT', stop.code, 'pydantic' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, db_url],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.stderr == "mfawatch: error: --set takes NAME=VALUE, got 'B'\n"
    assert proc.stdout == "EXIT 2 False\n"


@pytest.mark.parametrize("command", ["crawl", "schedule"])
def test_commands_take_their_own_config_option(tmp_path: Path, db_url: str, command: str) -> None:
    # `mfawatch crawl --config FILE`, as issues 2 and 3 spell it, not only the global option.
    missing = tmp_path / "nowhere.toml"
    proc = run_cli("--db", db_url, command, "--config", str(missing), cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        proc.stderr
        == f"mfawatch: error: {missing}: cannot read sites file (No such file or directory)\n"
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("DOWNLOAD_TIMEOUT=-5", "--set DOWNLOAD_TIMEOUT: must be more than 0, got -5"),
        ("DOWNLOAD_DELAY=abc", "--set DOWNLOAD_DELAY: expected a number, got 'abc'"),
        ("\x1b[2J", r"--set takes NAME=VALUE, got '\x1b[2J'"),
    ],
)
def test_a_bad_crawl_set_is_one_line_before_anything_is_fetched(
    tmp_path: Path, setting: str, message: str
) -> None:
    # --set is checked as the sites file's [settings] are, before a database or a site is
    # touched (the site here would refuse connections anyway: nothing leaves the machine).
    sites = tmp_path / "sites.toml"
    sites.write_text(
        '[[sites]]\nname = "local"\nlayout = "mfa.gov.az"\nstart_urls = ["http://127.0.0.1:9/en"]\n'
    )
    db = tmp_path / "archive.db"
    result = CliRunner().invoke(
        app, ["--db", f"sqlite:///{db}", "-c", str(sites), "crawl", "--set", setting]
    )
    assert (result.exit_code, result.stderr) == (2, f"mfawatch: error: {message}\n")
    assert not db.exists()
