"""Crash safety: a publishing process is killed with SIGKILL at each step of the lifecycle
(PM_FAULT fault-injection points, no sleeps), then `pm doctor --repair` runs, and the
database, the files and the layers must agree, with nothing published earlier lost.
On SQLite and PostgreSQL, in real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pm_db import faults
from pm_db.services import publish_reads
from pm_db.usd import layers
from tests.helpers import Studio, cli_document
from tests.test_usd_support import (
    REPO,
    composed_parts,
    process_env,
    publish,
    run_pm,
    save,
    snapshot,
)

PUBLISHER = """
import sys
from pm_db import publishing
from pm_db.db import open_database
from tests.test_usd_support import write_data_layer

part = sys.argv[2]
request = {"scene_id": int(sys.argv[1]), "asset_name": "PinchIn", "part_name": part}
publishing.publish(open_database(), None, request, lambda path: write_data_layer(path, part))
"""

COMPLETED_BEFORE = {"complete", "part-layer", "asset-layer"}
"""The points after which the publish is recorded as published."""


def _publish_in_a_process(studio: Studio, scene_id: int, part: str, fault: str | None) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PUBLISHER, str(scene_id), part],
        env=process_env(studio.db, fault),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, -signal.SIGKILL), done.stderr
    return done.returncode


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".pm-tmp")]


@pytest.mark.slow
@pytest.mark.parametrize("fault", faults.POINTS)
def test_a_publish_killed_at_any_step_is_repaired_by_doctor(studio: Studio, fault: str) -> None:
    earlier = publish(studio, "particles01")
    other = publish(studio, "debris01")
    kept = snapshot(earlier.item_usd_path, other.item_usd_path)
    scene = save(studio)
    # A new version of particles01 rewrites its part layer only; a new part also the
    # asset layer, which is where the asset-layer fault point lies.
    part = "smoke01" if fault == "asset-layer" else "particles01"

    assert _publish_in_a_process(studio, scene.id, part, fault) == -signal.SIGKILL

    (crashed,) = publish_reads.list_publishes(studio.db, scene_id=scene.id)
    completed = fault in COMPLETED_BEFORE
    assert crashed.status == ("published" if completed else "pending")

    repair = run_pm(studio.db, "doctor", "--repair", "--stale-after", "0", "--json")
    assert repair.returncode == 0, repair.stdout + repair.stderr
    check = run_pm(studio.db, "doctor", "--stale-after", "0", "--json")
    assert check.returncode == 0, check.stdout
    assert cli_document(check.stdout)["problems"] == []

    # Nothing published earlier was lost, and its files are untouched.
    for before in (earlier, other):
        assert publish_reads.get_publish(studio.db, before.id).status == "published"
    assert snapshot(earlier.item_usd_path, other.item_usd_path) == kept
    # The crashed publish is either complete and latest, or failed and repairable.
    after = publish_reads.get_publish(studio.db, crashed.id)
    assert after.status == ("published" if completed else "failed")
    assert after.is_latest == completed
    replaced = completed and part == "particles01"
    assert publish_reads.get_publish(studio.db, earlier.id).is_latest != replaced
    # Its data layer, if written, is still there: doctor never deletes a data file.
    assert Path(crashed.item_usd_path).exists() == (fault != "reserve")
    # The layers are exactly what the database gives, and compose.
    assert _temp_files(studio.root) == []
    assert layers.rebuild(studio.db).layers_written == 0
    before_crash = {"debris01": (1, 2), "particles01": (1, 1)}
    published = {**before_crash, part: (1, 3)}
    assert composed_parts(earlier.asset_usd_path) == (published if completed else before_crash)

    # A failed publish is repaired by simply publishing again from the same scene.
    assert _publish_in_a_process(studio, scene.id, part, None) == 0
    final = publish_reads.get_publish(studio.db, crashed.id)
    assert (final.status, final.is_latest) == ("published", True)
    assert composed_parts(earlier.asset_usd_path) == published
