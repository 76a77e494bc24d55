"""Save, Version Up and Save As from Houdini, end to end: the fake hou writes real files,
the numbers and records come from a real database (SQLite and PostgreSQL)."""

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
from pm_houdini import shelf
from pm_houdini.errors import WriteFailed

from pm_db.errors import ConfigError, PermissionDenied, ValidationError
from pm_db.services import scenes

houdini = support.houdini
launched = support.launched
ReadOnly = support.ReadOnly


def recorded(studio: Any) -> list[tuple[str, int, int, str]]:
    rows = scenes.list_scenes(studio.db)
    return sorted((s.name, s.version, s.iteration, Path(s.path).name) for s in rows)


def test_untitled_scene_is_saved_as_then_saved_and_versioned_up(
    launched: Any, houdini: types.ModuleType
) -> None:
    houdini.node("/stage").createNode("sphere", "rock")
    first = pm_save.save_scene(scene_name="PinchIn")
    assert Path(first.path).name == "PinchIn_v001_i001.hip"
    assert first.path == houdini.hipFile.path()
    hip = json.loads(Path(first.path).read_text())
    assert [n["path"] for n in hip["nodes"]] == ["/obj", "/out", "/stage", "/stage/rock"]
    assert first.path.startswith(str(launched.root / "sequences" / "SQ010" / "SH010" / "fx"))

    second = pm_save.save_scene()
    third = pm_save.save_scene(version_up=True)
    other = pm_save.save_scene(scene_name="Crumble")
    assert [Path(s.path).name for s in (second, third, other)] == [
        "PinchIn_v001_i002.hip",
        "PinchIn_v002_i001.hip",
        "Crumble_v001_i001.hip",
    ]
    assert all(Path(s.path).is_file() for s in (first, second, third, other))
    assert houdini.hipFile.path() == other.path
    assert recorded(launched) == [
        ("Crumble", 1, 1, "Crumble_v001_i001.hip"),
        ("PinchIn", 1, 1, "PinchIn_v001_i001.hip"),
        ("PinchIn", 1, 2, "PinchIn_v001_i002.hip"),
        ("PinchIn", 2, 1, "PinchIn_v002_i001.hip"),
    ]
    saved = scenes.get_scene(launched.db, third.id)
    assert saved.software_version == "21.0.512"


