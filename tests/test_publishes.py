"""Part publishes: numbers follow the scene, retries are idempotent, latest is exact."""

from __future__ import annotations

from typing import Any

import pytest

from pm_db import publishing
from pm_db.errors import Conflict, NotFound, ValidationError
from pm_db.services import publish_reads, scenes
from tests.helpers import Studio, original_payload, record_one_call, row_counts


def save(studio: Studio, **changes: Any) -> Any:
    request = {"task_id": studio.shot_task_id, "artist": "jdoe", "scene_name": "PinchIn"}
    return scenes.save_scene(studio.db, {**request, **changes})


def publish(studio: Studio, scene: Any, **changes: Any) -> Any:
    payload = {**original_payload(scene), "target_id": studio.shot_id, **changes}
    return record_one_call(studio.db, payload)


def reserve(studio: Studio, scene: Any, part: str = "particles01", **changes: Any) -> Any:
    request = {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": part, **changes}
    return publishing.reserve(studio.db, None, request)


def test_original_publish_takes_the_scene_numbers(studio: Studio) -> None:
    scene = save(studio)
    result = publish(studio, scene)
    assert (result.source_version, result.source_iteration) == (1, 1)
    assert (result.version, result.iteration) == (1, 1)
    assert result.is_latest and result.status == "published"
    assert result.part_name == "particles01"
    assert result.item_usd_path.endswith("particles01/data/particles01_v001_i001.usd")
    assert result.part_usd_path.endswith("/usd/PinchIn/particles01/particles01.usd")
    assert result.publish_id and result.id
    assert result.created_by == "jdoe"


def test_retried_publish_returns_the_first_record(studio: Studio) -> None:
    scene = save(studio)
    first = publish(studio, scene)
    before = row_counts(studio.db)
    again = publish(studio, scene)
    assert again.id == first.id and again.publish_id == first.publish_id
    assert row_counts(studio.db) == before


def test_same_iteration_with_other_metadata_is_a_conflict(studio: Studio) -> None:
    scene = save(studio)
    publish(studio, scene)
    before = row_counts(studio.db)
    metadata = {"asset_name": "PinchIn", "part_name": "particles01", "note": "again"}
    with pytest.raises(Conflict) as caught:
        publish(studio, scene, metadata=metadata)
    assert caught.value.field == "metadata"
    assert "save a new iteration" in caught.value.message
    assert row_counts(studio.db) == before


def test_request_id_makes_retries_idempotent_and_cannot_be_reused(studio: Studio) -> None:
    scene = save(studio)
    first = publish(studio, scene, request_id="farm-job-17")
    assert publish(studio, scene, request_id="farm-job-17").id == first.id
    other = save(studio)
    with pytest.raises(Conflict) as caught:
        publish(
            studio,
            other,
            request_id="farm-job-17",
            item_usd_path=original_payload(other, "debris")["item_usd_path"],
            metadata={},
        )
    assert caught.value.field == "request_id"


def test_two_step_reserve_complete(studio: Studio) -> None:
    scene = save(studio)
    reserved = reserve(studio, scene)
    assert reserved.status == "pending" and not reserved.is_latest
    assert reserve(studio, scene).id == reserved.id
    assert publish_reads.latest_per_part(studio.db, "PinchIn") == []
    done = publishing.record_completion(studio.db, reserved.publish_id)
    assert done.status == "published" and done.is_latest
    assert publishing.record_completion(studio.db, reserved.id).id == reserved.id
    assert [p.id for p in publish_reads.latest_per_part(studio.db, "PinchIn")] == [reserved.id]


def test_failed_publish_leaves_latest_and_can_be_retried(studio: Studio) -> None:
    good = publish(studio, save(studio))
    scene = save(studio)
    reserved = reserve(studio, scene)
    failed = publishing.fail(studio.db, None, reserved.id, "ROP error: disk full")
    assert failed.status == "failed" and failed.error == "ROP error: disk full"
    assert [p.id for p in publish_reads.latest_per_part(studio.db, "PinchIn")] == [good.id]
    with pytest.raises(Conflict):
        publishing.record_completion(studio.db, reserved.id)
    retried = reserve(studio, scene)
    assert retried.id == reserved.id and retried.status == "pending"
    assert publishing.record_completion(studio.db, retried.id).is_latest


def test_latest_is_the_last_to_complete_in_database_order(studio: Studio) -> None:
    early = reserve(studio, save(studio))
    late = reserve(studio, save(studio))
    publishing.record_completion(studio.db, late.id)
    publishing.record_completion(studio.db, early.id)
    latest = publish_reads.latest_per_part(studio.db, "PinchIn")
    assert [(p.id, p.iteration) for p in latest] == [(early.id, 1)]


def test_deprecating_the_latest_restores_the_previous(studio: Studio) -> None:
    first = publish(studio, save(studio))
    second = publish(studio, save(studio))
    deprecated = publishing.deprecate(studio.db, None, second.id)
    assert deprecated.status == "deprecated" and not deprecated.is_latest
    assert [p.id for p in publish_reads.latest_per_part(studio.db, "PinchIn")] == [first.id]
    publishing.deprecate(studio.db, None, first.id)
    assert publish_reads.latest_per_part(studio.db, "PinchIn") == []
    with pytest.raises(Conflict) as caught:
        publishing.record_completion(studio.db, first.id)
    assert caught.value.field == "status"


def test_deprecate_refuses_a_pending_publish(studio: Studio) -> None:
    reserved = reserve(studio, save(studio))
    with pytest.raises(Conflict) as caught:
        publishing.deprecate(studio.db, None, reserved.id)
    assert caught.value.field == "status"


def test_latest_per_part_gives_one_publish_per_part(studio: Studio) -> None:
    for _ in range(3):
        scene = save(studio)
        publish(studio, scene)
        for part in ("debris", "smoke"):
            publishing.record_completion(studio.db, reserve(studio, scene, part).id)
    other = save(studio, scene_name="Splash")
    publish(
        studio,
        other,
        **{
            "metadata": {"asset_name": "Splash", "part_name": "drops"},
            **_paths(other, "Splash", "drops"),
        },
    )
    latest = publish_reads.latest_per_part(studio.db, "PinchIn")
    assert [(p.part_name, p.iteration) for p in latest] == [
        ("debris", 3),
        ("particles01", 3),
        ("smoke", 3),
    ]
    assert [p.part_name for p in publish_reads.latest_per_part(studio.db, "Splash")] == ["drops"]
    assert publish_reads.latest_per_part(studio.db, "PinchIn", task_id=studio.asset_task_id) == []


def _paths(scene: Any, asset: str, part: str) -> dict[str, str]:
    payload = original_payload(scene, part=part, asset=asset)
    return {"item_usd_path": payload["item_usd_path"], "asset_usd_path": payload["asset_usd_path"]}


def test_history_newest_first_with_filters(studio: Studio) -> None:
    ids = [publish(studio, save(studio)).id for _ in range(3)]
    history = publish_reads.list_publishes(studio.db, asset_name="PinchIn", part_name="particles01")
    assert [p.id for p in history] == ids[::-1]
    assert (
        publish_reads.list_publishes(studio.db, task_id=studio.shot_task_id, limit=1)[0].id
        == ids[-1]
    )
    assert publish_reads.list_publishes(studio.db, status="pending") == []
    with pytest.raises(ValidationError) as caught:
        publish_reads.list_publishes(studio.db, status="bogus")
    assert caught.value.field == "status"


def test_case_only_part_name_difference_is_refused(studio: Studio) -> None:
    scene = save(studio)
    reserve(studio, scene)
    with pytest.raises(Conflict) as caught:
        reserve(studio, scene, part="Particles01")
    assert caught.value.field == "part_name"


BAD_PUBLISHES: list[tuple[str, Any, type[Exception], str]] = [
    ("target_type", "asset", ValidationError, "target_type"),
    ("target_id", 999, ValidationError, "target_id"),
    ("task_id", 999, NotFound, "task_id"),
    ("source_version", 0, ValidationError, "source_version"),
    ("source_iteration", -1, ValidationError, "source_iteration"),
    ("source_version", "1", ValidationError, "source_version"),
    ("source_iteration", 2, ValidationError, "item_usd_path"),
    ("item_usd_path", "relative/particles01_v001_i001.usd", ValidationError, "item_usd_path"),
    ("item_usd_path", "/elsewhere/particles01_v001_i001.usd", ValidationError, "item_usd_path"),
    (
        "item_usd_path",
        "{root}/sequences/../x/particles01_v001_i001.usd",
        ValidationError,
        "item_usd_path",
    ),
    (
        "item_usd_path",
        "{scene_dir}/usd/PinchIn/particles01/data/particles01_v002_i001.usd",
        ValidationError,
        "item_usd_path",
    ),
    (
        "item_usd_path",
        "{scene_dir}/usd/PinchIn/particles01/data/particles01_v001_i001.vdb",
        ValidationError,
        "item_usd_path",
    ),
    (
        "item_usd_path",
        "{root}/sequences/SQ010/SH999/fx/houdini/scenes/jdoe/PinchIn/usd/PinchIn/particles01/data/particles01_v001_i001.usd",
        ValidationError,
        "item_usd_path",
    ),
    ("asset_usd_path", "{scene_dir}/usd/PinchIn/Other.usd", ValidationError, "asset_usd_path"),
    ("asset_usd_path", "/elsewhere/PinchIn.usd", ValidationError, "asset_usd_path"),
    ("software", "maya", ValidationError, "item_usd_path"),
    ("status", "deprecated", ValidationError, "status"),
    ("metadata", ["not", "an", "object"], ValidationError, "metadata"),
    (
        "metadata",
        {"asset_name": "PinchIn", "part_name": "other"},
        ValidationError,
        "metadata.part_name",
    ),
    ("metadata", {"blob": "x" * 70_000}, ValidationError, "metadata"),
    ("metadata", {"nan": float("nan")}, ValidationError, "metadata"),
    ("colour", "red", ValidationError, "colour"),
]


@pytest.mark.parametrize(("key", "value", "error", "field"), BAD_PUBLISHES)
def test_bad_publish_names_the_field_and_writes_nothing(
    studio: Studio, key: str, value: Any, error: type[Exception], field: str
) -> None:
    scene = save(studio)
    payload = {**original_payload(scene), "target_id": studio.shot_id}
    if isinstance(value, str):
        scene_dir = scene.path.rsplit("/", 1)[0]
        value = value.replace("{root}", str(studio.root)).replace("{scene_dir}", scene_dir)
    payload[key] = value
    before = row_counts(studio.db)
    with pytest.raises(error) as caught:
        record_one_call(studio.db, payload)
    assert caught.value.field == field
    assert row_counts(studio.db) == before


def test_publish_needs_a_saved_source_scene(studio: Studio) -> None:
    scene = save(studio)
    payload = {**original_payload(scene), "target_id": studio.shot_id}
    payload["source_iteration"] = 5
    payload["item_usd_path"] = payload["item_usd_path"].replace("_i001.usd", "_i005.usd")
    before = row_counts(studio.db)
    with pytest.raises(NotFound) as caught:
        record_one_call(studio.db, payload)
    assert caught.value.field == "source_iteration"
    assert row_counts(studio.db) == before


def test_windows_paths_are_accepted_for_a_linux_saved_scene(studio: Studio) -> None:
    scene = save(studio)
    payload = {**original_payload(scene), "target_id": studio.shot_id}
    for key in ("item_usd_path", "asset_usd_path"):
        payload[key] = payload[key].replace(str(studio.root), "P:\\FX3X").replace("/", "\\")
    result = record_one_call(studio.db, payload)
    assert result.item_usd_path.startswith(str(studio.root))


def test_get_publish_by_id_or_uuid(studio: Studio) -> None:
    result = publish(studio, save(studio))
    assert publish_reads.get_publish(studio.db, result.publish_id).id == result.id
    assert publish_reads.get_publish(studio.db, result.id).publish_id == result.publish_id
    with pytest.raises(NotFound) as caught:
        publish_reads.get_publish(studio.db, "no-such-publish")
    assert caught.value.field == "publish_id"
