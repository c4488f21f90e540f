"""A response's status line and headers as received, as one block of bytes, and back.

The block is what an HTTP/1.1 response head looks like on the wire (``HTTP/1.1 200\\r\\n``,
then ``Name: value\\r\\n`` a header), so that a WARC response record can carry it as it is.
Values are bytes, kept as the server sent them (whatever they hold: the block is never decoded
to be stored); names are as the crawler's HTTP client gives them (case folded, repeats of a
name together). The reason phrase is not received from the client library: the block's status
line has none, and reason() gives the standard one.

>>> pairs = [(b"Content-Type", b"text/html"), (b"X-Odd", b"\\xff\\x1b")]
>>> block = head_block("HTTP/1.1", 200, pairs)
>>> block
b'HTTP/1.1 200\\r\\nContent-Type: text/html\\r\\nX-Odd: \\xff\\x1b\\r\\n'
>>> parse_head(block)
('HTTP/1.1', 200, [(b'Content-Type', b'text/html'), (b'X-Odd', b'\\xff\\x1b')])
"""

from __future__ import annotations

import http
import re
from collections.abc import Iterable

Pairs = list[tuple[bytes, bytes]]
# Bytes that would end a header line or the head: never in a value received (the client
# splits lines on them), replaced so that a block always parses back.
_LINE_BREAK = re.compile(rb"[\r\n]")


def head_block(protocol: str | None, status: int, headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The block for a response of this protocol ("HTTP/1.1"), status and headers."""
    lines = [f"{protocol or 'HTTP/1.1'} {status}".encode("ascii", "replace")]
    for name, value in headers:
        lines.append(_LINE_BREAK.sub(b" ", name) + b": " + _LINE_BREAK.sub(b" ", value))
    return b"\r\n".join(lines) + b"\r\n"


def parse_head(block: bytes) -> tuple[str, int, Pairs]:
    """(protocol, status, headers) of a block that head_block made."""
    first, *rest = block.rstrip(b"\r\n").split(b"\r\n")
    protocol, _, status = first.decode("ascii", "replace").partition(" ")
    pairs = []
    for line in rest:
        name, _, value = line.partition(b":")
        pairs.append((name, value.removeprefix(b" ")))
    return protocol, int(status.split(" ")[0]), pairs


def reason(status: int) -> str:
    """The standard reason phrase of a status ("" for one without).

    >>> reason(200), reason(304), reason(299)
    ('OK', 'Not Modified', '')
    """
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def header(pairs: Pairs, name: bytes) -> bytes | None:
    """The first value of a header, by name in any case."""
    wanted = name.lower()
    return next((value for key, value in pairs if key.lower() == wanted), None)
