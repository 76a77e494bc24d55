"""SIGKILL on the paths artists and farms really run, at each named step and at random
moments: a hython batch job (the fake hou standing in for Houdini's), the one-call
publish, and a shelf-style publish. Afterwards `pm doctor --repair` leaves a clean show,
and the killed job, run again, finishes without taking a new number."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.fake_hou import support

# isort: split
from pm_houdini import save as pm_save

from tests.helpers import Studio, cli_document, original_payload
from tests.test_publish_retries import composed_parts
from tests.test_usd_support import REPO, process_env, publish, run_pm, save, write_data_layer

houdini = support.houdini
launched = support.launched

ONE_CALL = """
import json, sys
from pm_db import publishing
from pm_db.db import open_database

done = publishing.publish_written(open_database(), None, json.load(open(sys.argv[1])))
print(done.id)
"""

SHELF = """
import sys
from pm_db import publishing
from pm_db.db import open_database
from tests.test_usd_support import write_data_layer

request = {"scene_id": int(sys.argv[1]), "asset_name": "PinchIn", "part_name": "smoke01",
           "request_id": "shelf-" + sys.argv[1]}
publishing.publish(open_database(), None, request, lambda p: write_data_layer(p, "smoke01"))
"""


def numbers(studio: Studio) -> list[tuple[Any, ...]]:
    """(part, version, iteration) of every publish, read with plain SQL."""
    with studio.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT parts.name, version, iteration FROM publishes "
                "JOIN parts ON parts.id = publishes.part_id ORDER BY 1, 2, 3"
            )
        ).all()
    return [tuple(row) for row in rows]


def repaired_and_clean(studio: Studio) -> None:
    repair = run_pm(studio.db, "doctor", "--repair", "--stale-after", "0", "--json")
    assert repair.returncode == 0, repair.stdout + repair.stderr
    check = run_pm(studio.db, "doctor", "--stale-after", "0", "--json")
    assert check.returncode == 0, check.stdout
    assert cli_document(check.stdout)["problems"] == []


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["reserve", "verify", "complete", "part-layer"])
def test_a_batch_job_killed_at_a_step_is_repaired_and_its_rerun_takes_no_number(
    launched: Any, houdini: types.ModuleType, tmp_path: Path, fault: str
) -> None:
    studio: Studio = launched
    stage = houdini.node("/stage")
    node = stage.createNode("pm::publish_part::1.0", "particles01")
    node.setInput(0, stage.createNode("sphere", "particles01_src"))
    node.parm("asset").set("PinchIn")
    hip = pm_save.save_scene(scene_name="PinchIn").path
    args = ("publish", "--hip", hip, "--node", "/stage/particles01", "--json")

    killed = support.run_batch(*args, cwd=tmp_path, env=support.batch_env({"PM_FAULT": fault}))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    repaired_and_clean(studio)
    before = numbers(studio)

    rerun = support.run_batch(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    [job] = json.loads(rerun.stdout)["jobs"]
    assert numbers(studio) == before == [("particles01", 1, 1)]
    assert composed_parts(job["publish"]["asset_usd_path"]) == {"particles01"}
    repaired_and_clean(studio)


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["complete", "part-layer", "asset-layer"])
def test_a_one_call_publish_killed_at_a_step_is_repaired_and_resent(
    studio: Studio, tmp_path: Path, fault: str
) -> None:
    earlier = publish(studio, "particles01")
    payload = {**original_payload(save(studio), "debris01"), "target_id": studio.shot_id}
    write_data_layer(payload["item_usd_path"], "debris01")
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload))

    def send(fault: str | None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", ONE_CALL, str(path)],
            env=process_env(studio.db, fault),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert send(fault).returncode == -signal.SIGKILL
    repaired_and_clean(studio)
    before = numbers(studio)
    again = send(None)
    assert again.returncode == 0, again.stderr
    assert numbers(studio) == before
    assert composed_parts(earlier.asset_usd_path) == {"particles01", "debris01"}
    repaired_and_clean(studio)


@pytest.mark.slow
def test_publishes_killed_at_random_moments_are_repaired_and_finish(studio: Studio) -> None:
    publish(studio, "particles01")
    chance = random.Random(20261206)
    for _ in range(4):
        scene = save(studio)

        def start(scene_id: int = scene.id) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [sys.executable, "-c", SHELF, str(scene_id)],
                env=process_env(studio.db),
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

        victim = start()
        time.sleep(chance.uniform(0.3, 3.0))
        victim.kill()
        victim.communicate()
        repaired_and_clean(studio)
        finisher = start()
        _, stderr = finisher.communicate(timeout=300)
        assert finisher.returncode == 0, stderr
        rows = [n for n in numbers(studio) if n[0] == "smoke01"]
        assert rows.count(("smoke01", scene.version, scene.iteration)) == 1
        repaired_and_clean(studio)
