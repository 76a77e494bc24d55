"""What the USD layer, lifecycle, parts, doctor and crash tests share: saves, real data
layers written with pxr, publishes through the lifecycle, and the CLI.

No tests here; the test_usd_*, test_lifecycle*, test_parts*, test_doctor* and test_crash*
modules import it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pm_db import publishing, schemas
from pm_db.cli import main
from pm_db.db import Database
from pm_db.services import scenes
from tests.helpers import Studio, cli_document

REPO = Path(__file__).resolve().parent.parent


def save(studio: Studio, scene: str = "PinchIn", version_up: bool = False) -> schemas.SceneOut:
    """The next save of `scene` in the studio's shot task."""
    return scenes.save_scene(
        studio.db,
        {
            "task_id": studio.shot_task_id,
            "artist": studio.artist,
            "scene_name": scene,
            "version_up": version_up,
        },
    )


def write_data_layer(path: str, prim: str = "points") -> None:
    """A small real data layer, as a USD ROP would write it: one Points prim."""
    from pxr import Usd, UsdGeom

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    stage = Usd.Stage.CreateNew(path)
    points = UsdGeom.Points.Define(stage, f"/{prim}")
    points.CreatePointsAttr([(0.0, 0.0, 0.0), (1.0, 2.0, 3.0)])
    stage.SetDefaultPrim(points.GetPrim())
    stage.GetRootLayer().Save()


def publish(
    studio: Studio, part: str, asset: str = "PinchIn", scene: schemas.SceneOut | None = None
) -> schemas.PublishOut:
    """Save a new iteration (unless `scene` is given) and publish `part` from it through
    every lifecycle step, with a data layer holding the prim `/<part>`."""
    source = scene or save(studio)
    request = {"scene_id": source.id, "asset_name": asset, "part_name": part}
    return publishing.publish(studio.db, None, request, lambda path: write_data_layer(path, part))


def reserve(studio: Studio, part: str, asset: str = "PinchIn") -> schemas.PublishOut:
    """A pending publish of `part` from a new save."""
    scene = save(studio)
    return publishing.reserve(
        studio.db, None, {"scene_id": scene.id, "asset_name": asset, "part_name": part}
    )


def sublayers(path: str) -> list[str]:
    """The sublayer paths written in the layer at `path`, as written."""
    from pxr import Sdf

    layer = Sdf.Layer.OpenAsAnonymous(path)
    assert layer is not None, f"{path} does not open as USD"
    return list(layer.subLayerPaths)


def provenance(path: str) -> dict[str, Any]:
    """pm's metadata in the layer at `path`."""
    from pxr import Sdf

    layer = Sdf.Layer.OpenAsAnonymous(path)
    assert layer is not None, f"{path} does not open as USD"
    return dict(layer.customLayerData["pm"])


def composed_parts(asset_layer: str) -> dict[str, tuple[int, int]]:
    """Part name -> (version, iteration) as a Usd.Stage opened on the asset layer sees it."""
    from pm_db.usd.resolve import resolve_asset_layer

    return {p.part: (p.version, p.iteration) for p in resolve_asset_layer(asset_layer).parts}


def snapshot(*paths: str) -> dict[str, bytes | None]:
    """The bytes of each file (None if missing), to prove nothing changed."""
    return {p: Path(p).read_bytes() if Path(p).exists() else None for p in paths}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Run `pm ARGV --json` in this process: (exit code, parsed stdout, stderr)."""
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, cli_document(out) if out.strip() else None, err


def run_pm(db: Database, *argv: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m pm_db ARGV` in a new process on `db`."""
    return subprocess.run(
        [sys.executable, "-m", "pm_db", *argv],
        env=process_env(db, fault),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def process_env(db: Database, fault: str | None = None) -> dict[str, str]:
    """The environment of a child process working on `db` (PM_FAULT set if given)."""
    env = {**os.environ, "PM_DB_URL": db.url, "PM_PLATFORM": "linux"}
    env.pop("PM_FAULT", None)
    if fault is not None:
        env["PM_FAULT"] = fault
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env
