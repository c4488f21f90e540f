"""`mfawatch report`: change reports to read or forward (HTML, Markdown, JSON)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Filled in by the report work (issue 4)."""
