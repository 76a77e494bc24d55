"""The record of DCC launches: who started which application on which task, where."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from pm_db import schemas
from pm_db.db import Database
from pm_db.errors import NotFound
from pm_db.models import Event, Task
from pm_db.services import events
from pm_db.services.events import EventOut
from pm_db.services.scenes import artist_by_login


class LaunchIn(schemas.In):
    """One launch of a DCC for a task, recorded after the process started."""

    task_id: schemas.Id
    artist: schemas.Login
    dcc: schemas.LowerName
    executable: Annotated[str, Field(min_length=1, max_length=1024)]
    pid: Annotated[int, Field(ge=1, strict=True)]
    host: Annotated[str, Field(max_length=255)] | None = None


def record_launch(db: Database, data: object) -> EventOut:
    """Append a `dcc.launched` event for the task; raises ValidationError, NotFound (task or
    artist)."""
    launch = schemas.parse(LaunchIn, data)

    def work(session: Session) -> EventOut:
        if session.get(Task, launch.task_id) is None:
            raise NotFound(f"no task with id {launch.task_id}", field="task_id")
        artist = artist_by_login(session, launch.artist)
        events.record(
            session,
            "dcc.launched",
            "task",
            launch.task_id,
            artist.id,
            {"dcc": launch.dcc, "executable": launch.executable, "pid": launch.pid},
            host=launch.host,
        )
        # events.record does not hand back the row; this transaction's own insert is the
        # newest launch event of this task from this process id.
        mine = session.scalars(
            select(Event)
            .where(Event.kind == "dcc.launched", Event.entity_id == launch.task_id)
            .order_by(Event.id.desc())
            .limit(20)
        )
        return next(EventOut.model_validate(e) for e in mine if e.payload.get("pid") == launch.pid)

    return db.write(work)
