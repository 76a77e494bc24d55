"""What every route reaches through its request: the app's database and the backend over
it (the same LocalBackend the Houdini tools use locally)."""

from __future__ import annotations

from fastapi import Request

from pm_db.backend import LocalBackend
from pm_db.db import Database


def database(request: Request) -> Database:
    """The database the app serves."""
    found: Database = request.app.state.db
    return found


def backend(request: Request) -> LocalBackend:
    """The backend over the app's database."""
    found: LocalBackend = request.app.state.backend
    return found
