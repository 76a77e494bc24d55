"""A storm, as a farm makes one: 8 processes publish new versions of four parts of one
asset and re-send completed requests, with and without request ids, while a reader
re-opens the asset layer with USD every few milliseconds. No part ever leaves the asset
layer, no request makes a second record, and at the end every part layer points at its
part's latest and doctor is clean. On SQLite and PostgreSQL, in real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pm_db import doctor, publishing
from pm_db.services import publish_reads
from tests.helpers import Studio, original_payload
from tests.test_publish_retries import composed_parts, part_points_at
from tests.test_usd_support import REPO, process_env, save, write_data_layer

PARTS = ("particles01", "debris01", "smoke01", "sparks01")
PROCESSES = 8
NEW_PER_PROCESS = 4

WORKER = """
import json, sys
from pm_db import publishing
from pm_db.db import open_database

db = open_database()
answers = {}
for payload in json.load(open(sys.argv[1])):
    done = publishing.publish_written(db, None, payload)
    key = payload["item_usd_path"]
    assert answers.setdefault(key, done.id) == done.id, "a retry made a second record"
print(json.dumps(answers))
"""


def _payload(studio: Studio, part: str, keyed: bool) -> dict[str, Any]:
    scene = save(studio)
    payload = {**original_payload(scene, part), "target_id": studio.shot_id}
    if keyed:
        payload["request_id"] = f"storm-{scene.id}-{part}"
    write_data_layer(payload["item_usd_path"], part)
    return payload


@pytest.mark.slow
def test_a_storm_of_publishes_and_retries_never_drops_a_part(
    studio: Studio, tmp_path: Path
) -> None:
    first = [publishing.publish_written(studio.db, None, _payload(studio, p, True)) for p in PARTS]
    asset_layer = first[0].asset_usd_path
    assert composed_parts(asset_layer) == set(PARTS)
    done_first = [
        {**original_payload(save_of(studio, p.scene_id), p.part_name), "target_id": studio.shot_id}
        for p in first
    ]
    plans = []
    for worker in range(PROCESSES):
        new = [
            _payload(studio, PARTS[(worker + n) % 4], n % 2 == 0) for n in range(NEW_PER_PROCESS)
        ]
        # Every new request is sent twice, and a completed one of the start once more.
        sends = [*new, done_first[worker % 4], *reversed(new)]
        path = tmp_path / f"worker{worker}.json"
        path.write_text(json.dumps(sends))
        plans.append(path)

    missing: list[set[str]] = []
    reads = [0]
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen = composed_parts(asset_layer)
            reads[0] += 1
            if seen != set(PARTS):
                missing.append(set(PARTS) - seen)
            time.sleep(0.005)

    watcher = threading.Thread(target=reader)
    watcher.start()
    try:
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(path)],
                env=process_env(studio.db),
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for path in plans
        ]
        outputs = [worker.communicate(timeout=600) for worker in workers]
    finally:
        stop.set()
        watcher.join()
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr

    assert reads[0] > 10
    assert missing == [], f"{len(missing)} of {reads[0]} reads missed a part"
    with studio.db.engine.connect() as conn:
        per_numbers = conn.execute(
            text("SELECT part_id, version, iteration, COUNT(*) FROM publishes GROUP BY 1, 2, 3")
        ).all()
        seqs = conn.execute(
            text("SELECT part_id, published_seq FROM publishes ORDER BY part_id, published_seq")
        ).all()
    assert all(count == 1 for *_, count in per_numbers)
    expected = len(PARTS) + PROCESSES * NEW_PER_PROCESS
    assert len(per_numbers) == expected
    by_part: dict[int, list[int]] = {}
    for part_id, seq in seqs:
        by_part.setdefault(part_id, []).append(seq)
    assert all(s == list(range(1, len(s) + 1)) for s in by_part.values()), "a gap"
    latest = publish_reads.latest_per_part(studio.db, "PinchIn")
    assert {p.part_name for p in latest} == set(PARTS)
    for publish in latest:
        assert part_points_at(publish.part_usd_path) == [publish.item_usd_path]
    assert doctor.examine(studio.db).problems == []


def save_of(studio: Studio, scene_id: int) -> Any:
    from pm_db.services import scenes

    return scenes.get_scene(studio.db, scene_id)
