"""The project_manager API as its clients use it, on SQLite and PostgreSQL: its documented
publish request byte for byte, every route family with list, create, retrieve, PUT, PATCH
and DELETE as Django REST framework clients expect, 405 with `Allow` where pm forbids,
filters by code, paging parameters, unknown parameters refused, `latest_per_part` scoped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pm_db.api.app import create_app
from pm_db.db import Database
from pm_db.services import entities
from tests.helpers import row_counts
from tests.test_api_support import auth, token_for, write_data_layer

# The request (tests/data) and answer exactly as the project_manager API documents them.
ORIGINAL_REQUEST = (Path(__file__).parent / "data" / "project_manager_publish.json").read_bytes()
ORIGINAL_ANSWER: dict[str, Any] = {
    "publish_id": 21,
    "id": 21,
    "source_version": 1,
    "source_iteration": 1,
    "version": 1,
    "iteration": 1,
    "is_latest": True,
    "part_name": "particles01",
    "part_usd_path": ".../PinchIn/particles01/particles01.usd",
}
SCENE_FOLDER = "sequences/010/0500/fx/houdini/scenes/artist01/PinchIn"


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin(db: Database) -> dict[str, str]:
    return auth(token_for(db, "pipeline", admin=True))


def data(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is True and set(body) == {"ok", "data"}
    return body["data"]


def refused(response: Any, status: int, field: str | None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False and body["error"]["field"] == field, body
    message: str = body["error"]["message"]
    return message


@pytest.fixture
def show(db: Database, tmp_path: Path) -> Path:
    """The original example's show: task 32 on shot 11 (010/0500), step fx, artist
    artist01, in a project whose macOS root is /show and whose Linux root is a temporary
    folder (the files land there). Returns the Linux root."""
    root = tmp_path / "show"
    project = entities.create(
        db,
        "project",
        {"code": "SHOW", "name": "Show", "root_linux": str(root), "root_mac": "/show"},
    )
    sequence = entities.create(db, "sequence", {"project_id": project.id, "code": "010"})
    fillers = [{"sequence_id": sequence.id, "code": f"F{n:02d}"} for n in range(1, 11)]
    shots = entities.create_many(db, "shot", fillers)
    shot = entities.create(db, "shot", {"sequence_id": sequence.id, "code": "0500"})
    assert shot.id == 11
    artist = entities.create(db, "artist", {"login": "artist01", "name": "Artist One"})
    steps = [
        {"target_type": "shot", "target_id": shots[0].id, "step": f"s{n:02d}"} for n in range(1, 32)
    ]
    entities.create_many(db, "task", steps)
    task = entities.create(
        db,
        "task",
        {"target_type": "shot", "target_id": shot.id, "step": "fx", "artist_id": artist.id},
    )
    assert task.id == 32
    return root


def test_the_original_publish_request_is_accepted_byte_for_byte(
    client: TestClient, db: Database, show: Path
) -> None:
    headers = auth(token_for(db, "artist01"))
    scene = data(
        client.post("/api/scenes/", json={"task_id": 32, "scene_name": "PinchIn"}, headers=headers),
        201,
    )
    assert (scene["version"], scene["iteration"]) == (1, 1)
    write_data_layer(
        f"{show}/{SCENE_FOLDER}/usd/PinchIn/particles01/data/particles01_v001_i001.usd"
    )
    sent = {**headers, "Content-Type": "application/json"}
    answer = data(client.post("/api/publishes/", content=ORIGINAL_REQUEST, headers=sent), 201)
    for key, example in ORIGINAL_ANSWER.items():
        assert type(answer[key]) is type(example), key
    assert answer["publish_id"] == answer["id"]
    same = {"source_version", "source_iteration", "version", "iteration", "is_latest", "part_name"}
    assert {k: answer[k] for k in same} == {k: ORIGINAL_ANSWER[k] for k in same}
    assert (
        answer["part_usd_path"] == f"{show}/{SCENE_FOLDER}/usd/PinchIn/particles01/particles01.usd"
    )
    assert len(answer["uuid"]) == 36 and answer["asset_usd_path"].endswith("/PinchIn/PinchIn.usd")
    assert Path(answer["part_usd_path"]).is_file() and Path(answer["asset_usd_path"]).is_file()

    listed = client.get(
        "/api/publishes/", params={"asset": "PinchIn", "latest_per_part": 1}, headers=headers
    )
    assert [p["publish_id"] for p in listed.json()["data"]] == [answer["id"]]
    again = data(client.post("/api/publishes/", content=ORIGINAL_REQUEST, headers=sent), 201)
    assert again == answer


def test_asset_usd_path_may_be_the_asset_layer_and_nothing_else(
    client: TestClient, db: Database, show: Path
) -> None:
    headers = auth(token_for(db, "artist01"))
    for _ in range(2):
        client.post("/api/scenes/", json={"task_id": 32, "scene_name": "PinchIn"}, headers=headers)
    request = json.loads(ORIGINAL_REQUEST)
    request["source_iteration"] = 2
    request["item_usd_path"] = request["item_usd_path"].replace("_i001", "_i002")
    write_data_layer(
        f"{show}/{SCENE_FOLDER}/usd/PinchIn/particles01/data/particles01_v001_i002.usd"
    )
    asset_layer = f"/show/{SCENE_FOLDER}/usd/PinchIn/PinchIn.usd"
    for wrong in (
        f"/show/{SCENE_FOLDER}/usd/PinchIn/debris01/debris01.usd",
        f"/show/{SCENE_FOLDER}/usd/Other/Other.usd",
        request["item_usd_path"],
    ):
        before = row_counts(db)
        message = refused(
            client.post(
                "/api/publishes/", json={**request, "asset_usd_path": wrong}, headers=headers
            ),
            422,
            "asset_usd_path",
        )
        assert "particles01/particles01.usd" in message and "PinchIn/PinchIn.usd" in message
        assert row_counts(db) == before
    done = data(
        client.post(
            "/api/publishes/", json={**request, "asset_usd_path": asset_layer}, headers=headers
        ),
        201,
    )
    assert (done["version"], done["iteration"], done["is_latest"]) == (1, 2, True)


# Every route family ----------------------------------------------------------------------


def _family_payloads(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    """(create body, PUT body, PATCH body) per entity family, over a fresh project."""

    def made(plural: str, body: dict[str, Any]) -> Any:
        return data(client.post(f"/api/{plural}/", json=body, headers=admin), 201)

    project = made("projects", {"code": "FAM", "name": "Family", "root_linux": "/show/FAM"})
    sequence = made("sequences", {"project_id": project["id"], "code": "SQ1"})
    shot = made("shots", {"sequence_id": sequence["id"], "code": "SH1"})
    artist = made("artists", {"login": "fam.artist", "name": "Fam"})
    return {
        "projects": (
            {"code": "P2", "name": "Two", "root_linux": "/show/P2"},
            {"code": "P2", "name": "Two renamed", "root_linux": "/show/P2b"},
            {"name": "Two again"},
        ),
        "sequences": (
            {"project_id": project["id"], "code": "SQ2"},
            {"project_id": project["id"], "code": "SQ3"},
            {"code": "SQ4"},
        ),
        "shots": (
            {"sequence_id": sequence["id"], "code": "SH2"},
            {"sequence_id": sequence["id"], "code": "SH3", "frame_start": 1, "frame_end": 9},
            {"frame_end": 20},
        ),
        "assets": (
            {"project_id": project["id"], "code": "Rock", "asset_type": "prop"},
            {"project_id": project["id"], "code": "Rock", "asset_type": "env"},
            {"code": "Boulder"},
        ),
        "artists": (
            {"login": "b.jones", "name": "B Jones"},
            {"login": "b.jones", "name": "Bea Jones", "email": "b@studio.lan"},
            {"active": False},
        ),
        "tasks": (
            {"target_type": "shot", "target_id": shot["id"], "step": "fx"},
            {
                "target_type": "shot",
                "target_id": shot["id"],
                "step": "fx",
                "name": "fx-main",
                "artist_id": artist["id"],
            },
            {"status": "wip"},
        ),
    }


def test_every_entity_family_lists_creates_retrieves_puts_patches_deletes(
    client: TestClient, admin: dict[str, str]
) -> None:
    for plural, (create, put, patch) in _family_payloads(client, admin).items():
        made = data(client.post(f"/api/{plural}/", json=create, headers=admin), 201)
        url = f"/api/{plural}/{made['id']}/"
        assert data(client.get(url, headers=admin)) == made
        assert made in data(client.get(f"/api/{plural}/", headers=admin))
        replaced = data(client.put(url, json=put, headers=admin))
        assert {k: replaced[k] for k in put if k in replaced} == {
            k: v for k, v in put.items() if k in replaced
        }, plural
        changed = data(client.patch(url, json=patch, headers=admin))
        assert {k: changed[k] for k in patch} == patch, plural
        assert data(client.delete(url, headers=admin)) == {"deleted": plural[:-1], "id": made["id"]}
        refused(client.get(url, headers=admin), 404, "id")


def test_put_is_a_whole_record_whose_place_cannot_move(
    client: TestClient, admin: dict[str, str], db: Database
) -> None:
    payloads = _family_payloads(client, admin)
    create, _, _ = payloads["sequences"]
    made = data(client.post("/api/sequences/", json=create, headers=admin), 201)
    other = data(
        client.post(
            "/api/projects/", json={"code": "ELSE", "name": "E", "root_linux": "/e"}, headers=admin
        ),
        201,
    )
    before = row_counts(db)
    url = f"/api/sequences/{made['id']}/"
    moved = client.put(url, json={"project_id": other["id"], "code": "SQ2"}, headers=admin)
    assert "cannot change" in refused(moved, 422, "project_id")
    refused(client.put(url, json={"code": "SQ2"}, headers=admin), 422, "project_id")
    assert row_counts(db) == before


@pytest.mark.parametrize(
    ("path", "hint"),
    [("/api/scenes/{id}/", "save a new iteration"), ("/api/publishes/{id}/", "deprecate")],
)
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_records_of_files_answer_405_with_allow_and_what_to_do(
    client: TestClient, admin: dict[str, str], db: Database, path: str, hint: str, method: str
) -> None:
    before = row_counts(db)
    response = client.request(method, path.format(id=1), json={}, headers=admin)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "GET"
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == "method_not_allowed"
    assert hint in body["error"]["message"]
    assert row_counts(db) == before


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/projects/", "GET, POST"),
        ("PUT", "/api/scenes/", "GET, POST"),
        ("POST", "/api/projects/1/", "DELETE, GET, PATCH, PUT"),
        ("PATCH", "/api/publishes/", "GET, POST"),
    ],
)
def test_a_method_a_route_does_not_take_is_405_listing_those_it_takes(
    client: TestClient, admin: dict[str, str], method: str, path: str, allow: str
) -> None:
    response = client.request(method, path, headers=admin)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert allow in response.json()["error"]["message"]


# Filters and parameters ---------------------------------------------------------------------


def test_lists_filter_by_code_as_well_as_id(client: TestClient, admin: dict[str, str]) -> None:
    def made(plural: str, body: dict[str, Any]) -> Any:
        return data(client.post(f"/api/{plural}/", json=body, headers=admin), 201)

    fx3x = made("projects", {"code": "FX3X", "name": "FX", "root_linux": "/show/FX3X"})
    other = made("projects", {"code": "OTHER", "name": "O", "root_linux": "/show/OTHER"})
    seq = made("sequences", {"project_id": fx3x["id"], "code": "010"})
    made("sequences", {"project_id": other["id"], "code": "020"})
    shot = made("shots", {"sequence_id": seq["id"], "code": "0500"})
    artist = made("artists", {"login": "jdoe", "name": "J"})
    task = made(
        "tasks",
        {"target_type": "shot", "target_id": shot["id"], "step": "fx", "artist_id": artist["id"]},
    )

    def ids(path: str, **params: Any) -> list[int]:
        return [row["id"] for row in data(client.get(path, params=params, headers=admin))]

    assert ids("/api/sequences/", project="FX3X") == [seq["id"]]
    assert ids("/api/sequences/", project="fx3x") == [seq["id"]]
    assert ids("/api/sequences/", project=str(fx3x["id"])) == [seq["id"]]
    assert ids("/api/sequences/", project_id=fx3x["id"]) == [seq["id"]]
    assert ids("/api/shots/", sequence="010") == [shot["id"]]
    assert ids("/api/shots/", project="FX3X") == [shot["id"]]
    assert ids("/api/shots/", project="OTHER") == []
    assert ids("/api/tasks/", artist="jdoe", project="FX3X", shot="0500") == [task["id"]]
    assert ids("/api/sequences/", project="NOPE") == []


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/projects/", "colour"),
        ("/api/shots/", "code"),
        ("/api/publishes/", "assets"),
        ("/api/scenes/", "project"),
        ("/api/me/", "verbose"),
    ],
)
def test_an_unknown_parameter_is_a_400_naming_it(
    client: TestClient, admin: dict[str, str], path: str, param: str
) -> None:
    message = refused(client.get(path, params={param: "x"}, headers=admin), 400, param)
    assert "not a parameter" in message


def test_django_rest_framework_format_and_paging_are_understood(
    client: TestClient, admin: dict[str, str]
) -> None:
    for n in range(5):
        data(
            client.post("/api/artists/", json={"login": f"a{n}", "name": f"A{n}"}, headers=admin),
            201,
        )
    everyone = [a["login"] for a in data(client.get("/api/artists/", headers=admin))]

    def logins(**params: Any) -> list[str]:
        found = data(client.get("/api/artists/", params=params, headers=admin))
        return [a["login"] for a in found]

    assert logins(format="json") == everyone
    assert logins(page=2, page_size=2) == everyone[2:4]
    assert logins(page=1, limit=3) == everyone[:3]
    assert logins(limit=2, offset=1) == everyone[1:3]
    refused(client.get("/api/artists/", params={"format": "api"}, headers=admin), 422, "format")
    refused(
        client.get("/api/artists/", params={"page": 2, "offset": 1}, headers=admin), 422, "offset"
    )


def test_latest_per_part_says_which_scope_it_used(
    client: TestClient, db: Database, show: Path
) -> None:
    headers = auth(token_for(db, "artist01"))
    client.post("/api/scenes/", json={"task_id": 32, "scene_name": "PinchIn"}, headers=headers)
    write_data_layer(
        f"{show}/{SCENE_FOLDER}/usd/PinchIn/particles01/data/particles01_v001_i001.usd"
    )
    sent = {**headers, "Content-Type": "application/json"}
    published = data(client.post("/api/publishes/", content=ORIGINAL_REQUEST, headers=sent), 201)

    def latest(**params: Any) -> tuple[list[int], dict[str, Any]]:
        params = {"asset": "PinchIn", "latest_per_part": 1, **params}
        response = client.get("/api/publishes/", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return [p["id"] for p in body["data"]], body["scope"]

    found, scope = latest(project="SHOW", target_type="shot", target_id=11, task_id=32)
    assert found == [published["id"]]
    assert scope == {
        "asset": "PinchIn",
        "project_id": 1,
        "target_type": "shot",
        "target_id": 11,
        "task_id": 32,
    }
    assert latest(target_type="shot", target_id=1) == (
        [],
        {
            "asset": "PinchIn",
            "project_id": None,
            "target_type": "shot",
            "target_id": 1,
            "task_id": None,
        },
    )
    missing = client.get(
        "/api/publishes/",
        params={"asset": "PinchIn", "latest_per_part": 1, "target_type": "shot"},
        headers=headers,
    )
    refused(missing, 422, "target_id")
    refused(
        client.get(
            "/api/publishes/",
            params={"asset": "PinchIn", "latest_per_part": 1, "project": "NOPE"},
            headers=headers,
        ),
        404,
        "project",
    )
