"""Each family of bad input on each front end, on SQLite and PostgreSQL: the CLI (exit 2
naming the field), REST (a 4xx naming it), the Python backend (ValidationError naming it;
local, and remote through a real server), with the row counts of every table unchanged.
The hython front end is in test_bad_input_hython.py; docs/rest.md has the table.

The checks run once, in the service layer (pm_db.schemas, pm_db.names, pm_db.templates):
these tests reach them from outside, through each front end's own entry point."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pm_db.api.app import create_app
from pm_db.backend import LocalBackend
from pm_db.cli import main
from pm_db.config import load_settings
from pm_db.errors import ConfigError, ValidationError
from pm_db.remote import RemoteBackend
from tests.helpers import Studio, row_counts
from tests.test_api_support import auth, live_server, token_for

LONG_ID = 10**30
DEEP = 10_000


@pytest.fixture
def client(studio: Studio) -> Iterator[TestClient]:
    with TestClient(create_app(studio.db), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin(studio: Studio) -> dict[str, str]:
    return auth(token_for(studio.db, "pipeline", admin=True))


def cli_refuses(capsys: pytest.CaptureFixture[str], field: str, *argv: str) -> str:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert json.loads(out)["error"]["field"] == field, out
    return err


def rest_refuses(response: Any, status: int, field: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False and body["error"]["field"] == field, body
    message: str = body["error"]["message"]
    return message


def backend_refuses(field: str, call: Any, *args: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        call(*args)
    assert caught.value.field == field, caught.value
    return caught.value.message


def save(studio: Studio, **fields: Any) -> dict[str, Any]:
    return {"task_id": studio.shot_task_id, "artist": "jdoe", "scene_name": "PinchIn", **fields}


# Windows device names ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["CON", "aux", "NUL", "com1", "LPT9", "Con.x"])
def test_windows_device_names_are_refused_everywhere(
    studio: Studio,
    client: TestClient,
    admin: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    name: str,
) -> None:
    before = row_counts(studio.db)
    create = ["project", "create", "--name", "X", "--root-linux", "/show/X", "--code", name]
    assert "device name" in cli_refuses(capsys, "code", *create)
    project = {"code": name, "name": "X", "root_linux": "/show/X"}
    assert "device name" in rest_refuses(
        client.post("/api/projects/", json=project, headers=admin), 422, "code"
    )
    local = LocalBackend(db=studio.db)
    backend_refuses("scene_name", local.save_scene, save(studio, scene_name=name))
    assert row_counts(studio.db) == before


def test_a_linux_or_mac_root_refuses_a_drive_or_share(
    studio: Studio, client: TestClient, admin: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = row_counts(studio.db)
    cli_refuses(
        capsys,
        "root_linux",
        "project",
        "create",
        "--code",
        "X",
        "--name",
        "X",
        "--root-linux",
        "P:/X",
    )
    for field, root in (("root_linux", "C:\\show"), ("root_mac", "//server/show")):
        body = {"code": "X", "name": "X", field: root}
        rest_refuses(client.post("/api/projects/", json=body, headers=admin), 422, field)
    url = f"/api/projects/{studio.project_id}/"
    rest_refuses(
        client.patch(url, json={"root_linux": "P:/FX3X"}, headers=admin), 422, "root_linux"
    )
    assert row_counts(studio.db) == before


# Text no database stores, and bounded metadata ------------------------------------------


@pytest.mark.parametrize(("text", "hint"), [("a\x00b", "NUL"), ("a\ud800b", "surrogate")])
def test_nul_and_lone_surrogates_are_refused_everywhere(
    studio: Studio,
    client: TestClient,
    admin: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    text: str,
    hint: str,
) -> None:
    before = row_counts(studio.db)
    if "\x00" not in text:  # the operating system cannot pass NUL in an argument
        assert hint in cli_refuses(
            capsys, "name", "artist", "create", "--login", "x", "--name", text
        )
    raw = json.dumps({"login": "x", "name": text}).encode()
    assert hint in rest_refuses(
        client.post("/api/artists/", content=raw, headers=admin), 422, "name"
    )
    local = LocalBackend(db=studio.db)
    message = backend_refuses(
        "host", local.save_scene, save(studio, host=text, software_version="20.5")
    )
    assert hint in message
    reserve = {"scene_id": 1, "asset_name": "PinchIn", "part_name": "p", "metadata": {"k": [text]}}
    backend_refuses("metadata.k.0", local.reserve_publish, reserve)
    backend_refuses("step", lambda: local.list("task", step=text))
    assert row_counts(studio.db) == before


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_metadata_is_bounded_in_depth_and_size_everywhere(
    studio: Studio, client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    before = row_counts(studio.db)
    token = auth(token_for(studio.db, "jdoe"))
    scene = LocalBackend(db=studio.db).save_scene(save(studio))
    after_save = row_counts(studio.db)
    for metadata, hint in ((_nested(40), "deeper"), ({"x": "y" * 70_000}, "bytes")):
        reserve = {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": "p"}
        reserve["metadata"] = metadata
        payload = tmp_path / "reserve.json"
        payload.write_text(json.dumps(reserve))
        response = client.post("/api/publishes/reserve/", json=reserve, headers=token)
        assert response.status_code == 422 and hint in response.text, response.text
        field = response.json()["error"]["field"]
        assert field.startswith("metadata")
        message = backend_refuses(field, LocalBackend(db=studio.db).reserve_publish, reserve)
        assert hint in message
    assert row_counts(studio.db) == after_save != before


# JSON readers ---------------------------------------------------------------------------------

BAD_JSON = [
    (b"\xff\xfe{}", "UTF-8"),
    (b"[" * DEEP + b"]" * DEEP, "deeper"),
    (b'{"task_id": ' + b"7" * 5000 + b"}", "5000-digit"),
    (b'{"task_id": NaN}', "NaN"),
]


@pytest.mark.parametrize(("raw", "hint"), BAD_JSON)
def test_json_readers_answer_clear_errors(
    studio: Studio,
    client: TestClient,
    admin: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    raw: bytes,
    hint: str,
) -> None:
    before = row_counts(studio.db)
    payload = tmp_path / "payload.json"
    payload.write_bytes(raw)
    assert hint in cli_refuses(capsys, "payload", "publish", "payload", str(payload))
    assert hint in cli_refuses(capsys, "payload", "shot", "import", str(payload))
    monkeypatch.setattr("sys.stdin", _Stdin(raw))
    assert hint in cli_refuses(capsys, "payload", "publish", "payload", "-")
    headers = {**admin, "Content-Type": "application/json"}
    for path in ("/api/publishes/", "/api/scenes/", "/api/projects/"):
        assert hint in rest_refuses(client.post(path, content=raw, headers=headers), 400, "body")
    assert row_counts(studio.db) == before


class _Stdin:
    """A stand-in for sys.stdin holding bytes."""

    def __init__(self, raw: bytes) -> None:
        self.buffer = _Bytes(raw)


class _Bytes:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def read(self) -> bytes:
        return self.raw


# Ids and numbers the databases cannot hold ------------------------------------------------


def test_ids_beyond_64_bits_are_422_naming_the_field(
    studio: Studio, client: TestClient, admin: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = row_counts(studio.db)
    long_id = str(LONG_ID)
    cli_refuses(
        capsys, "task_id", "scene", "save", "--task", long_id, "--artist", "jdoe", "--scene", "A"
    )
    rest_refuses(
        client.post("/api/scenes/", json=save(studio, task_id=LONG_ID), headers=admin),
        422,
        "task_id",
    )
    rest_refuses(client.get(f"/api/tasks/{long_id}/", headers=admin), 422, "id")
    rest_refuses(
        client.get("/api/tasks/", params={"artist_id": long_id}, headers=admin), 422, "artist_id"
    )
    rest_refuses(
        client.post(
            "/api/shots/", json={"sequence_id": 1, "code": "X", "frame_end": LONG_ID}, headers=admin
        ),
        422,
        "frame_end",
    )
    local = LocalBackend(db=studio.db)
    backend_refuses("task_id", local.save_scene, save(studio, task_id=LONG_ID))
    backend_refuses("task_id", local.save_scene, save(studio, task_id=2**63))
    backend_refuses("scene_id", local.get_scene, LONG_ID)
    backend_refuses("publish_id", local.get_publish, long_id)
    backend_refuses("publish_id", local.complete_publish, LONG_ID)
    backend_refuses("part_id", local.browse_versions, LONG_ID)
    backend_refuses("task_id", lambda: local.list_publishes(task_id=LONG_ID))
    assert row_counts(studio.db) == before


def test_the_remote_backend_gets_the_same_answers(studio: Studio) -> None:
    before = row_counts(studio.db)
    with live_server(studio.db) as url:
        remote = RemoteBackend(url, token_for(studio.db, "jdoe"), retry_window=0)
        after_token = row_counts(studio.db)
        backend_refuses("task_id", remote.save_scene, save(studio, task_id=LONG_ID))
        backend_refuses("scene_name", remote.save_scene, save(studio, scene_name="aux"))
        backend_refuses("host", remote.save_scene, save(studio, host="a\x00b"))
        assert row_counts(studio.db) == after_token != before


# Configuration and templates -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://pm:s3cr3t-pw@db:5432x/pm",
        "postgresql://pm:s3cr3t-pw@[::1/pm",
        "postgres ql://pm:s3cr3t-pw@db/pm",
        "pm:s3cr3t-pw@db/pm",
    ],
)
def test_a_database_url_that_does_not_parse_is_a_configuration_error_without_the_password(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"PM_DB_URL": url})
    assert caught.value.field == "PM_DB_URL"
    assert "s3cr3t" not in str(caught.value) and "pw" not in str(caught.value)
    monkeypatch.setenv("PM_DB_URL", url)
    code = main(["db", "info", "--json"])
    out, err = capsys.readouterr()
    assert code == 7
    assert "s3cr3t" not in out + err and "not a database URL" in err


@pytest.mark.parametrize(
    ("templates", "field", "hint"),
    [
        (
            {"asset_layer": "{@scene_folder}/usd/{asset}/{asset}/{asset}.usd"},
            "templates.asset_layer",
            "same path",
        ),
        (
            {"asset_layer": "{@scene_folder}/usd/{asset}/{part}.usd"},
            "templates.asset_layer",
            "part",
        ),
        (
            {"shot_work": "{root}/{asset_name}/{sequence}/{shot}"},
            "templates.shot_work",
            "asset_name",
        ),
        (
            {"scene_folder": "{@work}/scenes/{artist}/{scene}/{task}"},
            "templates.scene_folder",
            "task",
        ),
    ],
)
def test_template_overrides_are_checked_as_a_set_everywhere(
    studio: Studio,
    client: TestClient,
    admin: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    templates: dict[str, str],
    field: str,
    hint: str,
) -> None:
    before = row_counts(studio.db)
    overrides = json.dumps(templates)
    create = ["project", "create", "--code", "T", "--name", "T", "--root-linux", "/show/T"]
    assert hint in cli_refuses(capsys, field, *create, "--templates", overrides)
    body = {"code": "T", "name": "T", "root_linux": "/show/T", "templates": templates}
    assert hint in rest_refuses(client.post("/api/projects/", json=body, headers=admin), 422, field)
    url = f"/api/projects/{studio.project_id}/"
    rest_refuses(client.patch(url, json={"templates": templates}, headers=admin), 422, field)
    assert row_counts(studio.db) == before


# A token in the URL ---------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_token_in_a_query_string_is_refused_and_never_logged(studio: Studio) -> None:
    import requests

    token = token_for(studio.db, "jdoe")
    records = _Records()
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error", "pm.api", "")]
    for logger in loggers:
        logger.addHandler(records)
    access = logging.getLogger("uvicorn.access")
    level = access.level
    access.setLevel(logging.INFO)
    try:
        with live_server(studio.db, access_log=True) as url:
            for params in ({"token": token}, {"name": token}, {"access_token": "x", "a": token}):
                response = requests.get(f"{url}/api/scenes/", params=params, timeout=10)
                assert response.status_code == 401, response.text
                assert response.json()["error"]["code"] == "unauthenticated"
                assert token not in response.text
            ok = requests.get(f"{url}/api/me/", headers=auth(token), timeout=10)
            assert ok.status_code == 200
    finally:
        for logger in loggers:
            logger.removeHandler(records)
        access.setLevel(level)
    assert any("/api/scenes/?token=%2A%2A%2A" in line for line in records.lines), records.lines
    assert not any(token in line for line in records.lines)
