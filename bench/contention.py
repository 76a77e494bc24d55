"""Many OS processes saving and publishing to ONE scene stream and ONE part at once.

`python -m bench.contention` runs 8 processes x 100 (save + publish) on SQLite and on
PostgreSQL and prints duplicates, failures and the wall time. The tests run the same
workers with fewer operations (tests/test_concurrency.py).

Each worker waits for a start signal (so all start together), then for each operation
saves the next iteration (every tenth a version up), publishes `particles01` from that
scene with the original API's one-call payload, and re-sends the same payload once in a while to
prove a retry returns the first record. It prints one JSON line per operation. In the
`publish` mode the workers save their scenes before the signal, so the timed part is the
publishes alone (a part is published once per scene iteration, so every publish needs
its own saved iteration). The signal is given once every worker says it is ready, and the
time runs to the end of the last worker's last operation (wall clock, across processes):
imports, set-up and interpreter exit are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def worker(url: str, task_id: int, count: int, go: Path, mode: str) -> None:
    """One contending process; prints a JSON line per operation. Mode `save+publish`
    saves and publishes after the start signal; `publish` saves its scenes first and
    only publishes after it (to time publishes alone)."""
    from pm_db import publishing
    from pm_db.db import Database
    from pm_db.services import scenes

    db = Database(url)

    def save(index: int) -> Any:
        request = {
            "task_id": task_id,
            "artist": "jdoe",
            "scene_name": "PinchIn",
            "version_up": index % 10 == 9,
        }
        return scenes.save_scene(db, request)

    saved = [save(index) for index in range(count)] if mode == "publish" else []
    (go.parent / f"ready-{os.getpid()}").touch()
    while not go.exists():
        time.sleep(0.001)
    for index in range(count):
        scene = saved[index] if saved else save(index)
        payload = _payload(task_id, scene.path, scene.version, scene.iteration)
        published = publishing.record_written(db, publishing.plan_written(db, None, payload))
        if index % 7 == 3:
            retried = publishing.record_written(db, publishing.plan_written(db, None, payload))
            assert retried.id == published.id, "a retried publish made a second record"
        print(
            json.dumps(
                {
                    "scene": [scene.version, scene.iteration],
                    "publish_id": published.id,
                    "publish": [published.version, published.iteration],
                }
            ),
            flush=True,
        )
    (go.parent / f"finished-{os.getpid()}").write_text(repr(time.time()))


def _payload(task_id: int, scene_path: str, version: int, iteration: int) -> dict[str, Any]:
    folder = scene_path.rsplit("/", 1)[0]
    usd = f"{folder}/usd/PinchIn"
    return {
        "task_id": task_id,
        "target_type": "shot",
        "target_id": 1,
        "software": "houdini",
        "source_version": version,
        "source_iteration": iteration,
        "item_usd_path": f"{usd}/particles01/data/particles01_v{version:03d}_i{iteration:03d}.usd",
        "asset_usd_path": f"{usd}/PinchIn.usd",
        "status": "published",
        "metadata": {"asset_name": "PinchIn", "part_name": "particles01"},
    }


def prepare(url: str, root: Path) -> int:
    """A show with one shot task on an empty, migrated database; returns the task id."""
    from pm_db.db import Database
    from pm_db.services import entities

    db = Database(url)
    project = entities.create(
        db, "project", {"code": "FX3X", "name": "Contention", "root_linux": str(root)}
    )
    sequence = entities.create(db, "sequence", {"project_id": project.id, "code": "SQ010"})
    shot = entities.create(db, "shot", {"sequence_id": sequence.id, "code": "SH010"})
    artist = entities.create(db, "artist", {"login": "jdoe", "name": "Jane Doe"})
    task = entities.create(
        db,
        "task",
        {"target_type": "shot", "target_id": shot.id, "step": "fx", "artist_id": artist.id},
    )
    db.dispose()
    return int(task.id)


@dataclass
class Outcome:
    """What the contending processes reported."""

    lines: list[dict[str, Any]]
    failures: list[str]
    seconds: float


def contend(
    url: str, task_id: int, processes: int, count: int, mode: str = "save+publish"
) -> Outcome:
    """Start `processes` workers doing `count` operations each, all released together."""
    with tempfile.TemporaryDirectory() as folder:
        go = Path(folder) / "go"
        env = {**os.environ, "PM_PLATFORM": "linux", "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "bench.contention", "worker", url, str(task_id)]
        workers = [
            subprocess.Popen(
                [*command, str(count), str(go), mode],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=ROOT,
            )
            for _ in range(processes)
        ]
        _wait_ready(Path(folder), workers)
        started = time.time()
        go.touch()
        results = [w.communicate(timeout=600) for w in workers]
        ends = [float(f.read_text()) for f in Path(folder).glob("finished-*")]
        seconds = (max(ends) if ends else time.time()) - started
    lines = [json.loads(line) for out, _ in results for line in out.splitlines() if line]
    failures = [err for (_, err), w in zip(results, workers, strict=True) if w.returncode]
    return Outcome(lines, failures, seconds)


def _wait_ready(folder: Path, workers: list[subprocess.Popen[str]]) -> None:
    """Wait until every worker has started (and, in `publish` mode, saved its scenes), so
    that the timed part holds the contended operations only, not imports or set-up."""
    deadline = time.monotonic() + 600
    while len(list(folder.glob("ready-*"))) < len(workers):
        if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
            return  # a worker died early: its error is reported with the results
        time.sleep(0.01)


def _run(label: str, url: str, processes: int, count: int, mode: str) -> None:
    from pm_db import migrate
    from pm_db.db import Database
    from pm_db.services import admin

    database = Database(url)
    migrate.upgrade(database)
    admin.reset(database)
    with tempfile.TemporaryDirectory() as root:
        task_id = prepare(url, Path(root) / "show")
        outcome = contend(url, task_id, processes, count, mode)
    scenes = [tuple(line["scene"]) for line in outcome.lines]
    publishes = [line["publish_id"] for line in outcome.lines]
    print(
        f"{label}, {processes} processes x {count} ({mode}): "
        f"{len(outcome.lines)} done, {len(scenes) - len(set(scenes))} duplicate scene numbers, "
        f"{len(publishes) - len(set(publishes))} duplicate publishes, "
        f"{len(outcome.failures)} failed processes, {outcome.seconds:.2f} s wall "
        f"(from the start signal to the last operation), "
        f"{len(outcome.lines) / outcome.seconds:.0f} "
        f"{mode} operations/s"
    )
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    from bench.pg import each_database

    for mode in ("publish", "save+publish"):
        for label, url in each_database(args.pg):
            _run(label, url, args.processes, args.count, mode)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        url, task, count, go, mode = sys.argv[2:7]
        worker(url, int(task), int(count), Path(go), mode)
    else:
        main()
