"""What docs/rest.md and the README promise, run for real: the original API's curl examples (with
curl, against a real server on 127.0.0.1), `tools/demo_api_publish.py`, and `pm serve`
itself as a process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text

from pm_db.db import Database
from pm_db.models import Base
from pm_db.services import entities, tokens
from tests.helpers import cli_document
from tests.test_api_support import live_server, write_data_layer

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "rest.md"
DOC_ROOT = "/show/FX3X"


def fresh_show(db: Database, root: Path) -> str:
    """The show the examples speak of, with ids from 1 (as on a new database); returns
    jdoe's token."""
    if db.dialect == "postgresql":
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    artist = entities.create(db, "artist", {"login": "jdoe", "name": "Jane Doe"})
    project = entities.create(
        db,
        "project",
        {"code": "FX3X", "name": "FX", "root_linux": str(root), "root_windows": "P:/FX3X"},
    )
    sequence = entities.create(db, "sequence", {"project_id": project.id, "code": "SQ010"})
    shot = entities.create(db, "shot", {"sequence_id": sequence.id, "code": "SH010"})
    task = entities.create(
        db,
        "task",
        {"target_type": "shot", "target_id": shot.id, "step": "fx", "artist_id": artist.id},
    )
    assert (artist.id, shot.id, task.id) == (1, 1, 1)
    return tokens.create_token(db, "jdoe", label="docs").token


