"""`mfawatch serve`: the review web app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Filled in by the web app work (issue 4)."""
