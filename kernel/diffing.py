"""Word-level diffs of archived texts, bounded in time.

diff-match-patch does the work, in two passes: paragraphs first, then words inside each
changed run of paragraphs. Each pass maps a token (paragraph or word) to one character, diffs
the character strings under one shared deadline, then maps back. A diff that hits the deadline
is still correct, only less minimal, so a 1 MB pair never blows up quadratically.

A long changed run (every paragraph of a page touched, or a page with no line breaks) is first
cut at anchors: paragraphs, or runs of three words, that occur once in each side, kept in the
longest chain that is in order on both sides (as patience diff does). Only the short gaps between
anchors go to diff-match-patch, so scattered edits on 1 MB are found word for word instead of
ending, at the deadline, as the whole text replaced.
"""

from __future__ import annotations

import bisect
import re
import time
from collections import Counter
from dataclasses import dataclass
from enum import IntEnum

from diff_match_patch import diff_match_patch

# Tokens keep their trailing white space so that the pieces join back into the text exactly.
_WORD = re.compile(r"\S+\s*|\s+")
_PARAGRAPH = re.compile(r"[^\n]*\n|[^\n]+")
# Token runs shorter than this go to diff-match-patch whole (it is fast there); longer ones
# are cut at anchors first: a unique paragraph, or a unique run of three words.
ANCHORED_FROM = 1000
ANCHOR_LENGTH = {_PARAGRAPH: 1, _WORD: 3}


class Op(IntEnum):
    DELETE = -1
    EQUAL = 0
    INSERT = 1


@dataclass(frozen=True)
class Piece:
    op: Op
    text: str


def word_diff(old: str, new: str, *, timeout: float = 1.0) -> list[Piece]:
    """Diff two texts word by word; ``timeout`` bounds the whole diff, in seconds.

    >>> [(p.op.name, p.text) for p in word_diff("one two three", "one 2 three")]
    [('EQUAL', 'one '), ('DELETE', 'two '), ('INSERT', '2 '), ('EQUAL', 'three')]
    >>> word_diff("same", "same")
    [Piece(op=<Op.EQUAL: 0>, text='same')]

    A paragraph added at the end leaves the old last paragraph alone:

    >>> [(p.op.name, p.text) for p in word_diff("a b", "a b\\nc")]
    [('EQUAL', 'a b'), ('INSERT', '\\nc')]
    """
    deadline = time.monotonic() + timeout
    pieces: list[Piece] = []
    deleted, inserted = "", ""
    # Both texts get a final newline, taken off again at the end: otherwise the old last
    # paragraph ("b") and the same paragraph with one after it ("b\n") are different tokens.
    paragraphs = _diff_tokens(old + "\n", new + "\n", _PARAGRAPH, deadline)
    for piece in [*paragraphs, Piece(Op.EQUAL, "")]:
        if piece.op is Op.DELETE:
            deleted += piece.text
        elif piece.op is Op.INSERT:
            inserted += piece.text
        else:
            pieces += _diff_tokens(deleted, inserted, _WORD, deadline)
            pieces.append(piece)
            deleted, inserted = "", ""
    return _merge(_drop_final_newline(pieces))


# Kinds of change with no text after them (kernel.detect.ChangeKind values): the last text
# is shown, and counted, as deleted.
NO_TEXT_AFTER = frozenset({"removed"})


def change_diff(kind: str, old: str | None, new: str | None) -> list[Piece]:
    """The diff a change is shown with and its words counted from: one decision for both.

    A removal is its last text deleted; a change with no new text (a failed extraction) shows
    the old text unchanged, since it is not a deletion; a new page is all inserted.

    >>> diff_stats(change_diff("removed", "a b c", None))
    (0, 3)
    >>> diff_stats(change_diff("extraction_failed", "a b c", None))
    (0, 0)
    >>> diff_stats(change_diff("new_page", None, "a b"))
    (2, 0)
    """
    old = old or ""
    if kind in NO_TEXT_AFTER:
        return word_diff(old, "")
    return word_diff(old, old if new is None else new)


def _drop_final_newline(pieces: list[Piece]) -> list[Piece]:
    """Take off the newline `word_diff` added to both texts, from the end of each side.

    When one side ends in a shared piece and the other goes on, that newline is real on the
    side that goes on: it separates the paragraph that was added (or deleted) after it.
    """
    pieces = [p for p in pieces if p.text]
    last_old = max((i for i, p in enumerate(pieces) if p.op is not Op.INSERT), default=-1)
    last_new = max((i for i, p in enumerate(pieces) if p.op is not Op.DELETE), default=-1)
    out: list[Piece] = []
    for i, piece in enumerate(pieces):
        if i not in (last_old, last_new):
            out.append(piece)
            continue
        out.append(Piece(piece.op, piece.text.removesuffix("\n")))
        if piece.op is Op.EQUAL and last_old != last_new:
            out.append(Piece(Op.INSERT if i == last_old else Op.DELETE, "\n"))
    return out


