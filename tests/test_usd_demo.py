"""`pm demo` (the README's `make demo`) writes real USD layers and prints the composed asset, run
twice in a row (it carries on), on the fixture's database (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pm_db.db import Database
from tests.test_usd_support import REPO, composed_parts, process_env


def test_the_demo_publishes_layers_and_prints_the_composed_asset(
    db: Database, tmp_path: Path
) -> None:
    env = {**process_env(db), "PM_HOME": str(tmp_path / "demo")}
    outputs = [
        subprocess.run(
            [sys.executable, "-m", "pm_db", "demo"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        for _ in range(2)
    ]

    for done in outputs:
        assert done.returncode == 0, done.stderr
    lines = outputs[1].stdout.splitlines()
    (composed,) = [line for line in lines if line.startswith("composed")]
    asset_layer = composed.split()[1]
    assert asset_layer.startswith(str(tmp_path / "demo" / "show" / "FX3X"))
    assert asset_layer.endswith("/usd/PinchIn/PinchIn.usd")
    assert composed_parts(asset_layer) == {"debris01": (3, 1), "particles01": (3, 1)}
    assert any(line.split()[:2] == ["particles01", "v003"] for line in lines)
    (prims,) = [line for line in lines if line.strip().startswith("stage prims:")]
    assert sorted(prims.split(":", 1)[1].replace(",", " ").split()) == ["/debris01", "/particles01"]
