"""Small helpers the tests share: row counts (to prove nothing was written) and payloads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from pm_db import schemas
from pm_db.db import Database
from pm_db.models import Base


def row_counts(db: Database) -> dict[str, int]:
    """Rows per table: compare before and after a refused request."""

    def work(session: Any) -> dict[str, int]:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }

    return db.read(work)


def original_payload(
    scene: Any, part: str = "particles01", asset: str = "PinchIn"
) -> dict[str, Any]:
    """The original API's one-call publish payload for `part` of `asset` from a saved scene."""
    folder = scene.path.rsplit("/", 1)[0]
    usd = f"{folder}/usd/{asset}"
    v, i = scene.version, scene.iteration
    return {
        "task_id": scene.task_id,
        "target_type": "shot",
        "target_id": 1,
        "software": "houdini",
        "source_version": v,
        "source_iteration": i,
        "item_usd_path": f"{usd}/{part}/data/{part}_v{v:03d}_i{i:03d}.usd",
        "asset_usd_path": f"{usd}/{asset}.usd",
        "status": "published",
        "metadata": {"asset_name": asset, "part_name": part},
    }


@dataclass
class Studio:
    """A small show: one project with a shot task and an asset task for one artist."""

    db: Database
    root: Path
    project_id: int
    sequence_id: int
    shot_id: int
    asset_id: int
    artist_id: int
    artist: str
    shot_task_id: int
    asset_task_id: int


def record_one_call(db: Database, payload: object) -> schemas.PublishOut:
    """The record of a one-call publish (steps 1 and 4) without its file checks and layers:
    what the records alone do with a project_manager request."""
    from pm_db import publishing

    return publishing.record_written(db, publishing.plan_written(db, None, payload))


def cli_document(out: str) -> Any:
    """What `pm ... --json` printed: the `data` of a success envelope, or the whole error
    envelope (docs/cli.md, "Output")."""
    import json

    document = json.loads(out)
    assert isinstance(document, dict) and isinstance(document.get("ok"), bool), document
    return document["data"] if document["ok"] else document
