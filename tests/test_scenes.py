"""Scene saves: numbers from the database, paths from the templates."""

from __future__ import annotations

from typing import Any

import pytest

from pm_db import publishing
from pm_db.errors import Conflict, NotFound, ValidationError
from pm_db.services import entities, events, scenes
from tests.helpers import Studio, row_counts


def save(studio: Studio, **changes: Any) -> Any:
    request = {"task_id": studio.shot_task_id, "artist": "jdoe", "scene_name": "PinchIn"}
    return scenes.save_scene(studio.db, {**request, **changes})


def test_save_and_version_up_numbering(studio: Studio) -> None:
    numbers = [
        (s.version, s.iteration)
        for s in (
            save(studio),
            save(studio),
            save(studio, version_up=True),
            save(studio),
            save(studio, version_up=True),
        )
    ]
    assert numbers == [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1)]


def test_first_version_up_is_v001_i001(studio: Studio) -> None:
    scene = save(studio, version_up=True)
    assert (scene.version, scene.iteration) == (1, 1)


def test_path_is_the_original_layout_and_records_host_and_version(studio: Studio) -> None:
    scene = save(studio, host="render042", software_version="20.5.410")
    assert scene.path == (
        f"{studio.root}/sequences/SQ010/SH010/fx/houdini/scenes/jdoe/PinchIn/PinchIn_v001_i001.hip"
    )
    assert (scene.host, scene.software_version) == ("render042", "20.5.410")
    logged = events.list_events(studio.db, entity_type="scene", entity_id=scene.id)
    assert [e.kind for e in logged] == ["scene.saved"]


def test_asset_task_uses_the_asset_layout(studio: Studio) -> None:
    scene = save(studio, task_id=studio.asset_task_id)
    assert scene.path == (
        f"{studio.root}/assets/prop/Rock/fx/houdini/scenes/jdoe/PinchIn/PinchIn_v001_i001.hip"
    )


def test_streams_are_independent_per_scene_and_artist(studio: Studio) -> None:
    entities.create(studio.db, "artist", {"login": "bob", "name": "Bob"})
    save(studio)
    save(studio)
    other_scene = save(studio, scene_name="Splash")
    other_artist = save(studio, artist="bob")
    assert (other_scene.version, other_scene.iteration) == (1, 1)
    assert (other_artist.version, other_artist.iteration) == (1, 1)
    assert "/scenes/bob/PinchIn/" in other_artist.path


@pytest.mark.parametrize("ext", ["hipnc", "hiplc"])
def test_license_extensions_share_the_numbering(studio: Studio, ext: str) -> None:
    save(studio)
    scene = save(studio, ext=ext)
    assert scene.path.endswith(f"PinchIn_v001_i002.{ext}")


def test_paths_follow_the_platform(studio: Studio, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = save(studio)
    monkeypatch.setenv("PM_PLATFORM", "windows")
    on_windows = scenes.get_scene(studio.db, saved.id)
    assert on_windows.path == (
        "P:/FX3X/sequences/SQ010/SH010/fx/houdini/scenes/jdoe/PinchIn/PinchIn_v001_i001.hip"
    )
    found = scenes.find_scene_by_path(studio.db, on_windows.path.replace("/", "\\").lower())
    assert found.id == saved.id


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"task_id": 9999}, NotFound, "task_id"),
        ({"artist": "nobody"}, NotFound, "artist"),
        ({"scene_name": "../PinchIn"}, ValidationError, "scene_name"),
        ({"scene_name": "Pinch In"}, ValidationError, "scene_name"),
        ({"scene_name": ""}, ValidationError, "scene_name"),
        ({"scene_name": "x" * 65}, ValidationError, "scene_name"),
        ({"scene_name": "a/b"}, ValidationError, "scene_name"),
        ({"task_id": "1"}, ValidationError, "task_id"),
        ({"task_id": 0}, ValidationError, "task_id"),
        ({"ext": "exe"}, ValidationError, "ext"),
        ({"ext": "HIP"}, ValidationError, "ext"),
        ({"software": "hou/dini"}, ValidationError, "software"),
        ({"colour": "red"}, ValidationError, "colour"),
    ],
)
def test_bad_save_names_the_field_and_writes_nothing(
    studio: Studio, changes: dict[str, Any], error: type[Exception], field: str
) -> None:
    save(studio)
    before = row_counts(studio.db)
    with pytest.raises(error) as caught:
        save(studio, **changes)
    assert caught.value.field == field
    assert row_counts(studio.db) == before


def test_inactive_artist_cannot_save(studio) -> None:
    entities.update(studio.db, "artist", studio.artist_id, {"active": False})
    with pytest.raises(ValidationError) as caught:
        save(studio)
    assert caught.value.field == "artist"


def test_case_only_scene_name_difference_is_refused(studio: Studio) -> None:
    save(studio)
    before = row_counts(studio.db)
    with pytest.raises(Conflict) as caught:
        save(studio, scene_name="pinchin")
    assert caught.value.field == "scene_name"
    assert row_counts(studio.db) == before


def test_platform_without_a_root_is_a_clear_error(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PM_PLATFORM", "mac")
    before = row_counts(studio.db)
    with pytest.raises(ValidationError) as caught:
        save(studio)
    assert caught.value.field == "root_mac"
    assert row_counts(studio.db) == before


def test_find_scene_outside_every_project(studio: Studio) -> None:
    with pytest.raises(ValidationError):
        scenes.find_scene_by_path(studio.db, "/elsewhere/PinchIn_v001_i001.hip")
    with pytest.raises(NotFound):
        scenes.find_scene_by_path(studio.db, f"{studio.root}/never/saved_v001_i001.hip")


def test_list_scenes_newest_first(studio: Studio) -> None:
    save(studio)
    save(studio)
    save(studio, scene_name="Splash")
    listed = scenes.list_scenes(studio.db, task_id=studio.shot_task_id, name="PinchIn")
    assert [(s.version, s.iteration) for s in listed] == [(1, 2), (1, 1)]


def test_discarding_an_unwritten_save_keeps_its_number_used(studio: Studio) -> None:
    save(studio)
    failed = save(studio)
    discarded = scenes.discard_scene(studio.db, failed.id, "disk full")
    assert discarded.id == failed.id
    with pytest.raises(NotFound):
        scenes.get_scene(studio.db, failed.id)
    assert (save(studio).version, save(studio).iteration) == (1, 4)
    logged = events.list_events(studio.db, entity_type="scene", entity_id=failed.id)
    assert [e.kind for e in logged] == ["scene.discarded", "scene.saved"]
    assert logged[0].payload["reason"] == "disk full"


def test_a_published_scene_cannot_be_discarded(studio: Studio) -> None:
    scene = save(studio)
    publishing.reserve(
        studio.db, None, {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": "p"}
    )
    before = row_counts(studio.db)
    with pytest.raises(Conflict) as caught:
        scenes.discard_scene(studio.db, scene.id, "oops")
    assert caught.value.field == "scene_id"
    assert row_counts(studio.db) == before
