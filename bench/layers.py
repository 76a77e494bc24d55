"""Part and asset layer updates, and `pm usd rebuild --all` / `pm doctor` at volume.

`python -m bench.layers [--updates 100] [--assets 1000] [--parts 20]` on SQLite and
PostgreSQL:
- update after a publish: an asset of 50 parts, all published; each round publishes a
  new version of one part (reserve, write, verify, complete: not timed), then times the
  layer step alone (`publishing.update_layers`: lock, read the state, compose 51 layers,
  compare with disk, replace the part layer; the asset layer names no versions and
  stays); median and p95;
- `pm usd rebuild --all` over `--assets` x `--parts` bulk-loaded published parts (skipped
  with `--assets 0`), as a
  real command in a new process (start-up included): cold (no layer on disk), then warm
  (every layer already right, nothing written); then `pm doctor` over the same show.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bench.contention import prepare
from pm_db import migrate, publishing
from pm_db.db import Database
from pm_db.models import Part, Publish, Scene, SceneStream, Task, utcnow
from pm_db.services import scenes
from pm_db.usd import compose

ROOT = Path(__file__).resolve().parent.parent
PARTS_IN_ASSET = 50


def write_data_layer(path: str, part: str) -> None:
    """A small data layer with one prim, as a USD ROP would write it."""
    from pxr import Usd, UsdGeom

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    stage = Usd.Stage.CreateNew(path)
    UsdGeom.Points.Define(stage, f"/{part}").CreatePointsAttr([(0.0, 0.0, 0.0)])
    stage.GetRootLayer().Save()


def _publish(db: Database, task_id: int, part: str) -> Any:
    """Save a new iteration and publish `part` from it, up to (not including) layers."""
    scene = scenes.save_scene(db, {"task_id": task_id, "artist": "jdoe", "scene_name": "PinchIn"})
    request = {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": part}
    reserved = publishing.reserve(db, None, request)
    publishing.write(db, reserved, lambda path: write_data_layer(path, part))
    publishing.verify(db, reserved)
    return publishing.record_completion(db, reserved.id)


def update_after_publish(db: Database, task_id: int, rounds: int, fresh: bool) -> list[float]:
    """Milliseconds of the layer step after each of `rounds` publishes into a 50-part asset;
    `fresh`: as in a new process, with no part layer bytes kept from earlier rounds."""
    names = [f"part{n:02d}" for n in range(PARTS_IN_ASSET)]
    if not fresh:
        for name in names:
            publishing.update_layers(db, _publish(db, task_id, name))
    times = []
    for round_number in range(rounds):
        done = _publish(db, task_id, names[round_number % len(names)])
        if fresh:
            compose.clear_cache()
        started = time.perf_counter()
        publishing.update_layers(db, done)
        times.append((time.perf_counter() - started) * 1000)
    return times


def bulk_load(db: Database, task_id: int, assets: int, parts: int, root: Path) -> None:
    """`assets` scene folders with one asset of `parts` published parts each (one version),
    with their data layers on disk and no part or asset layer yet."""
    now = utcnow()
    project_id, artist_id = db.read(
        lambda s: s.execute(select(Task.project_id, Task.artist_id).where(Task.id == task_id)).one()
    )
    work = "sequences/SQ010/SH010/fx/houdini/scenes/jdoe"
    folders = [f"{work}/Bulk{a:04d}" for a in range(assets)]

    def streams(session: Any) -> None:
        session.execute(
            insert(SceneStream),
            [
                {
                    "project_id": project_id,
                    "key": f.casefold(),
                    "folder": f,
                    "version": 1,
                    "iteration": 1,
                }
                for f in folders
            ],
        )
        ids = dict(session.execute(select(SceneStream.folder, SceneStream.id)).all())
        session.execute(
            insert(Scene),
            [
                {
                    "stream_id": ids[f],
                    "task_id": task_id,
                    "artist_id": artist_id,
                    "software": "houdini",
                    "name": f.rsplit("/", 1)[1],
                    "version": 1,
                    "iteration": 1,
                    "path": f"{f}/{f.rsplit('/', 1)[1]}_v001_i001.hip",
                    "created_at": now,
                }
                for f in folders
            ],
        )
        session.execute(
            insert(Part),
            [
                {
                    "stream_id": ids[f],
                    "asset_name": f"Asset{a:04d}",
                    "name": f"part{p:02d}",
                    "withdrawn": False,
                    "created_at": now,
                }
                for a, f in enumerate(folders)
                for p in range(parts)
            ],
        )

    db.write(streams)
    rows = db.read(
        lambda s: s.execute(
            select(Part.id, Part.asset_name, Part.name, SceneStream.folder, Scene.id)
            .join(SceneStream, SceneStream.id == Part.stream_id)
            .join(Scene, Scene.stream_id == SceneStream.id)
            .where(Part.asset_name.like("Asset%"))
        ).all()
    )
    publishes = []
    for part_id, asset, name, folder, scene_id in rows:
        usd = f"{folder}/usd/{asset}"
        item = f"{usd}/{name}/data/{name}_v001_i001.usd"
        publishes.append(
            {
                "publish_id": str(uuid.uuid4()),
                "part_id": part_id,
                "scene_id": scene_id,
                "task_id": task_id,
                "target_type": "shot",
                "target_id": 1,
                "software": "houdini",
                "asset_name": asset,
                "part_name": name,
                "version": 1,
                "iteration": 1,
                "item_usd_path": item,
                "part_usd_path": f"{usd}/{name}/{name}.usd",
                "asset_usd_path": f"{usd}/{asset}.usd",
                "status": "published",
                "is_latest": True,
                "published_seq": 1,
                "attempts": 1,
                "metadata": {},
                "created_by": artist_id,
                "created_at": now,
                "completed_at": now,
            }
        )
        data = root / item
        data.parent.mkdir(parents=True, exist_ok=True)
        data.write_text(f'#usda 1.0\ndef Points "{name}"\n{{\n}}\n')
    for start in range(0, len(publishes), 10_000):
        db.write(functools.partial(_insert_publishes, publishes[start : start + 10_000]))
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _insert_publishes(rows: list[dict[str, Any]], session: Any) -> None:
    session.execute(insert(Publish), rows)


def pm_command(url: str, *argv: str) -> tuple[float, str]:
    """Seconds of wall-clock time of `pm ARGV --json` in a new process, and its output."""
    env = {**os.environ, "PM_DB_URL": url, "PM_PLATFORM": "linux", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pm_db", *argv, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pm {' '.join(argv)} failed: {done.stderr or done.stdout}")
    return seconds, " ".join(done.stdout.split())[:160]


def run(label: str, url: str, rounds: int, assets: int, parts: int) -> None:
    db = Database(url)
    migrate.upgrade(db)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "show"
        task_id = prepare(url, root)
        for fresh in (False, True):
            times = update_after_publish(db, task_id, rounds, fresh)
            case = "new process" if fresh else "long-lived process"
            print(
                f"{label}: layers after a publish, {PARTS_IN_ASSET}-part asset ({case}): "
                f"median {statistics.median(times):.2f} ms, "
                f"p95 {sorted(times)[int(len(times) * 0.95)]:.2f} ms over {rounds}"
            )
        if assets == 0:
            db.dispose()
            return
        started = time.perf_counter()
        bulk_load(db, task_id, assets, parts, root)
        print(
            f"{label}: loaded {assets} assets x {parts} parts in "
            f"{time.perf_counter() - started:.0f} s"
        )
        for case in ("cold", "warm"):
            seconds, summary = pm_command(url, "usd", "rebuild", "--all")
            print(f"{label}: pm usd rebuild --all ({case}): {seconds:.1f} s  {summary}")
        seconds, _ = pm_command(url, "doctor")
        print(f"{label}: pm doctor (no problem): {seconds:.1f} s")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=100)
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--parts", type=int, default=20)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    os.environ["PM_PLATFORM"] = "linux"
    from bench.pg import each_database

    for label, url in each_database(args.pg):
        run(label, url, args.updates, args.assets, args.parts)


if __name__ == "__main__":
    main()
