"""Reading publishes: one by id, the version history, and the latest of every part of an
asset. Each read is its own transaction (or one statement); none shares one with a write
(those are pm_db.services.publishes, composed by pm_db.publishing)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from pm_db import schemas
from pm_db.db import Database
from pm_db.errors import ValidationError
from pm_db.models import Artist, Project, Publish, Task
from pm_db.services import publishes
from pm_db.services.context import root_for
from pm_db.services.publishes import PUBLISHES


def get_publish(db: Database, ref: int | str) -> schemas.PublishOut:
    """One publish by id or publish_id; raises NotFound."""
    return db.read(lambda session: publishes.output(session, publishes.find(session, ref)))


def _listing() -> Any:
    return (
        select(
            PUBLISHES,
            Project.code.label("project_code"),
            Project.root_linux,
            Project.root_windows,
            Project.root_mac,
            Artist.login,
        )
        .join(Task, Task.id == PUBLISHES.c.task_id)
        .join(Project, Project.id == Task.project_id)
        .join(Artist, Artist.id == PUBLISHES.c.created_by)
    )


def _outs(rows: Iterable[Any]) -> list[schemas.PublishOut]:
    """The output models of listing rows (see _listing)."""
    roots: dict[tuple[str, ...], str] = {}
    out = []
    for row in rows:
        key = (row.project_code, row.root_linux, row.root_windows, row.root_mac)
        root = roots.get(key)
        if root is None:
            root = roots[key] = root_for(_Roots(row))
        out.append(publishes.publish_out(row._mapping, root, row.login))
    return out


class _Roots:
    """A listing row seen as its project's roots (no ORM object per row)."""

    def __init__(self, row: Any) -> None:
        self.code: str = row.project_code
        self.root_linux: str | None = row.root_linux
        self.root_windows: str | None = row.root_windows
        self.root_mac: str | None = row.root_mac


def latest_per_part(
    db: Database, asset_name: str, project_id: int | None = None, task_id: int | None = None
) -> list[schemas.PublishOut]:
    """The latest publish of every part of an asset, in one query (project_manager's
    `latest_per_part=1`). Pending, failed and deprecated publishes are never latest."""
    query = latest_query(project_id is not None, task_id is not None)
    params = {"b_asset_name": asset_name, "b_project_id": project_id, "b_task_id": task_id}
    return _outs(db.rows(query, params))


@lru_cache(maxsize=4)
def latest_query(by_project: bool = False, by_task: bool = False) -> Any:
    """The one set-based query behind latest_per_part (also shown by the benchmark), with
    the parameters b_asset_name, and b_project_id and b_task_id if filtered by them."""
    query = (
        _listing()
        .where(
            PUBLISHES.c.asset_name == bindparam("b_asset_name"),
            PUBLISHES.c.is_latest.is_(True),
        )
        .order_by(PUBLISHES.c.part_name, PUBLISHES.c.part_id)
    )
    if by_project:
        query = query.where(Task.project_id == bindparam("b_project_id"))
    if by_task:
        query = query.where(PUBLISHES.c.task_id == bindparam("b_task_id"))
    return query


def list_publishes(
    db: Database,
    asset_name: str | None = None,
    part_name: str | None = None,
    task_id: int | None = None,
    part_id: int | None = None,
    scene_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[schemas.PublishOut]:
    """Publishes newest first (version history), filtered by asset, part, task, status."""
    if status is not None and status not in schemas.PUBLISH_STATUSES:
        raise ValidationError(f"must be one of {', '.join(schemas.PUBLISH_STATUSES)}", "status")
    if not 1 <= limit <= 10_000 or offset < 0:
        raise ValidationError("must be 1 to 10000 (offset 0 or more)", field="limit")
    filters = (
        (PUBLISHES.c.asset_name, asset_name),
        (PUBLISHES.c.part_name, part_name),
        (PUBLISHES.c.task_id, task_id),
        (PUBLISHES.c.part_id, part_id),
        (PUBLISHES.c.scene_id, scene_id),
        (PUBLISHES.c.status, status),
    )

    def work(session: Session) -> list[schemas.PublishOut]:
        query = _listing().order_by(
            PUBLISHES.c.version.desc(), PUBLISHES.c.iteration.desc(), PUBLISHES.c.id.desc()
        )
        for column, value in filters:
            if value is not None:
                query = query.where(column == value)
        return _outs(session.execute(query.limit(limit).offset(offset)))

    return db.read(work)


def count_publishes(db: Database) -> int:
    """How many publish records exist, in any status."""
    return db.read(lambda s: s.scalar(select(func.count()).select_from(Publish)) or 0)
