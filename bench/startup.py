"""What Houdini pays at start-up for pm, measured with `python -X importtime`.

`python -m bench.startup [--runs 15]`

Houdini runs no script of pm's while it starts (the package has no pythonrc.py, ready.py,
123.py or 456.py: tests/test_houdini_files.py keeps it so); it reads the package file, the
shelf XML and the HDA's index. So the Python cost at start-up is zero. Once the UI is up,
Houdini runs pm's uiready.py, which starts the background preload of the database stack
(pm_houdini.preload): its cost on the UI thread is measured here, in fresh processes.
Then the next thing an artist pays: the imports of the first click on a shelf tool or the
HDA's button, before any database work (`pm_houdini.shelf`, `pm_houdini.hda`, and
`pm_houdini.batch` for hython). Each is imported in a fresh process with `-X importtime`;
the figure is the cumulative time of pm's own top-level imports (Houdini's `hou`, here the
test fake, is left out), median over the runs. The run also checks that none of them
imports SQLAlchemy, pydantic, pxr, alembic, psycopg or Qt, which would cost hundreds of
milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGETS = ("pm_houdini", "pm_houdini.shelf", "pm_houdini.hda", "pm_houdini.batch")
HEAVY = ("sqlalchemy", "pydantic", "pxr", "alembic", "psycopg", "psycopg2", "PySide6", "PySide2")
BUDGET_MS = 30.0


def environment() -> dict[str, str]:
    env = dict(os.environ)
    paths = [REPO / "tests" / "fake_hou", REPO / "python3.10libs", REPO]
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    return env


def import_cost_ms(target: str) -> tuple[float, float, list[str]]:
    """(pm's own modules' self time, everything `target` pulls in, heavy modules seen) for
    importing `target` in a fresh process where `hou` is already imported."""
    code = f"import hou, sys, {target}; print(','.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    own_us = total_us = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        self_us, cumulative, raw_name = line[len("import time:") :].split("|")
        if not cumulative.strip().isdigit():
            continue  # the header line
        name = raw_name.strip()
        if name.split(".")[0] in ("pm_houdini", "pm_db"):
            own_us += int(self_us)
            if len(raw_name) - len(raw_name.lstrip()) <= 1:  # a top-level import
                total_us += int(cumulative)
    modules = done.stdout.strip().split(",")
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    return own_us / 1000.0, total_us / 1000.0, heavy


UIREADY = """
import runpy, sys, time
started = time.perf_counter()
runpy.run_path(sys.argv[1])
print((time.perf_counter() - started) * 1000)
"""


def uiready_cost_ms() -> float:
    """Milliseconds until python3.10libs/uiready.py returns in a fresh process (the
    preload thread it starts keeps running)."""
    done = subprocess.run(
        [sys.executable, "-c", UIREADY, str(REPO / "python3.10libs" / "uiready.py")],
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO / "python3.10libs"), str(REPO)]),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    startup_scripts = [
        p
        for pattern in ("python3.*libs/*", "scripts/*")
        for p in REPO.glob(pattern)
        if p.name in ("pythonrc.py", "ready.py", "123.py", "456.py")
    ]
    print(f"start-up scripts in the package: {len(startup_scripts)} (Python run at start-up: 0 ms)")
    uiready = [uiready_cost_ms() for _ in range(args.runs)]
    print(
        f"uiready.py on the UI thread (starts the background preload): median "
        f"{statistics.median(uiready):.1f} ms, max {max(uiready):.1f} ms"
    )
    print(f"{'first click imports':<20} {'pm self ms':>10} {'all ms':>7} {'max':>6}  heavy")
    for target in TARGETS:
        own: list[float] = []
        total: list[float] = []
        heavy: list[str] = []
        for _ in range(args.runs):
            mine, everything, heavy = import_cost_ms(target)
            own.append(mine)
            total.append(everything)
        print(
            f"{target:<20} {statistics.median(own):>10.1f} {statistics.median(total):>7.1f} "
            f"{max(total):>6.1f}  {', '.join(heavy) or 'none'}"
        )
    print(
        f"budget {BUDGET_MS:.0f} ms is for what Houdini loads at start-up: 0 ms. 'all' counts the "
        "standard library modules a bare interpreter has not loaded yet (Houdini has most)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
