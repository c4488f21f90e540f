"""Text normalization and hashing: what counts as "the same text".

Archived text keeps its own quotes and dashes (it is evidence); the comparison key folds the
noise that is not a change: white space of any kind, &nbsp;, zero-width characters and quote
style. Two texts with the same key are the same version.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Any

# Characters that render as nothing; CMS editors leave them behind on re-saves.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_QUOTES = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2033": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
    }
)


def clean_line(line: str) -> str:
    """One paragraph as archived: invisible characters gone, white space folded.

    >>> clean_line("  Last\\u00a0updated:\\n 28.02.2023\\u200b ")
    'Last updated: 28.02.2023'
    """
    # Every invisible character is non-ASCII, and isascii() costs nothing: ASCII text skips
    # translate. split() takes the same white space as a regular expression's \s (isspace).
    visible = line if line.isascii() else line.translate(_INVISIBLE)
    return " ".join(visible.split())


def clean_paragraphs(paragraphs: list[str]) -> list[str]:
    """Cleaned paragraphs with the empty ones (``&nbsp;`` spacers) dropped.

    >>> clean_paragraphs(["A", "\\u00a0", "", "  B  c "])
    ['A', 'B c']
    """
    lines = (clean_line(p) for p in paragraphs)
    return [line for line in lines if line]


def comparison_key(text: str) -> str:
    """The form two texts are compared in: NFC, quotes folded, white space folded.

    >>> comparison_key("“Hello”  world\\n\\n") == comparison_key('"Hello" world')
    True
    >>> comparison_key("Hello world") == comparison_key("Hello, world")
    False
    """
    folded = unicodedata.normalize("NFC", text).translate(_QUOTES)
    lines = (clean_line(line) for line in folded.splitlines())
    return "\n".join(line for line in lines if line)


def text_hash(text: str) -> str:
    """SHA-256 (hex) of the comparison key: the identity of a content version."""
    return hashlib.sha256(comparison_key(text).encode("utf-8")).hexdigest()


def bytes_hash(data: bytes) -> str:
    """SHA-256 (hex) of raw fetched bytes."""
    return hashlib.sha256(data).hexdigest()


# C0/C1 control characters (ESC among them) could drive a terminal; only \n and \t pass.
# Bidirectional marks, embeddings, overrides and isolates reorder the text around them on
# screen (a terminal's or a browser's): "Trojan Source" text reads other than it is.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Archived text made safe for a terminal or a page: control and bidi characters shown,
    not obeyed.

    >>> printable("ok\\x1b[2Jgone"), printable("abc\\u202edef")
    ('ok\\\\x1b[2Jgone', 'abc\\\\u202edef')
    """
    return _CONTROL.sub(_shown, text)


# json.dumps escapes C0 controls only; DEL and the C1 controls (U+0085, U+009B: a one-byte
# CSI on some terminals) would reach a terminal raw. Outside strings JSON is plain ASCII, so
# every match is inside a string and its escape is the same character to a JSON parser.
_JSON_CONTROL = re.compile("[\x7f-\x9f]")


def json_text(data: Any) -> str:
    """JSON for a terminal or a pipe: readable Azerbaijani and Russian, every control escaped.

    >>> print(json_text({"t": "Ə\x1b\x7f\x9b"}))
    {
      "t": "Ə\\u001b\\u007f\\u009b"
    }
    """
    dumped = json.dumps(data, ensure_ascii=False, indent=2)
    return _JSON_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
