"""Recording one publish, and `latest_per_part` on a table of 1,000,000 publishes.

`python -m bench.publish [--rows 1000000] [--publishes 500]` on SQLite and PostgreSQL:
- record one publish (validate + allocate + insert + latest flip + event) through
  `publish_part`, the project_manager API's one-call form, from pre-saved scenes: median and p95;
- `latest_per_part` for one asset once the table holds `--rows` publishes (bulk-loaded:
  assets of 5 parts with 20 versions each), median, and the query plan.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bench.contention import prepare
from bench.pg import analyze, each_database
from pm_db import migrate, publishing
from pm_db.db import Database
from pm_db.models import Part, Publish, Scene, SceneStream, utcnow
from pm_db.services import publish_reads, scenes

PARTS_PER_ASSET = 5
VERSIONS_PER_PART = 20


def _timed(call: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _payload(task_id: int, scene: Any) -> dict[str, Any]:
    usd = f"{scene.path.rsplit('/', 1)[0]}/usd/PinchIn"
    v, i = scene.version, scene.iteration
    return {
        "task_id": task_id,
        "target_type": "shot",
        "target_id": 1,
        "software": "houdini",
        "source_version": v,
        "source_iteration": i,
        "item_usd_path": f"{usd}/particles01/data/particles01_v{v:03d}_i{i:03d}.usd",
        "asset_usd_path": f"{usd}/PinchIn.usd",
        "status": "published",
        "metadata": {"asset_name": "PinchIn", "part_name": "particles01"},
    }


def record_one_publish(db: Database, task_id: int, count: int) -> list[float]:
    """Milliseconds per `publish_part`, each from its own saved scene."""
    request = {"task_id": task_id, "artist": "jdoe", "scene_name": "PinchIn"}
    saved = [scenes.save_scene(db, request) for _ in range(count)]
    payloads = iter([_payload(task_id, scene) for scene in saved])
    return _timed(
        lambda: publishing.record_written(db, publishing.plan_written(db, None, next(payloads))),
        count,
    )


def bulk_load(db: Database, task_id: int, rows: int) -> None:
    """`rows` published publishes: assets asset_NNNNN of 5 parts x 20 versions each."""
    stream_id, scene_id, artist_id = db.read(
        lambda s: s.execute(
            select(SceneStream.id, Scene.id, Scene.artist_id)
            .join(Scene, Scene.stream_id == SceneStream.id)
            .limit(1)
        ).one()
    )
    assets = rows // (PARTS_PER_ASSET * VERSIONS_PER_PART)
    now = utcnow()

    def parts(session: Any) -> None:
        session.execute(
            insert(Part),
            [
                {
                    "stream_id": stream_id,
                    "asset_name": f"asset_{a:05d}",
                    "name": f"part{p}",
                    "withdrawn": False,
                    "created_at": now,
                }
                for a in range(assets)
                for p in range(PARTS_PER_ASSET)
            ],
        )

    db.write(parts)
    part_ids = db.read(
        lambda s: s.execute(
            select(Part.id, Part.asset_name, Part.name).where(Part.asset_name.like("asset_%"))
        ).all()
    )
    batch: list[dict[str, Any]] = []
    for number, (part_id, asset_name, name) in enumerate(part_ids):
        for version in range(1, VERSIONS_PER_PART + 1):
            relative = f"bulk/{asset_name}/{name}/{name}_v{version:03d}_i001.usd"
            batch.append(
                {
                    "publish_id": f"bulk-{number}-{version}",
                    "part_id": part_id,
                    "scene_id": scene_id,
                    "task_id": task_id,
                    "target_type": "shot",
                    "target_id": 1,
                    "software": "houdini",
                    "asset_name": asset_name,
                    "part_name": name,
                    "version": version,
                    "iteration": 1,
                    "item_usd_path": relative,
                    "part_usd_path": f"bulk/{asset_name}/{name}.usd",
                    "asset_usd_path": f"bulk/{asset_name}.usd",
                    "status": "published",
                    "is_latest": version == VERSIONS_PER_PART,
                    "published_seq": version,
                    "attempts": 1,
                    "metadata": {},
                    "created_by": artist_id,
                    "created_at": now,
                    "completed_at": now,
                }
            )
        if len(batch) >= 20_000:
            _insert_publishes(db, batch)
            batch = []
    _insert_publishes(db, batch)
    analyze(db)


def _insert_publishes(db: Database, rows: list[dict[str, Any]]) -> None:
    if rows:
        db.write(lambda session: session.execute(insert(Publish), rows))


def query_plan(db: Database, asset_name: str) -> str:
    """The database's plan for the latest_per_part query."""
    query = publish_reads.latest_query().params(b_asset_name=asset_name)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    with db.engine.connect() as conn:
        rows = conn.execute(text(prefix + str(compiled))).all()
    return "\n".join(" ".join(str(c) for c in row) for row in rows)


def run(label: str, url: str, rows: int, count: int) -> None:
    db = Database(url)
    migrate.upgrade(db)
    with tempfile.TemporaryDirectory() as root:
        task_id = prepare(url, Path(root) / "show")
        times = record_one_publish(db, task_id, count)
        print(
            f"{label}: record one publish: median {statistics.median(times):.2f} ms, "
            f"p95 {sorted(times)[int(len(times) * 0.95)]:.2f} ms over {count}"
        )
        started = time.perf_counter()
        bulk_load(db, task_id, rows)
        total = publish_reads.count_publishes(db)
        print(f"{label}: loaded {total} publishes in {time.perf_counter() - started:.0f} s")
        asset = f"asset_{rows // (PARTS_PER_ASSET * VERSIONS_PER_PART) // 2:05d}"
        latest = _timed(lambda: publish_reads.latest_per_part(db, asset), 300)
        found = len(publish_reads.latest_per_part(db, asset))
        print(
            f"{label}: latest_per_part({asset}) -> {found} parts: median "
            f"{statistics.median(latest):.3f} ms, p95 {sorted(latest)[284]:.3f} ms"
        )
        print(f"{label}: plan:\n{query_plan(db, asset)}")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--publishes", type=int, default=500)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    for label, url in each_database(args.pg):
        run(label, url, args.rows, args.publishes)


if __name__ == "__main__":
    main()
