"""layout_fingerprint: bytes already seen are re-extracted when the layout changed."""

from __future__ import annotations

import dataclasses
import re

from kernel.config import layout_fingerprint, load_layout


def test_an_edit_past_200_characters_of_a_long_pattern_changes_the_fingerprint() -> None:
    layout = load_layout("mfa.gov.az")
    rule = layout.pages[0]
    long = rule.url_pattern.pattern + "(?:" + "|".join(f"x{i}" for i in range(80)) + ")?"
    edited = long.replace("x79", "y79")  # the last alternative, past repr's 200-character cut
    assert len(long) > 300 and repr(re.compile(long)) == repr(re.compile(edited))

    def with_pattern(pattern: str) -> str:
        pages = (dataclasses.replace(rule, url_pattern=re.compile(pattern)), *layout.pages[1:])
        return layout_fingerprint(dataclasses.replace(layout, pages=pages))

    assert with_pattern(long) != with_pattern(edited)


def test_the_same_layout_read_twice_has_one_fingerprint() -> None:
    assert layout_fingerprint(load_layout("mfa.gov.az")) == layout_fingerprint(
        load_layout("mfa.gov.az")
    )


def test_a_flag_is_part_of_the_fingerprint() -> None:
    layout = load_layout("mfa.gov.az")
    rule = layout.pages[0]
    ignoring_case = re.compile(rule.url_pattern.pattern, rule.url_pattern.flags | re.IGNORECASE)
    pages = (dataclasses.replace(rule, url_pattern=ignoring_case), *layout.pages[1:])
    assert layout_fingerprint(dataclasses.replace(layout, pages=pages)) != layout_fingerprint(
        layout
    )
