"""Bad input over HTTP: malformed JSON, wrong types, missing fields, oversized bodies,
unknown routes, text no database can store. Always the envelope, a 4xx naming the field,
and nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pm_db.api.app import create_app
from pm_db.api.inputs import MAX_BODY_BYTES
from pm_db.db import Database
from tests.helpers import row_counts
from tests.test_api_support import auth, original_payload, token_for


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(db), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin(studio: Any) -> dict[str, str]:
    return auth(token_for(studio.db, "pipeline", admin=True))


def refused(response: Any, status: int, field: str | None, code: str = "validation_error") -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["ok"] is False
    assert (body["error"]["code"], body["error"]["field"]) == (code, field)
    message: str = body["error"]["message"]
    return message


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        (b"{bad json", "not valid JSON"),
        (b"", "empty"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, ""),
    ],
)
def test_malformed_bodies_are_400(
    client: TestClient, admin: dict[str, str], studio: Any, raw: bytes, hint: str
) -> None:
    before = row_counts(studio.db)
    headers = {**admin, "Content-Type": "application/json"}
    message = refused(client.post("/api/scenes/", content=raw, headers=headers), 400, "body")
    assert hint in message
    assert row_counts(studio.db) == before


def test_a_json_body_that_is_not_an_object(client: TestClient, admin: dict[str, str]) -> None:
    for body in ([1, 2], "text", 42, None):
        response = client.post("/api/projects/", content=json.dumps(body), headers=admin)
        assert response.status_code == 422, response.text
        assert response.json()["ok"] is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"task_id": "1"}, "task_id"),
        ({"task_id": 1.5}, "task_id"),
        ({"source_version": 0}, "source_version"),
        ({"target_type": "sequence"}, "target_type"),
        ({"status": "deprecated"}, "status"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"item_usd_path": "relative/path.usd"}, "item_usd_path"),
        ({"surprise": True}, "surprise"),
        ({"metadata": {"blob": "x" * 70_000}}, "metadata"),
    ],
)
def test_wrong_types_and_unknown_fields_name_the_field(
    client: TestClient, studio: Any, admin: dict[str, str], change: dict[str, Any], field: str
) -> None:
    request = {"task_id": studio.shot_task_id, "scene_name": "PinchIn"}
    scene = client.post("/api/scenes/", json=request, headers=admin).json()["data"]
    payload = {**original_payload(scene, studio.shot_id), **change}
    before = row_counts(studio.db)
    refused(client.post("/api/publishes/", json=payload, headers=admin), 422, field)
    assert row_counts(studio.db) == before


@pytest.mark.parametrize(
    "missing", ["task_id", "target_type", "source_version", "item_usd_path", "asset_usd_path"]
)
def test_missing_fields_are_named(
    client: TestClient, studio: Any, admin: dict[str, str], missing: str
) -> None:
    request = {"task_id": studio.shot_task_id, "scene_name": "PinchIn"}
    scene = client.post("/api/scenes/", json=request, headers=admin).json()["data"]
    payload = original_payload(scene, studio.shot_id)
    del payload[missing]
    before = row_counts(studio.db)
    message = refused(client.post("/api/publishes/", json=payload, headers=admin), 422, missing)
    assert "required" in message.lower()
    assert row_counts(studio.db) == before


def test_oversized_bodies_are_413(client: TestClient, studio: Any, admin: dict[str, str]) -> None:
    before = row_counts(studio.db)
    huge = json.dumps({"code": "X", "name": "y" * (MAX_BODY_BYTES + 1)})
    refused(client.post("/api/projects/", content=huge, headers=admin), 413, "body")

    def chunks() -> Iterator[bytes]:
        yield b'{"code": "X", "name": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b"y" * 1024
        yield b'"}'

    refused(client.post("/api/projects/", content=chunks(), headers=admin), 413, "body")
    assert row_counts(studio.db) == before


def test_text_no_database_can_store_is_refused(
    client: TestClient, studio: Any, admin: dict[str, str]
) -> None:
    before = row_counts(studio.db)
    project = {"code": "NUL1", "name": "bad\u0000name", "root_linux": "/show/NUL1"}
    refused(client.post("/api/projects/", json=project, headers=admin), 422, "name")
    surrogate = b'{"code": "S1", "name": "\\ud800", "root_linux": "/show/S1"}'
    refused(client.post("/api/projects/", content=surrogate, headers=admin), 422, "name")
    meta = {"task_id": studio.shot_task_id, "scene_name": "PinchIn", "host": "a\u0000b"}
    refused(client.post("/api/scenes/", json=meta, headers=admin), 422, "host")
    refused(client.get("/api/publishes/", params={"asset": "a\u0000"}, headers=admin), 422, "asset")
    assert row_counts(studio.db) == before


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/projects/0/", {}, "id"),
        ("/api/projects/99999999999999999999999/", {}, "id"),
        ("/api/publishes/", {"task_id": "x"}, "task_id"),
        ("/api/publishes/", {"limit": 0}, "limit"),
        ("/api/publishes/", {"scene_id": 2**70}, "scene_id"),
        ("/api/projects/", {"limit": 10**9}, "limit"),
        ("/api/artists/", {"active": "maybe"}, "active"),
        ("/api/projects/find/", {}, "code"),
    ],
)
def test_bad_parameters_name_the_parameter(
    client: TestClient, admin: dict[str, str], path: str, params: dict[str, Any], field: str
) -> None:
    refused(client.get(path, params=params, headers=admin), 422, field)


def test_unknown_routes_and_methods(client: TestClient, admin: dict[str, str]) -> None:
    message = refused(client.get("/api/nothing/", headers=admin), 404, None, "not_found")
    assert "/api/nothing/" in message
    elsewhere = client.get("/elsewhere", headers=admin)  # the web view's: a page, not JSON
    assert elsewhere.status_code == 404
    assert elsewhere.headers["content-type"].startswith("text/html")
    refused(client.put("/api/projects/", json={}, headers=admin), 405, None, "method_not_allowed")
    # An id is digits: anything else names no route (and never a record called "abc").
    refused(client.get("/api/projects/abc/", headers=admin), 404, None, "not_found")


def test_an_unexpected_failure_is_a_500_envelope_without_internals(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = token_for(db, "pipeline", admin=True)
    app = create_app(db)

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail /etc/pm/db-password")

    monkeypatch.setattr("pm_db.services.entities.list_", explode)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/api/projects/", headers=auth(token))
    assert response.status_code == 500
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == "internal_error"
    assert "secret" not in response.text and "db-password" not in response.text
