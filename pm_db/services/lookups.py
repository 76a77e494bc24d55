"""Ids by the names people type in filters: a project's code (any case), an artist's
login. Each raises NotFound naming the filter's field."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pm_db.errors import NotFound
from pm_db.models import Artist, Project


def project_id(session: Session, code: str) -> int:
    """The id of project `code`; raises NotFound (field project)."""
    wanted = code.strip().lower()
    found = session.scalar(select(Project.id).where(func.lower(Project.code) == wanted))
    if found is None:
        raise NotFound(f"no project {code!r}", field="project")
    return found


def artist_id(session: Session, login: str) -> int:
    """The id of the artist `login`, active or not; raises NotFound (field artist)."""
    found = session.scalar(select(Artist.id).where(Artist.login == login.strip().lower()))
    if found is None:
        raise NotFound(f"no artist with login {login!r}", field="artist")
    return found
