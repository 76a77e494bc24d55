"""A publish recorded by pm beside a version created by the issue's reference, in one run.

`python -m bench.reference [--publishes 300] [--rounds 3]` on SQLite and PostgreSQL, in
rounds: pm records `--publishes` one-call publishes (as `bench.publish` does), then the
reference, Stalker 1.1.2.1 (an open-source, SQLAlchemy-based asset manager), creates as
many versions of one task, each `Version(task=..., created_by=...)`, added and committed,
set up as its tutorial shows. Medians, and how many times faster pm is.

This machine changes speed by phases of minutes, so a figure measured on another day
cannot be compared with one measured today; the two are measured here one after the
other. Stalker runs in a virtualenv of its own, `.venv-reference` (made on first use:
`python3 -m venv .venv-reference && .venv-reference/bin/pip install stalker==1.1.2.1
psycopg2-binary`), in a child process: `reference.py stalker URL COUNT` prints the
milliseconds of each version as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_VENV = ROOT / ".venv-reference"
REFERENCE_PACKAGES = ["stalker==1.1.2.1", "psycopg2-binary"]


def stalker_versions(url: str, count: int) -> list[float]:
    """Milliseconds per version Stalker creates on one task of a new project at `url`
    (runs under the reference's interpreter)."""
    import stalker.db.setup
    from stalker import (
        FilenameTemplate,
        Project,
        Repository,
        Structure,
        Task,
        User,
        Version,
    )
    from stalker.db.session import DBSession

    stalker.db.setup.setup({"sqlalchemy.url": url})
    stalker.db.setup.init()
    user = User(name="Jane Doe", login="jdoe", email="jdoe@example.com", password="secret")
    repository = Repository(name="Show", code="SHOW", linux_path="/mnt/show/")
    template = FilenameTemplate(
        name="Task Template",
        target_entity_type="Task",
        path="$REPO{{project.repository.code}}/{{project.code}}/"
        "{%- for p in parent_tasks -%}{{p.nice_name}}/{%- endfor -%}",
        filename='{{version.nice_name}}_v{{"%03d"|format(version.version_number)}}',
    )
    project = Project(
        name="Contention",
        code="FX3X",
        repositories=[repository],
        structure=Structure(name="Show", templates=[template]),
    )
    task = Task(name="fx", project=project, created_by=user)
    DBSession.add_all([user, repository, template, project, task])
    DBSession.commit()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        DBSession.add(Version(task=task, created_by=user))
        DBSession.commit()
        times.append((time.perf_counter() - started) * 1000)
    DBSession.remove()
    return times


def reference_python() -> Path:
    """The reference's interpreter, its virtualenv made first if missing."""
    python = REFERENCE_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(REFERENCE_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *REFERENCE_PACKAGES], check=True
        )
    return python


def reference_median(python: Path, url: str, count: int) -> float:
    """Median milliseconds of a version created by the reference on a new database."""
    if url.startswith("postgresql://"):
        # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; Stalker ships psycopg2.
        url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    done = subprocess.run(
        [str(python), __file__, "stalker", url, str(count)],
        check=True,
        capture_output=True,
        text=True,
    )
    times: list[float] = json.loads(done.stdout.splitlines()[-1])
    return statistics.median(times)


def pm_median(url: str, count: int) -> float:
    """Median milliseconds of a one-call publish pm records on a new database."""
    from bench.contention import prepare
    from bench.publish import record_one_publish
    from pm_db import migrate
    from pm_db.db import Database

    db = Database(url)
    migrate.upgrade(db)
    with tempfile.TemporaryDirectory() as root:
        times = record_one_publish(db, prepare(url, Path(root) / "show"), count)
    db.dispose()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--publishes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    from bench.pg import each_database

    python = reference_python()
    for number in range(1, args.rounds + 1):
        pm = {label: pm_median(url, args.publishes) for label, url in each_database(args.pg)}
        reference = {
            label: reference_median(python, url, args.publishes)
            for label, url in each_database(args.pg)
        }
        for label, ms in pm.items():
            print(
                f"round {number}, {label}: pm {ms:.2f} ms, reference {reference[label]:.2f} ms: "
                f"pm {reference[label] / ms:.1f}x faster",
                flush=True,
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["stalker"]:
        print(json.dumps(stalker_versions(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
