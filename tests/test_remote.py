"""RemoteBackend on a bad network: which calls are retried, which never are, and the error a
user sees when the service is down, slow, or not a pm service at all."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pm_db.backend import LocalBackend, get_backend
from pm_db.config import load_settings
from pm_db.errors import ConfigError, Conflict, PmError, Unauthenticated, Unavailable
from pm_db.remote import RemoteBackend

SCENE = {
    "id": 7,
    "task_id": 1,
    "artist": "jdoe",
    "software": "houdini",
    "name": "PinchIn",
    "version": 1,
    "iteration": 2,
    "path": "/show/FX3X/PinchIn_v001_i002.hip",
    "host": "ws01",
    "software_version": None,
    "created_at": "2026-01-01T00:00:00Z",
}


class Script:
    """What the stub service answers, in order, and what it was asked."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any, float, dict[str, str]]] = []
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

    def then(
        self, status: int, body: Any, delay: float = 0.0, headers: dict[str, str] | None = None
    ) -> Script:
        self.answers.append((status, body, delay, headers or {}))
        return self


@pytest.fixture
def stub() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            script.requests.append((self.command, self.path, dict(self.headers), body))
            status, answer, delay, headers = (
                script.answers.pop(0) if script.answers else (500, "", 0.0, {})
            )
            time.sleep(delay)
            raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(raw)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script
    server.shutdown()
    server.server_close()


def ok(data: Any) -> dict[str, Any]:
    return {"ok": True, "data": data}


def refusal(code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "field": field}}


def backend(
    url: str, token: str | None = "pm_secret", read_timeout: float = 5.0, window: float = 5.0
) -> RemoteBackend:
    return RemoteBackend(url, token, timeout=(1.0, read_timeout), retry_window=window, backoff=0.0)


def test_reads_are_retried_after_a_503(stub: tuple[str, Script]) -> None:
    url, script = stub
    down = refusal("unavailable", "database locked", None)
    script.then(503, down).then(503, down).then(200, ok(SCENE))
    scene = backend(url).get_scene(7)
    assert (scene.id, scene.iteration) == (7, 2)
    assert [r[:2] for r in script.requests] == [("GET", "/api/scenes/7/")] * 3


