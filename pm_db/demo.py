"""`pm demo` (and `make demo`): save a work file twice, version up, and publish USD parts,
on the configured database (SQLite under $PM_HOME by default, ./.pm-demo with `make demo`).

Each part goes through the publish pipeline (reserve, write the data layer, verify,
complete, update the part and asset layers), so real USD files land under the demo show
root; the composed asset layer is then opened with `pxr.Usd.Stage` and its parts printed
with the versions they resolve to.

Run it again and it carries on: the numbers go on from where the database left them.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pm_db import migrate, publishing
from pm_db.db import open_database
from pm_db.errors import ConfigError, NotFound
from pm_db.numbers import label as numbers_label
from pm_db.services import entities, publish_reads, scenes

Say = Callable[[str], None]


def _get_or_create(db: Any, kind: str, key: str, values: dict[str, Any], **scope: int) -> Any:
    try:
        return entities.find(db, kind, key, **scope)
    except NotFound:
        return entities.create(db, kind, values)


def _write_stand_in_hip(path: str) -> None:
    """Houdini writes the hip file; the demo leaves a small stand-in at the same path."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("# stand-in for a Houdini scene saved by the pm demo\n")


def _write_data_layer(path: str, part: str) -> None:
    """The data layer a USD ROP would render: one prim per part, with a few points."""
    from pxr import Sdf, Usd, UsdGeom

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    stage = Usd.Stage.CreateNew(path)
    points = UsdGeom.Points.Define(stage, f"/{part}")
    points.CreatePointsAttr([(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)])
    stage.SetDefaultPrim(points.GetPrim())
    stage.GetRootLayer().customLayerData = {"pm_demo": True}
    stage.GetRootLayer().Save()
    assert Sdf.Layer.FindOrOpen(path) is not None


def run(say: Say) -> dict[str, Any]:
    """Run the demo, telling each step to `say`; returns what it made. Raises PmError."""
    if importlib.util.find_spec("pxr") is None:
        raise ConfigError(
            "the demo writes USD layers and needs pxr: pip install 'pm-pipeline[usd]'",
            field="usd-core",
        )
    db = open_database()
    migrate.upgrade(db)
    home = Path(os.environ.get("PM_HOME") or Path.home() / ".pm")
    say(f"database  {db.masked_url}")
    project = _get_or_create(
        db,
        "project",
        "FX3X",
        {
            "code": "FX3X",
            "name": "Demo show",
            "root_linux": str(home / "show" / "FX3X"),
            "root_mac": str(home / "show" / "FX3X"),
            "root_windows": "P:/FX3X",
        },
    )
    sequence = _get_or_create(
        db, "sequence", "SQ010", {"project_id": project.id, "code": "SQ010"}, project_id=project.id
    )
    shot = _get_or_create(
        db, "shot", "SH010", {"sequence_id": sequence.id, "code": "SH010"}, sequence_id=sequence.id
    )
    artist = _get_or_create(db, "artist", "jdoe", {"login": "jdoe", "name": "Jane Doe"})
    task = _get_or_create(
        db,
        "task",
        "fx",
        {"target_type": "shot", "target_id": shot.id, "step": "fx", "artist_id": artist.id},
        shot_id=shot.id,
    )
    save = {"task_id": task.id, "artist": "jdoe", "scene_name": "PinchIn"}
    saved = []
    for request in (save, save, {**save, "version_up": True}):
        scene = scenes.save_scene(db, request)
        _write_stand_in_hip(scene.path)
        saved.append(scene.path)
        say(f"saved     {numbers_label(scene.version, scene.iteration)}  {scene.path}")

    published = []
    for part in ("particles01", "debris01"):
        request = {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": part}
        done = publishing.publish(
            db, None, request, functools.partial(_write_data_layer, part=part)
        )
        published.append(done.item_usd_path)
        say(
            f"published {done.part_name} {numbers_label(done.version, done.iteration)}  "
            f"{done.item_usd_path}"
        )

    say("latest per part of PinchIn:")
    for latest in publish_reads.latest_per_part(db, "PinchIn", project_id=project.id):
        say(
            f"  {latest.part_name:<12} {numbers_label(latest.version, latest.iteration)}  "
            f"{latest.part_usd_path}"
        )
    _say_composed(done.asset_usd_path, say)
    return {
        "database": db.masked_url,
        "saved": saved,
        "published": published,
        "asset_layer": done.asset_usd_path,
    }


def _say_composed(asset_layer: str, say: Say) -> None:
    """The asset layer as downstream sees it: opened with Usd.Stage, part by part."""
    from pm_db.usd.resolve import resolve_asset_layer

    asset = resolve_asset_layer(asset_layer)
    folder = os.path.dirname(asset.layer)
    say(f"composed  {asset.layer}  (opened with pxr.Usd.Stage)")
    for part in asset.parts:
        say(
            f"  {part.part:<12} {numbers_label(part.version, part.iteration)} ({part.state})  "
            f"prims {', '.join(part.prims)}  <- {os.path.relpath(part.data_layer, folder)}"
        )
    say(f"  stage prims: {', '.join(asset.prims)}")