def doc_blocks() -> list[str]:
    """The shell blocks of the original API's examples in docs/rest.md, in order."""
    section = DOC.read_text().split("## The original API's examples", 1)[1].split("### ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def envelopes(output: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    found, position = [], 0
    while position < len(output.strip()):
        value, end = decoder.raw_decode(output, position)
        found.append(value)
        position = end
        while position < len(output) and output[position].isspace():
            position += 1
    return found


def test_the_original_curl_examples_work(db: Database, tmp_path: Path) -> None:
    root = tmp_path / "show" / "FX3X"
    token = fresh_show(db, root)
    blocks = doc_blocks()
    assert len(blocks) == 5 and all("curl" in b for b in blocks)
    answers: list[dict[str, Any]] = []
    with live_server(db) as url:
        env = {**os.environ, "PM_API_URL": url, "PM_API_TOKEN": token}
        for block in blocks:
            if '"/api/publishes/"' in block.replace("$PM_API_URL", ""):
                data = root / "sequences/SQ010/SH010/fx/houdini/scenes/jdoe/PinchIn/usd/PinchIn"
                write_data_layer(str(data / "particles01/data/particles01_v001_i001.usd"))
            script = block.replace(DOC_ROOT, str(root))
            done = subprocess.run(
                ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
            answers += envelopes(done.stdout)
    assert all(a["ok"] for a in answers), answers
    me, tasks, scene, published, latest, second, reserved, failed = (a["data"] for a in answers)
    assert me["artist"] == "jdoe" and [t["id"] for t in tasks] == [1]
    assert (
        scene["path"]
        == f"{root}/sequences/SQ010/SH010/fx/houdini/scenes/jdoe/PinchIn/PinchIn_v001_i001.hip"
    )
    assert published["item_usd_path"].endswith("/particles01/data/particles01_v001_i001.usd")
    assert (published["source_version"], published["source_iteration"], published["is_latest"]) == (
        1,
        1,
        True,
    )
    assert [p["publish_id"] for p in latest] == [published["publish_id"]]
    assert (second["iteration"], reserved["scene_id"], reserved["status"]) == (2, 2, "pending")
    assert (failed["id"], failed["status"]) == (reserved["id"], "failed")


def test_demo_api_publish(db: Database, tmp_path: Path) -> None:
    token = fresh_show(db, tmp_path / "show" / "FX3X")
    with live_server(db) as url:
        env = {
            **os.environ,
            "API_BASE_URL": url,
            "DEMO_TASK_ID": "1",
            "DEMO_TARGET_ID": "1",
            "PM_API_TOKEN": token,
        }
        runs = [
            subprocess.run(
                [sys.executable, str(ROOT / "tools" / "demo_api_publish.py")],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            for _ in range(2)
        ]
    for done in runs:
        assert done.returncode == 0, done.stderr
    first, second = (json.loads(done.stdout.split("\n", 1)[1])["data"] for done in runs)
    assert first["item_usd_path"].endswith("/particles01/data/particles01_v001_i001.usd")
    assert second["item_usd_path"].endswith("/particles01/data/particles01_v001_i002.usd")
    assert (first["part_name"], first["created_by"], second["is_latest"]) == (
        "particles01",
        "jdoe",
        True,
    )


def test_demo_api_publish_reports_a_refusal(db: Database, tmp_path: Path) -> None:
    fresh_show(db, tmp_path / "show" / "FX3X")
    with live_server(db) as url:
        env = {**os.environ, "API_BASE_URL": url, "PM_API_TOKEN": "pm_wrong"}
        done = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "demo_api_publish.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1 and "unauthenticated" in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pm(env: dict[str, str], *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pm_db", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_pm_serve_runs_the_service(db: Database, db_url: str, tmp_path: Path) -> None:
    token = fresh_show(db, tmp_path / "show" / "FX3X")
    port = _free_port()
    env = {**os.environ, "PM_DB_URL": db_url, "PM_PLATFORM": "linux"}
    server = _pm(env, "serve", "--port", str(port), "--workers", "2")
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = requests.get(f"{base}/api/health", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "pm serve did not answer"
                time.sleep(0.2)
        assert health.json()["data"]["database"] == db.dialect
        saved = requests.post(
            f"{base}/api/scenes",
            json={"task_id": 1, "scene_name": "PinchIn"},
            headers={"Authorization": f"Token {token}"},
            timeout=10,
        )
        assert saved.status_code == 201 and saved.json()["data"]["iteration"] == 1
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert "POST /api/scenes" in out + err and token not in out + err


def test_pm_serve_refuses_unsafe_or_unready_configurations(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "PM_DB_URL": db_url, "PM_ENV": "production"}
    refused = _pm(env, "serve", "--host", "0.0.0.0", "--port", str(_free_port()))
    _, err = refused.communicate(timeout=60)
    assert refused.returncode == 7 and "no active token" in err

    empty = tmp_path / "empty.sqlite"
    env = {**os.environ, "PM_DB_URL": f"sqlite:///{empty}"}
    unready = _pm(env, "serve", "--port", str(_free_port()))
    _, err = unready.communicate(timeout=60)
    # A missing SQLite file is never made behind the user's back (docs/cli.md).
    assert unready.returncode == 6 and "pm db upgrade" in err and not empty.exists()


def test_pm_serve_without_the_serve_extra_says_how_to_install(
    db: Database, monkeypatch: Any, capsys: Any
) -> None:
    from pm_db.cli import main

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert main(["serve", "--port", str(_free_port())]) == 7
    assert "pip install 'pm-pipeline[serve]'" in capsys.readouterr().err


def test_the_cli_saves_and_publishes_over_http(db: Database, tmp_path: Path) -> None:
    """`pm scene save` and `pm publish ...` with PM_API_URL and a token, and no database
    settings at all: the numbers come from the service's database."""
    root = tmp_path / "show" / "FX3X"
    token = fresh_show(db, root)
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    home = tmp_path / "farm-node"
    with live_server(db) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PM_DB", "PM_API"))} | {
            "PM_API_URL": url,
            "PM_API_TOKEN_FILE": str(token_file),
            "PM_HOME": str(tmp_path),
        }

        def pm(*argv: str) -> Any:
            done = subprocess.run(
                [sys.executable, "-m", "pm_db", *argv, "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            return cli_document(done.stdout)

        pm("scene", "save", "--task", "1", "--artist", "jdoe", "--scene", "PinchIn")
        scene = pm("scene", "save", "--task", "1", "--artist", "jdoe", "--scene", "PinchIn")
        reserved = pm(
            "publish",
            "reserve",
            "--scene",
            str(scene["id"]),
            "--asset",
            "PinchIn",
            "--part",
            "particles01",
        )
        write_data_layer(reserved["item_usd_path"])
        done = pm("publish", "complete", str(reserved["id"]))
        latest = pm("publishes", "list", "--asset", "PinchIn", "--latest-per-part")
    assert (scene["version"], scene["iteration"]) == (1, 2)
    assert reserved["item_usd_path"].endswith("/particles01/data/particles01_v001_i002.usd")
    assert done["is_latest"] is True and [p["id"] for p in latest] == [done["id"]]
    assert not home.exists()