def _diff_tokens(old: str, new: str, token: re.Pattern[str], deadline: float) -> list[Piece]:
    if old == new:  # identical texts are one equal piece, not nothing
        return [Piece(Op.EQUAL, old)]
    if not old or not new:
        return [Piece(Op.DELETE, old), Piece(Op.INSERT, new)]
    old_tokens, new_tokens = token.findall(old), token.findall(new)
    if min(len(old_tokens), len(new_tokens)) < ANCHORED_FROM:
        return _dmp_diff(old_tokens, new_tokens, deadline)
    return _anchored_diff(old_tokens, new_tokens, ANCHOR_LENGTH[token], deadline)


def _anchored_diff(old: list[str], new: list[str], length: int, deadline: float) -> list[Piece]:
    """Equal anchors as they are, the gaps between them diffed by diff-match-patch."""
    pieces: list[Piece] = []
    at_old = at_new = 0
    for i, j in _anchors(old, new, length):
        if i < at_old or j < at_new:  # overlaps the anchor before it
            continue
        pieces += _dmp_diff(old[at_old:i], new[at_new:j], deadline)
        pieces.append(Piece(Op.EQUAL, "".join(old[i : i + length])))
        at_old, at_new = i + length, j + length
    return pieces + _dmp_diff(old[at_old:], new[at_new:], deadline)


def _anchors(old: list[str], new: list[str], length: int) -> list[tuple[int, int]]:
    """Where a run of ``length`` tokens that is unique on both sides starts on each, in order.

    >>> _anchors("a b c d e".split(), "x a b c d".split(), 3)
    [(0, 1), (1, 2)]
    """
    in_old, in_new = _unique_runs(old, length), _unique_runs(new, length)
    # In the order of the old side already: the dict keeps the order runs were met in.
    pairs = [(i, in_new[run]) for run, i in in_old.items() if run in in_new]
    # The longest chain increasing on both sides: patience sorting on the new positions.
    tails: list[int] = []  # tails[k]: the new position ending the best chain of length k + 1
    ends: list[int] = []  # the pair index behind each tail
    before = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        before[index] = ends[k - 1] if k else -1
        if k == len(tails):
            tails.append(j)
            ends.append(index)
        else:
            tails[k], ends[k] = j, index
    chain, index = [], ends[-1] if ends else -1
    while index >= 0:
        chain.append(pairs[index])
        index = before[index]
    return chain[::-1]


def _unique_runs(tokens: list[str], length: int) -> dict[tuple[str, ...], int]:
    """Each run of ``length`` tokens that occurs once -> where it starts.

    Tokens keep their white space: an anchor is equal text on both sides, byte for byte.
    """
    # Shifted copies of the list, zipped: the shortest ends the runs, as it should.
    runs = list(zip(*(tokens[k:] for k in range(length)), strict=False))
    counts = Counter(runs)
    return {run: i for i, run in enumerate(runs) if counts[run] == 1}


def _dmp_diff(old: list[str], new: list[str], deadline: float) -> list[Piece]:
    old_text, new_text = "".join(old), "".join(new)
    if old_text == new_text:
        return [Piece(Op.EQUAL, old_text)]
    if not old_text or not new_text:
        return [Piece(Op.DELETE, old_text), Piece(Op.INSERT, new_text)]
    vocab: dict[str, str] = {}  # token -> its character
    encoded_old = _encode(old, vocab)
    encoded_new = _encode(new, vocab)
    tokens = {char: text for text, char in vocab.items()}
    dmp = diff_match_patch()
    # dmp reads a timeout of 0 as "no limit": keep a sliver even past the deadline.
    dmp.Diff_Timeout = max(deadline - time.monotonic(), 0.001)
    diffs = dmp.diff_main(encoded_old, encoded_new, checklines=False)
    dmp.diff_cleanupSemantic(diffs)
    return [Piece(Op(op), "".join(map(tokens.__getitem__, chars))) for op, chars in diffs]


def _encode(tokens: list[str], vocab: dict[str, str]) -> str:
    out = []
    for part in tokens:
        char = vocab.get(part)
        if char is None:
            char = vocab[part] = _char_for(len(vocab) + 1)  # 1+: dmp avoids NUL too
        out.append(char)
    return "".join(out)


def _char_for(index: int) -> str:
    # Surrogates cannot stand alone in a str that dmp slices; skip their block.
    if index >= 0xD800:
        index += 0x800
    if index > 0x10FFFF:
        raise ValueError("too many distinct words to diff")
    return chr(index)


def _merge(pieces: list[Piece]) -> list[Piece]:
    merged: list[Piece] = []
    for piece in pieces:
        if not piece.text:
            continue
        if merged and merged[-1].op is piece.op:
            merged[-1] = Piece(piece.op, merged[-1].text + piece.text)
        else:
            merged.append(piece)
    return merged


def diff_stats(pieces: list[Piece]) -> tuple[int, int]:
    """Words inserted and deleted.

    >>> diff_stats(word_diff("a b c", "a x y c"))
    (2, 1)
    """
    inserted = sum(len(p.text.split()) for p in pieces if p.op is Op.INSERT)
    deleted = sum(len(p.text.split()) for p in pieces if p.op is Op.DELETE)
    return inserted, deleted
