"""What the asset browser and the launcher read (pydantic models), apart from the queries
that fill them (pm_db.services.browse): a remote backend parses them without importing
the database stack."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class BrowseNode(BaseModel):
    """One row of the browser's tree. Which fields are set depends on `kind`:

    project (name: code, info: title), sequence, shot (info: frame range), asset (info:
    asset type), usd_asset (path: asset layer; info: step, artist/scene), part (path: part
    layer; version/status: the publish in use, pinned or latest), publish (path: data
    layer; the source scene, the stable layer paths, metadata). `children` is how many
    rows the next level holds (for a part: its versions).
    """

    key: str
    parent: str | None
    kind: str
    name: str
    project: str
    info: str = ""
    children: int = 0
    version: str | None = None
    status: str | None = None
    artist: str | None = None
    time: datetime | None = None
    path: str | None = None
    latest: bool = False
    pinned: bool = False
    withdrawn: bool = False
    part_id: int | None = None
    publish_id: int | None = None
    publish_uid: str | None = None
    asset_name: str | None = None
    part_name: str | None = None
    pinned_version: str | None = None
    scene_id: int | None = None
    scene_name: str | None = None
    scene_version: int | None = None
    scene_iteration: int | None = None
    scene_path: str | None = None
    part_path: str | None = None
    asset_path: str | None = None
    completed_at: datetime | None = None
    error: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class TaskRow(BaseModel):
    """A task as the launcher lists it: where it is (project, shot or asset) and its state.
    `target` is None for a task whose shot or asset cannot be found."""

    id: int
    name: str
    step: str
    status: str
    project_id: int
    project: str
    project_name: str
    target_type: str | None
    target_id: int | None
    target: str | None
    target_info: str = ""
    artist: str | None = None
