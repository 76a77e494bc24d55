"""Every entity's create / get / find / list / update / delete, and every kind of bad input,
on SQLite and PostgreSQL. A refused request names the field and writes nothing: not a
row, not an event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from pm_db.db import Database
from pm_db.errors import Conflict, NotFound, PmError, ValidationError
from pm_db.models import Base
from pm_db.services import entities, events, scenes

Payload = Callable[[Any], dict[str, Any]]


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table, the event log included."""
    return db.read(
        lambda s: {
            t.name: s.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }
    )


def refused(db: Database, error: type[PmError], field: str, call: Callable[[], object]) -> str:
    """Run `call`, expect `error` naming `field` and no row written; returns the message."""
    before = row_counts(db)
    with pytest.raises(error) as caught:
        call()
    assert type(caught.value) is error, caught.value
    assert caught.value.field == field, caught.value
    assert row_counts(db) == before
    return caught.value.message


# CRUD of every kind ------------------------------------------------------------------------


@dataclass
class Case:
    kind: str
    create: Payload
    update: Payload
    key: str
    scope: Callable[[Any], dict[str, int]]


CASES = [
    Case(
        "project",
        lambda s: {"code": "Show2", "name": "Show two", "root_linux": "/show/Show2/"},
        lambda s: {"name": "Show 2", "root_mac": "/Volumes/show/Show2"},
        "SHOW2",
        lambda s: {},
    ),
    Case(
        "sequence",
        lambda s: {"project_id": s.project_id, "code": "SQ020"},
        lambda s: {"code": "SQ030"},
        "sq020",
        lambda s: {"project_id": s.project_id},
    ),
    Case(
        "shot",
        lambda s: {"sequence_id": s.sequence_id, "code": "SH020", "frame_end": 1050},
        lambda s: {"frame_start": 990, "frame_end": 1200},
        "sh020",
        lambda s: {"sequence_id": s.sequence_id},
    ),
    Case(
        "asset",
        lambda s: {"project_id": s.project_id, "code": "Tree", "asset_type": "env"},
        lambda s: {"asset_type": "prop", "code": "TreeB"},
        "TREE",
        lambda s: {"project_id": s.project_id},
    ),
    Case(
        "artist",
        lambda s: {"login": " Bob.Smith ", "name": "Bob Smith"},
        lambda s: {"email": "bob@studio.example", "active": False},
        "BOB.SMITH",
        lambda s: {},
    ),
    Case(
        "task",
        lambda s: {
            "target_type": "shot",
            "target_id": s.shot_id,
            "step": "Light",
            "name": "main",
            "artist_id": s.artist_id,
        },
        lambda s: {"status": "wip", "artist_id": None, "name": "keylight"},
        "MAIN",
        lambda s: {"shot_id": s.shot_id, "step": "light"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_create_get_find_list_update_delete(studio: Any, case: Case) -> None:
    db = studio.db
    before = row_counts(db)
    created = entities.create(db, case.kind, case.create(studio))
    assert entities.get(db, case.kind, created.id) == created
    assert entities.find(db, case.kind, case.key, **case.scope(studio)) == created
    assert created in entities.list_(db, case.kind)

    changes = case.update(studio)
    updated = entities.update(db, case.kind, created.id, changes)
    for name, value in changes.items():
        assert getattr(updated, name) == value
    assert entities.get(db, case.kind, created.id) == updated

    entities.delete(db, case.kind, created.id)
    with pytest.raises(NotFound) as caught:
        entities.get(db, case.kind, created.id)
    assert caught.value.field == "id"
    after = row_counts(db)
    assert after["events"] == before["events"] + 3
    assert {**after, "events": 0} == {**before, "events": 0}
    kinds = [e.kind for e in events.list_events(db, entity_type=case.kind, entity_id=created.id)]
    assert kinds == [f"{case.kind}.deleted", f"{case.kind}.updated", f"{case.kind}.created"]


def test_names_are_normalized(studio: Any) -> None:
    db = studio.db
    project = entities.get(db, "project", studio.project_id)
    assert project.root_linux == str(studio.root)
    artist = entities.create(db, "artist", {"login": " J.Smith ", "name": "J"})
    assert artist.login == "j.smith"
    task = entities.create(
        db, "task", {"target_type": "asset", "target_id": studio.asset_id, "step": "MODEL"}
    )
    assert (task.step, task.name, task.status, task.artist_id) == ("model", "model", "todo", None)
    assert (task.target_type, task.target_id) == ("asset", studio.asset_id)
    assert task.project_id == studio.project_id


def test_case_is_kept_but_lookups_ignore_it(studio: Any) -> None:
    found = entities.find(studio.db, "asset", "rOcK", project_id=studio.project_id)
    assert found.code == "Rock"


def test_find_says_what_it_looked_for(studio: Any) -> None:
    with pytest.raises(NotFound) as caught:
        entities.find(studio.db, "shot", "SH999", sequence_id=studio.sequence_id)
    assert caught.value.field == "code" and "SH999" in caught.value.message


def test_an_update_that_changes_nothing_writes_nothing(studio: Any) -> None:
    before = row_counts(studio.db)
    shot = entities.update(studio.db, "shot", studio.shot_id, {"code": "SH010"})
    assert shot.code == "SH010"
    assert row_counts(studio.db) == before


# Listing -----------------------------------------------------------------------------------


def test_lists_filter_by_their_parents(studio: Any) -> None:
    db = studio.db
    other = entities.create(db, "project", {"code": "OTHER", "name": "O", "root_linux": "/o"})
    sequence = entities.create(db, "sequence", {"project_id": other.id, "code": "SQ010"})
    shot = entities.create(db, "shot", {"sequence_id": sequence.id, "code": "SH010"})
    assert [s.id for s in entities.list_(db, "shot", project_id=studio.project_id)] == [
        studio.shot_id
    ]
    assert [s.id for s in entities.list_(db, "shot", project_id=other.id)] == [shot.id]
    assert [s.id for s in entities.list_(db, "sequence", project_id=other.id)] == [sequence.id]
    assert len(entities.list_(db, "shot")) == 2
    tasks = entities.list_(db, "task", artist_id=studio.artist_id)
    assert [t.id for t in tasks] == [studio.shot_task_id, studio.asset_task_id]
    assert [t.id for t in entities.list_(db, "task", asset_id=studio.asset_id)] == [
        studio.asset_task_id
    ]
    assert entities.list_(db, "asset", asset_type="character") == []
    assert [a.code for a in entities.list_(db, "asset", asset_type="prop")] == ["Rock"]


def test_lists_page_in_id_order(db: Database) -> None:
    created = entities.create_many(
        db, "artist", [{"login": f"artist{n:02}", "name": f"Artist {n}"} for n in range(25)]
    )
    first = entities.list_(db, "artist", limit=10)
    second = entities.list_(db, "artist", limit=10, offset=10)
    assert [a.id for a in first + second] == [a.id for a in created[:20]]
    entities.update(db, "artist", created[3].id, {"active": False})
    inactive = entities.list_(db, "artist", active=False)
    assert [a.login for a in inactive] == ["artist03"]


@pytest.mark.parametrize(
    ("kind", "arguments", "field"),
    [
        ("shot", {"asset_type": "prop"}, "asset_type"),
        ("task", {"artist_id": "jdoe"}, "artist_id"),
        ("task", {"project_id": True}, "project_id"),
        ("artist", {"active": "yes"}, "active"),
        ("task", {"status": 3}, "status"),
        ("task", {"limit": 0}, "limit"),
        ("task", {"limit": 100_001}, "limit"),
        ("task", {"offset": -1}, "offset"),
        ("spaceship", {}, "kind"),
    ],
)
def test_bad_list_requests_name_the_field(
    db: Database, kind: str, arguments: dict[str, Any], field: str
) -> None:
    refused(db, ValidationError, field, lambda: entities.list_(db, kind, **arguments))


# Bulk creation -----------------------------------------------------------------------------


def test_create_many_makes_every_item_in_order(studio: Any) -> None:
    db = studio.db
    shots = entities.create_many(
        db,
        "shot",
        [{"sequence_id": studio.sequence_id, "code": f"SH{n:03}0"} for n in range(2, 12)],
    )
    assert [s.code for s in shots] == [f"SH{n:03}0" for n in range(2, 12)]
    assert [s.id for s in shots] == sorted(s.id for s in shots)
    tasks = entities.create_many(
        db,
        "task",
        [
            {"target_type": "shot", "target_id": s.id, "step": step, "artist_id": studio.artist_id}
            for s in shots
            for step in ("fx", "light")
        ]
        + [{"target_type": "asset", "target_id": studio.asset_id, "step": "light"}],
    )
    assert len(tasks) == 21 and {t.project_id for t in tasks} == {studio.project_id}
    assert entities.get(db, "task", tasks[-1].id).target_type == "asset"
    created = events.list_events(db, kind="task.created", limit=1000)
    assert {e.entity_id for e in created} >= {t.id for t in tasks}


@pytest.mark.parametrize(
    ("items", "error", "field"),
    [
        ([], ValidationError, "items"),
        ({"code": "SQ020"}, ValidationError, "items"),
        (["SQ020"], ValidationError, "items[0].payload"),
        ([{"code": "SQ020"}, {"code": "../SQ030"}], ValidationError, "items[1].code"),
        (
            [{"code": "SQ020"}, {"code": "SQ030", "colour": "red"}],
            ValidationError,
            "items[1].colour",
        ),
        ([{"code": "SQ020"}, {"code": "sq020"}], Conflict, "items[1].code"),
        ([{"code": "SQ020"}, {"code": "sq010"}], Conflict, "items[1].code"),
        (
            [{"code": "SQ020"}, {"code": "SQ030", "project_id": 999}],
            NotFound,
            "items[1].project_id",
        ),
    ],
)
def test_create_many_is_all_or_nothing(
    studio: Any, items: Any, error: type[PmError], field: str
) -> None:
    if isinstance(items, list):
        items = [
            {"project_id": studio.project_id, **i} if isinstance(i, dict) else i for i in items
        ]
    refused(studio.db, error, field, lambda: entities.create_many(studio.db, "sequence", items))


def test_create_many_checks_task_targets(studio: Any) -> None:
    items = [
        {"target_type": "shot", "target_id": studio.shot_id, "step": "anim"},
        {"target_type": "asset", "target_id": 999, "step": "anim"},
    ]
    message = refused(
        studio.db,
        NotFound,
        "items[1].target_id",
        lambda: entities.create_many(studio.db, "task", items),
    )
    assert "asset" in message and "999" in message


# Bad input ---------------------------------------------------------------------------------

LONG = "x" * 65

BAD_CREATES: list[tuple[str, Payload, type[PmError], str]] = [
    # unknown references
    ("sequence", lambda s: {"project_id": 999, "code": "SQ020"}, NotFound, "project_id"),
    ("shot", lambda s: {"sequence_id": 999, "code": "SH020"}, NotFound, "sequence_id"),
    (
        "asset",
        lambda s: {"project_id": 999, "code": "Tree", "asset_type": "env"},
        NotFound,
        "project_id",
    ),
    (
        "task",
        lambda s: {"target_type": "shot", "target_id": 999, "step": "fx"},
        NotFound,
        "target_id",
    ),
    (
        "task",
        lambda s: {"target_type": "asset", "target_id": s.shot_id + 99, "step": "fx"},
        NotFound,
        "target_id",
    ),
    (
        "task",
        lambda s: {"target_type": "shot", "target_id": s.shot_id, "step": "anim", "artist_id": 999},
        NotFound,
        "artist_id",
    ),
    # duplicate codes, also when only the case differs
    ("project", lambda s: {"code": "FX3X", "name": "Again", "root_linux": "/x"}, Conflict, "code"),
    ("project", lambda s: {"code": "fx3x", "name": "Again", "root_linux": "/x"}, Conflict, "code"),
    ("sequence", lambda s: {"project_id": s.project_id, "code": "sq010"}, Conflict, "code"),
    ("shot", lambda s: {"sequence_id": s.sequence_id, "code": "Sh010"}, Conflict, "code"),
    (
        "asset",
        lambda s: {"project_id": s.project_id, "code": "ROCK", "asset_type": "prop"},
        Conflict,
        "code",
    ),
    ("artist", lambda s: {"login": "JDoe", "name": "Another Jane"}, Conflict, "login"),
    (
        "task",
        lambda s: {"target_type": "shot", "target_id": s.shot_id, "step": "FX"},
        Conflict,
        "name",
    ),
    (
        "task",
        lambda s: {"target_type": "shot", "target_id": s.shot_id, "step": "fx", "name": "FX"},
        Conflict,
        "name",
    ),
    # empty and over-long names
    ("project", lambda s: {"code": "", "name": "X", "root_linux": "/x"}, ValidationError, "code"),
    (
        "project",
        lambda s: {"code": "   ", "name": "X", "root_linux": "/x"},
        ValidationError,
        "code",
    ),
    ("project", lambda s: {"code": "X", "name": "", "root_linux": "/x"}, ValidationError, "name"),
    (
        "project",
        lambda s: {"code": "X", "name": "n" * 201, "root_linux": "/x"},
        ValidationError,
        "name",
    ),
    ("sequence", lambda s: {"project_id": s.project_id, "code": LONG}, ValidationError, "code"),
    ("artist", lambda s: {"login": LONG, "name": "X"}, ValidationError, "login"),
    ("artist", lambda s: {"login": "x", "name": ""}, ValidationError, "name"),
    (
        "task",
        lambda s: {"target_type": "shot", "target_id": s.shot_id, "step": ""},
        ValidationError,
        "step",
    ),
    # path separators and '..'
    (
        "project",
        lambda s: {"code": "FX/3X", "name": "X", "root_linux": "/x"},
        ValidationError,
        "code",
    ),
    (
        "sequence",
        lambda s: {"project_id": s.project_id, "code": "SQ\\010"},
        ValidationError,
        "code",
    ),
    ("shot", lambda s: {"sequence_id": s.sequence_id, "code": ".."}, ValidationError, "code"),
    (
        "shot",
        lambda s: {"sequence_id": s.sequence_id, "code": "../../etc"},
        ValidationError,
        "code",
    ),
    (
        "asset",
        lambda s: {"project_id": s.project_id, "code": "a..b", "asset_type": "prop"},
        ValidationError,
        "code",
    ),
    (
        "asset",
        lambda s: {"project_id": s.project_id, "code": "Tree", "asset_type": "a/b"},
        ValidationError,
        "asset_type",
    ),
    ("artist", lambda s: {"login": "../root", "name": "X"}, ValidationError, "login"),
    ("artist", lambda s: {"login": "j..doe", "name": "X"}, ValidationError, "login"),
    (
        "task",
        lambda s: {"target_type": "shot", "target_id": s.shot_id, "step": "fx", "name": "a/b"},
        ValidationError,
        "name",
    ),
    (
        "project",
        lambda s: {"code": "X", "name": "X", "root_linux": "/show/../etc"},
        ValidationError,
        "root_linux",
    ),
    # wrong types
    (
        "sequence",
        lambda s: {"project_id": str(s.project_id), "code": "SQ020"},
        ValidationError,
        "project_id",
    ),
    ("sequence", lambda s: {"project_id": True, "code": "SQ020"}, ValidationError, "project_id"),
    ("sequence", lambda s: {"project_id": s.project_id, "code": 20}, ValidationError, "code"),
    (
        "shot",
        lambda s: {"sequence_id": s.sequence_id, "code": "SH020", "frame_start": "1001"},
        ValidationError,
        "frame_start",
    ),
    (
        "shot",
        lambda s: {"sequence_id": s.sequence_id, "code": "SH020", "frame_end": 10.5},
        ValidationError,
        "frame_end",
    ),
    (
        "artist",
        lambda s: {"login": "bob", "name": "Bob", "active": "maybe"},
        ValidationError,
        "active",
    ),
    (
        "artist",
        lambda s: {"login": "bob", "name": "Bob", "email": "not-an-address"},
        ValidationError,
        "email",
    ),
    (
        "task",
        lambda s: {"target_type": "sequence", "target_id": s.sequence_id, "step": "fx"},
        ValidationError,
        "target_type",
    ),
    (
        "task",
        lambda s: {
            "target_type": "shot",
            "target_id": s.shot_id,
            "step": "anim",
            "status": "finished",
        },
        ValidationError,
        "status",
    ),
    (
        "project",
        lambda s: {"code": "X", "name": "X", "root_linux": "/x", "templates": ["a"]},
        ValidationError,
        "templates",
    ),
    # unknown and missing fields
    (
        "project",
        lambda s: {"code": "X", "name": "X", "root_linux": "/x", "colour": "red"},
        ValidationError,
        "colour",
    ),
    (
        "shot",
        lambda s: {"sequence_id": s.sequence_id, "code": "SH020", "project_id": 1},
        ValidationError,
        "project_id",
    ),
    ("sequence", lambda s: {"code": "SQ020"}, ValidationError, "project_id"),
    # rules across fields
    ("project", lambda s: {"code": "X", "name": "X"}, ValidationError, "root_linux"),
    (
        "shot",
        lambda s: {
            "sequence_id": s.sequence_id,
            "code": "SH020",
            "frame_start": 1100,
            "frame_end": 1001,
        },
        ValidationError,
        "frame_end",
    ),
]


@pytest.mark.parametrize(
    ("kind", "payload", "error", "field"),
    BAD_CREATES,
    ids=[f"{kind}-{field}-{n}" for n, (kind, _p, _e, field) in enumerate(BAD_CREATES)],
)
def test_bad_create_names_the_field_and_writes_nothing(
    studio: Any, kind: str, payload: Payload, error: type[PmError], field: str
) -> None:
    data = payload(studio)
    refused(studio.db, error, field, lambda: entities.create(studio.db, kind, data))


@pytest.mark.parametrize("data", ["code=SQ020", ["SQ020"], None, 7])
def test_a_payload_that_is_not_an_object_is_refused(studio: Any, data: object) -> None:
    refused(
        studio.db, ValidationError, "payload", lambda: entities.create(studio.db, "sequence", data)
    )


def test_same_code_in_another_scope_is_fine(studio: Any) -> None:
    db = studio.db
    other = entities.create(db, "project", {"code": "OTHER", "name": "O", "root_linux": "/o"})
    entities.create(db, "sequence", {"project_id": other.id, "code": "SQ010"})
    entities.create(db, "asset", {"project_id": other.id, "code": "Rock", "asset_type": "prop"})
    sequence = entities.create(db, "sequence", {"project_id": studio.project_id, "code": "SQ020"})
    entities.create(db, "shot", {"sequence_id": sequence.id, "code": "SH010"})
    task = entities.create(
        db,
        "task",
        {"target_type": "shot", "target_id": studio.shot_id, "step": "anim", "name": "fx"},
    )
    assert task.name == "fx"
    asset_task = entities.create(
        db,
        "task",
        {"target_type": "asset", "target_id": studio.asset_id, "step": "anim", "name": "fx"},
    )
    assert asset_task.name == "fx"


BAD_UPDATES: list[tuple[str, str, Payload, type[PmError], str]] = [
    ("sequence", "sequence_id", lambda s: {"code": "../x"}, ValidationError, "code"),
    ("shot", "shot_id", lambda s: {"frame_end": 1}, ValidationError, "frame_end"),
    ("shot", "shot_id", lambda s: {"sequence_id": 1}, ValidationError, "sequence_id"),
    ("asset", "asset_id", lambda s: {"code": ""}, ValidationError, "code"),
    ("artist", "artist_id", lambda s: {"login": "other"}, ValidationError, "login"),
    ("artist", "artist_id", lambda s: {"name": 5}, ValidationError, "name"),
    ("task", "shot_task_id", lambda s: {"artist_id": 999}, NotFound, "artist_id"),
    ("task", "shot_task_id", lambda s: {"status": "later"}, ValidationError, "status"),
    ("task", "shot_task_id", lambda s: {"step": "anim"}, ValidationError, "step"),
    (
        "project",
        "project_id",
        lambda s: {"root_linux": "", "root_windows": None},
        ValidationError,
        "root_linux",
    ),
    ("project", "project_id", lambda s: {"code": "NEW"}, ValidationError, "code"),
    ("project", "project_id", lambda s: {"templates": None}, ValidationError, "templates"),
    ("project", "project_id", lambda s: {"name": None}, ValidationError, "name"),
    ("shot", "shot_id", lambda s: {"frame_start": None}, ValidationError, "frame_start"),
    ("sequence", "sequence_id", lambda s: {"code": None}, ValidationError, "code"),
    ("asset", "asset_id", lambda s: {"asset_type": None}, ValidationError, "asset_type"),
    ("artist", "artist_id", lambda s: {"active": None}, ValidationError, "active"),
    ("task", "shot_task_id", lambda s: {"status": None}, ValidationError, "status"),
]


@pytest.mark.parametrize(
    ("kind", "ident", "payload", "error", "field"),
    BAD_UPDATES,
    ids=[f"{kind}-{field}-{n}" for n, (kind, _i, _p, _e, field) in enumerate(BAD_UPDATES)],
)
def test_bad_update_names_the_field_and_writes_nothing(
    studio: Any, kind: str, ident: str, payload: Payload, error: type[PmError], field: str
) -> None:
    data = payload(studio)
    target = getattr(studio, ident)
    refused(studio.db, error, field, lambda: entities.update(studio.db, kind, target, data))


def test_renaming_into_an_existing_code_is_a_conflict(studio: Any) -> None:
    db = studio.db
    sequence = entities.create(db, "sequence", {"project_id": studio.project_id, "code": "SQ020"})
    refused(
        db,
        Conflict,
        "code",
        lambda: entities.update(db, "sequence", sequence.id, {"code": "sq010"}),
    )
    renamed = entities.update(db, "sequence", sequence.id, {"code": "sq020"})
    assert renamed.code == "sq020"


@pytest.mark.parametrize("ident", [0, -1, "1", 1.0, True, 2**63])
@pytest.mark.parametrize("verb", ["get", "update", "delete"])
def test_a_bad_id_names_the_field(studio: Any, verb: str, ident: Any) -> None:
    def call() -> object:
        if verb == "update":
            return entities.update(studio.db, "shot", ident, {"frame_end": 1200})
        return getattr(entities, verb)(studio.db, "shot", ident)

    refused(studio.db, ValidationError, "id", call)


@pytest.mark.parametrize("verb", ["get", "update", "delete"])
def test_a_missing_record_is_not_found(studio: Any, verb: str) -> None:
    def call() -> object:
        if verb == "update":
            return entities.update(studio.db, "asset", 999, {"asset_type": "env"})
        return getattr(entities, verb)(studio.db, "asset", 999)

    refused(studio.db, NotFound, "id", call)


@pytest.mark.parametrize(
    ("kind", "ident", "users"),
    [
        ("project", "project_id", ["sequences (1)", "assets (1)", "tasks (2)"]),
        ("sequence", "sequence_id", ["shots (1)"]),
        ("shot", "shot_id", ["tasks (1)"]),
        ("asset", "asset_id", ["tasks (1)"]),
        ("artist", "artist_id", ["tasks (2)"]),
    ],
)
def test_deleting_what_is_still_used_says_by_what(
    studio: Any, kind: str, ident: str, users: list[str]
) -> None:
    message = refused(
        studio.db, Conflict, "id", lambda: entities.delete(studio.db, kind, getattr(studio, ident))
    )
    for user in users:
        assert user in message


def test_a_task_with_saved_scenes_cannot_be_deleted(studio: Any) -> None:
    scenes.save_scene(
        studio.db, {"task_id": studio.shot_task_id, "artist": "jdoe", "scene_name": "PinchIn"}
    )
    message = refused(
        studio.db, Conflict, "id", lambda: entities.delete(studio.db, "task", studio.shot_task_id)
    )
    assert "scenes (1)" in message


def test_deleting_in_order_leaves_nothing_behind(studio: Any) -> None:
    db = studio.db
    for kind, ident in (
        ("task", studio.shot_task_id),
        ("task", studio.asset_task_id),
        ("shot", studio.shot_id),
        ("sequence", studio.sequence_id),
        ("asset", studio.asset_id),
        ("project", studio.project_id),
        ("artist", studio.artist_id),
    ):
        entities.delete(db, kind, ident)
    assert set(entities.counts(db).values()) == {0}


# Codes inside saved paths ------------------------------------------------------------------


def test_codes_in_saved_paths_cannot_change(studio: Any) -> None:
    db = studio.db
    for task in (studio.shot_task_id, studio.asset_task_id):
        scenes.save_scene(db, {"task_id": task, "artist": "jdoe", "scene_name": "PinchIn"})
    for kind, ident, change, field in (
        ("sequence", studio.sequence_id, {"code": "SQ011"}, "code"),
        ("shot", studio.shot_id, {"code": "sh010"}, "code"),
        ("asset", studio.asset_id, {"code": "Boulder"}, "code"),
        ("asset", studio.asset_id, {"asset_type": "env"}, "asset_type"),
    ):
        message = refused(
            db, Conflict, field, lambda k=kind, i=ident, c=change: entities.update(db, k, i, c)
        )
        assert "saved" in message
    shot = entities.update(db, "shot", studio.shot_id, {"frame_end": 1250})
    assert shot.frame_end == 1250


def test_codes_can_change_before_anything_is_saved(studio: Any) -> None:
    db = studio.db
    assert entities.update(db, "shot", studio.shot_id, {"code": "SH015"}).code == "SH015"
    assert entities.update(db, "sequence", studio.sequence_id, {"code": "SQ015"}).code == "SQ015"
    saved = scenes.save_scene(
        db, {"task_id": studio.shot_task_id, "artist": "jdoe", "scene_name": "PinchIn"}
    )
    assert "/SQ015/SH015/" in saved.path


def test_optional_fields_can_be_emptied(studio: Any) -> None:
    db = studio.db
    artist = entities.update(db, "artist", studio.artist_id, {"email": "jane@studio.example"})
    assert artist.email == "jane@studio.example"
    assert entities.update(db, "artist", studio.artist_id, {"email": None}).email is None
    project = entities.update(db, "project", studio.project_id, {"root_windows": None})
    assert (project.root_windows, project.root_linux) == (None, str(studio.root))
