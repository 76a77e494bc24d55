"""The append-only event log: every save, publish and change leaves a line here."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, Table, case, func, insert, select
from sqlalchemy.orm import Session

from pm_db.db import Database
from pm_db.errors import ValidationError
from pm_db.models import (
    Artist,
    Asset,
    Event,
    Part,
    Publish,
    Scene,
    SceneStream,
    Shot,
    Task,
    utcnow,
)
from pm_db.models import Sequence as SequenceRow
from pm_db.services import lookups

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


# Readers ----------------------------------------------------------------------------

MAX_LIMIT = 500


class EventRow(EventOut):
    """An event as the readers list it: with the login of the artist who did it."""

    artist: str | None


@dataclass(frozen=True)
class EventFilter:
    """Which events to read. `kind` is a kind (`publish.published`) or a family ending in
    a dot (`publish.`); `project` a project code (the events about a record of that
    project: see project_of); `before` and `after` are event ids (keyset paging: older
    than, newer than); `since` and `until` bound the time, `until` excluded."""

    kind: str | None = None
    artist: str | None = None
    project: str | None = None
    entity_type: str | None = None
    entity_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    after: int | None = None
    limit: int = 100


def parse_moment(value: str, field: str, end_of_day: bool = False) -> datetime:
    """A date (`2026-12-06`) or an ISO 8601 time, as an aware UTC time (a time without a
    zone is UTC). With `end_of_day`, a bare date means the end of that day. Raises
    ValidationError naming `field`."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            return moment + timedelta(days=1) if end_of_day else moment
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"must be a date (2026-12-06) or an ISO time, got {value!r}", field=field
        ) from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def check_filter(wanted: EventFilter) -> None:
    """Refuse a filter no reader can answer; raises ValidationError naming the field."""
    if not 1 <= wanted.limit <= MAX_LIMIT:
        raise ValidationError(f"must be 1 to {MAX_LIMIT}", field="limit")
    for field in ("entity_id", "before", "after"):
        number = getattr(wanted, field)
        if number is not None and number < 0:
            raise ValidationError("must be 0 or more", field=field)
    for field in ("kind", "artist", "project", "entity_type"):
        text = getattr(wanted, field)
        if text is not None and len(text) > 64:
            raise ValidationError("must be at most 64 characters", field=field)
    if wanted.since and wanted.until and wanted.since >= wanted.until:
        raise ValidationError("must be later than since", field="until")


def first_id_at(session: Session, ident: Any, created: Any, moment: datetime) -> int:
    """The first id of a table whose row was created at `moment` or later (one past the
    last id when none was), found by bisecting the ids: rows get their ids in the order
    they are made, so a time bound becomes an id bound the primary key answers in about
    twenty seeks, where the time column has no index. Rows made within the same instant by
    concurrent transactions may take their ids in either order: at the very boundary such
    a row can fall on the other side."""
    # Two statements: SQLite reads a lone min() or max() from the index end, but walks
    # the whole table for both in one query.
    low = session.scalar(select(func.min(ident)))
    high = session.scalar(select(func.max(ident)))
    if low is None or high is None:
        return 0
    high += 1
    while low < high:
        middle = (low + high) // 2
        found = session.execute(
            select(ident, created).where(ident >= middle).order_by(ident).limit(1)
        ).first()
        if found is None or found[1] >= moment:
            high = middle
        else:
            low = found[0] + 1
    return int(low)


def project_of(event: Any) -> ColumnElement[Any]:
    """The id of the project an event is about, from its subject: a project, sequence,
    shot, asset, task, scene, part or publish (one or two primary-key seeks); NULL for
    anything else (a token, an artist, a setting) and for a subject deleted since."""
    subject = event.entity_id
    return case(
        (event.entity_type == "project", subject),
        (
            event.entity_type == "sequence",
            select(SequenceRow.project_id).where(SequenceRow.id == subject).scalar_subquery(),
        ),
        (
            event.entity_type == "shot",
            select(SequenceRow.project_id)
            .join(Shot, Shot.sequence_id == SequenceRow.id)
            .where(Shot.id == subject)
            .scalar_subquery(),
        ),
        (
            event.entity_type == "asset",
            select(Asset.project_id).where(Asset.id == subject).scalar_subquery(),
        ),
        (
            event.entity_type == "task",
            select(Task.project_id).where(Task.id == subject).scalar_subquery(),
        ),
        (
            event.entity_type == "scene",
            select(Task.project_id)
            .join(Scene, Scene.task_id == Task.id)
            .where(Scene.id == subject)
            .scalar_subquery(),
        ),
        (
            event.entity_type == "part",
            select(SceneStream.project_id)
            .join(Part, Part.stream_id == SceneStream.id)
            .where(Part.id == subject)
            .scalar_subquery(),
        ),
        (
            event.entity_type == "publish",
            select(Task.project_id)
            .join(Publish, Publish.task_id == Task.id)
            .where(Publish.id == subject)
            .scalar_subquery(),
        ),
        else_=None,
    )


def read_events(db: Database, wanted: EventFilter) -> list[EventRow]:
    """One page of events matching `wanted`, newest first (with `after`, the oldest
    `limit` newer than it, still newest first). The page is read in id order (times
    become id bounds: first_id_at), so its cost does not grow with the log. Raises
    ValidationError (a bad filter), NotFound (an unknown artist)."""
    check_filter(wanted)

    def work(session: Session) -> list[EventRow]:
        query = select(Event, Artist.login).outerjoin(Artist, Artist.id == Event.artist_id)
        if wanted.artist:
            query = query.where(Event.artist_id == lookups.artist_id(session, wanted.artist))
        if wanted.project:
            query = query.where(project_of(Event) == lookups.project_id(session, wanted.project))
        if wanted.kind:
            kind = wanted.kind.strip()
            if kind.endswith("."):
                query = query.where(Event.kind.startswith(kind, autoescape=True))
            else:
                query = query.where(Event.kind == kind)
        if wanted.entity_type:
            query = query.where(Event.entity_type == wanted.entity_type.strip())
        if wanted.entity_id is not None:
            query = query.where(Event.entity_id == wanted.entity_id)
        if wanted.since:
            since_id = first_id_at(session, Event.id, Event.created_at, wanted.since)
            query = query.where(Event.id >= since_id, Event.created_at >= wanted.since)
        if wanted.until:
            until_id = first_id_at(session, Event.id, Event.created_at, wanted.until)
            query = query.where(Event.id < until_id, Event.created_at < wanted.until)
        if wanted.before is not None:
            query = query.where(Event.id < wanted.before)
        if wanted.after is not None:
            query = query.where(Event.id > wanted.after).order_by(Event.id)
        else:
            query = query.order_by(Event.id.desc())
        rows = [
            EventRow(**EventOut.model_validate(event).model_dump(), artist=login)
            for event, login in session.execute(query.limit(wanted.limit))
        ]
        return rows[::-1] if wanted.after is not None else rows

    return db.read(work)
