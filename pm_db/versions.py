"""Number allocation: the only place where version and iteration numbers are made.

One statement both creates a scene stream's counter (v001 i001) and advances it, under
the row lock PostgreSQL takes for `INSERT ... ON CONFLICT DO UPDATE` (SQLite: the write
lock of `BEGIN IMMEDIATE`). Numbers are never reused: a failed save still used its number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pm_db.errors import Conflict
from pm_db.models import Part, SceneStream, utcnow


def _insert(session: Session) -> Any:
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert


def next_scene_number(
    session: Session, project_id: int, folder: str, version_up: bool
) -> tuple[int, int, int]:
    """(stream id, version, iteration) of the next save into `folder` (project-relative).

    Save: next iteration of the current version (the first save is v001 i001).
    Version up: next version, iteration 1. Raises Conflict if `folder` differs only in case
    from an existing folder.
    """
    table = SceneStream.__table__
    insert = _insert(session)(table).values(
        project_id=project_id, key=folder.casefold(), folder=folder, version=1, iteration=1
    )
    if version_up:
        changes = {"version": table.c.version + 1, "iteration": 1}
    else:
        changes = {"iteration": table.c.iteration + 1}
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.project_id, table.c.key], set_=changes
    ).returning(table.c.id, table.c.version, table.c.iteration, table.c.folder)
    stream_id, version, iteration, stored = session.execute(statement).one()
    if stored != folder:
        raise Conflict(
            f"{folder!r} differs only in case from the existing {stored!r}; use that spelling",
            field="scene_name",
        )
    return stream_id, version, iteration


def part_for(session: Session, stream_id: int, asset_name: str, part_name: str) -> Part:
    """The part `asset_name`/`part_name` of a scene stream, created on first publish and
    locked for the rest of the transaction. Raises Conflict on a case-only difference."""
    table = Part.__table__
    statement = (
        _insert(session)(table)
        .values(
            stream_id=stream_id,
            asset_name=asset_name,
            name=part_name,
            publish_seq=0,
            withdrawn=False,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    session.execute(statement)
    part = session.scalars(
        select(Part)
        .where(
            Part.stream_id == stream_id,
            func.lower(Part.asset_name) == asset_name.lower(),
            func.lower(Part.name) == part_name.lower(),
        )
        .with_for_update()
    ).one()
    if (part.asset_name, part.name) != (asset_name, part_name):
        raise Conflict(
            f"{asset_name}/{part_name} differs only in case from the existing "
            f"{part.asset_name}/{part.name}; use that spelling",
            field="part_name",
        )
    return part


def next_publish_seq(session: Session, part: Part) -> int:
    """The next completion number of a part: 'latest' is the highest completed one."""
    seq: int = session.execute(
        update(Part)
        .where(Part.id == part.id)
        .values(publish_seq=Part.publish_seq + 1)
        .returning(Part.publish_seq)
    ).scalar_one()
    return seq
