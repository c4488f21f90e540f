"""The review web app: the queue, each change's diff, page timelines, archived versions, search.

Server-rendered (Jinja2, autoescaped), no JavaScript; a JSON API beside it under ``/api/``.
"""

from __future__ import annotations

from mfawatch.web.app import create_app

__all__ = ["create_app"]
