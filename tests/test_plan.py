"""The fetch plan (kernel.plan) on its own: what a fetch means and what it writes, no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel import plan as plan_module
from kernel.detect import ChangeKind, Known, Observation, PageStatus, Seen, classify_change
from kernel.plan import FetchResult, PageSnapshot, plan_fetch
from kernel.status import Outcome
from kernel.text import bytes_hash, text_hash

URL = "https://seoul.mfa.gov.az/en/content/35"
TEXT = "Visits\nThe minister visited Seoul."
OTHER = "Visits\nThe minister visited Busan."
D1, D2 = dt.date(2023, 2, 28), dt.date(2023, 3, 5)
AT = dt.datetime(2024, 1, 1, 6, 0, tzinfo=dt.UTC)


def fetch(seen: Seen = Seen.CONTENT, text: str | None = TEXT, **extra: object) -> FetchResult:
    content = seen is Seen.CONTENT
    result = FetchResult(
        site="seoul", key="seoul.mfa.gov.az/en/content/35", url=URL, lang="en", seen=seen,
        fetched_at=AT, raw=b"<p>page</p>" if seen is not Seen.NOT_MODIFIED else None,
        title=text.split("\n")[0] if content and text else None, text=text if content else None,
        declared_raw="28.02.2023" if content else None, declared_date=D1 if content else None,
    )  # fmt: skip
    for name, value in extra.items():
        setattr(result, name, value)
    return result


def known(status: PageStatus = PageStatus.ACTIVE, **extra: object) -> PageSnapshot:
    values: dict[str, object] = {
        "url": URL, "status": status, "text_hash": text_hash(TEXT), "title": "Visits",
        "declared_raw": "28.02.2023", "declared_date": D1, "etag": '"v1"', "last_modified": None,
    }  # fmt: skip
    return PageSnapshot(**{**values, **extra})  # type: ignore[arg-type]


def test_a_page_never_seen_is_new_and_writes_its_whole_row() -> None:
    plan = plan_fetch(None, fetch(etag='"v1"'), baseline=False)
    assert (plan.outcome, plan.kind, plan.new_text) == (Outcome.NEW, ChangeKind.NEW_PAGE, True)
    assert plan.version == text_hash(TEXT) and plan.body == bytes_hash(b"<p>page</p>")
    assert plan.body_has_text
    assert plan.page["key"] == "seoul.mfa.gov.az/en/content/35" and plan.page["url"] == URL
    assert (plan.page["status"], plan.page["etag"], plan.page["declared_date"]) == (
        PageStatus.ACTIVE,
        '"v1"',
        D1,
    )
    assert plan.page["first_seen_at"] == plan.page["last_seen_at"] == AT
    assert plan.fetch["other_url"] is None and plan.fetch["outcome"] is Outcome.NEW


def test_in_the_baseline_a_new_page_is_no_change() -> None:
    plan = plan_fetch(None, fetch(), baseline=True)
    assert (plan.outcome, plan.kind, plan.new_text) == (Outcome.NEW, None, True)


def test_the_same_text_writes_a_fetch_row_and_when_it_was_seen() -> None:
    plan = plan_fetch(known(), fetch(etag='"v1"'), baseline=False)
    assert (plan.outcome, plan.kind, plan.new_text) == (Outcome.UNCHANGED, None, False)
    assert plan.page == {"last_seen_at": AT}
    assert plan.version == text_hash(TEXT)


def test_the_same_text_spelled_otherwise_is_the_same_version_with_its_new_title() -> None:
    resaved = "Visits  \nThe  minister\u00a0visited Seoul.\n"  # as a CMS re-save spells it
    plan = plan_fetch(known(title="Old title"), fetch(text=resaved), baseline=False)
    assert (plan.outcome, plan.kind, plan.new_text) == (Outcome.UNCHANGED, None, False)
    assert plan.page["title"] == "Visits  "


def test_a_304_vouches_for_the_declared_date_and_keeps_the_validators() -> None:
    result = fetch(Seen.NOT_MODIFIED, http_status=304)
    plan = plan_fetch(known(declared_time=dt.time(9, 30)), result, baseline=False)
    assert (plan.outcome, plan.kind, plan.version) == (Outcome.NOT_MODIFIED, None, text_hash(TEXT))
    assert plan.body is None and not plan.new_text
    declared = (plan.fetch[f"declared_{c}"] for c in ("raw", "date", "time"))
    assert tuple(declared) == ("28.02.2023", D1, dt.time(9, 30))
    assert plan.page == {"last_seen_at": AT}  # the ETag stays: the 304 sent none


def test_new_text_with_a_later_date_is_an_update_that_moves_the_page() -> None:
    result = fetch(text=OTHER, declared_date=D2, declared_raw="05.03.2023", etag='"v2"')
    plan = plan_fetch(known(), result, baseline=False)
    assert (plan.outcome, plan.kind, plan.new_text) == (
        Outcome.CHANGED,
        ChangeKind.CONTENT_UPDATED,
        True,
    )
    assert plan.version == text_hash(OTHER)
    assert plan.declared_move == (D1, None, D2, None)
    assert plan.page == {
        "declared_raw": "05.03.2023",
        "declared_date": D2,
        "etag": '"v2"',
        "last_seen_at": AT,
    }


def test_a_text_at_another_url_moves_the_page_a_304_there_does_not() -> None:
    moved = plan_fetch(known(), fetch(url=URL + "/new"), baseline=False)
    assert moved.page["url"] == URL + "/new" and moved.fetch["other_url"] is None
    vouched = plan_fetch(known(), fetch(Seen.NOT_MODIFIED, url=URL + "/new"), baseline=False)
    assert "url" not in vouched.page and vouched.fetch["other_url"] == URL + "/new"


def test_a_page_gone_is_removed_and_forgets_its_validators() -> None:
    plan = plan_fetch(known(), fetch(Seen.GONE, raw=None, http_status=404), baseline=False)
    assert (plan.outcome, plan.kind, plan.version, plan.body) == (
        Outcome.GONE,
        ChangeKind.REMOVED,
        None,
        None,
    )
    assert plan.page == {"status": PageStatus.REMOVED, "etag": None, "last_seen_at": AT}


def test_a_page_whose_layout_broke_keeps_its_bytes_without_a_text() -> None:
    plan = plan_fetch(known(), fetch(Seen.EXTRACTION_FAILED), baseline=False)
    assert (plan.outcome, plan.kind) == (Outcome.EXTRACTION_FAILED, ChangeKind.EXTRACTION_FAILED)
    assert plan.body == bytes_hash(b"<p>page</p>") and not plan.body_has_text
    assert plan.page == {"status": PageStatus.BROKEN, "last_seen_at": AT}


def test_a_failed_fetch_changes_nothing_but_when_the_page_was_seen() -> None:
    plan = plan_fetch(known(), fetch(Seen.FAILED, raw=None, error="HTTP 503"), baseline=False)
    assert (plan.outcome, plan.kind, plan.version, plan.body) == (Outcome.FAILED, None, None, None)
    assert plan.page == {"last_seen_at": AT} and plan.fetch["error"] == "HTTP 503"


def test_hashes_are_computed_once_per_text_and_per_body(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(plan_module, "hash_text", lambda text: calls.append(text) or "h")
    result = fetch()
    for _ in range(3):
        plan_fetch(known(), result, baseline=False)
    assert calls == [TEXT]
    result.text = OTHER  # the scraper fills a result in: a hash is of the text it has now
    assert result.text_hash == "h" and calls == [TEXT, OTHER]


STATUSES = st.sampled_from(list(PageStatus))
SEEN = st.sampled_from(list(Seen))
HASHES = st.sampled_from([None, text_hash(TEXT), text_hash(OTHER)])
DATES = st.sampled_from([None, D1, D2])


@given(STATUSES, HASHES, DATES, SEEN, st.sampled_from([TEXT, OTHER]), DATES, st.booleans())
def test_the_plan_gives_the_rules_kind_and_the_rules_status(
    status, current, old, seen, text, new, baseline
):
    was = known(status, text_hash=current, declared_date=old)
    result = fetch(seen, text, declared_date=new)
    plan = plan_fetch(was, result, baseline=baseline)
    if seen is Seen.CONTENT:
        obs = Observation(seen, text_hash(text), new)
    elif seen in (Seen.NOT_MODIFIED, Seen.SAME_BYTES):
        obs = Observation(seen, current, old)
    else:
        obs = Observation(seen)
    verdict = classify_change(Known(status, current, old), obs, baseline=baseline)
    assert plan.kind == verdict.kind
    assert plan.page.get("status", status) == verdict.status
    assert plan.new_text == (seen is Seen.CONTENT and text_hash(text) != current)
