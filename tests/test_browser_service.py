"""The browse service on both databases: the tree levels hold what the database holds,
versions come newest first with latest and pinned marked, search finds names anywhere,
and an artist's tasks come with their targets."""

from __future__ import annotations

import pytest

from pm_db import publishing
from pm_db.backend import LocalBackend
from pm_db.errors import NotFound, ValidationError
from pm_db.services import browse, entities, launches
from pm_db.services.events import list_events
from tests.conftest import Studio
from tests.helpers import row_counts
from tests.test_browser_support import publish, save, shot_history


def test_empty_database_has_no_roots(db: object) -> None:
    assert browse.roots(db) == []  # type: ignore[arg-type]


def test_levels_mirror_the_database(studio: Studio) -> None:
    db = studio.db
    shot_history(db, studio.shot_task_id, iterations=3)
    rock = save(db, studio.asset_task_id, scene="RockFx")
    publish(db, rock.id, "Rock", "moss")

    [project] = browse.roots(db)
    assert (project.key, project.name, project.info) == (
        f"project:{studio.project_id}",
        "FX3X",
        "Effects test show",
    )
    assert project.children == 2  # one sequence, one asset

    level = browse.children(db, [project.key])
    assert [(n.kind, n.name, n.parent) for n in level] == [
        ("sequence", "SQ010", project.key),
        ("asset", "Rock", project.key),
    ]
    assert level[0].children == 1 and level[1].children == 1
    assert level[1].info == "prop"

    [shot] = browse.children(db, [f"sequence:{studio.sequence_id}"])
    assert (shot.name, shot.info, shot.children) == ("SH010", "1001-1100", 1)

    [usd] = browse.children(db, [shot.key])
    assert (usd.kind, usd.name, usd.children) == ("usd_asset", "PinchIn", 2)
    assert usd.info == "fx · jdoe/PinchIn"
    assert usd.path is not None and usd.path.endswith("/usd/PinchIn/PinchIn.usd")
    assert usd.path.startswith(str(studio.root))

    parts = browse.children(db, [usd.key])
    assert [p.name for p in parts] == ["debris01", "particles01"]
    particles = parts[1]
    assert (particles.version, particles.status, particles.children) == (
        "v001 i003",
        "published",
        3,
    )
    assert not particles.pinned and not particles.withdrawn
    assert particles.path is not None and particles.path.endswith("particles01/particles01.usd")

    versions = browse.children(db, [particles.key])
    assert [v.version for v in versions] == ["v001 i003", "v001 i002", "v001 i001"]
    assert [v.latest for v in versions] == [True, False, False]
    newest = versions[0]
    assert newest.name == "particles01_v001_i003.usd"
    assert (newest.scene_name, newest.scene_version, newest.scene_iteration) == ("PinchIn", 1, 3)
    assert newest.scene_path is not None and newest.scene_path.endswith("PinchIn_v001_i003.hip")
    assert newest.artist == "jdoe" and newest.metadata == {"frames": [1001, 1100]}
    assert newest.time is not None and newest.publish_uid

    [asset_usd] = browse.children(db, [f"asset:{studio.asset_id}"])
    assert (asset_usd.name, asset_usd.parent) == ("Rock", f"asset:{studio.asset_id}")


def test_many_parents_in_one_call(studio: Studio) -> None:
    db = studio.db
    second = entities.create(db, "shot", {"sequence_id": studio.sequence_id, "code": "SH020"})
    task = entities.create(
        db,
        "task",
        {
            "target_type": "shot",
            "target_id": second.id,
            "step": "fx",
            "artist_id": studio.artist_id,
        },
    )
    publish(db, save(db, studio.shot_task_id).id, "PinchIn", "particles01")
    publish(db, save(db, task.id, scene="Splash").id, "Splash", "water")
    nodes = browse.children(db, [f"shot:{studio.shot_id}", f"shot:{second.id}"])
    assert {(n.parent, n.name) for n in nodes} == {
        (f"shot:{studio.shot_id}", "PinchIn"),
        (f"shot:{second.id}", "Splash"),
    }


