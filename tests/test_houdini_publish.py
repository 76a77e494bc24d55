"""Publishing from Houdini end to end: the fake hou renders real USD files, a real
database (SQLite and PostgreSQL) records the publishes, pm's lifecycle writes the layers."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest
from pxr import Usd

# The fake hou must be on sys.path (support does it) before pm_houdini imports hou.
from tests.fake_hou import support

# isort: split
from pm_houdini import context as pm_context
from pm_houdini import publish as pm_publish
from pm_houdini import save as pm_save
from pm_houdini import shelf
from pm_houdini.errors import Interrupted, WriteFailed

from pm_db.errors import NotFound, ValidationError
from pm_db.services import publish_reads, scenes

houdini = support.houdini
launched = support.launched
ReadOnly = support.ReadOnly


def publish_rows(studio: Any) -> list[tuple[str, str, int, int, str]]:
    rows = publish_reads.list_publishes(studio.db)
    return sorted((p.asset_name, p.part_name, p.version, p.iteration, p.status) for p in rows)


def scene_count(studio: Any) -> int:
    return len(scenes.list_scenes(studio.db))


def part_network(hou: types.ModuleType, part: str = "particles01") -> Any:
    """A sphere LOP feeding a pm Publish Part node named after the part."""
    stage = hou.node("/stage")
    source = stage.createNode("sphere", "source")
    node = stage.createNode("pm::publish_part::1.0", part)
    node.setInput(0, source)
    node.parm("asset").set("PinchIn")
    return node


def usd_times(path: str) -> tuple[float, float, list[str]]:
    stage = Usd.Stage.Open(path)
    prims = [str(p.GetPath()) for p in stage.Traverse()]
    return stage.GetStartTimeCode(), stage.GetEndTimeCode(), prims


def test_the_hda_publish_button_saves_then_publishes_a_part(
    launched: Any, houdini: types.ModuleType
) -> None:
    session = houdini._reset(ui=True)
    pm_save.save_scene(scene_name="PinchIn")
    node = part_network(houdini)
    node.parm("publish").pressButton()

    assert publish_rows(launched) == [("PinchIn", "particles01", 1, 2, "published")]
    published = publish_reads.list_publishes(launched.db)[0]
    assert Path(published.item_usd_path).name == "particles01_v001_i002.usd"
    assert published.is_latest and published.metadata["node"] == "/stage/particles01"
    assert published.metadata["tool"] == "hda"
    assert usd_times(published.item_usd_path)[2] == ["/source"]
    assert Path(published.part_usd_path).is_file()
    assert Path(published.asset_usd_path).is_file()
    assert houdini.hipFile.path().endswith("PinchIn_v001_i002.hip")
    assert houdini.node("/out").children() == ()  # the temporary ROP is gone
    assert "published" in session.messages[-1]["text"]
    assert "particles01_v001_i002.usd" in session.messages[-1]["text"]


def test_publishing_again_takes_a_new_iteration_and_becomes_latest(
    launched: Any, houdini: types.ModuleType
) -> None:
    houdini._reset(ui=True)
    pm_save.save_scene(scene_name="PinchIn")
    node = part_network(houdini)
    node.parm("publish").pressButton()
    node.parm("publish").pressButton()
    rows = publish_reads.list_publishes(launched.db, part_name="particles01")
    assert [(p.iteration, p.is_latest) for p in rows] == [(3, True), (2, False)]
    assert scene_count(launched) == 3


def test_the_hda_frame_range_writes_one_sample_per_frame(
    launched: Any, houdini: types.ModuleType
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    node = part_network(houdini)
    node.parm("trange").set(1)
    node.parm("f1").set(1001.0)
    node.parm("f2").set(1005.0)
    ctx = pm_context.current_context(pm_context.backend())
    target = pm_publish.collect(node.path())
    assert target.frame_range == (1001.0, 1005.0, 1.0)
    _, outcomes = pm_publish.publish_from_open_scene(
        [target], tool="shelf", ctx=ctx, backend=pm_context.backend()
    )
    result = outcomes[0].result
    assert result is not None
    start, end, _ = usd_times(result.publish.item_usd_path)
    assert (start, end) == (1001.0, 1005.0)
    assert result.publish.metadata["frame_range"] == [1001.0, 1005.0, 1.0]


def test_the_hda_defaults_follow_houdinis_expressions(
    launched: Any, houdini: types.ModuleType
) -> None:
    node = houdini.node("/stage").createNode("pm::publish_part::1.0", "debris")
    assert node.parm("part").evalAsString() == "debris"
    assert node.parm("f1").eval() == 1001.0 and node.parm("f2").eval() == 1100.0
    assert pm_publish.node_names(node) == (None, "debris")


def test_shelf_publish_of_a_usd_rop_asks_which_part_it_is(
    launched: Any, houdini: types.ModuleType
) -> None:
    session = houdini._reset(ui=True)
    pm_save.save_scene(scene_name="PinchIn")
    source = houdini.node("/stage").createNode("sphere", "debris")
    rop = houdini.node("/out").createNode("usd", "debris_rop")
    rop.parm("loppath").set(source.path())
    houdini._select(rop)
    session.answers = [(0, "PinchIn/debris")]
    outcomes = shelf.publish()
    assert [o.error for o in outcomes] == [None]
    assert publish_rows(launched) == [("PinchIn", "debris", 1, 2, "published")]
    assert rop.parm("lopoutput").unexpandedString() == "$HIP/usd/$OS.usd"  # put back
    prompt = next(m for m in session.messages if "initial" in m)
    assert prompt["initial"] == "PinchIn/debris_rop"


def test_a_lop_usd_rop_is_executed_with_its_output_redirected(
    launched: Any, houdini: types.ModuleType
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    stage = houdini.node("/stage")
    source = stage.createNode("sphere", "crumbs")
    rop = stage.createNode("usd_rop", "crumbs_out")
    rop.setInput(0, source)
    ctx = pm_context.current_context(pm_context.backend())
    target = pm_publish.collect(rop.path(), "PinchIn", "crumbs")
    _, outcomes = pm_publish.publish_from_open_scene(
        [target], tool="shelf", ctx=ctx, backend=pm_context.backend()
    )
    assert outcomes[0].error is None
    assert houdini._session.renders == [rop.path()]
    assert publish_rows(launched) == [("PinchIn", "crumbs", 1, 2, "published")]


@pytest.mark.parametrize(
    ("network", "node_type"), [("/obj", "geo"), ("/out", "geometry")], ids=["object", "sop-rop"]
)
def test_a_node_of_the_wrong_type_changes_nothing(
    launched: Any, houdini: types.ModuleType, network: str, node_type: str
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    node = houdini.node(network).createNode(node_type)
    houdini._select(node)
    with pytest.raises(ValidationError) as caught:
        pm_publish.collect(node.path(), "PinchIn", "debris")
    assert caught.value.field == "node"
    assert "publish a LOP node or a USD ROP" in caught.value.message
    outcomes = shelf.publish()  # headless: logged, nothing saved, nothing published
    assert outcomes == []
    assert scene_count(launched) == 1 and publish_rows(launched) == []


def test_a_missing_or_bypassed_node_changes_nothing(
    launched: Any, houdini: types.ModuleType
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    with pytest.raises(NotFound) as missing:
        pm_publish.collect("/stage/nothing", "PinchIn", "debris")
    assert missing.value.field == "node"
    rop = houdini.node("/out").createNode("usd")
    rop._bypassed = True
    with pytest.raises(ValidationError, match="bypassed"):
        pm_publish.collect(rop.path(), "PinchIn", "debris")
    assert scene_count(launched) == 1 and publish_rows(launched) == []


def test_bad_names_are_refused_before_anything_is_saved(
    launched: Any, houdini: types.ModuleType
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    node = part_network(houdini)
    node.parm("asset").set("../../etc")
    houdini._select(node)
    assert shelf.publish() == []
    with pytest.raises(ValidationError) as caught:
        pm_publish.collect(node.path())
    assert caught.value.field == "asset"
    assert scene_count(launched) == 1 and publish_rows(launched) == []


def test_two_nodes_publishing_the_same_part_change_nothing(
    launched: Any, houdini: types.ModuleType
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    first = part_network(houdini, "particles01")
    second = houdini.node("/stage").createNode("pm::publish_part::1.0", "other")
    second.parm("asset").set("PinchIn")
    second.parm("part").set("particles01")
    ctx = pm_context.current_context(pm_context.backend())
    targets = [pm_publish.collect(n.path()) for n in (first, second)]
    with pytest.raises(ValidationError) as caught:
        pm_publish.publish_from_open_scene(
            targets, tool="shelf", ctx=ctx, backend=pm_context.backend()
        )
    assert caught.value.field == "part"
    assert scene_count(launched) == 1 and publish_rows(launched) == []


def run_one(hou: types.ModuleType, node: Any) -> pm_publish.Outcome:
    ctx = pm_context.current_context(pm_context.backend())
    target = pm_publish.collect(node.path())
    _, outcomes = pm_publish.publish_from_open_scene(
        [target], tool="shelf", ctx=ctx, backend=pm_context.backend()
    )
    return outcomes[0]


def test_a_failing_rop_leaves_a_failed_record_with_the_reason(
    launched: Any, houdini: types.ModuleType
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    node = part_network(houdini)
    houdini.node("/stage/source")._fail_render = "cook error in /stage/source"
    outcome = run_one(houdini, node)
    assert isinstance(outcome.error, WriteFailed)
    assert "cook error" in outcome.error.message
    [failed] = publish_reads.list_publishes(launched.db)
    assert failed.status == "failed" and not failed.is_latest
    assert "cook error" in (failed.error or "")
    assert not Path(failed.item_usd_path).exists()
    assert houdini.node("/out").children() == ()


def test_a_rop_that_writes_nothing_is_not_published(
    launched: Any, houdini: types.ModuleType
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    source = houdini.node("/stage").createNode("sphere", "debris")
    rop = houdini.node("/out").createNode("usd", "debris")
    rop.parm("loppath").set(source.path())
    rop._render_writes_nothing = True
    ctx = pm_context.current_context(pm_context.backend())
    target = pm_publish.collect(rop.path(), "PinchIn", "debris")
    _, [outcome] = pm_publish.publish_from_open_scene(
        [target], tool="shelf", ctx=ctx, backend=pm_context.backend()
    )
    assert isinstance(outcome.error, WriteFailed)
    assert "wrote nothing" in outcome.error.message
    assert publish_rows(launched) == [("PinchIn", "debris", 1, 2, "failed")]


def test_esc_interrupts_and_marks_the_publish_failed(
    launched: Any, houdini: types.ModuleType
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    node = part_network(houdini)
    houdini._session.interrupt_at = 1
    outcome = run_one(houdini, node)
    assert isinstance(outcome.error, Interrupted)
    [failed] = publish_reads.list_publishes(launched.db)
    assert failed.status == "failed" and "interrupted" in (failed.error or "")
    operation = houdini._session.operations[0]
    assert operation["dialog"] and operation["closed"]


def test_a_read_only_publish_folder_fails_cleanly(launched: Any, houdini: types.ModuleType) -> None:
    scene = pm_save.save_scene(scene_name="PinchIn")
    node = part_network(houdini)
    usd_folder = Path(scene.path).parent / "usd"
    usd_folder.mkdir()
    with ReadOnly(usd_folder):
        outcome = run_one(houdini, node)
    assert isinstance(outcome.error, WriteFailed)
    [failed] = publish_reads.list_publishes(launched.db)
    assert failed.status == "failed" and failed.error
    assert not Path(failed.item_usd_path).exists()


def test_a_retried_failed_publish_reopens_the_same_record(
    launched: Any, houdini: types.ModuleType
) -> None:
    scene = pm_save.save_scene(scene_name="PinchIn")
    node = part_network(houdini)
    source = houdini.node("/stage/source")
    source._fail_render = "out of memory"
    target = pm_publish.collect(node.path())
    backend = pm_context.backend()
    with pytest.raises(WriteFailed):
        pm_publish.publish_target(target, scene, tool="batch", backend=backend)
    source._fail_render = None
    retried = pm_publish.publish_target(target, scene, tool="batch", backend=backend)
    again = pm_publish.publish_target(target, scene, tool="batch", backend=backend)
    assert not retried.already_published and again.already_published
    assert retried.publish.id == again.publish.id
    assert publish_rows(launched) == [("PinchIn", "particles01", 1, 1, "published")]


def test_shelf_publish_failure_is_one_error_box_naming_the_node(
    launched: Any, houdini: types.ModuleType
) -> None:
    session = houdini._reset(ui=True)
    pm_save.save_scene(scene_name="PinchIn")
    good = part_network(houdini, "particles01")
    bad_source = houdini.node("/stage").createNode("sphere", "broken_source")
    bad = houdini.node("/stage").createNode("pm::publish_part::1.0", "broken")
    bad.setInput(0, bad_source)
    bad.parm("asset").set("PinchIn")
    bad_source._fail_render = "missing texture"
    houdini._select(good, bad)
    outcomes = shelf.publish()
    assert [o.error is None for o in outcomes] == [True, False]
    box = session.messages[-1]
    assert box["severity"] == "Error"
    assert "particles01" in box["text"] and "/stage/broken failed" in box["text"]
    assert publish_rows(launched) == [
        ("PinchIn", "broken", 1, 2, "failed"),
        ("PinchIn", "particles01", 1, 2, "published"),
    ]


def test_nothing_selected_is_a_clear_message(launched: Any, houdini: types.ModuleType) -> None:
    session = houdini._reset(ui=True)
    assert shelf.publish() == []
    assert "select the LOP nodes or USD ROPs" in session.messages[-1]["text"]
    assert scene_count(launched) == 0


def test_publishing_an_untitled_scene_asks_for_its_name_first(
    launched: Any, houdini: types.ModuleType
) -> None:
    session = houdini._reset(ui=True)
    node = part_network(houdini)
    houdini._select(node)
    session.answers = [(0, "PinchIn")]
    [outcome] = shelf.publish()
    assert outcome.result is not None
    assert publish_rows(launched) == [("PinchIn", "particles01", 1, 1, "published")]


def test_the_asset_browser_opens_the_panel_interface(
    launched: Any, houdini: types.ModuleType
) -> None:
    session = houdini._reset(ui=True)
    shelf.asset_browser()
    assert "not installed" in session.messages[-1]["text"]
    panel = support.REPO / "python_panels" / "pm_asset_browser.pypanel"
    houdini.pypanel.installFile(str(panel))
    shelf.asset_browser()
    [tab] = session.floating
    assert tab._interface.name() == shelf.ASSET_BROWSER_INTERFACE
