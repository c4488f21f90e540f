"""The classification rule table: what one fetch means given what the archive knew.

Each row is (what was known, what was seen, baseline?) -> (change kind, page status).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.detect import (
    ChangeKind,
    Known,
    Observation,
    PageStatus,
    Seen,
    Verdict,
    classify_change,
)
from kernel.text import text_hash

D1, D2, D3 = dt.date(2023, 2, 28), dt.date(2023, 3, 5), dt.date(2024, 1, 10)
T1, T2 = dt.time(8, 59), dt.time(17, 30)
ACTIVE, REMOVED, BROKEN = PageStatus.ACTIVE, PageStatus.REMOVED, PageStatus.BROKEN
K = ChangeKind


def content(digest: str, declared: dt.date | None = D1) -> Observation:
    return Observation(Seen.CONTENT, digest, declared)


def timed(digest: str, declared: dt.date, time: dt.time) -> Observation:
    return Observation(Seen.CONTENT, digest, declared, time)


NOT_MODIFIED = Observation(Seen.NOT_MODIFIED)
GONE = Observation(Seen.GONE)
BROKE = Observation(Seen.EXTRACTION_FAILED)
FAILED = Observation(Seen.FAILED)

# (id, known, observation, baseline, expected kind, expected status)
CASES = [
    # -- first sight -------------------------------------------------------------------------
    ("new", None, content("a"), False, K.NEW_PAGE, ACTIVE),
    ("new-baseline", None, content("a"), True, None, ACTIVE),
    ("new-undated", None, content("a", None), False, K.NEW_PAGE, ACTIVE),
    ("new-broken", None, BROKE, False, K.EXTRACTION_FAILED, BROKEN),
    ("new-broken-baseline", None, BROKE, True, None, BROKEN),
    ("new-gone", None, GONE, False, None, REMOVED),
    ("new-gone-baseline", None, GONE, True, None, REMOVED),
    ("new-failed", None, FAILED, False, None, ACTIVE),
    # -- text and date, page active ----------------------------------------------------------
    ("same", Known(ACTIVE, "a", D1), content("a", D1), False, None, ACTIVE),
    ("updated", Known(ACTIVE, "a", D1), content("b", D2), False, K.CONTENT_UPDATED, ACTIVE),
    ("silent", Known(ACTIVE, "a", D1), content("b", D1), False, K.SILENT_EDIT, ACTIVE),
    ("date-only", Known(ACTIVE, "a", D1), content("a", D2), False, K.DATE_ONLY, ACTIVE),
    ("regressed", Known(ACTIVE, "a", D2), content("a", D1), False, K.DATE_REGRESSED, ACTIVE),
    ("regressed-text", Known(ACTIVE, "a", D2), content("b", D1), False, K.DATE_REGRESSED, ACTIVE),
    ("date-appears", Known(ACTIVE, "a", None), content("b", D1), False, K.CONTENT_UPDATED, ACTIVE),
    ("date-appears-same", Known(ACTIVE, "a", None), content("a", D1), False, K.DATE_ONLY, ACTIVE),
    ("date-vanishes", Known(ACTIVE, "a", D1), content("b", None), False, K.SILENT_EDIT, ACTIVE),
    ("date-vanishes-same", Known(ACTIVE, "a", D1), content("a", None), False, K.DATE_ONLY, ACTIVE),
    ("undated-same", Known(ACTIVE, "a", None), content("a", None), False, None, ACTIVE),
    ("undated-edit", Known(ACTIVE, "a", None), content("b", None), False, K.SILENT_EDIT, ACTIVE),
    # After the baseline, changes are reported whatever the flag says for the known page.
    ("updated-in-baseline", Known(ACTIVE, "a", D1), content("b", D2), True, K.CONTENT_UPDATED,
     ACTIVE),
    # -- 304 ---------------------------------------------------------------------------------
    ("304", Known(ACTIVE, "a", D1), NOT_MODIFIED, False, None, ACTIVE),
    ("304-first", None, NOT_MODIFIED, False, K.NEW_PAGE, ACTIVE),
    ("304-removed", Known(REMOVED, "a", D1), NOT_MODIFIED, False, K.RESTORED, ACTIVE),
    # -- removal and return ------------------------------------------------------------------
    ("removed", Known(ACTIVE, "a", D1), GONE, False, K.REMOVED, REMOVED),
    ("removed-again", Known(REMOVED, "a", D1), GONE, False, None, REMOVED),
    ("restored-same", Known(REMOVED, "a", D1), content("a", D1), False, K.RESTORED, ACTIVE),
    ("restored-new", Known(REMOVED, "a", D1), content("b", D2), False, K.RESTORED, ACTIVE),
    ("broken-removed", Known(BROKEN, "a", D1), GONE, False, K.REMOVED, REMOVED),
    ("removed-broken", Known(REMOVED, "a", D1), BROKE, False, K.EXTRACTION_FAILED, BROKEN),
    # -- extraction failures -----------------------------------------------------------------
    ("broke", Known(ACTIVE, "a", D1), BROKE, False, K.EXTRACTION_FAILED, BROKEN),
    ("still-broken", Known(BROKEN, "a", D1), BROKE, False, None, BROKEN),
    # A broken fetch is never taken for the text being deleted: compare with the last good.
    ("fixed-same", Known(BROKEN, "a", D1), content("a", D1), False, None, ACTIVE),
    ("fixed-edit", Known(BROKEN, "a", D1), content("b", D1), False, K.SILENT_EDIT, ACTIVE),
    ("fixed-update", Known(BROKEN, "a", D1), content("b", D2), False, K.CONTENT_UPDATED, ACTIVE),
    ("fixed-date", Known(BROKEN, "a", D1), content("a", D2), False, K.DATE_ONLY, ACTIVE),
    ("fixed-304", Known(BROKEN, "a", D1), NOT_MODIFIED, False, None, ACTIVE),
    # Broken since first sight: the first good text is the page's first version.
    ("only-broken-good", Known(BROKEN, None, None), content("a"), False, K.NEW_PAGE, ACTIVE),
    # -- transient failures change nothing ---------------------------------------------------
    ("failed-active", Known(ACTIVE, "a", D1), FAILED, False, None, ACTIVE),
    ("failed-removed", Known(REMOVED, "a", D1), FAILED, False, None, REMOVED),
    ("failed-broken", Known(BROKEN, "a", D1), FAILED, False, None, BROKEN),
    # -- a declared date-time: the date first, then the time when both carry one -------------
    ("time-same", Known(ACTIVE, "a", D1, T1), timed("a", D1, T1), False, None, ACTIVE),
    ("time-later", Known(ACTIVE, "a", D1, T1), timed("a", D1, T2), False, K.DATE_ONLY, ACTIVE),
    ("time-later-text", Known(ACTIVE, "a", D1, T1), timed("b", D1, T2), False, K.CONTENT_UPDATED,
     ACTIVE),
    ("time-earlier", Known(ACTIVE, "a", D1, T2), timed("a", D1, T1), False, K.DATE_REGRESSED,
     ACTIVE),
    ("time-same-text", Known(ACTIVE, "a", D1, T1), timed("b", D1, T1), False, K.SILENT_EDIT,
     ACTIVE),
    # The next day is later whatever the hour; an earlier day is earlier whatever the hour.
    ("time-next-day", Known(ACTIVE, "a", D1, T2), timed("b", D2, T1), False, K.CONTENT_UPDATED,
     ACTIVE),
    ("time-day-before", Known(ACTIVE, "a", D2, T1), timed("a", D1, T2), False, K.DATE_REGRESSED,
     ACTIVE),
    # A date alone and a date-time on that date are the same date: neither moved.
    ("time-appears", Known(ACTIVE, "a", D1), timed("a", D1, T1), False, None, ACTIVE),
    ("time-appears-text", Known(ACTIVE, "a", D1), timed("b", D1, T1), False, K.SILENT_EDIT,
     ACTIVE),
    ("time-vanishes", Known(ACTIVE, "a", D1, T2), content("a", D1), False, None, ACTIVE),
    ("time-vanishes-text", Known(ACTIVE, "a", D1, T2), content("b", D1), False, K.SILENT_EDIT,
     ACTIVE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("known", "obs", "baseline", "kind", "status"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_rule_table(
    known: Known | None,
    obs: Observation,
    baseline: bool,
    kind: ChangeKind | None,
    status: PageStatus,
) -> None:
    assert classify_change(known, obs, baseline=baseline) == Verdict(kind, status)


def test_every_kind_is_in_the_table() -> None:
    assert {case[4] for case in CASES} >= set(ChangeKind)
    assert {case[5] for case in CASES} == set(PageStatus)


def run(steps: list[Observation], *, baseline_steps: int = 0) -> list[ChangeKind | None]:
    """Feed observations in order, carrying state as the archive does."""
    known: Known | None = None
    kinds = []
    for i, obs in enumerate(steps):
        verdict = classify_change(known, obs, baseline=i < baseline_steps)
        kinds.append(verdict.kind)
        # The archive's last good version only moves on good content.
        digest = known.text_hash if known else None
        declared = known.declared if known else None
        if obs.seen is Seen.CONTENT:
            digest, declared = obs.text_hash, obs.declared
        known = Known(verdict.status, digest, declared)
    return kinds


def test_removed_then_restored_then_edited() -> None:
    kinds = run([content("a"), GONE, GONE, content("a"), content("b", D2)], baseline_steps=1)
    assert kinds == [None, K.REMOVED, None, K.RESTORED, K.CONTENT_UPDATED]


def test_a_broken_spell_reports_once_and_then_the_real_change() -> None:
    kinds = run([content("a"), BROKE, BROKE, FAILED, content("b", D1)], baseline_steps=1)
    assert kinds == [None, K.EXTRACTION_FAILED, None, None, K.SILENT_EDIT]


def test_flapping_failures_never_report() -> None:
    kinds = run(
        [content("a"), FAILED, content("a"), FAILED, FAILED, content("a")], baseline_steps=1
    )
    assert kinds == [None] * 6


def test_date_regress_then_return_reports_both_moves() -> None:
    # 2024 -> 2023 is a regression; 2023 -> 2024 again is an update of the date.
    kinds = run([content("a", D3), content("a", D1), content("a", D3)], baseline_steps=1)
    assert kinds == [None, K.DATE_REGRESSED, K.DATE_ONLY]


# -- hashing noise -----------------------------------------------------------------------------

WORDS = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzəüöğışçАБВгдж0123456789,.", min_size=1, max_size=8),
    min_size=1,
    max_size=30,
)
SPACES = st.sampled_from([" ", "  ", "\u00a0", "\t", " \u00a0 ", "\u2009", "\u3000"])
INVISIBLE = st.sampled_from(["", "\u200b", "\ufeff", "\u00ad", "\u2060"])
QUOTES = [("\u201c", '"'), ("\u201d", '"'), ("\u00ab", '"'), ("\u2019", "'"), ("`", "'")]


@st.composite
def noisy_copy(draw: st.DrawFn) -> tuple[str, str]:
    """A text and the same text re-saved with other spaces, invisible chars and quotes."""
    paragraphs = draw(st.lists(WORDS, min_size=1, max_size=5))
    plain = "\n".join(" ".join(words) for words in paragraphs)
    noisy_paragraphs = []
    for words in paragraphs:
        pieces = [draw(INVISIBLE) + word + draw(INVISIBLE) for word in words]
        line = "".join(piece + draw(SPACES) for piece in pieces[:-1]) + pieces[-1]
        lead = draw(SPACES) * draw(st.integers(0, 1)) if noisy_paragraphs else ""
        noisy_paragraphs.append(lead + line)
    blank_lines = draw(st.sampled_from(["\n", "\n\n", "\n \u00a0\n", "\r\n"]))
    noisy = blank_lines.join(noisy_paragraphs)
    fancy, ascii_ = draw(st.sampled_from(QUOTES))
    if draw(st.booleans()):
        plain = f"{ascii_}{plain}{ascii_}"
        noisy = f"{fancy}{noisy}{fancy}"
    noisy = draw(st.sampled_from(["", " ", "\n\u00a0"])) + noisy
    noisy += draw(st.sampled_from(["", "\n", " \n\n"]))
    return plain, noisy


@given(noisy_copy())
def test_noise_never_changes_the_hash(pair: tuple[str, str]) -> None:
    plain, noisy = pair
    assert text_hash(noisy) == text_hash(plain)


@given(st.lists(WORDS, min_size=1, max_size=5), st.data())
def test_a_real_word_edit_always_changes_the_hash(
    paragraphs: list[list[str]], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(paragraphs) - 1))
    j = data.draw(st.integers(0, len(paragraphs[i]) - 1))
    edit = data.draw(st.sampled_from(["replace", "delete", "insert"]))
    old = "\n".join(" ".join(words) for words in paragraphs)
    words = list(paragraphs[i])
    if edit == "replace":
        words[j] = words[j] + "x"
    elif edit == "delete":
        words.pop(j)
    else:
        words.insert(j, "new")
    changed = [*paragraphs[:i], words, *paragraphs[i + 1 :]]
    new = "\n".join(" ".join(w) for w in changed)
    assert text_hash(new) != text_hash(old)


@given(WORDS)
def test_punctuation_and_digits_are_real_edits(words: list[str]) -> None:
    # "70 documents" vs "71 documents", "Baku." vs "Baku": both count.
    text = " ".join(words)
    assert text_hash(text + " 70") != text_hash(text + " 71")
    assert text_hash(text + ".") != text_hash(text)
