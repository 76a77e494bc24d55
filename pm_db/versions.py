"""Number allocation: the only place where version, iteration and completion numbers are
made.

One statement both creates a scene stream's counter (v001 i001) and advances it, under
the row lock PostgreSQL takes for `INSERT ... ON CONFLICT DO UPDATE` (SQLite: the write
lock of `BEGIN IMMEDIATE`). Numbers are never reused: a failed save still used its number.

Each function that locks a stream's counter or a part also refuses, under that lock, a
stream a lease holds (pm_db.leases): a checked-out stream changes only by its check-in.

The statements are built once per dialect: a farm allocates thousands of numbers, and
building a SQLAlchemy statement costs more than SQLite takes to run it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pm_db.errors import Conflict
from pm_db.leases import refuse_if_held, refuse_if_part_held
from pm_db.models import Part, Publish, SceneStream, utcnow

STREAMS = cast(Table, SceneStream.__table__)
PARTS = cast(Table, Part.__table__)
PUBLISHES = cast(Table, Publish.__table__)


def _dialect(session: Session) -> str:
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"


@lru_cache(maxsize=8)
def _next_scene_statement(dialect: str, version_up: bool) -> Any:
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    statement = insert(STREAMS).values(
        project_id=bindparam("b_project_id"),
        key=bindparam("b_key"),
        folder=bindparam("b_folder"),
        version=1,
        iteration=1,
    )
    if version_up:
        changes = {"version": STREAMS.c.version + 1, "iteration": 1}
    else:
        changes = {"iteration": STREAMS.c.iteration + 1}
    return statement.on_conflict_do_update(
        index_elements=[STREAMS.c.project_id, STREAMS.c.key], set_=changes
    ).returning(STREAMS.c.id, STREAMS.c.version, STREAMS.c.iteration, STREAMS.c.folder)


def next_scene_number(
    session: Session, project_id: int, folder: str, version_up: bool
) -> tuple[int, int, int]:
    """(stream id, version, iteration) of the next save into `folder` (project-relative).

    Save: next iteration of the current version (the first save is v001 i001).
    Version up: next version, iteration 1. Raises Conflict if `folder` differs only in case
    from an existing folder, or if a lease holds it (the number is then not taken: the
    transaction is undone).
    """
    statement = _next_scene_statement(_dialect(session), version_up)
    params = {"b_project_id": project_id, "b_key": folder.casefold(), "b_folder": folder}
    stream_id, version, iteration, stored = session.execute(statement, params).one()
    if stored != folder:
        raise Conflict(
            f"{folder!r} differs only in case from the existing {stored!r}; use that spelling",
            field="scene_name",
        )
    refuse_if_held(session, stream_id)
    return stream_id, version, iteration


@lru_cache(maxsize=4)
def _part_statement(dialect: str) -> Any:
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    return (
        insert(PARTS)
        .values(
            stream_id=bindparam("b_stream_id"),
            asset_name=bindparam("b_asset_name"),
            name=bindparam("b_name"),
            withdrawn=False,
            created_at=bindparam("b_created_at"),
        )
        # An update that changes nothing, so that the statement locks the existing row.
        .on_conflict_do_update(
            index_elements=[
                PARTS.c.stream_id,
                func.lower(PARTS.c.asset_name),
                func.lower(PARTS.c.name),
            ],
            set_={"asset_name": PARTS.c.asset_name},
        )
        .returning(PARTS.c.id, PARTS.c.asset_name, PARTS.c.name)
    )


def part_for(session: Session, stream_id: int, asset_name: str, part_name: str) -> Any:
    """The part `asset_name`/`part_name` of a scene stream (id, asset_name, name), created
    on first publish, locked for the rest of the transaction, in one statement. It takes
    no number: a request that turns out to repeat an earlier one changes nothing. Raises
    Conflict if the names differ only in case from the existing part's, or if a lease
    holds the stream."""
    params = {
        "b_stream_id": stream_id,
        "b_asset_name": asset_name,
        "b_name": part_name,
        "b_created_at": utcnow(),
    }
    part = session.execute(_part_statement(_dialect(session)), params).one()
    if (part.asset_name, part.name) != (asset_name, part_name):
        raise Conflict(
            f"{asset_name}/{part_name} differs only in case from the existing "
            f"{part.asset_name}/{part.name}; use that spelling",
            field="part_name",
        )
    refuse_if_held(session, stream_id)
    return part


def lock_part(session: Session, part_id: int) -> None:
    """Lock a part's row for the rest of the transaction (SQLite: the write transaction's
    own lock), as `part_for` does: completions and latest changes of one part take turns.
    Raises Conflict if a lease holds the part's stream."""
    session.execute(select(PARTS.c.id).where(PARTS.c.id == part_id).with_for_update())
    refuse_if_part_held(session, part_id)


_LAST_COMPLETION = (
    select(PUBLISHES.c.published_seq)
    .where(PUBLISHES.c.part_id == bindparam("b_part_id"), PUBLISHES.c.published_seq.is_not(None))
    .order_by(PUBLISHES.c.published_seq.desc())
    .limit(1)
)


def next_completion(session: Session, part_id: int) -> int:
    """The completion number of a publish completing now: one more than the part's highest
    (one index seek). The caller holds the part's lock (`part_for`), so no other
    completion of the part can take the same number; 'latest' is the highest completed."""
    last = session.execute(_LAST_COMPLETION, {"b_part_id": part_id}).scalar()
    return (last or 0) + 1
