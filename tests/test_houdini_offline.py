"""Houdini offline (docs/offline.md): with PM_OFFLINE the shelf's save and the hython
batch's publish go into the checkout, with the studio's next numbers and paths, while the
studio refuses the same stream; the check-in brings both home. On SQLite and PostgreSQL
studios (the `db` fixture), the checkout on SQLite."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.fake_hou import support

# isort: split
from pm_houdini import save as pm_save

from pm_db.cli import main
from pm_db.errors import Conflict
from tests.helpers import Studio, cli_document

houdini = support.houdini
launched = support.launched


def pm(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main([*argv, "--json"])
    return code, cli_document(capsys.readouterr().out)


def studio_publishes(studio: Studio) -> list[tuple[Any, ...]]:
    with studio.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT parts.name, version, iteration, status, item_usd_path FROM publishes "
                "JOIN parts ON parts.id = publishes.part_id ORDER BY 2, 3"
            )
        )
        return [tuple(row) for row in rows]


def test_the_shelf_and_the_batch_work_in_the_checkout(
    launched: Any,
    houdini: types.ModuleType,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    studio: Studio = launched
    first = pm_save.save_scene(scene_name="PinchIn")
    laptop = tmp_path / "laptop.sqlite"
    code, out = pm(
        capsys, "offline", "checkout", "--task", str(studio.shot_task_id), "--to", str(laptop)
    )
    assert code == 0, out

    with pytest.raises(Conflict, match="checked out to jdoe"):
        pm_save.save_scene(scene_name="PinchIn")
    monkeypatch.setenv("PM_OFFLINE", str(laptop))
    stage = houdini.node("/stage")
    node = stage.createNode("pm::publish_part::1.0", "particles01")
    node.setInput(0, stage.createNode("sphere", "particles01_src"))
    node.parm("asset").set("PinchIn")
    hip = pm_save.save_scene(scene_name="PinchIn").path
    assert hip == first.path.replace("_v001_i001.", "_v001_i002.")
    done = support.run_batch(
        "publish",
        "--hip",
        hip,
        "--node",
        "/stage/particles01",
        "--json",
        cwd=tmp_path,
        env=support.batch_env({"PM_OFFLINE": str(laptop)}),
    )
    assert done.returncode == 0, done.stderr
    [job] = json.loads(done.stdout)["jobs"]
    assert (job["publish"]["version"], job["publish"]["iteration"]) == (1, 2)
    assert studio_publishes(studio) == []

    monkeypatch.delenv("PM_OFFLINE")
    code, report = pm(capsys, "offline", "checkin", "--from", str(laptop))
    assert code == 0 and (report["scenes"], report["publishes"]) == (1, 1), report
    relative = job["publish"]["item_usd_path"][len(str(studio.root)) + 1 :]
    assert studio_publishes(studio) == [("particles01", 1, 2, "published", relative)]
    assert pm_save.save_scene(scene_name="PinchIn").path.endswith("PinchIn_v001_i003.hip")
