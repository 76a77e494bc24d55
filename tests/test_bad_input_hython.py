"""Bad input on the hython front end, run as the farm runs it (`python -m pm_houdini.batch`
with the fake hou, on SQLite and PostgreSQL): a Publish Part node whose asset is a Windows
device name, or holds text no database stores, exits 2 naming the field and writes nothing.
The other front ends: test_bad_input_fronts.py."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest

# The fake hou must be on sys.path (support does it) before pm_houdini imports hou.
from tests.fake_hou import support

# isort: split
from pm_houdini import save as pm_save

from tests.helpers import row_counts

houdini = support.houdini
launched = support.launched


@pytest.mark.parametrize(
    ("asset", "hint"), [("COM1", "device name"), ("aux", "device name"), ("Pinch\udcffIn", "only")]
)
def test_a_bad_asset_name_exits_2_and_writes_nothing(
    launched: Any, houdini: types.ModuleType, tmp_path: Path, asset: str, hint: str
) -> None:
    stage = houdini.node("/stage")
    source = stage.createNode("sphere", "particles01_src")
    node = stage.createNode("pm::publish_part::1.0", "particles01")
    node.setInput(0, source)
    node.parm("asset").set(asset)
    hip = pm_save.save_scene(scene_name="PinchIn").path
    before = row_counts(launched.db)
    args = ("publish", "--hip", hip, "--node", "/stage/particles01", "--json")
    done = support.run_batch(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    [job] = json.loads(done.stdout)["jobs"]
    assert (job["exit_code"], job["error"]["field"]) == (2, "asset"), job
    assert hint in job["error"]["message"]
    assert row_counts(launched.db) == before
