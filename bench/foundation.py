"""The foundation at studio size: 100,000 tasks and 100,000 saved scenes, then lookups.

`python -m bench.foundation [--tasks 100000] [--scenes 100000] [--only sqlite|postgresql]`
builds a show on a fresh database of each kind, all through the service layer:
- 100 sequences, `--tasks / 10` shots and 200 artists with `entities.create_many`;
- the tasks with `entities.create_many` in imports of 10,000 (ten steps per shot, each
  assigned to an artist), as a studio importing its task list would;
- the scenes with `scenes.save_scene`, one call and one transaction each, as artists
  save (every fifth a version-up), spread over the first tasks ten saves each;
- 200 single `entities.create` calls, the one-at-a-time path of the CLI and the REST API.
Then it times the lookups the tools make (by id, by code, tasks of an artist, pages of a
project's tasks, scenes of a task and of an artist, a scene by its path) and prints one
Markdown table per database; figures in milliseconds, median and p95 of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.pg import scratch_database
from pm_db import migrate
from pm_db.db import Database
from pm_db.services import entities, scenes

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
STEPS = ("fx", "anim", "layout", "light", "comp", "cfx", "env", "matchmove", "roto", "paint")
ARTISTS = 200
SEQUENCES = 100
IMPORT_BATCH = 10_000
SAVES_PER_TASK = 10
RESULTS = Path(__file__).resolve().parent / "results"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _timed(call: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Median and p95 milliseconds of `repeat` calls, after one warm-up call."""
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    times.sort()
    return {
        "median_ms": _ms(statistics.median(times)),
        "p95_ms": _ms(times[int(len(times) * 0.95) - 1]),
    }


