"""Loading published layers into Solaris and opening source scenes (pm_houdini.lop), on the
fake `hou`; and the browser's layer actions end to end, from a selected row to a LOP."""

from __future__ import annotations

import os
import types
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pm_houdini import lop

from pm_db.backend import LocalBackend
from pm_db.errors import NotFound, ValidationError
from tests.conftest import Studio
from tests.fake_hou.support import houdini  # noqa: F401
from tests.test_browser_support import shot_history
from tests.test_browser_widget import open_browser, open_keys, select


@pytest.fixture
def ui(houdini: types.ModuleType) -> types.ModuleType:  # noqa: F811
    houdini._reset(ui=True)
    return houdini


def test_a_sublayer_goes_below_the_displayed_node_and_shows(ui: types.ModuleType) -> None:
    stage = ui.node("/stage")
    sphere = stage.createNode("sphere", "sphere1")
    sphere.setDisplayFlag(True)
    node = lop.add_layer("/show/FX3X/usd/PinchIn/PinchIn.usd", "sublayer", "PinchIn")
    assert node.path() == "/stage/PinchIn"
    assert node.type().name() == "sublayer"
    assert node.parm("filepath1").eval() == "/show/FX3X/usd/PinchIn/PinchIn.usd"
    assert node.inputs() == (sphere,)
    assert stage.displayNode() is node and node.isDisplayFlagSet()
    assert ui.selectedNodes() == (node,)
    assert ui._session.undo_groups == ["pm: add PinchIn as sublayer"]


def test_a_reference_lands_at_its_prim_path(ui: types.ModuleType) -> None:
    first = lop.add_layer("/x/particles01.usd", "reference", "PinchIn_particles01", "/PinchIn/p")
    second = lop.add_layer("/x/particles01.usd", "reference", "PinchIn_particles01", "/PinchIn/p")
    assert first.type().name() == "reference" and first.parm("primpath1").eval() == "/PinchIn/p"
    assert (first.name(), second.name()) == ("PinchIn_particles01", "PinchIn_particles012")
    assert second.inputs() == (first,)


def test_the_network_editor_decides_where(ui: types.ModuleType) -> None:
    editor = ui._session.network_editor
    editor.setPwd(ui.node("/obj"))
    assert lop.current_network().path() == "/stage"  # /obj holds no LOPs
    editor.setPwd(ui.node("/stage"))
    assert lop.current_network().path() == "/stage"
    ui._session.network_editor = None
    assert lop.current_network().path() == "/stage"


def test_names_become_node_names_and_bad_modes_are_refused(ui: types.ModuleType) -> None:
    assert lop.node_name("rock-01") == "rock_01"
    assert lop.node_name("01rock") == "_01rock"
    assert lop.node_name("--") == "layer"
    with pytest.raises(ValidationError) as error:
        lop.add_layer("/x.usd", "payload", "x")
    assert error.value.field == "mode"
    assert ui.node("/stage").children() == ()


def test_open_scene_loads_the_hip_file(ui: types.ModuleType, tmp_path: Path) -> None:
    scene = tmp_path / "PinchIn_v001_i003.hip"
    ui.hipFile.save(str(scene))
    ui.hipFile.clear(suppress_save_prompt=True)
    lop.open_scene(str(scene))
    assert ui.hipFile.path() == scene.as_posix()
    with pytest.raises(NotFound) as error:
        lop.open_scene(str(tmp_path / "gone.hip"))
    assert error.value.field == "scene_path"
    assert ui.hipFile.path() == scene.as_posix()


def test_available_only_with_houdini_ui(houdini: types.ModuleType) -> None:  # noqa: F811
    assert not lop.available()
    houdini._reset(ui=True)
    assert lop.available()


def test_the_browser_adds_the_selected_part_to_the_stage(
    qtbot: Any, studio: Studio, ui: types.ModuleType
) -> None:
    made = shot_history(studio.db, studio.shot_task_id, iterations=2)
    browser = open_browser(qtbot, lambda: LocalBackend(db=studio.db))
    from pm_db.services import browse

    [usd] = browse.children(studio.db, [f"shot:{studio.shot_id}"])
    part = f"part:{made[-2].part_id}"
    open_keys(qtbot, browser, f"sequence:{studio.sequence_id}", f"shot:{studio.shot_id}", usd.key)
    select(qtbot, browser, part)
    assert browser.details.buttons["sublayer"].isEnabled()
    browser.details.buttons["reference"].click()
    [node] = ui.node("/stage").children()
    assert node.name() == "PinchIn_particles01" and node.type().name() == "reference"
    assert node.parm("filepath1").eval() == made[-2].part_usd_path
    assert node.parm("primpath1").eval() == "/PinchIn/particles01"
