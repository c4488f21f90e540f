"""Word diffs as HTML, for reports and the review app. Archived text is hostile input: every
piece goes through ``html.escape`` here (the search snippet, ``web.render.snippet_html``, is the
one other place that builds markup from it, and escapes first too).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from kernel.diffing import Op, Piece


def inline_html(pieces: list[Piece]) -> str:
    """One text with deletions and insertions marked; paragraphs become <p>.

    >>> from kernel.diffing import word_diff
    >>> inline_html(word_diff("a <b>", "a <i>"))
    '<p>a <del>&lt;b&gt;</del><ins>&lt;i&gt;</ins></p>'
    """
    return _paragraphs(pieces, keep=(Op.EQUAL, Op.DELETE, Op.INSERT))


@dataclass(frozen=True)
class SideBySide:
    old: str  # HTML: the old text, deletions marked
    new: str  # HTML: the new text, insertions marked


def side_by_side_html(pieces: list[Piece]) -> SideBySide:
    """The old text with its deletions and the new one with its insertions.

    >>> from kernel.diffing import word_diff
    >>> side_by_side_html(word_diff("one two", "one 2"))
    SideBySide(old='<p>one <del>two</del></p>', new='<p>one <ins>2</ins></p>')
    """
    return SideBySide(
        old=_paragraphs(pieces, keep=(Op.EQUAL, Op.DELETE)),
        new=_paragraphs(pieces, keep=(Op.EQUAL, Op.INSERT)),
    )


def _paragraphs(pieces: list[Piece], keep: tuple[Op, ...]) -> str:
    out: list[str] = []
    line: list[str] = []
    for piece in pieces:
        if piece.op not in keep:
            continue
        tag = {Op.DELETE: "del", Op.INSERT: "ins"}.get(piece.op)
        parts = piece.text.split("\n")
        for i, part in enumerate(parts):
            if i:  # a paragraph ends here
                out.append(_close(line))
                line = []
            if part and tag:  # the mark ends at the word, its trailing space stays plain
                core = part.rstrip()
                line.append(f"<{tag}>{escape(core)}</{tag}>{escape(part[len(core) :])}")
            elif part:
                line.append(escape(part))
    out.append(_close(line))
    return "".join(p for p in out if p)


def _close(line: list[str]) -> str:
    return f"<p>{''.join(line)}</p>" if line else ""
