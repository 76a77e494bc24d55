"""The shelf Save's overhead beyond writing the hip file, on SQLite and PostgreSQL.

`python -m bench.shelf_save [--saves 200] [--pg-admin-url URL]`

Runs `pm_houdini.shelf.save()` (Save: next iteration) the way an artist's click does:
find the open scene's record (after the first save it is known to the session), take
the next number in a database transaction, create the folder, write the hip file. The
hip file is written by the fake `hou` of the tests (Houdini is not here); the time spent
inside `hou.hipFile.save` is measured separately and subtracted, so the figure is pm's
own overhead: what the artist waits for on top of Houdini writing the scene. The first
save of the session (first import of SQLAlchemy and pydantic, the database connection:
the show is set up by another process) is reported on its own; for PostgreSQL, measured
second in the same process, "first" is the new connection only. Target: under 20 ms
(median, warm).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG = os.environ.get("PM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def fake_hou() -> types.ModuleType:
    """The tests' fake hou, standing in for Houdini's own module."""
    sys.path.insert(0, str(REPO / "tests" / "fake_hou"))
    return importlib.import_module("hou")


def set_up_show(db_url: str, root: Path) -> int:
    """Migrate the database and create one shot task for artist jdoe; returns its id."""
    from bench.contention import prepare
    from pm_db import migrate
    from pm_db.db import Database

    db = Database(db_url)
    migrate.upgrade(db)
    db.dispose()
    return prepare(db_url, root)


def measure(db_url: str, saves: int) -> dict[str, float]:
    """Save `saves` iterations through the shelf; overhead per save in milliseconds."""
    hou = fake_hou()
    with tempfile.TemporaryDirectory(prefix="pm-bench-") as tmp:
        # A separate process sets the show up, so this one meets SQLAlchemy and pydantic
        # for the first time at the first click, as Houdini does.
        done = subprocess.run(
            [sys.executable, "-m", "bench.shelf_save", "--set-up", db_url, str(Path(tmp) / "show")],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        task_id = int(done.stdout.strip())
        os.environ.update({"PM_DB_URL": db_url, "PM_TASK_ID": str(task_id), "PM_ARTIST": "jdoe"})
        os.environ["PM_PLATFORM"] = "linux"
        os.chdir(tmp)
        hou._reset()
        hou.node("/stage").createNode("sphere", "rock")
        inside = _time_hip_writes(hou)

        from pm_houdini import shelf

        first = _timed(lambda: shelf.save_as("PinchIn"), inside)
        samples = [_timed(shelf.save, inside) for _ in range(saves)]
        from pm_db.db import open_database

        open_database().dispose()
    samples.sort()
    return {
        "first": first,
        "median": statistics.median(samples),
        "p95": samples[int(len(samples) * 0.95) - 1],
        "hip_write": statistics.median(inside["all"]),
    }


def _time_hip_writes(hou: types.ModuleType) -> dict[str, Any]:
    """Wrap the fake's hipFile.save to record how long the hip write itself takes."""
    original = hou.hipFile.save
    state: dict[str, Any] = {"last": 0.0, "all": []}

    def save(file_name: str | None = None, save_to_recent_files: bool = True) -> None:
        start = time.perf_counter()
        original(file_name, save_to_recent_files)
        state["last"] = time.perf_counter() - start
        state["all"].append(state["last"] * 1000.0)

    hou.hipFile.save = staticmethod(save)
    return state


def _timed(action: Any, inside: dict[str, Any]) -> float:
    inside["last"] = 0.0
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    if result is None:
        raise RuntimeError("the shelf save failed; see the log above")
    return (elapsed - float(inside["last"])) * 1000.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--set-up", nargs=2, metavar=("DB_URL", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.set_up:
        print(set_up_show(args.set_up[0], Path(args.set_up[1])))
        return 0
    print(f"{'database':<11} {'first ms':>9} {'median ms':>10} {'p95 ms':>7} {'hip write':>10}")
    with tempfile.TemporaryDirectory(prefix="pm-bench-db-") as tmp:
        runs = [("SQLite", f"sqlite:///{Path(tmp) / 'pm.sqlite'}")]
        for name, url in runs:
            _report(name, measure(url, args.saves))
    if not args.sqlite_only:
        from bench.pg import scratch_database

        with scratch_database(args.pg_admin_url) as url:
            _report("PostgreSQL", measure(url, args.saves))
    return 0


def _report(name: str, figures: dict[str, float]) -> None:
    print(
        f"{name:<11} {figures['first']:>9.1f} {figures['median']:>10.2f} "
        f"{figures['p95']:>7.2f} {figures['hip_write']:>10.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())
