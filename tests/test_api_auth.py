"""Who may do what over HTTP: tokens are required, an artist acts only as themself, admin
tokens manage the show, and a production service never listens openly without auth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pm_db.api.app import create_app
from pm_db.cli.serve_commands import check_serving, is_loopback
from pm_db.db import Database
from pm_db.errors import ConfigError
from pm_db.services import entities, tokens
from tests.helpers import row_counts
from tests.test_api_support import auth, original_payload, token_for


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), raise_server_exceptions=False) as test_client:
        yield test_client


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == code
    detail: dict[str, Any] = body["error"]
    return detail


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-pm-token",
        "Bearer pm_" + "x" * 43,
        "Token pm_" + "y" * 43,
    ],
)
def test_reads_and_writes_need_a_valid_token(
    client: TestClient, studio: Any, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    before = row_counts(studio.db)
    detail = refused(client.get("/api/projects/", headers=headers), 401, "unauthenticated")
    assert detail["field"] == "Authorization"
    request = {"task_id": studio.shot_task_id, "artist": "jdoe", "scene_name": "PinchIn"}
    refused(client.post("/api/scenes/", json=request, headers=headers), 401, "unauthenticated")
    assert row_counts(studio.db) == before


def test_bearer_and_token_schemes_are_both_accepted(client: TestClient, db: Database) -> None:
    token = token_for(db, "jdoe")
    for scheme in ("Bearer", "bearer", "Token"):
        response = client.get("/api/me/", headers={"Authorization": f"{scheme} {token}"})
        assert response.status_code == 200 and response.json()["data"]["artist"] == "jdoe"


def test_a_revoked_token_stops_working_at_once(client: TestClient, db: Database) -> None:
    token = token_for(db, "jdoe")
    assert client.get("/api/me/", headers=auth(token)).status_code == 200
    listed = tokens.list_tokens(db, "jdoe")
    tokens.revoke_token(db, listed[0].id)
    refused(client.get("/api/me/", headers=auth(token)), 401, "unauthenticated")


def test_an_inactive_artist_token_is_refused(client: TestClient, db: Database) -> None:
    token = token_for(db, "jdoe")
    artist = entities.find(db, "artist", "jdoe")
    entities.update(db, "artist", artist.id, {"active": False})
    refused(client.get("/api/me/", headers=auth(token)), 401, "unauthenticated")


def test_only_admin_tokens_manage_entities(client: TestClient, studio: Any) -> None:
    artist = auth(token_for(studio.db, "jdoe"))
    before = row_counts(studio.db)
    project = {"code": "NEW1", "name": "New", "root_linux": "/show/NEW1"}
    refused(client.post("/api/projects/", json=project, headers=artist), 403, "permission_denied")
    change = {"name": "Renamed"}
    path = f"/api/projects/{studio.project_id}/"
    refused(client.patch(path, json=change, headers=artist), 403, "permission_denied")
    refused(
        client.delete(f"/api/artists/{studio.artist_id}/", headers=artist), 403, "permission_denied"
    )
    assert row_counts(studio.db) == before
    assert client.get(path, headers=artist).json()["data"]["name"] == "Effects test show"
    admin = auth(token_for(studio.db, "pipeline", admin=True))
    assert client.post("/api/projects/", json=project, headers=admin).status_code == 201


def test_an_artist_cannot_save_as_another(client: TestClient, studio: Any) -> None:
    entities.create(studio.db, "artist", {"login": "bob", "name": "Bob"})
    bob = auth(token_for(studio.db, "bob"))
    before = row_counts(studio.db)
    request = {"task_id": studio.shot_task_id, "artist": "JDoe", "scene_name": "PinchIn"}
    detail = refused(
        client.post("/api/scenes/", json=request, headers=bob), 403, "permission_denied"
    )
    assert detail["field"] == "artist" and "jdoe" in detail["message"]
    assert row_counts(studio.db) == before
    admin = auth(token_for(studio.db, "pipeline", admin=True))
    saved = client.post("/api/scenes/", json=request, headers=admin).json()["data"]
    assert saved["artist"] == "jdoe"


def test_an_artist_cannot_publish_from_another_artists_scene(
    client: TestClient, studio: Any
) -> None:
    jdoe = auth(token_for(studio.db, "jdoe"))
    entities.create(studio.db, "artist", {"login": "bob", "name": "Bob"})
    bob = auth(token_for(studio.db, "bob"))
    request = {"task_id": studio.shot_task_id, "scene_name": "PinchIn"}
    scene = client.post("/api/scenes/", json=request, headers=jdoe).json()["data"]
    reserve = {"scene_id": scene["id"], "asset_name": "PinchIn", "part_name": "debris01"}
    pending = client.post("/api/publishes/reserve/", json=reserve, headers=jdoe).json()["data"]
    before = row_counts(studio.db)

    payload = original_payload(scene, studio.shot_id)
    refused(client.post("/api/publishes/", json=payload, headers=bob), 403, "permission_denied")
    refused(
        client.post("/api/publishes/reserve/", json=reserve, headers=bob), 403, "permission_denied"
    )
    for verb in ("complete", "deprecate"):
        path = f"/api/publishes/{pending['id']}/{verb}/"
        refused(client.post(path, headers=bob), 403, "permission_denied")
    fail = f"/api/publishes/{pending['publish_id']}/fail/"
    refused(client.post(fail, json={"reason": "sabotage"}, headers=bob), 403, "permission_denied")
    assert row_counts(studio.db) == before
    assert client.get(f"/api/publishes/{pending['id']}/", headers=bob).json()["data"]["status"] == (
        "pending"
    )

    admin = auth(token_for(studio.db, "pipeline", admin=True))
    published = client.post("/api/publishes/", json=payload, headers=admin)
    assert published.status_code == 201 and published.json()["data"]["created_by"] == "jdoe"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("pm.studio.lan", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_production_refuses_an_open_address_without_auth() -> None:
    with pytest.raises(ConfigError) as refused_start:
        check_serving("0.0.0.0", 8002, production=True, has_token=False)
    assert refused_start.value.field == "--host"
    check_serving("0.0.0.0", 8002, production=True, has_token=True)
    check_serving("127.0.0.1", 8002, production=True, has_token=False)
    check_serving("0.0.0.0", 8002, production=False, has_token=False)
    with pytest.raises(ConfigError):
        check_serving("127.0.0.1", 70000, production=False, has_token=True)


def test_parts_and_launches_act_for_the_token_artist(client: TestClient, studio: Any) -> None:
    entities.create(studio.db, "artist", {"login": "bob", "name": "Bob"})
    bob = auth(token_for(studio.db, "bob"))
    before = row_counts(studio.db)
    refused(client.post("/api/parts/rebuild/", headers=bob), 403, "permission_denied")
    withdraw = {"part": "PinchIn/particles01", "artist": "jdoe"}
    refused(
        client.post("/api/parts/withdraw/", json=withdraw, headers=bob), 403, "permission_denied"
    )
    launch = {
        "task_id": studio.shot_task_id,
        "artist": "jdoe",
        "dcc": "houdini",
        "executable": "/x",
        "pid": 5,
    }
    refused(client.post("/api/launches/", json=launch, headers=bob), 403, "permission_denied")
    assert row_counts(studio.db) == before


def test_an_artist_cannot_discard_another_artists_save(client: TestClient, studio: Any) -> None:
    jdoe = auth(token_for(studio.db, "jdoe"))
    entities.create(studio.db, "artist", {"login": "bob", "name": "Bob"})
    bob = auth(token_for(studio.db, "bob"))
    request = {"task_id": studio.shot_task_id, "scene_name": "PinchIn"}
    scene = client.post("/api/scenes/", json=request, headers=jdoe).json()["data"]
    path = f"/api/scenes/{scene['id']}/discard/"
    before = row_counts(studio.db)
    refused(client.post(path, json={"reason": "x"}, headers=bob), 403, "permission_denied")
    refused(client.post(path, json={}, headers=jdoe), 422, "validation_error")
    assert row_counts(studio.db) == before
    done = client.post(path, json={"reason": "disk full"}, headers=jdoe)
    assert done.status_code == 200 and done.json()["data"]["id"] == scene["id"]