def test_statuses_latest_and_pinned(studio: Studio) -> None:
    db = studio.db
    first = publish(db, save(db, studio.shot_task_id).id, "PinchIn", "particles01")
    second = publish(db, save(db, studio.shot_task_id).id, "PinchIn", "particles01")
    publish(db, save(db, studio.shot_task_id).id, "PinchIn", "particles01", status="deprecated")
    publish(db, save(db, studio.shot_task_id).id, "PinchIn", "particles01", status="failed")
    publish(db, save(db, studio.shot_task_id).id, "PinchIn", "particles01", status="pending")
    LocalBackend(db=db).pin_part({"part": first.part_id, "publish": first.id})

    versions = browse.children(db, [f"part:{first.part_id}"])
    assert [(v.version, v.status, v.latest, v.pinned) for v in versions] == [
        ("v001 i005", "pending", False, False),
        ("v001 i004", "failed", False, False),
        ("v001 i003", "deprecated", False, False),
        ("v001 i002", "published", True, False),
        ("v001 i001", "published", False, True),
    ]
    assert versions[1].error == "the ROP crashed"
    [part] = browse.children(db, [browse.usd_key(_stream(db, first), "PinchIn")])
    assert part.pinned and part.pinned_version == "v001 i001"
    assert (part.version, part.publish_id) == ("v001 i001", first.id)
    LocalBackend(db=db).unpin_part({"part": first.part_id})
    [part] = browse.children(db, [part.parent or ""])
    assert not part.pinned and (part.version, part.publish_id) == ("v001 i002", second.id)


def _stream(db: object, published: object) -> int:
    from pm_db.models import Part

    return db.read(lambda s: s.get(Part, published.part_id).stream_id)  # type: ignore[attr-defined]


def test_part_never_published_shows_its_newest_attempt(studio: Studio) -> None:
    db = studio.db
    failed = publish(db, save(db, studio.shot_task_id).id, "PinchIn", "smoke", status="failed")
    [part] = browse.children(db, [browse.usd_key(_stream(db, failed), "PinchIn")])
    assert (part.name, part.status, part.version) == ("smoke", "failed", "v001 i001")


def test_versions_page_newest_first_with_latest_always_on_the_first_page(studio: Studio) -> None:
    db = studio.db
    made = [publish(db, save(db, studio.shot_task_id).id, "PinchIn", "particles01")]
    for _ in range(6):
        made.append(
            publish(db, save(db, studio.shot_task_id).id, "PinchIn", "particles01", "deprecated")
        )
    part = f"part:{made[0].part_id}"
    first_page = browse.children(db, [part], limit=3)
    assert [v.version for v in first_page] == ["v001 i007", "v001 i006", "v001 i005", "v001 i001"]
    assert first_page[-1].latest
    second_page = browse.versions(db, made[0].part_id, offset=3, limit=3)
    assert [v.version for v in second_page] == ["v001 i004", "v001 i003", "v001 i002"]
    assert browse.versions(db, made[0].part_id, offset=6, limit=3)[0].version == "v001 i001"
    with pytest.raises(NotFound) as missing:
        browse.versions(db, 999_999)
    assert missing.value.field == "part_id"
    with pytest.raises(ValidationError) as bad:
        browse.versions(db, made[0].part_id, offset=-1)
    assert bad.value.field == "offset"


def test_search_finds_names_at_every_level(studio: Studio) -> None:
    db = studio.db
    shot_history(db, studio.shot_task_id, iterations=1)
    rock = save(db, studio.asset_task_id, scene="RockFx")
    publish(db, rock.id, "Rock", "moss")
    project, sequence, shot = (
        f"project:{studio.project_id}",
        f"sequence:{studio.sequence_id}",
        f"shot:{studio.shot_id}",
    )
    [debris] = browse.search(db, "DEBRIS")
    assert debris[:3] == [project, sequence, shot]
    assert debris[3].startswith("usd:") and debris[4].startswith("part:")
    assert [c[-1] for c in browse.search(db, "pinch")] == [debris[3]]
    assert browse.search(db, "sh01") == [[project, sequence, shot]]
    assert browse.search(db, "q01") == [[project, sequence]]
    chains = browse.search(db, "rock")
    assert [project, f"asset:{studio.asset_id}"] in chains
    assert any(c[-1].startswith("usd:") and c[1] == f"asset:{studio.asset_id}" for c in chains)
    assert browse.search(db, "%") == [] and browse.search(db, "_") == []
    assert browse.search(db, "   ") == []