def test_a_reopened_pm_scene_keeps_its_stream_without_the_launcher(
    launched: Any, houdini: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pm_save.save_scene(scene_name="PinchIn")
    houdini.hipFile.clear()
    monkeypatch.delenv("PM_TASK_ID")
    houdini.hipFile.load(first.path)
    again = pm_save.save_scene()
    assert (again.name, again.version, again.iteration) == ("PinchIn", 1, 2)
    assert again.task_id == launched.shot_task_id


def test_the_open_file_decides_the_task_over_the_launcher(
    launched: Any, houdini: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    shot_scene = pm_save.save_scene(scene_name="PinchIn")
    monkeypatch.setenv("PM_TASK_ID", str(launched.asset_task_id))
    again = pm_save.save_scene()
    assert again.task_id == shot_scene.task_id == launched.shot_task_id
    assert Path(again.path).parent == Path(shot_scene.path).parent


@pytest.mark.parametrize(
    ("licence", "extension"),
    [("Commercial", "hip"), ("Indie", "hiplc"), ("Apprentice", "hipnc"), ("Education", "hipnc")],
)
def test_the_extension_follows_the_licence(
    launched: Any, houdini: types.ModuleType, licence: str, extension: str
) -> None:
    houdini._reset(license=licence)
    scene = pm_save.save_scene(scene_name="PinchIn")
    assert Path(scene.path).name == f"PinchIn_v001_i001.{extension}"
    assert Path(scene.path).is_file()


def test_a_session_that_opened_a_hipnc_keeps_saving_hipnc(
    launched: Any, houdini: types.ModuleType
) -> None:
    houdini._reset(license="Apprentice")
    learning = pm_save.save_scene(scene_name="PinchIn")
    houdini._reset(license="Commercial")
    houdini.hipFile.load(learning.path)
    again = pm_save.save_scene()
    assert Path(again.path).name == "PinchIn_v001_i002.hipnc"


def test_no_context_is_a_clear_error_and_records_nothing(
    studio: Any, houdini: types.ModuleType
) -> None:
    with pytest.raises(ConfigError) as caught:
        pm_save.save_scene(scene_name="PinchIn")
    assert caught.value.field == "PM_TASK_ID"
    assert "untitled" in caught.value.message and "launcher" in caught.value.message
    assert recorded(studio) == []
    assert houdini._session.saves == []


def test_a_scene_outside_every_project_is_named_as_such(
    studio: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    houdini.hipFile.save(str(tmp_path / "elsewhere" / "test.hip"))
    with pytest.raises(ConfigError) as caught:
        pm_save.save_scene()
    assert "outside every project" in caught.value.message
    assert recorded(studio) == []


def test_a_file_in_the_project_that_pm_did_not_save_is_named_as_such(
    studio: Any, houdini: types.ModuleType
) -> None:
    houdini.hipFile.save(str(studio.root / "sequences" / "copied.hip"))
    with pytest.raises(ConfigError) as caught:
        pm_save.save_scene()
    assert "was not saved by pm" in caught.value.message
    assert recorded(studio) == []


def test_a_foreign_file_needs_a_scene_name_even_with_the_launcher(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    houdini.hipFile.save(str(tmp_path / "downloads" / "example.hip"))
    with pytest.raises(ValidationError) as caught:
        pm_save.save_scene()
    assert caught.value.field == "scene_name"
    adopted = pm_save.save_scene(scene_name="Example")
    assert Path(adopted.path).name == "Example_v001_i001.hip"
    assert recorded(launched) == [("Example", 1, 1, "Example_v001_i001.hip")]


def test_bad_launcher_variables_name_the_variable(
    launched: Any, houdini: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PM_TASK_ID", "shot10")
    with pytest.raises(ConfigError) as caught:
        pm_save.save_scene(scene_name="PinchIn")
    assert caught.value.field == "PM_TASK_ID"
    monkeypatch.setenv("PM_TASK_ID", str(launched.shot_task_id))
    monkeypatch.setenv("PM_ARTIST", "j/doe")
    with pytest.raises(ValidationError) as caught:
        pm_save.save_scene(scene_name="PinchIn")
    assert caught.value.field == "PM_ARTIST"
    assert recorded(launched) == []


def test_a_bad_scene_name_names_the_field_and_records_nothing(
    launched: Any, houdini: types.ModuleType
) -> None:
    with pytest.raises(ValidationError) as caught:
        pm_save.save_scene(scene_name="../escape")
    assert caught.value.field == "scene_name"
    assert recorded(launched) == []
    assert houdini._session.saves == []


def test_a_read_only_scene_folder_records_nothing(launched: Any, houdini: types.ModuleType) -> None:
    first = pm_save.save_scene(scene_name="PinchIn")
    folder = Path(first.path).parent
    with ReadOnly(folder), pytest.raises(PermissionDenied) as caught:
        pm_save.save_scene()
    assert str(folder) in caught.value.message
    assert recorded(launched) == [("PinchIn", 1, 1, "PinchIn_v001_i001.hip")]
    assert houdini.hipFile.path() == first.path


def test_houdini_failing_to_write_says_so(launched: Any, houdini: types.ModuleType) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    houdini._session.saving_fails = "disk quota exceeded"
    with pytest.raises(WriteFailed) as caught:
        pm_save.save_scene()
    assert "PinchIn v001 i002" in caught.value.message
    assert "disk quota exceeded" in caught.value.message
    assert recorded(launched) == [("PinchIn", 1, 1, "PinchIn_v001_i001.hip")]
    houdini._session.saving_fails = None
    assert pm_save.save_scene().iteration == 3


# The shelf tools: dialogs when there is a UI, log lines headless ---------------------------


def test_shelf_save_of_an_untitled_scene_asks_for_a_name(
    launched: Any, houdini: types.ModuleType
) -> None:
    session = houdini._reset(ui=True)
    session.answers = [(0, "bad name"), (0, "PinchIn")]
    scene = shelf.save()
    assert scene is not None and Path(scene.path).name == "PinchIn_v001_i001.hip"
    prompts = [m for m in session.messages if "initial" in m]
    assert len(prompts) == 2 and "may hold only letters" in prompts[1]["text"]
    assert session.status and "PinchIn v001 i001" in session.status[-1]


def test_shelf_save_as_cancelled_records_nothing(launched: Any, houdini: types.ModuleType) -> None:
    session = houdini._reset(ui=True)
    session.answers = [(1, "")]
    assert shelf.save_as() is None
    assert recorded(launched) == []
    assert session.saves == []


def test_shelf_save_without_changes_asks_before_a_new_iteration(
    launched: Any, houdini: types.ModuleType
) -> None:
    session = houdini._reset(ui=True)
    session.answers = [(0, "PinchIn")]
    shelf.save()
    session.answers = [1]  # Cancel: nothing changed since the last save
    assert shelf.save() is None
    assert "no unsaved changes" in session.messages[-1]["text"]
    houdini.node("/stage").createNode("sphere")
    assert shelf.save() is not None
    assert [r[2] for r in recorded(launched)] == [1, 2]


def test_shelf_version_up_reports_in_the_status_bar(
    launched: Any, houdini: types.ModuleType
) -> None:
    session = houdini._reset(ui=True)
    pm_save.save_scene(scene_name="PinchIn")
    scene = shelf.version_up()
    assert scene is not None and (scene.version, scene.iteration) == (2, 1)
    assert "Versioned up PinchIn v002 i001" in session.status[-1]


def test_shelf_errors_are_message_boxes_never_exceptions(
    studio: Any, houdini: types.ModuleType
) -> None:
    session = houdini._reset(ui=True)
    assert shelf.save() is None
    box = session.messages[-1]
    assert box["severity"] == "Error"
    assert "Save failed" in box["text"] and "PM_TASK_ID" in box["text"]
    assert recorded(studio) == []


def test_headless_shelf_errors_are_log_lines(
    studio: Any, houdini: types.ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    assert shelf.version_up() is None
    assert any("Version Up failed" in r.getMessage() for r in caplog.records)
    assert houdini._session.messages == []


def test_shelf_save_of_a_foreign_file_suggests_its_name(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    session = houdini._reset(ui=True)
    houdini.hipFile.save(str(tmp_path / "downloads" / "rock_sim.hip"))
    session.answers = [(0, "rock_sim")]
    scene = shelf.save()
    assert scene is not None and Path(scene.path).name == "rock_sim_v001_i001.hip"
    assert session.messages[-1]["initial"] == "rock_sim"
