"""uiready.py: pm's database stack is loaded on a background thread once Houdini's UI is
ready, without touching the database, and never disturbs Houdini when it fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sqlalchemy", "pydantic", "pm_db.services.browse")

CHILD = """
import json, runpy, sys, threading
runpy.run_path(sys.argv[1])
started = [t for t in threading.enumerate() if t.name == "pm-preload"]
for thread in started:
    thread.join(60)
heavy = [name for name in sys.argv[2:] if name in sys.modules]
print(json.dumps({"threads": len(started), "heavy": heavy}))
"""


def run_uiready(tmp_path: Path, version: str, **env: str) -> tuple[dict[str, object], str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT / f"python{version}libs" / "uiready.py"), *HEAVY],
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "python3.10libs"), str(ROOT)]),
            "PM_HOME": str(tmp_path / "pm-home"),
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.mark.parametrize("version", ["3.10", "3.11"])
def test_uiready_loads_the_database_stack_in_the_background(tmp_path: Path, version: str) -> None:
    found, _ = run_uiready(tmp_path, version)
    assert found == {"threads": 1, "heavy": list(HEAVY)}
    assert not (tmp_path / "pm-home" / "pm.sqlite").exists()


def test_pm_preload_0_switches_it_off(tmp_path: Path) -> None:
    found, _ = run_uiready(tmp_path, "3.10", PM_PRELOAD="0")
    assert found == {"threads": 0, "heavy": []}


def test_a_broken_setting_is_only_logged(tmp_path: Path) -> None:
    found, stderr = run_uiready(tmp_path, "3.10", PM_ENV="staging-typo")
    assert found["threads"] == 1
    assert "pm could not preload its database stack" in stderr and "PM_ENV" in stderr
