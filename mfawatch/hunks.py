"""A word diff cut to what a reader needs: the changed paragraphs with a little context, as
reports show it ("…" where paragraphs are left out).
"""

from __future__ import annotations

from itertools import zip_longest

from kernel.diffing import Op, Piece

Excerpt = list[list[Piece] | None]  # hunks; None stands for paragraphs left out ("…")


def paragraphs(pieces: list[Piece]) -> list[tuple[list[Piece], bool]]:
    """The diff cut into paragraphs, each with whether something in it changed.

    A paragraph break that was deleted and one inserted in its place are the same break: the
    old and the new words of a rewritten paragraph share one line.

    >>> from kernel.diffing import word_diff
    >>> [("".join(p.text for p in line), changed)
    ...  for line, changed in paragraphs(word_diff("a\\nb c\\nd", "a\\nb x\\nd"))]
    [('a', False), ('b cx', True), ('d', False)]
    """
    lines: list[list[Piece]] = [[]]
    changed = [False]
    deleted, inserted = "", ""
    for piece in [*pieces, Piece(Op.EQUAL, "")]:
        if piece.op is Op.DELETE:
            deleted += piece.text
            continue
        if piece.op is Op.INSERT:
            inserted += piece.text
            continue
        if deleted or inserted:
            _add_run(lines, changed, deleted.split("\n"), inserted.split("\n"))
            deleted, inserted = "", ""
        for i, part in enumerate(piece.text.split("\n")):
            if i:
                lines.append([])
                changed.append(False)
            if part:
                lines[-1].append(Piece(Op.EQUAL, part))
    return list(zip(lines, changed, strict=True))


def _add_run(lines: list[list[Piece]], changed: list[bool], old: list[str], new: list[str]) -> None:
    """Lay out one run of deleted and inserted paragraphs (split at their breaks) as lines:
    the first parts continue the current line, the last parts start the line that follows."""
    rows = [(old[0], new[0])]
    if len(old) > 1 or len(new) > 1:
        middle = zip_longest(old[1:-1], new[1:-1], fillvalue="")
        rows += [*middle, (old[-1] if len(old) > 1 else "", new[-1] if len(new) > 1 else "")]
    for i, (gone, came) in enumerate(rows):
        if i:
            lines.append([])
            changed.append(False)
        for op, text in ((Op.DELETE, gone), (Op.INSERT, came)):
            if text:
                lines[-1].append(Piece(op, text))
                changed[-1] = True


def excerpt(pieces: list[Piece], context: int = 1) -> Excerpt:
    """The changed paragraphs with ``context`` paragraphs around them; None where some are
    left out. A diff that changes no text gives nothing.

    >>> from kernel.diffing import word_diff
    >>> old = "\\n".join("abcdefg")
    >>> [None if h is None else "".join(p.text for p in h)
    ...  for h in excerpt(word_diff(old, old.replace("d", "D")))]
    [None, 'c\\ndD\\ne', None]
    """
    lines = paragraphs(pieces)
    keep = sorted(
        {
            j
            for i, (_, changed) in enumerate(lines)
            if changed
            for j in range(i - context, i + context + 1)
            if 0 <= j < len(lines)
        }
    )
    out: Excerpt = []
    previous = -1
    for i in keep:
        hunk = out[-1] if out and i == previous + 1 else None
        if hunk is None:
            if i != previous + 1:
                out.append(None)
            out.append(list(lines[i][0]))
        else:
            hunk += [Piece(Op.EQUAL, "\n"), *lines[i][0]]
        previous = i
    if keep and previous < len(lines) - 1:
        out.append(None)
    return out
