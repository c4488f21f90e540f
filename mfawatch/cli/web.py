"""`mfawatch serve`: the review web app."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
from typing import Annotated

import typer

from kernel.errors import MfawatchError
from mfawatch.cli.common import State


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the review app: the queue, diffs, page timelines, search, and a JSON API.

    On any address but loopback it needs an access token in $MFAWATCH_TOKEN; browsers open
    it once with ?token=…, scripts send Authorization: Bearer ….
    """
    if not 0 < port < 65536:
        raise MfawatchError(f"--port must be 1 to 65535, got {port}")
    token = os.environ.get("MFAWATCH_TOKEN") or None
    loopback = is_loopback(host)
    if token is None and not loopback:
        raise MfawatchError(
            f"refusing to serve on {host} without an access token: set MFAWATCH_TOKEN "
            "(or serve on 127.0.0.1)"
        )
    import uvicorn

    from mfawatch.web.app import create_app
    from mfawatch.web.security import LOOPBACK_HOSTS, check_token

    check_token(token)
    state: State = ctx.obj
    # Without a token, answer only to loopback names: a DNS-rebinding page cannot reach us.
    hosts = None if token else {*LOOPBACK_HOSTS, host.strip("[]")}
    listening = _listen(host, port)  # before the app: an address in use is one line
    app = create_app(state.sessions(), token=token, allowed_hosts=hosts)
    logging.getLogger("uvicorn.access").addFilter(_hide_token)
    level = "debug" if state.verbose else "info"
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=level))
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    print(f"mfawatch: serving the review app on http://{shown}:{port}/", file=sys.stderr)
    server.run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port, as uvicorn would open it; MfawatchError if it cannot
    (the port in use or privileged, an address not of this machine, a name that resolves not)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listening = socket.socket(family, kind, proto)
    except OSError as exc:
        raise MfawatchError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(2048)
    except OSError as exc:
        listening.close()
        raise MfawatchError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return listening


def is_loopback(host: str) -> bool:
    """
    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("192.168.1.5"), is_loopback("example.org")
    (False, False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _hide_token(record: logging.LogRecord) -> bool:
    """Access log lines show ?token=… (the first visit's URL) without the token."""
    from mfawatch.web.security import redact_token

    if isinstance(record.args, tuple):
        record.args = tuple(
            redact_token(arg) if isinstance(arg, str) else arg for arg in record.args
        )
    return True