def test_bad_keys_name_the_field_and_change_nothing(studio: Studio) -> None:
    before = row_counts(studio.db)
    for key in ("shot", "shot:x", "usd:1", "nope:1", "part:1:extra"):
        with pytest.raises(ValidationError) as error:
            browse.children(studio.db, [key])
        assert error.value.field == "key"
    with pytest.raises(ValidationError) as error:
        browse.children(studio.db, ["shot:1"] * 1001)
    assert error.value.field == "keys"
    assert browse.children(studio.db, ["shot:999999", "part:424242"]) == []
    assert row_counts(studio.db) == before


def test_artist_tasks_with_their_targets(studio: Studio) -> None:
    tasks = browse.artist_tasks(studio.db, "JDoe")
    assert [(t.project, t.target_type, t.target, t.step, t.status) for t in tasks] == [
        ("FX3X", "asset", "Rock", "fx", "todo"),
        ("FX3X", "shot", "SQ010/SH010", "fx", "todo"),
    ]
    assert tasks[1].target_info == "1001-1100" and tasks[0].target_info == "prop"
    assert browse.task_row(studio.db, studio.shot_task_id).target == "SQ010/SH010"
    entities.create(studio.db, "artist", {"login": "idle", "name": "Idle Artist"})
    assert browse.artist_tasks(studio.db, "idle") == []
    with pytest.raises(NotFound) as error:
        browse.artist_tasks(studio.db, "nobody")
    assert error.value.field == "artist"
    with pytest.raises(NotFound) as error:
        browse.task_row(studio.db, 999_999)
    assert error.value.field == "task_id"


def test_a_launch_is_recorded_on_its_task(studio: Studio) -> None:
    event = launches.record_launch(
        studio.db,
        {
            "task_id": studio.shot_task_id,
            "artist": "jdoe",
            "dcc": "houdini",
            "executable": "/opt/hfs/bin/houdini",
            "pid": 4242,
        },
    )
    assert (event.kind, event.entity_id, event.artist_id) == (
        "dcc.launched",
        studio.shot_task_id,
        studio.artist_id,
    )
    assert event.payload == {"dcc": "houdini", "executable": "/opt/hfs/bin/houdini", "pid": 4242}
    before = row_counts(studio.db)
    for data, field in (
        ({"task_id": 999_999, "artist": "jdoe"}, "task_id"),
        ({"task_id": studio.shot_task_id, "artist": "nobody"}, "artist"),
        ({"task_id": studio.shot_task_id, "artist": "jdoe", "pid": 0}, "pid"),
    ):
        payload = {"dcc": "houdini", "executable": "/x", "pid": 1, **data}
        with pytest.raises((NotFound, ValidationError)) as error:
            launches.record_launch(studio.db, payload)
        assert error.value.field == field
    assert row_counts(studio.db) == before
    assert len(list_events(studio.db, kind="dcc.launched")) == 1


def test_deprecating_the_latest_moves_latest_in_the_tree(studio: Studio) -> None:
    db = studio.db
    older = publish(db, save(db, studio.shot_task_id).id, "PinchIn", "particles01")
    newer = publish(db, save(db, studio.shot_task_id).id, "PinchIn", "particles01")
    publishing.deprecate(db, None, newer.id)
    versions = browse.children(db, [f"part:{older.part_id}"])
    assert [(v.version, v.latest, v.status) for v in versions] == [
        ("v001 i002", False, "deprecated"),
        ("v001 i001", True, "published"),
    ]
