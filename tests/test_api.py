"""Every route of the REST service, on SQLite and PostgreSQL: the original API's envelope, the
status codes, and that the answers are what the service layer holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pm_db.api.app import create_app
from pm_db.db import Database
from pm_db.services import publish_reads, scenes
from tests.helpers import row_counts
from tests.test_api_support import auth, original_payload, token_for, write_data_layer


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin(db: Database) -> dict[str, str]:
    return auth(token_for(db, "pipeline", admin=True, label="tests"))


@pytest.fixture
def artist(studio: Any) -> dict[str, str]:
    """A token of the studio's artist jdoe."""
    return auth(token_for(studio.db, studio.artist))


def data(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is True and set(body) == {"ok", "data"}
    return body["data"]


def scoped(response: Any) -> tuple[Any, dict[str, Any]]:
    """The data and the scope of a latest_per_part answer."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and set(body) == {"ok", "data", "scope"}
    return body["data"], body["scope"]


def error(response: Any, status: int, code: str, field: str | None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False
    assert body["error"]["code"] == code
    assert body["error"]["field"] == field
    message: str = body["error"]["message"]
    assert message
    return message


KIND_PAYLOADS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("projects", {"code": "NEW1", "name": "New", "root_linux": "/show/NEW1"}, {"name": "Renamed"}),
    ("artists", {"login": "a.smith", "name": "A Smith"}, {"name": "Alice Smith"}),
]


def test_health_needs_no_token_and_names_the_database(client: TestClient, db: Database) -> None:
    found = data(client.get("/api/health/"))
    assert found["status"] == "ok" and found["database"] == db.dialect


def test_me_tells_who_the_token_speaks_for(client: TestClient, db: Database) -> None:
    token = token_for(db, "jdoe", label="workstation")
    found = data(client.get("/api/me/", headers=auth(token)))
    assert found["artist"] == "jdoe" and found["is_admin"] is False
    assert found["label"] == "workstation"


@pytest.mark.parametrize(("plural", "create", "change"), KIND_PAYLOADS)
def test_entity_create_get_find_update_list_delete(
    client: TestClient,
    admin: dict[str, str],
    plural: str,
    create: dict[str, Any],
    change: dict[str, Any],
) -> None:
    made = data(client.post(f"/api/{plural}/", json=create, headers=admin), 201)
    assert data(client.get(f"/api/{plural}/{made['id']}/", headers=admin)) == made
    lookup = "code" if plural == "projects" else "login"
    key = str(create[lookup]).lower()
    assert data(client.get(f"/api/{plural}/find/", params={lookup: key}, headers=admin)) == made
    changed = data(client.patch(f"/api/{plural}/{made['id']}", json=change, headers=admin))
    assert {k: changed[k] for k in change} == change
    listed = data(client.get(f"/api/{plural}/", headers=admin))
    assert changed in listed
    gone = data(client.delete(f"/api/{plural}/{made['id']}/", headers=admin))
    assert gone == {"deleted": plural[:-1], "id": made["id"]}
    error(client.get(f"/api/{plural}/{made['id']}/", headers=admin), 404, "not_found", "id")


def test_the_show_is_built_over_http(client: TestClient, admin: dict[str, str]) -> None:
    """Project, sequence, shot, asset, artist and task routes, with their filters."""
    project = data(
        client.post(
            "/api/projects/",
            json={"code": "FX3X", "name": "FX", "root_linux": "/show/FX3X"},
            headers=admin,
        ),
        201,
    )
    sequence = data(
        client.post(
            "/api/sequences/", json={"project_id": project["id"], "code": "SQ010"}, headers=admin
        ),
        201,
    )
    shot = data(
        client.post(
            "/api/shots/",
            json={
                "sequence_id": sequence["id"],
                "code": "SH010",
                "frame_start": 1,
                "frame_end": 50,
            },
            headers=admin,
        ),
        201,
    )
    asset = data(
        client.post(
            "/api/assets/",
            json={"project_id": project["id"], "code": "Rock", "asset_type": "prop"},
            headers=admin,
        ),
        201,
    )
    artist = data(
        client.post("/api/artists/", json={"login": "jdoe", "name": "J"}, headers=admin), 201
    )
    task = data(
        client.post(
            "/api/tasks/",
            json={
                "target_type": "shot",
                "target_id": shot["id"],
                "step": "FX",
                "artist_id": artist["id"],
            },
            headers=admin,
        ),
        201,
    )
    assert (task["step"], task["name"], task["project_id"]) == ("fx", "fx", project["id"])
    assert shot["frame_end"] == 50
    assert data(
        client.get("/api/sequences/", params={"project_id": project["id"]}, headers=admin)
    ) == [sequence]
    assert data(
        client.get("/api/shots/", params={"sequence_id": sequence["id"]}, headers=admin)
    ) == [shot]
    assert data(client.get("/api/assets/", params={"asset_type": "prop"}, headers=admin)) == [asset]
    assert data(client.get("/api/assets/", params={"asset_type": "char"}, headers=admin)) == []
    assert data(client.get("/api/tasks/", params={"artist_id": artist["id"]}, headers=admin)) == [
        task
    ]
    assert data(client.get("/api/artists/", params={"active": "true"}, headers=admin))[-1] == artist
    found = data(
        client.get(
            "/api/shots/find/",
            params={"code": "sh010", "sequence_id": sequence["id"]},
            headers=admin,
        )
    )
    assert found == shot
    error(
        client.get(
            "/api/shots/find/",
            params={"code": "SH999", "sequence_id": sequence["id"]},
            headers=admin,
        ),
        404,
        "not_found",
        "code",
    )
    assert data(client.get("/api/projects/", params={"limit": 1, "offset": 0}, headers=admin)) == [
        project
    ]
    error(client.delete(f"/api/projects/{project['id']}/", headers=admin), 409, "conflict", "id")
    assert data(client.get(f"/api/projects/{project['id']}/", headers=admin)) == project


def test_save_scene_allocates_numbers_and_paths(
    client: TestClient, studio: Any, artist: dict[str, str]
) -> None:
    request = {"task_id": studio.shot_task_id, "artist": "jdoe", "scene_name": "PinchIn"}
    first = data(client.post("/api/scenes/", json=request, headers=artist), 201)
    second = data(client.post("/api/scenes", json=request, headers=artist), 201)
    up = data(
        client.post("/api/scenes/", json={**request, "version_up": True}, headers=artist), 201
    )
    assert [(s["version"], s["iteration"]) for s in (first, second, up)] == [(1, 1), (1, 2), (2, 1)]
    folder = f"{studio.root}/sequences/SQ010/SH010/fx/houdini/scenes/jdoe/PinchIn"
    assert first["path"] == f"{folder}/PinchIn_v001_i001.hip"
    assert scenes.get_scene(studio.db, up["id"]).path == up["path"]


def test_save_without_artist_saves_as_the_token_artist(
    client: TestClient, studio: Any, artist: dict[str, str]
) -> None:
    request = {"task_id": studio.shot_task_id, "scene_name": "PinchIn"}
    saved = data(client.post("/api/scenes/", json=request, headers=artist), 201)
    assert saved["artist"] == "jdoe"


def test_scene_list_find_and_get(client: TestClient, studio: Any, artist: dict[str, str]) -> None:
    request = {"task_id": studio.shot_task_id, "scene_name": "PinchIn"}
    saved = [data(client.post("/api/scenes/", json=request, headers=artist), 201) for _ in range(3)]
    listed = data(
        client.get(
            "/api/scenes/", params={"task_id": studio.shot_task_id, "limit": 2}, headers=artist
        )
    )
    assert [s["id"] for s in listed] == [saved[2]["id"], saved[1]["id"]]
    assert data(client.get("/api/scenes/", params={"artist": "nobody"}, headers=artist)) == []
    found = data(client.get("/api/scenes/find/", params={"path": saved[1]["path"]}, headers=artist))
    assert found == saved[1]
    windows = saved[1]["path"].replace(str(studio.root), "P:/FX3X")
    assert (
        data(client.get("/api/scenes/find/", params={"path": windows}, headers=artist))["id"]
        == saved[1]["id"]
    )
    assert data(client.get(f"/api/scenes/{saved[0]['id']}/", headers=artist)) == saved[0]
    error(client.get("/api/scenes/999999/", headers=artist), 404, "not_found", "scene_id")
    error(
        client.get("/api/scenes/find/", params={"path": "/elsewhere/x.hip"}, headers=artist),
        422,
        "validation_error",
        "path",
    )


def _saved(client: TestClient, studio: Any, headers: dict[str, str]) -> dict[str, Any]:
    request = {"task_id": studio.shot_task_id, "scene_name": "PinchIn"}
    saved: dict[str, Any] = data(client.post("/api/scenes/", json=request, headers=headers), 201)
    return saved


def test_original_publish_returns_the_original_fields(
    client: TestClient, studio: Any, artist: dict[str, str]
) -> None:
    scene = _saved(client, studio, artist)
    payload = original_payload(scene, studio.shot_id)
    published = data(client.post("/api/publishes/", json=payload, headers=artist), 201)
    for field in (
        "publish_id",
        "id",
        "version",
        "iteration",
        "is_latest",
        "part_name",
        "part_usd_path",
    ):
        assert field in published
    assert (published["source_version"], published["source_iteration"]) == (1, 1)
    assert published["item_usd_path"] == payload["item_usd_path"]
    assert published["item_usd_path"].endswith("/particles01/data/particles01_v001_i001.usd")
    assert published["part_usd_path"].endswith("/usd/PinchIn/particles01/particles01.usd")
    assert published["is_latest"] is True and published["status"] == "published"
    assert published["metadata"]["frame_range"] == [1001, 1100]
    again = data(client.post("/api/publishes/", json=payload, headers=artist), 201)
    assert again["publish_id"] == published["publish_id"]
    assert len(publish_reads.list_publishes(studio.db)) == 1


def test_reserve_complete_fail_deprecate_get_and_list(
    client: TestClient, studio: Any, artist: dict[str, str]
) -> None:
    first = _saved(client, studio, artist)
    reserve = {"scene_id": first["id"], "asset_name": "PinchIn", "part_name": "particles01"}
    pending = data(client.post("/api/publishes/reserve/", json=reserve, headers=artist), 201)
    assert pending["status"] == "pending" and pending["is_latest"] is False
    write_data_layer(pending["item_usd_path"])
    done = data(client.post(f"/api/publishes/{pending['id']}/complete/", headers=artist))
    assert done["status"] == "published" and done["is_latest"] is True
    by_uuid = data(client.get(f"/api/publishes/{done['uuid']}/", headers=artist))
    assert by_uuid == done

    second = _saved(client, studio, artist)
    newer = data(
        client.post(
            "/api/publishes/reserve/", json={**reserve, "scene_id": second["id"]}, headers=artist
        ),
        201,
    )
    write_data_layer(newer["item_usd_path"])
    data(client.post(f"/api/publishes/{newer['publish_id']}/complete", headers=artist))
    third = _saved(client, studio, artist)
    broken = data(
        client.post(
            "/api/publishes/reserve/", json={**reserve, "scene_id": third["id"]}, headers=artist
        ),
        201,
    )
    failed = data(
        client.post(
            f"/api/publishes/{broken['id']}/fail/", json={"reason": "ROP crashed"}, headers=artist
        )
    )
    assert failed["status"] == "failed" and failed["error"] == "ROP crashed"

    deprecated = data(client.post(f"/api/publishes/{newer['id']}/deprecate/", headers=artist))
    assert deprecated["status"] == "deprecated" and deprecated["is_latest"] is False
    latest, scope = scoped(
        client.get(
            "/api/publishes/", params={"asset": "PinchIn", "latest_per_part": 1}, headers=artist
        )
    )
    assert [(p["id"], p["version"], p["iteration"]) for p in latest] == [(done["id"], 1, 1)]
    assert scope == {
        "asset": "PinchIn",
        "project_id": None,
        "target_type": None,
        "target_id": None,
        "task_id": None,
    }

    history = data(client.get("/api/publishes/", params={"asset": "PinchIn"}, headers=artist))
    assert [p["iteration"] for p in history] == [3, 2, 1]
    only_failed = data(client.get("/api/publishes/", params={"status": "failed"}, headers=artist))
    assert [p["id"] for p in only_failed] == [broken["id"]]
    by_scene = data(
        client.get("/api/publishes/", params={"scene_id": second["id"]}, headers=artist)
    )
    assert [p["id"] for p in by_scene] == [newer["id"]]
    page = data(
        client.get(
            "/api/publishes/",
            params={"part": "particles01", "limit": 1, "offset": 1},
            headers=artist,
        )
    )
    assert [p["iteration"] for p in page] == [2]
    narrowed, scope = scoped(
        client.get(
            "/api/publishes/",
            params={
                "asset": "PinchIn",
                "latest_per_part": "true",
                "project_id": studio.project_id,
                "task_id": studio.shot_task_id,
            },
            headers=artist,
        )
    )
    assert [p["id"] for p in narrowed] == [done["id"]]
    assert (scope["project_id"], scope["task_id"]) == (studio.project_id, studio.shot_task_id)


def test_latest_per_part_needs_an_asset(
    client: TestClient, studio: Any, artist: dict[str, str]
) -> None:
    error(
        client.get("/api/publishes/", params={"latest_per_part": 1}, headers=artist),
        422,
        "validation_error",
        "asset",
    )
    error(
        client.get("/api/publishes/", params={"project_id": 1}, headers=artist),
        422,
        "validation_error",
        "project_id",
    )
    error(
        client.get("/api/publishes/", params={"status": "bogus"}, headers=artist),
        422,
        "validation_error",
        "status",
    )


def test_lifecycle_conflicts_keep_their_code_and_field(
    client: TestClient, studio: Any, artist: dict[str, str]
) -> None:
    scene = _saved(client, studio, artist)
    reserve = {"scene_id": scene["id"], "asset_name": "PinchIn", "part_name": "particles01"}
    pending = data(client.post("/api/publishes/reserve/", json=reserve, headers=artist), 201)
    error(
        client.post(f"/api/publishes/{pending['id']}/deprecate/", headers=artist),
        409,
        "conflict",
        "status",
    )
    data(client.post(f"/api/publishes/{pending['id']}/fail/", json={"reason": "x"}, headers=artist))
    error(
        client.post(f"/api/publishes/{pending['id']}/complete/", headers=artist),
        409,
        "conflict",
        "status",
    )
    error(
        client.post("/api/publishes/424242/complete/", headers=artist),
        404,
        "not_found",
        "publish_id",
    )
    error(
        client.get("/api/publishes/99999999999999999999999/", headers=artist),
        404,
        "not_found",
        "publish_id",
    )
    error(
        client.post(f"/api/publishes/{pending['id']}/fail/", json={}, headers=artist),
        422,
        "validation_error",
        "reason",
    )


def test_refused_publish_writes_nothing(
    client: TestClient, studio: Any, artist: dict[str, str]
) -> None:
    scene = _saved(client, studio, artist)
    payload = original_payload(scene, studio.shot_id)
    before = row_counts(studio.db)
    wrong_numbers = {**payload, "source_iteration": 7}
    error(
        client.post("/api/publishes/", json=wrong_numbers, headers=artist),
        422,
        "validation_error",
        "item_usd_path",
    )
    wrong_target = {**payload, "target_id": studio.shot_id + 100}
    error(
        client.post("/api/publishes/", json=wrong_target, headers=artist),
        422,
        "validation_error",
        "target_id",
    )
    unsaved = original_payload({**scene, "iteration": 9}, studio.shot_id)
    error(
        client.post("/api/publishes/", json=unsaved, headers=artist),
        404,
        "not_found",
        "source_iteration",
    )
    assert row_counts(studio.db) == before


def test_openapi_document_describes_every_route_and_body(client: TestClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    paths = spec["paths"]
    for plural in (
        "projects",
        "sequences",
        "shots",
        "assets",
        "artists",
        "tasks",
        "scenes",
        "publishes",
    ):
        assert f"/api/{plural}/" in paths
    publish = paths["/api/publishes/"]["post"]
    schema_ref = publish["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    publish_in = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert {"task_id", "item_usd_path", "asset_usd_path", "source_version"} <= set(
        publish_in["required"]
    )
    assert "401" in publish["responses"] and "422" in publish["responses"]
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert client.get("/api/docs").status_code == 200


def test_parts_routes_and_rebuild(
    client: TestClient, studio: Any, artist: dict[str, str], admin: dict[str, str]
) -> None:
    scene = _saved(client, studio, artist)
    published = data(
        client.post(
            "/api/publishes/", json=original_payload(scene, studio.shot_id), headers=artist
        ),
        201,
    )
    listed = data(client.get("/api/parts/", params={"asset": "PinchIn"}, headers=artist))
    assert [(p["part_name"], p["latest"]["id"]) for p in listed] == [
        ("particles01", published["id"])
    ]
    part = listed[0]
    assert data(client.get(f"/api/parts/{part['id']}/", headers=artist)) == part
    found = data(
        client.get(
            "/api/parts/find/",
            params={"part": "PinchIn/particles01", "project": "FX3X"},
            headers=artist,
        )
    )
    assert found == part
    pinned = data(
        client.post("/api/parts/pin/", json={"part": part["id"], "version": 1}, headers=artist)
    )
    assert pinned["pinned"]["id"] == published["id"]
    assert (
        data(client.post("/api/parts/withdraw", json={"part": part["id"]}, headers=artist))[
            "withdrawn"
        ]
        is True
    )
    assert (
        data(client.post("/api/parts/restore/", json={"part": part["id"]}, headers=artist))[
            "withdrawn"
        ]
        is False
    )
    assert (
        data(client.post("/api/parts/unpin/", json={"part": part["id"]}, headers=artist))["pinned"]
        is None
    )
    report = data(client.post("/api/parts/rebuild/", params={"asset": "PinchIn"}, headers=admin))
    assert report["assets"] == 1 and report["failed"] == []
    error(
        client.get("/api/parts/find/", params={"part": "no/such"}, headers=artist),
        404,
        "not_found",
        "part",
    )


def test_browse_and_launch_routes(client: TestClient, studio: Any, artist: dict[str, str]) -> None:
    roots = data(client.get("/api/browse/", headers=artist))
    assert [r["name"] for r in roots] == ["FX3X"]
    level = data(
        client.get("/api/browse/children/", params={"key": [roots[0]["key"]]}, headers=artist)
    )
    assert {n["parent"] for n in level} == {roots[0]["key"]}
    tasks = data(client.get("/api/browse/tasks/", params={"artist": "jdoe"}, headers=artist))
    assert sorted(t["id"] for t in tasks) == sorted([studio.shot_task_id, studio.asset_task_id])
    row = data(client.get(f"/api/browse/tasks/{studio.shot_task_id}/", headers=artist))
    assert row["target_type"] == "shot"
    assert data(client.get("/api/browse/search/", params={"text": "SH0"}, headers=artist))
    launch = {
        "task_id": studio.shot_task_id,
        "dcc": "houdini",
        "executable": "/opt/hfs/bin/houdini",
        "pid": 77,
    }
    event = data(client.post("/api/launches/", json=launch, headers=artist), 201)
    assert event["kind"] == "dcc.launched" and event["artist_id"] == studio.artist_id
    error(client.get("/api/browse/children/", headers=artist), 422, "validation_error", "key")


def test_a_service_process_runs_usd_on_its_calling_thread(db: Database) -> None:
    from pxr import Work

    cores = Work.GetPhysicalConcurrencyLimit()
    if cores == 1:
        pytest.skip("one core: USD runs on one thread whatever the service does")
    before = Work.GetConcurrencyLimit()
    Work.SetConcurrencyLimit(cores)
    try:
        app = create_app(db)
        assert Work.GetConcurrencyLimit() == cores  # building the app changes nothing
        with TestClient(app):
            assert Work.GetConcurrencyLimit() == 1
    finally:
        Work.SetConcurrencyLimit(before)
