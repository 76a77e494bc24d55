"""One behaviour suite, two backends: what the Houdini tools, panels and batches rely on
holds the same through LocalBackend (the database) and RemoteBackend (HTTP to a real
`pm` service on 127.0.0.1, with the artist's own token), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pm_db.backend import Backend, LocalBackend
from pm_db.errors import Conflict, NotFound, PmError, ValidationError
from pm_db.remote import RemoteBackend
from tests.helpers import row_counts
from tests.test_api_support import live_server, original_payload, token_for, write_data_layer


@pytest.fixture(params=["local", "remote"])
def backend(request: pytest.FixtureRequest, studio: Any) -> Iterator[Backend]:
    if request.param == "local":
        yield LocalBackend(db=studio.db)
        return
    token = token_for(studio.db, studio.artist, label="houdini")
    with live_server(studio.db) as url:
        yield RemoteBackend(url, token)


def save(backend: Backend, studio: Any, **extra: Any) -> Any:
    request = {"task_id": studio.shot_task_id, "artist": "jdoe", "scene_name": "PinchIn"}
    return backend.save_scene({**request, **extra})


def raises(error: type[PmError], field: str | None, call: Any, *args: Any, **kw: Any) -> PmError:
    with pytest.raises(error) as caught:
        call(*args, **kw)
    assert type(caught.value) is error
    assert caught.value.field == field
    return caught.value


def test_save_version_up_and_find(backend: Backend, studio: Any) -> None:
    first, second = save(backend, studio), save(backend, studio)
    up = save(backend, studio, version_up=True)
    assert [(s.version, s.iteration) for s in (first, second, up)] == [(1, 1), (1, 2), (2, 1)]
    assert up.path.endswith("/scenes/jdoe/PinchIn/PinchIn_v002_i001.hip")
    assert up.path.startswith(str(studio.root))
    assert backend.get_scene(second.id) == second
    assert backend.find_scene_by_path(second.path) == second
    windows = second.path.replace(str(studio.root), "P:/FX3X")
    assert backend.find_scene_by_path(windows).id == second.id


def test_bad_saves_name_the_field_and_write_nothing(backend: Backend, studio: Any) -> None:
    before = row_counts(studio.db)
    raises(ValidationError, "scene_name", save, backend, studio, scene_name="../up")
    raises(ValidationError, "scene_name", backend.save_scene, {"task_id": 1, "artist": "jdoe"})
    raises(ValidationError, "ext", save, backend, studio, ext="ma")
    raises(NotFound, "task_id", save, backend, studio, task_id=424242)
    raises(NotFound, "scene_id", backend.get_scene, 424242)
    raises(NotFound, "path", backend.find_scene_by_path, f"{studio.root}/never/saved.hip")
    raises(ValidationError, "path", backend.find_scene_by_path, "/not/in/the/project.hip")
    assert row_counts(studio.db) == before


def test_concurrent_saves_never_share_a_number(backend: Backend, studio: Any) -> None:
    numbers: list[tuple[int, int]] = []
    failures: list[BaseException] = []

    def saver() -> None:
        try:
            for _ in range(4):
                scene = save(backend, studio)
                numbers.append((scene.version, scene.iteration))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=saver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(numbers) == [(1, i) for i in range(1, 25)]


def test_reserve_then_complete_makes_latest(backend: Backend, studio: Any) -> None:
    scene = save(backend, studio)
    request = {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": "particles01"}
    pending = backend.reserve_publish(request)
    assert (pending.status, pending.is_latest) == ("pending", False)
    assert pending.item_usd_path.endswith("/usd/PinchIn/particles01/data/particles01_v001_i001.usd")
    assert backend.reserve_publish(request).publish_id == pending.publish_id
    write_data_layer(pending.item_usd_path)
    done = backend.complete_publish(pending.id)
    assert (done.status, done.is_latest, done.completed_at is not None) == ("published", True, True)
    assert backend.complete_publish(done.publish_id) == done
    assert backend.get_publish(done.publish_id) == done
    assert [p.id for p in backend.latest_per_part("PinchIn")] == [done.id]


def test_fail_and_deprecate(backend: Backend, studio: Any) -> None:
    request = {"asset_name": "PinchIn", "part_name": "particles01"}
    first = backend.reserve_publish({**request, "scene_id": save(backend, studio).id})
    write_data_layer(first.item_usd_path)
    backend.complete_publish(first.id)
    second = backend.reserve_publish({**request, "scene_id": save(backend, studio).id})
    write_data_layer(second.item_usd_path)
    backend.complete_publish(second.id)
    broken = backend.reserve_publish({**request, "scene_id": save(backend, studio).id})
    failed = backend.fail_publish(broken.publish_id, "ROP crashed: out of memory")
    assert (failed.status, failed.error) == ("failed", "ROP crashed: out of memory")
    raises(Conflict, "status", backend.complete_publish, broken.id)
    deprecated = backend.deprecate_publish(second.id)
    assert (deprecated.status, deprecated.is_latest) == ("deprecated", False)
    assert [p.id for p in backend.latest_per_part("PinchIn")] == [first.id]
    raises(Conflict, "status", backend.deprecate_publish, broken.id)
    raises(NotFound, "publish_id", backend.get_publish, "no-such-publish")
    raises(NotFound, "publish_id", backend.complete_publish, 424242)


def test_original_publish_is_idempotent(backend: Backend, studio: Any) -> None:
    scene = save(backend, studio)
    payload = original_payload(scene.model_dump(mode="json"), studio.shot_id)
    payload["request_id"] = "farm-job-17/particles01"
    published = backend.publish_part(payload)
    assert (published.version, published.iteration, published.is_latest) == (1, 1, True)
    assert published.part_usd_path.endswith("/usd/PinchIn/particles01/particles01.usd")
    assert backend.publish_part(payload).publish_id == published.publish_id
    before = row_counts(studio.db)
    raises(Conflict, "request_id", backend.publish_part, {**payload, "request_id": "another"})
    raises(
        ValidationError, "item_usd_path", backend.publish_part, {**payload, "source_iteration": 2}
    )
    raises(
        ValidationError, "target_type", backend.publish_part, {**payload, "target_type": "asset"}
    )
    raises(ValidationError, "surprise", backend.publish_part, {**payload, "surprise": 1})
    assert row_counts(studio.db) == before


def test_listings(backend: Backend, studio: Any) -> None:
    for part in ("particles01", "debris01", "particles01"):
        scene = save(backend, studio)
        backend.publish_part(original_payload(scene.model_dump(mode="json"), studio.shot_id, part))
    history = backend.list_publishes(asset_name="PinchIn")
    assert [(p.part_name, p.iteration) for p in history] == [
        ("particles01", 3),
        ("debris01", 2),
        ("particles01", 1),
    ]
    only = backend.list_publishes(part_name="particles01", limit=1)
    assert [p.iteration for p in only] == [3]
    assert [p.iteration for p in backend.list_publishes(task_id=studio.shot_task_id, offset=2)] == [
        1
    ]
    latest = backend.latest_per_part("PinchIn", project_id=studio.project_id)
    assert [(p.part_name, p.iteration) for p in latest] == [("debris01", 2), ("particles01", 3)]
    assert backend.latest_per_part("PinchIn", task_id=studio.asset_task_id) == []
    raises(ValidationError, "status", backend.list_publishes, status="bogus")


def test_entities(backend: Backend, studio: Any) -> None:
    project = backend.get("project", studio.project_id)
    assert (project.code, project.root_windows) == ("FX3X", "P:/FX3X")
    shot = backend.find("shot", "sh010", sequence_id=studio.sequence_id)
    assert shot.id == studio.shot_id
    tasks = backend.list("task", artist_id=studio.artist_id)
    assert {t.id for t in tasks} == {studio.shot_task_id, studio.asset_task_id}
    assert [a.code for a in backend.list("asset", project_id=studio.project_id)] == ["Rock"]
    assert backend.find("artist", "JDOE").login == "jdoe"
    raises(NotFound, "code", backend.find, "shot", "SH999", sequence_id=studio.sequence_id)
    raises(NotFound, "id", backend.get, "asset", 424242)
    raises(ValidationError, "kind", backend.get, "camera", 1)


def _publish(backend: Backend, studio: Any, part: str) -> Any:
    scene = save(backend, studio)
    return backend.publish_part(
        original_payload(scene.model_dump(mode="json"), studio.shot_id, part)
    )


def test_parts_pin_withdraw_and_restore(backend: Backend, studio: Any) -> None:
    first = _publish(backend, studio, "particles01")
    second = _publish(backend, studio, "particles01")
    _publish(backend, studio, "debris01")
    part = backend.get_part("PinchIn/particles01")
    assert part.latest is not None and part.latest.id == second.id
    assert backend.get_part(part.id, "FX3X") == part
    pinned = backend.pin_part({"part": "PinchIn/particles01", "publish": first.publish_id})
    assert pinned.pinned is not None and pinned.resolved is not None
    assert (pinned.pinned.id, pinned.resolved.id) == (first.id, first.id)
    unpinned = backend.unpin_part({"part": part.id})
    assert unpinned.pinned is None and unpinned.resolved is not None
    assert unpinned.resolved.id == second.id
    withdrawn = backend.withdraw_part({"part": "PinchIn/debris01", "project": "FX3X"})
    assert withdrawn.withdrawn is True
    listed = backend.list_parts("PinchIn", "FX3X")
    assert sorted((p.part_name, p.withdrawn) for p in listed) == [
        ("debris01", True),
        ("particles01", False),
    ]
    assert backend.restore_part({"part": "PinchIn/debris01"}).withdrawn is False
    raises(NotFound, "part", backend.get_part, "PinchIn/nothing")
    raises(ValidationError, "version", backend.pin_part, {"part": part.id})


def test_browser_and_launcher_reads_equal_the_database(backend: Backend, studio: Any) -> None:
    _publish(backend, studio, "particles01")
    local = LocalBackend(db=studio.db)
    roots = backend.browse_roots()
    assert roots == local.browse_roots() and [r.name for r in roots] == ["FX3X"]
    keys = [r.key for r in roots]
    level = backend.browse_children(keys)
    assert level == local.browse_children(keys) and level
    deeper = backend.browse_children([n.key for n in level])
    assert deeper == local.browse_children([n.key for n in level])
    part_id = backend.get_part("PinchIn/particles01").id
    assert backend.browse_versions(part_id) == local.browse_versions(part_id)
    assert backend.browse_search("pinch") == local.browse_search("pinch") != []
    tasks = backend.artist_tasks("jdoe")
    assert tasks == local.artist_tasks("jdoe") and len(tasks) == 2
    assert backend.task_row(studio.shot_task_id) == local.task_row(studio.shot_task_id)
    raises(NotFound, "task_id", backend.task_row, 424242)


def test_a_launch_is_recorded(backend: Backend, studio: Any) -> None:
    launch = {
        "task_id": studio.shot_task_id,
        "artist": "jdoe",
        "dcc": "houdini",
        "executable": "/opt/hfs20.5/bin/houdini",
        "pid": 4242,
    }
    event = backend.record_launch(launch)
    assert (event.kind, event.entity_type, event.entity_id) == (
        "dcc.launched",
        "task",
        launch["task_id"],
    )
    before = row_counts(studio.db)
    raises(NotFound, "task_id", backend.record_launch, {**launch, "task_id": 424242})
    raises(ValidationError, "pid", backend.record_launch, {**launch, "pid": 0})
    assert row_counts(studio.db) == before


def test_a_save_whose_file_was_not_written_is_discarded(backend: Backend, studio: Any) -> None:
    save(backend, studio)
    unwritten = save(backend, studio)
    assert backend.discard_scene(unwritten.id, "disk full").id == unwritten.id
    raises(NotFound, "scene_id", backend.get_scene, unwritten.id)
    raises(NotFound, "scene_id", backend.discard_scene, unwritten.id, "again")
    assert save(backend, studio).iteration == 3