def build_show(db: Database, tasks: int, saves: int) -> dict[str, Any]:
    """Create the show through the services; returns ids and the creation figures."""
    figures: dict[str, Any] = {}
    project = entities.create(
        db, "project", {"code": "BENCH", "name": "Bench", "root_linux": "/show/BENCH"}
    )
    sequences = entities.create_many(
        db, "sequence", [{"project_id": project.id, "code": f"SQ{n:03}0"} for n in range(SEQUENCES)]
    )
    shot_count = max(1, tasks // len(STEPS))
    shots = entities.create_many(
        db,
        "shot",
        [
            {"sequence_id": sequences[n % SEQUENCES].id, "code": f"SH{n // SEQUENCES:04}0"}
            for n in range(shot_count)
        ],
    )
    artists = entities.create_many(
        db, "artist", [{"login": f"artist{n:03}", "name": f"Artist {n}"} for n in range(ARTISTS)]
    )
    items = [
        {
            "target_type": "shot",
            "target_id": shot.id,
            "step": step,
            "artist_id": artists[(index * len(STEPS) + s) % ARTISTS].id,
        }
        for index, shot in enumerate(shots)
        for s, step in enumerate(STEPS)
    ][:tasks]
    started = time.perf_counter()
    created: list[Any] = []
    for start in range(0, len(items), IMPORT_BATCH):
        created += entities.create_many(db, "task", items[start : start + IMPORT_BATCH])
    elapsed = time.perf_counter() - started
    figures["tasks"] = {
        "count": len(created),
        "seconds": round(elapsed, 2),
        "per_second": round(len(created) / elapsed),
    }

    login = {a.id: a.login for a in artists}
    started = time.perf_counter()
    latencies = []
    saved: list[Any] = []
    for n in range(saves):
        task = created[(n // SAVES_PER_TASK) % len(created)]
        request = {
            "task_id": task.id,
            "artist": login[task.artist_id],
            "scene_name": "Main",
            "version_up": n % 5 == 4,
        }
        before = time.perf_counter()
        saved.append(scenes.save_scene(db, request))
        latencies.append(time.perf_counter() - before)
    elapsed = time.perf_counter() - started
    latencies.sort()
    figures["scenes"] = {
        "count": len(saved),
        "seconds": round(elapsed, 2),
        "per_second": round(len(saved) / elapsed),
        "median_ms": _ms(statistics.median(latencies)),
        "p95_ms": _ms(latencies[int(len(latencies) * 0.95) - 1]),
    }

    single = []
    for n in range(200):
        payload = {"target_type": "shot", "target_id": shots[n].id, "step": "qc"}
        before = time.perf_counter()
        entities.create(db, "task", payload)
        single.append(time.perf_counter() - before)
    figures["create_one_task"] = {"median_ms": _ms(statistics.median(single))}
    show = {
        "project": project,
        "sequences": sequences,
        "shots": shots,
        "artists": artists,
        "tasks": created,
        "scenes": saved,
    }
    return {"figures": figures, "show": show}


def lookups(db: Database, show: dict[str, Any], repeat: int) -> dict[str, dict[str, float]]:
    """Median and p95 of each lookup the tools make, with random targets."""
    pick = random.Random(7)
    project = show["project"]
    tasks, shots, artists, saved = show["tasks"], show["shots"], show["artists"], show["scenes"]
    sequence_of = {s.id: s for s in show["sequences"]}
    busy = tasks[: max(1, len(saved) // SAVES_PER_TASK)]

    def shot_by_code() -> Any:
        shot = pick.choice(shots)
        return entities.find(db, "shot", shot.code.lower(), sequence_id=shot.sequence_id)

    def deep_page() -> Any:
        offset = max(0, len(tasks) - 1000)
        return entities.list_(db, "task", project_id=project.id, limit=1000, offset=offset)

    return {
        "task by id": _timed(lambda: entities.get(db, "task", pick.choice(tasks).id), repeat),
        "project by code": _timed(lambda: entities.find(db, "project", "bench"), repeat),
        "sequence by code": _timed(
            lambda: entities.find(
                db, "sequence", pick.choice(list(sequence_of.values())).code, project_id=project.id
            ),
            repeat,
        ),
        "shot by code": _timed(shot_by_code, repeat),
        "artist by login": _timed(
            lambda: entities.find(db, "artist", pick.choice(artists).login), repeat
        ),
        "tasks of an artist (all, ~500)": _timed(
            lambda: entities.list_(db, "task", artist_id=pick.choice(artists).id), repeat
        ),
        "tasks of a shot": _timed(
            lambda: entities.list_(db, "task", shot_id=pick.choice(shots).id), repeat
        ),
        "project tasks, first page of 1000": _timed(
            lambda: entities.list_(db, "task", project_id=project.id, limit=1000), repeat
        ),
        "project tasks, last page of 1000": _timed(deep_page, repeat),
        "scene by id": _timed(lambda: scenes.get_scene(db, pick.choice(saved).id), repeat),
        "scenes of a task": _timed(
            lambda: scenes.list_scenes(db, task_id=pick.choice(busy).id), repeat
        ),
        "scenes of an artist (newest 200)": _timed(
            lambda: scenes.list_scenes(db, artist=pick.choice(artists).login), repeat
        ),
        "scene by file path": _timed(
            lambda: scenes.find_scene_by_path(db, pick.choice(saved).path), repeat
        ),
        "row counts (pm db info)": _timed(lambda: entities.counts(db), max(10, repeat // 10)),
    }


def run(url: str, tasks: int, saves: int, repeat: int) -> dict[str, Any]:
    database = Database(url)
    migrate.upgrade(database)
    built = build_show(database, tasks, saves)
    result = {
        "dialect": database.dialect,
        **built["figures"],
        "lookups": lookups(database, built["show"], repeat),
    }
    database.dispose()
    return result


def markdown(result: dict[str, Any]) -> str:
    """One database's figures as the Markdown of docs/benchmarks.md."""
    tasks, saved = result["tasks"], result["scenes"]
    lines = [
        f"**{result['dialect']}**",
        "",
        "| Operation | Figure |",
        "| --- | --- |",
        f"| create {tasks['count']:,} tasks (`create_many`, imports of {IMPORT_BATCH:,}) | "
        f"{tasks['seconds']} s, {tasks['per_second']:,} tasks/s |",
        f"| save {saved['count']:,} scenes (`save_scene`, one transaction each) | "
        f"{saved['seconds']} s, {saved['per_second']:,} saves/s; "
        f"median {saved['median_ms']} ms, p95 {saved['p95_ms']} ms |",
        f"| create one task (`create`) | median {result['create_one_task']['median_ms']} ms |",
        "",
        f"| Lookup ({tasks['count']:,} tasks, {saved['count']:,} scenes) | median ms | p95 ms |",
        "| --- | --- | --- |",
    ]
    for name, figure in result["lookups"].items():
        lines.append(f"| {name} | {figure['median_ms']} | {figure['p95_ms']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--scenes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=300, help="runs of each lookup")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    args = parser.parse_args()
    results = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
            results.append(run(url, args.tasks, args.scenes, args.repeat))
    if args.only in (None, "postgresql"):
        with scratch_database(args.pg_admin_url) as url:
            results.append(run(url, args.tasks, args.scenes, args.repeat))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "foundation.json").write_text(json.dumps(results, indent=2))
    for result in results:
        print(markdown(result), end="\n\n")


if __name__ == "__main__":
    main()