def test_a_save_is_never_repeated(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.then(503, refusal("unavailable", "cannot reach database", None)).then(200, ok(SCENE))
    with pytest.raises(Unavailable):
        backend(url).save_scene({"task_id": 1, "artist": "jdoe", "scene_name": "PinchIn"})
    assert len(script.requests) == 1


def test_a_slow_save_is_reported_not_repeated(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.then(201, ok(SCENE), delay=1.0)
    with pytest.raises(Unavailable) as slow:
        backend(url, read_timeout=0.2).save_scene(
            {"task_id": 1, "artist": "jdoe", "scene_name": "X"}
        )
    assert "may or may not" in slow.value.message and slow.value.field == "PM_API_URL"
    assert len(script.requests) == 1


def test_idempotent_writes_are_retried(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.then(502, b"<html>bad gateway</html>")
    script.then(409, refusal("conflict", "publish 3 is failed, not pending", "status"))
    with pytest.raises(Conflict):
        backend(url).complete_publish(3)
    assert [r[:2] for r in script.requests] == [("POST", "/api/publishes/3/complete/")] * 2


def test_publish_is_retried_only_with_a_request_id(stub: tuple[str, Script]) -> None:
    url, script = stub
    down = refusal("unavailable", "down", None)
    script.then(503, down).then(503, down).then(503, down)
    with pytest.raises(Unavailable):
        backend(url).publish_part({"task_id": 1})
    assert len(script.requests) == 1
    script.requests.clear()
    with pytest.raises(PmError):
        backend(url).publish_part({"task_id": 1, "request_id": "job-1"})
    assert len(script.requests) == 3, "two more 503s, retried; then the 500, not retried"


def test_a_save_with_a_request_id_is_retried_until_the_service_answers(
    stub: tuple[str, Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, script = stub
    waits: list[float] = []
    monkeypatch.setattr("pm_db.remote.time.sleep", waits.append)
    down = refusal("unavailable", "cannot reach database", None)
    script.then(503, down, headers={"Retry-After": "2"}).then(503, down).then(201, ok(SCENE))
    save = {"task_id": 1, "artist": "jdoe", "scene_name": "PinchIn", "request_id": "save-1"}
    scene = backend(url).save_scene(save)
    assert scene.id == 7
    bodies = [json.loads(r[3]) for r in script.requests]
    assert bodies == [save] * 3, "every retry carries the same request id"
    assert max(waits) >= 2, "the service's Retry-After is honoured"


def test_after_the_window_a_keyed_write_says_re_running_is_safe(
    stub: tuple[str, Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, script = stub
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr("pm_db.remote.time.monotonic", lambda: float(next(clock)))
    monkeypatch.setattr("pm_db.remote.time.sleep", lambda seconds: None)
    for _ in range(5):
        script.then(503, refusal("unavailable", "cannot reach database", None))
    with pytest.raises(Unavailable) as down:
        backend(url, window=30.0).publish_part({"task_id": 1, "request_id": "job-1"})
    assert "re-running the same request is safe" in down.value.message
    assert "tried for 30 s" in down.value.message
    assert down.value.exit_code == 6
    assert 2 <= len(script.requests) <= 4


def test_errors_come_back_as_the_same_classes(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.then(409, refusal("conflict", "published by another request", "request_id"))
    with pytest.raises(Conflict) as conflict:
        backend(url).get_publish("abc")
    assert (conflict.value.field, conflict.value.message) == (
        "request_id",
        "published by another request",
    )
    script.then(401, refusal("unauthenticated", "the token is unknown or revoked", "Authorization"))
    with pytest.raises(Unauthenticated):
        backend(url).get_scene(1)
    script.then(418, refusal("teapot", "odd", None))
    with pytest.raises(PmError) as odd:
        backend(url).get_scene(1)
    assert type(odd.value) is PmError


def test_an_answer_without_the_envelope_names_the_url(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.then(200, b"<html>a proxy login page</html>")
    with pytest.raises(PmError) as strange:
        backend(url).get_scene(1)
    assert strange.value.field == "PM_API_URL" and url in strange.value.message


def test_the_token_travels_in_the_header_only(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.then(200, ok(SCENE)).then(200, ok(SCENE))
    backend(url, token="pm_abc").get_scene(7)
    _method, path, headers, _ = script.requests[0]
    assert headers["Authorization"] == "Bearer pm_abc" and "pm_abc" not in path
    backend(url, token=None).get_scene(7)
    assert "Authorization" not in script.requests[1][2]


def test_an_unreachable_service_is_unavailable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    url = f"http://127.0.0.1:{port}"
    for call in (
        lambda b: b.get_scene(1),
        lambda b: b.save_scene({"task_id": 1, "artist": "jdoe", "scene_name": "X"}),
    ):
        with pytest.raises(Unavailable) as down:
            call(backend(url, window=0.2))
        assert down.value.field == "PM_API_URL"
        assert url in down.value.message and "pm serve" in down.value.message


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("http://pm.studio.lan:8002", "http://pm.studio.lan:8002"),
        ("http://pm.studio.lan:8002/", "http://pm.studio.lan:8002"),
        ("https://pm.studio.lan/api/", "https://pm.studio.lan"),
        ("http://gateway/pm/api", "http://gateway/pm"),
    ],
)
def test_the_service_url_may_end_in_api(given: str, base: str) -> None:
    assert RemoteBackend(given).url == base


@pytest.mark.parametrize("url", ["pm.studio.lan:8002", "ftp://pm/", "http://"])
def test_a_bad_service_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as bad:
        RemoteBackend(url)
    assert bad.value.field == "PM_API_URL"


def test_pm_api_url_selects_the_remote_backend(tmp_path: Any) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("pm_from_file\n")
    env = {
        "PM_HOME": str(tmp_path),
        "PM_API_URL": "http://127.0.0.1:8002",
        "PM_API_TOKEN_FILE": str(token_file),
    }
    chosen = get_backend(load_settings(env))
    assert isinstance(chosen, RemoteBackend) and chosen.url == "http://127.0.0.1:8002"
    assert chosen._headers["Authorization"] == "Bearer pm_from_file"
    local = get_backend(load_settings({"PM_HOME": str(tmp_path)}))
    assert isinstance(local, LocalBackend)


def test_the_remote_backend_needs_neither_the_database_stack_nor_the_web_framework() -> None:
    """Farm nodes and vendors' machines import only the HTTP client."""
    probe = (
        "import sys\n"
        "from pm_db.backend import get_backend\n"
        "from pm_db.config import load_settings\n"
        "get_backend(load_settings({'PM_API_URL': 'http://pm:8002', 'PM_HOME': '.'}))\n"
        "heavy = ('sqlalchemy', 'fastapi', 'starlette', 'uvicorn')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_only_the_service_imports_the_web_framework() -> None:
    """pm_db.api (the REST service) and pm_db.web (its pages) only."""
    package = Path(__file__).resolve().parent.parent / "pm_db"
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.relative_to(package).parts[0] not in ("api", "web")
        and any(
            line.lstrip().startswith((f"import {m}", f"from {m}"))
            for line in path.read_text().splitlines()
            for m in ("fastapi", "starlette")
        )
    ]
    assert offenders == []


def test_an_answer_of_another_shape_is_a_clear_error(stub: tuple[str, Script]) -> None:
    url, script = stub
    script.then(200, ok({"id": "seven"}))
    with pytest.raises(PmError) as unreadable:
        backend(url).get_scene(7)
    assert unreadable.value.field == "PM_API_URL"
    assert "SceneOut" in unreadable.value.message and "same version" in unreadable.value.message
