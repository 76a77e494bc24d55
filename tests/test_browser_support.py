"""Shared builders for the browser and launcher tests: a show with saves and publishes
whose data layers are real USD files (no tests here)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pm_db import publishing

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pm_db import schemas
from pm_db.backend import LocalBackend
from pm_db.db import Database
from pm_db.services import scenes


def write_layer(path: str, prim: str) -> None:
    """A small valid USD data layer at `path` (what a USD ROP would render)."""
    from pxr import Sdf

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    layer = Sdf.Layer.CreateNew(path)
    Sdf.CreatePrimInLayer(layer, f"/{prim}").specifier = Sdf.SpecifierDef
    layer.Save()


def save(
    db: Database, task_id: int, scene: str = "PinchIn", artist: str = "jdoe", up: bool = False
) -> schemas.SceneOut:
    return scenes.save_scene(
        db, {"task_id": task_id, "artist": artist, "scene_name": scene, "version_up": up}
    )


def publish(
    db: Database,
    scene_id: int,
    asset: str,
    part: str,
    status: str = "published",
    metadata: dict[str, Any] | None = None,
) -> schemas.PublishOut:
    """A publish of `part` from a saved scene, ending `status` (pending, failed, published,
    deprecated), the way Houdini publishes: the data layer is written, then the backend
    completes it (and writes the part and asset layers)."""
    reserved = publishing.reserve(
        db,
        None,
        {"scene_id": scene_id, "asset_name": asset, "part_name": part, "metadata": metadata or {}},
    )
    if status == "pending":
        return reserved
    if status == "failed":
        return publishing.fail(db, None, reserved.id, "the ROP crashed")
    write_layer(reserved.item_usd_path, part)
    backend = LocalBackend(db=db)
    done = backend.complete_publish(reserved.id)
    if status == "deprecated":
        return backend.deprecate_publish(done.id)
    return done


def shot_history(db: Database, task_id: int, iterations: int = 3) -> list[schemas.PublishOut]:
    """`iterations` saves of PinchIn, each publishing particles01 and debris01."""
    made = []
    for _ in range(iterations):
        scene = save(db, task_id)
        for part in ("particles01", "debris01"):
            made.append(publish(db, scene.id, "PinchIn", part, metadata={"frames": [1001, 1100]}))
    return made
