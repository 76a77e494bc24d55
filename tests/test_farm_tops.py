"""pm_houdini.tops: publishing TOP work items' USD outputs through pm, with a stand-in of
PDG's work item API whose names are checked against SideFX's documentation, on SQLite
and PostgreSQL. A real TOP network's cook is not run here (docs/farm.md)."""

from __future__ import annotations

import inspect
import types
from pathlib import Path
from typing import Any

import pytest
from pxr import Usd, UsdGeom

from tests import fake_pdg
from tests.fake_hou import support

# isort: split
from pm_houdini import save as pm_save
from pm_houdini import tops

from pm_db.errors import PmError, ValidationError
from pm_db.services import publish_reads

houdini = support.houdini
launched = support.launched

# pdg.WorkItem, pdg.File and pdg.Node members as SideFX documents them
# (https://www.sidefx.com/docs/houdini/tops/pdg/WorkItem.html, File.html, Node.html):
# method -> parameter names; properties -> None.
DOCUMENTED = {
    "WorkItem": {
        "name": None,
        "index": None,
        "node": None,
        "frame": None,
        "inputFiles": None,
        "setStringAttrib": ["name", "value", "index"],
        "setIntAttrib": ["name", "value", "index"],
        "stringAttribValue": ["name", "index"],
        "intAttribValue": ["name", "index"],
    },
    "File": {"path": None, "tag": None},
    "Node": {"name": None},
}
STAND_IN_ONLY = {"attributes"}  # the stand-in's own storage, never used by pm_houdini


def test_the_stand_in_uses_only_documented_pdg_names() -> None:
    for class_name, members in DOCUMENTED.items():
        cls = getattr(fake_pdg, class_name)
        fields = set(getattr(cls, "__dataclass_fields__", {}))
        public = {n for n in vars(cls) if not n.startswith("_")} | fields
        assert public - STAND_IN_ONLY <= set(members), public - set(members)
        for name, parameters in members.items():
            if parameters is None:
                continue
            signature = inspect.signature(getattr(cls, name))
            assert list(signature.parameters)[1:] == parameters, (class_name, name)
    used = {n for n in vars(tops.WorkItem) if not n.startswith("_")}
    assert used <= set(DOCUMENTED["WorkItem"]), used - set(DOCUMENTED["WorkItem"])


def usd_file(path: Path, prim: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.Xform.Define(stage, prim)
    stage.GetRootLayer().Save()
    return str(path)


def work_item(index: int, *files: str, **attributes: str) -> fake_pdg.WorkItem:
    item = fake_pdg.WorkItem(
        name=f"ropusd1_{index + 7}",
        index=index,
        node=fake_pdg.Node("ropusd1"),
        inputFiles=[fake_pdg.File(f) for f in files],
    )
    for name, value in attributes.items():
        item.setStringAttrib(name, value)
    return item


def test_each_work_item_publishes_its_output_once_even_when_cooked_again(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = pm_save.save_scene(scene_name="PinchIn").path
    items = [
        work_item(i, usd_file(tmp_path / "tops" / f"rock{i}.usd", f"/rock{i}"), pm_part=f"rock0{i}")
        for i in range(2)
    ]
    first = [tops.publish_work_item(item, hip=hip, asset="Rocks") for item in items]
    for item, publish in zip(items, first, strict=True):
        assert publish.status == "published"
        assert item.intAttribValue("pm_publish_id") == publish.publish_id
        assert item.stringAttribValue("pm_item_usd_path") == publish.item_usd_path
        assert item.intAttribValue("pm_version") == 1 and item.intAttribValue("pm_iteration") == 1
        copied = Usd.Stage.Open(publish.item_usd_path)
        assert [str(p.GetPath()) for p in copied.Traverse()] == [f"/rock{item.index}"]
    assert Path(first[0].item_usd_path).name == "rock00_v001_i001.usd"
    written = [Path(p.item_usd_path).stat().st_mtime_ns for p in first]

    # Cooked again (same TOP node and index): the first records, nothing copied again.
    cooked_again = [
        work_item(i, items[i].inputFiles[0].path, pm_part=f"rock0{i}") for i in range(2)
    ]
    again = [tops.publish_work_item(item, hip=hip, asset="Rocks") for item in cooked_again]
    assert [p.publish_id for p in again] == [p.publish_id for p in first]
    assert [Path(p.item_usd_path).stat().st_mtime_ns for p in again] == written
    assert cooked_again[1].intAttribValue("pm_publish_id") == first[1].publish_id
    assert len(publish_reads.list_publishes(launched.db)) == 2


def test_a_bad_output_fails_the_publish_and_the_next_cook_reopens_it(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = pm_save.save_scene(scene_name="PinchIn").path
    broken = tmp_path / "tops" / "rock.usd"
    broken.parent.mkdir()
    broken.write_text("not a USD layer")
    item = work_item(0, str(broken))
    with pytest.raises(PmError):
        tops.publish_work_item(item, hip=hip, asset="Rocks", part="rock")
    [failed] = publish_reads.list_publishes(launched.db)
    assert failed.status == "failed"
    assert item.intAttribValue("pm_publish_id") is None

    usd_file(broken.with_suffix(".usda"), "/rock")
    broken.unlink()
    broken.with_suffix(".usda").rename(broken)
    fixed = tops.publish_work_item(work_item(0, str(broken)), hip=hip, asset="Rocks", part="rock")
    assert (fixed.publish_id, fixed.status) == (failed.publish_id, "published")


def test_bad_work_items_are_named_and_record_nothing(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = pm_save.save_scene(scene_name="PinchIn").path
    two = [usd_file(tmp_path / f"{n}.usd", f"/{n}") for n in ("a", "b")]
    cases = [
        (work_item(0, str(tmp_path / "notes.txt")), {"part": "rock"}, "source"),
        (work_item(1, *two), {"part": "rock"}, "source"),
        (work_item(2, two[0]), {}, "part"),
        (work_item(3, two[0]), {"part": "../rock"}, "part"),
    ]
    for item, names, field in cases:
        with pytest.raises(ValidationError) as error:
            tops.publish_work_item(item, hip=hip, **names)
        assert error.value.field == field, error.value
    with pytest.raises(ValidationError) as error:
        tops.publish_work_item(work_item(4, two[0]), part="rock")
    assert error.value.field == "hip"
    assert publish_reads.list_publishes(launched.db) == []
