"""`pm farm template`: the submission as an Open Job Description job template, checked by
`openjd check` and run end to end on this machine by `openjd run` (openjd-cli): the
render step renders the ROP for each frame and the publish step runs pm's batch, both in
the stand-in hython (this Python with the fake hou), on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tests.fake_hou import support
from tests.farm_support import farm_env, farm_scene, stand_in_bin
from tests.helpers import cli_document

# isort: split
from pm_db.errors import ValidationError
from pm_db.farm import openjd
from pm_db.services import publish_reads

houdini = support.houdini
launched = support.launched
OPENJD = str(Path(sys.executable).with_name("openjd"))


def openjd_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENJD, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )


def test_the_template_validates_and_runs_render_then_publish_with_openjd(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = farm_scene(houdini)
    env = farm_env(stand_in_bin(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "pm_db", "farm", "template", "--hip", hip,
         "--node", "/stage/particles01", "--render", "/out/cache", "--render-frames", "1", "2",
         "--out", str(tmp_path / "ojd"), "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = cli_document(done.stdout)
    template = Path(answer["template"])
    assert answer["steps"] == ["render out_cache", "publish PinchIn-particles01"]

    checked = openjd_cli("check", str(template), env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    cache = Path(hip).parent / "cache" / "cache.usd"
    run = ["run", str(template), "--step", "publish PinchIn-particles01", "--run-dependencies"]
    ran = openjd_cli(*run, env=env, cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert cache.is_file()  # the render step ran first
    [publish] = publish_reads.list_publishes(launched.db)
    assert (publish.part_name, publish.status) == ("particles01", "published")
    assert Path(publish.item_usd_path).is_file()

    # The whole job again (a retried job): the publish step finds the first record.
    again = openjd_cli(*run, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already_published" in again.stdout
    assert [p.publish_id for p in publish_reads.list_publishes(launched.db)] == [publish.publish_id]


def test_a_failing_publish_fails_the_openjd_run(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = farm_scene(houdini)
    env = farm_env(stand_in_bin(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "pm_db", "farm", "template", "--hip", hip,
         "--node", "/stage/particles01", "--out", str(tmp_path / "ojd"), "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shutil.move(hip, hip + ".moved")  # the farm finds no hip file: the batch exits 3
    ran = openjd_cli("run", cli_document(done.stdout)["template"], env=env, cwd=tmp_path)
    assert ran.returncode != 0
    assert publish_reads.list_publishes(launched.db) == []


def test_validate_refuses_a_template_openjd_model_refuses() -> None:
    template = {"specificationVersion": openjd.SPECIFICATION, "name": "pm", "steps": []}
    with pytest.raises(ValidationError) as error:
        openjd.validate(template)
    assert error.value.field == "template"
