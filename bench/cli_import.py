"""`pm task import tasks.csv` of 100,000 tasks, the command a studio runs, end to end.

`python -m bench.cli_import [--tasks 100000] [--only sqlite|postgresql]` makes a show on a
fresh database of each kind (1 project, 100 sequences, `--tasks / 10` shots, 200 artists,
imported with `pm ... import` from CSV files), writes a CSV of the tasks naming their
shot (`SQ0010/SH0010`) and artist by code, then times the `pm` process that imports it
(start-up, reading, code look-ups, checks, inserts, events: everything the user waits
for), and a second run of the same file, refused whole on its first duplicate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.pg import scratch_database
from pm_db import migrate
from pm_db.db import Database

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
STEPS = ("fx", "anim", "layout", "light", "comp", "cfx", "env", "matchmove", "roto", "paint")
SEQUENCES = 100
ARTISTS = 200
RESULTS = Path(__file__).resolve().parent / "results"


def write_files(folder: Path, tasks: int) -> None:
    shots = tasks // len(STEPS)
    per_sequence = max(1, shots // SEQUENCES)
    names = [(f"SQ{s:04d}", f"SH{k:04d}") for s in range(SEQUENCES) for k in range(per_sequence)]
    (folder / "sequences.csv").write_text(
        "project,code\n" + "".join(f"BNCH,SQ{s:04d}\n" for s in range(SEQUENCES))
    )
    (folder / "shots.csv").write_text(
        "project,sequence,code\n" + "".join(f"BNCH,{q},{h}\n" for q, h in names)
    )
    (folder / "artists.csv").write_text(
        "login,name\n" + "".join(f"artist{a:03d},Artist {a}\n" for a in range(ARTISTS))
    )
    rows = [
        f"BNCH,{q}/{h},{step},artist{(i * 7 + j) % ARTISTS:03d}\n"
        for i, (q, h) in enumerate(names)
        for j, step in enumerate(STEPS)
    ]
    (folder / "tasks.csv").write_text("project,shot,step,artist\n" + "".join(rows[:tasks]))


def pm(folder: Path, env: dict[str, str], *argv: str) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pm_db", *argv], cwd=folder, env=env, capture_output=True, text=True
    )
    return round(time.perf_counter() - started, 2), done.returncode, done.stderr.strip()


def run(url: str, tasks: int, folder: Path) -> dict[str, Any]:
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    env = {**os.environ, "PM_DB_URL": url}
    env.pop("PM_API_URL", None)
    setup = (
        ["project", "create", "--code", "BNCH", "--name", "Bench", "--root-linux", "/show/BNCH"],
        ["sequence", "import", "sequences.csv"],
        ["shot", "import", "shots.csv"],
        ["artist", "import", "artists.csv"],
    )
    for argv in setup:
        seconds, code, err = pm(folder, env, *argv, "--json")
        assert code == 0, err
    seconds, code, err = pm(folder, env, "task", "import", "tasks.csv", "--json")
    assert code == 0, err
    again, refused, message = pm(folder, env, "task", "import", "tasks.csv", "--json")
    assert refused == 4, message
    return {
        "dialect": "sqlite" if url.startswith("sqlite") else "postgresql",
        "tasks": tasks,
        "seconds": seconds,
        "per_second": round(tasks / seconds),
        "refused_seconds": again,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_files(folder, args.tasks)
        if args.only in (None, "sqlite"):
            results.append(run(f"sqlite:///{folder / 'bench.sqlite'}", args.tasks, folder))
        if args.only in (None, "postgresql"):
            with scratch_database(args.pg_admin_url) as url:
                results.append(run(url, args.tasks, folder))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cli_import.json").write_text(json.dumps(results, indent=2))
    print("| Database | `pm task import` of 100,000 tasks (CSV) | refused re-run |")
    print("| --- | --- | --- |")
    for r in results:
        print(
            f"| {r['dialect']} | {r['seconds']} s ({r['per_second']:,} tasks/s) | "
            f"{r['refused_seconds']} s |"
        )


if __name__ == "__main__":
    main()
