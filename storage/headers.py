"""Response heads (kernel.headers blocks) packed small for the fetch row, and unpacked.

A head is a few hundred bytes, and every fetch has one: zstd against a fixed dictionary of
what servers commonly send makes it a fraction of that. The first byte names the dictionary,
so that a better one later never makes an older row unreadable.
"""

from __future__ import annotations

from storage.packing import pack, unpack

# Never edit: rows packed against it are read with it. A new dictionary gets a new first byte.
_BASE_1 = (
    b"HTTP/1.1 200\r\nHTTP/1.1 304\r\nHTTP/1.1 404\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    b"Server: nginx\r\nServer: Apache\r\nContent-Type: text/html; charset=UTF-8\r\n"
    b"Content-Type: text/html; charset=utf-8\r\nContent-Length: 12345\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\nConnection: close\r\n"
    b"Vary: Accept-Encoding\r\nContent-Encoding: gzip\r\nCache-Control: no-cache, private\r\n"
    b"Cache-Control: max-age=0\r\nPragma: no-cache\r\nExpires: Thu, 19 Nov 1981 08:52:00 GMT\r\n"
    b'Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nEtag: "0123456789abcdef"\r\n'
    b"Set-Cookie: XSRF-TOKEN=; expires=Mon, 01 Jan 2024 00:00:00 GMT; Max-Age=7200; path=/\r\n"
    b"Set-Cookie: laravel_session=; expires=; Max-Age=7200; path=/; httponly; samesite=lax\r\n"
    b"X-Frame-Options: SAMEORIGIN\r\nX-Content-Type-Options: nosniff\r\n"
    b"X-Xss-Protection: 1; mode=block\r\nStrict-Transport-Security: max-age=31536000\r\n"
    b"Accept-Ranges: bytes\r\nAge: 0\r\nVia: 1.1 varnish\r\nX-Powered-By: PHP/7.4\r\n"
    b'Cf-Cache-Status: DYNAMIC\r\nCf-Ray: \r\nServer: cloudflare\r\nAlt-Svc: h3=":443"\r\n'
)
_BASES = {1: _BASE_1}
_CURRENT = 1


def pack_head(block: bytes) -> bytes:
    """A head block packed for Fetch.headers.

    >>> block = b"HTTP/1.1 200\\r\\nServer: nginx\\r\\nContent-Type: text/html; charset=UTF-8\\r\\n"
    >>> packed = pack_head(block)
    >>> len(packed) < len(block) and unpack_head(packed) == block
    True
    """
    return bytes([_CURRENT]) + pack(block, _BASES[_CURRENT])


def unpack_head(packed: bytes) -> bytes:
    return unpack(packed[1:], _BASES[packed[0]])
