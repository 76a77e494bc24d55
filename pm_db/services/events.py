"""The append-only event log: every save, publish and change leaves a line here."""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from pm_db.db import Database
from pm_db.models import Event, utcnow

HOST = socket.gethostname()
EVENTS = cast(Table, Event.__table__)
INSERT = insert(EVENTS)


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    entity_type: str
    entity_id: int | None
    artist_id: int | None
    host: str | None
    payload: dict[str, Any]
    created_at: datetime


def record(
    session: Session,
    kind: str,
    entity_type: str,
    entity_id: int | None,
    artist_id: int | None = None,
    payload: dict[str, Any] | None = None,
    host: str | None = None,
) -> None:
    """Append one event inside the caller's transaction."""
    session.execute(INSERT, values(kind, entity_type, entity_id, artist_id, payload, host))


def values(
    kind: str,
    entity_type: str,
    entity_id: int | None,
    artist_id: int | None = None,
    payload: dict[str, Any] | None = None,
    host: str | None = None,
) -> dict[str, Any]:
    """The column values of one event, for statements that insert it themselves."""
    return {
        "kind": kind,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "artist_id": artist_id,
        "host": host or HOST,
        "payload": payload or {},
        "created_at": utcnow(),
    }


def list_events(
    db: Database,
    entity_type: str | None = None,
    entity_id: int | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[EventOut]:
    """The newest events first, optionally for one entity or of one kind."""

    def work(session: Session) -> list[EventOut]:
        query = select(Event).order_by(Event.id.desc()).limit(limit)
        if entity_type:
            query = query.where(Event.entity_type == entity_type)
        if entity_id is not None:
            query = query.where(Event.entity_id == entity_id)
        if kind:
            query = query.where(Event.kind == kind)
        return [EventOut.model_validate(e) for e in session.scalars(query)]

    return db.read(work)
