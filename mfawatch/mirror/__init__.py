"""An offline mirror of the MFA's embassy sites, for the demo and for real crawls in tests.

`MirrorServer` serves pages on a loopback address and can change them between crawls;
`pages` renders pages in the ministry's layout; `faults` holds the misbehaviours to test with.
"""

from __future__ import annotations

from . import faults
from .pages import content_page, embassy_site, home_page, relations_menu, relations_path
from .server import (
    Handler,
    MirrorServer,
    RecordedRequest,
    Request,
    Response,
    html_response,
    static,
)

__all__ = [
    "Handler",
    "MirrorServer",
    "RecordedRequest",
    "Request",
    "Response",
    "content_page",
    "embassy_site",
    "faults",
    "home_page",
    "html_response",
    "relations_menu",
    "relations_path",
    "static",
]
