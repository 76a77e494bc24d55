"""A publish on a part with 100,000 versions against the same on a new part.

`python -m bench.history [--versions 100000] [--publishes 200]` on SQLite and PostgreSQL:
one-call publishes (`publishing.record_written`: the record, then
`publishing.update_layers`: the layer update) of part `aged`, which holds `--versions`
completed versions bulk-loaded beforehand, and of part `fresh`, which starts empty,
taking turns so both see the machine in the same state. Medians of each, and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select, text, update

from bench.contention import prepare
from bench.layers import write_data_layer
from bench.pg import analyze, each_database
from pm_db import migrate, publishing
from pm_db.db import Database
from pm_db.models import Part, Publish
from pm_db.services import scenes
from pm_db.usd import compose

PUBLISHES = cast(Table, Publish.__table__)


def _payload(scene: Any, part: str, target_id: int) -> dict[str, Any]:
    usd = f"{scene.path.rsplit('/', 1)[0]}/usd/PinchIn"
    v, i = scene.version, scene.iteration
    return {
        "task_id": scene.task_id,
        "target_type": "shot",
        "target_id": target_id,
        "software": "houdini",
        "source_version": v,
        "source_iteration": i,
        "item_usd_path": f"{usd}/{part}/data/{part}_v{v:03d}_i{i:03d}.usd",
        "asset_usd_path": f"{usd}/PinchIn.usd",
        "status": "published",
        "metadata": {"asset_name": "PinchIn", "part_name": part},
    }


def _age(db: Database, part: str, versions: int) -> None:
    """`versions` completed publishes of `part` written straight into the table, older
    than every publish the benchmark makes."""

    def first(session: Any) -> dict[str, Any]:
        row = (
            session.execute(
                select(PUBLISHES).join(Part, Part.id == Publish.part_id).where(Part.name == part)
            )
            .mappings()
            .first()
        )
        return dict(row)

    model = db.read(first)
    db.write(
        lambda s: s.execute(
            update(PUBLISHES)
            .where(Publish.part_id == model["part_id"])
            .values(is_latest=False, published_seq=versions + 1)
        )
    )
    batch: list[dict[str, Any]] = []
    for n in range(versions):
        batch.append(
            {
                **{k: v for k, v in model.items() if k != "id"},
                "publish_id": str(uuid.uuid4()),
                "request_id": None,
                "version": 1000 + n,
                "iteration": 1,
                "published_seq": n + 1,
                "is_latest": False,
            }
        )
        if len(batch) == 20_000:
            _insert(db, batch)
            batch = []
    _insert(db, batch)
    analyze(db)


def _insert(db: Database, rows: list[dict[str, Any]]) -> None:
    if rows:
        db.write(lambda session: session.execute(insert(PUBLISHES), rows))


def run(label: str, url: str, versions: int, count: int) -> None:
    db = Database(url)
    migrate.upgrade(db)
    with tempfile.TemporaryDirectory() as root:
        task_id = prepare(url, Path(root) / "show")
        shot_id = db.read(lambda s: s.execute(text("SELECT id FROM shots")).scalar_one())

        def ready(part: str) -> dict[str, Any]:
            scene = scenes.save_scene(
                db, {"task_id": task_id, "artist": "jdoe", "scene_name": "PinchIn"}
            )
            payload = _payload(scene, part, shot_id)
            write_data_layer(payload["item_usd_path"], part)
            return payload

        for part in ("aged", "fresh"):
            publishing.publish_written(db, None, ready(part))
        started = time.perf_counter()
        _age(db, "aged", versions)
        seconds = time.perf_counter() - started
        print(f"{label}: {versions} versions of 'aged' loaded in {seconds:.0f} s")
        payloads = [(part, ready(part)) for _ in range(count) for part in ("aged", "fresh")]
        record: dict[str, list[float]] = {"aged": [], "fresh": []}
        both: dict[str, list[float]] = {"aged": [], "fresh": []}
        for part, payload in payloads:
            compose.clear_cache()
            plan = publishing.plan_written(db, None, payload)
            started = time.perf_counter()
            done = publishing.record_written(db, plan)
            recorded = time.perf_counter()
            publishing.update_layers(db, done)
            ended = time.perf_counter()
            record[part].append((recorded - started) * 1000)
            both[part].append((ended - started) * 1000)
        for name, times in (("record", record), ("record + layer update", both)):
            aged, fresh = statistics.median(times["aged"]), statistics.median(times["fresh"])
            print(
                f"{label}: {name}: new part {fresh:.2f} ms, part with {versions} versions "
                f"{aged:.2f} ms (ratio {aged / fresh:.2f}), median of {count} each"
            )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--publishes", type=int, default=200)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    for label, url in each_database(args.pg):
        run(label, url, args.versions, args.publishes)


if __name__ == "__main__":
    main()
