"""What the REST tests share: a real uvicorn server on 127.0.0.1, tokens, data layers.

No tests here; the test_api*, test_remote*, test_tokens* and contract modules import it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from pm_db.api.app import create_app
from pm_db.db import Database
from pm_db.errors import NotFound
from pm_db.services import entities, tokens

SERVER_START_SECONDS = 20


@contextmanager
def live_server(db: Database, access_log: bool = False) -> Iterator[str]:
    """A real `pm` REST service over `db` on a free loopback port; yields its base URL.
    With `access_log`, uvicorn logs each request to the `uvicorn.access` logger (and
    leaves the logging configuration alone)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    logging: dict[str, Any] = {"log_config": None} if access_log else {"log_level": "warning"}
    config = uvicorn.Config(create_app(db), access_log=access_log, **logging)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=SERVER_START_SECONDS)
        sock.close()


def token_for(db: Database, login: str, admin: bool = False, label: str = "") -> str:
    """A fresh token of artist `login` (created if missing)."""
    try:
        entities.find(db, "artist", login)
    except NotFound:
        entities.create(db, "artist", {"login": login, "name": login.title()})
    return tokens.create_token(db, login, label=label, is_admin=admin).token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def write_data_layer(path: str, prim: str = "particles01") -> None:
    """The data layer a USD ROP would render: a small, valid USD file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        f'#usda 1.0\n(\n    defaultPrim = "{prim}"\n)\n\ndef Points "{prim}"\n{{\n}}\n'
    )


def original_payload(
    scene: dict[str, Any], target_id: int, part: str = "particles01"
) -> dict[str, Any]:
    """The original API's publish payload for `part` of PinchIn from a saved scene (as JSON data),
    with its data layer written."""
    folder = scene["path"].rsplit("/", 1)[0]
    version, iteration = scene["version"], scene["iteration"]
    numbers = f"v{version:03d}_i{iteration:03d}"
    payload = {
        "task_id": scene["task_id"],
        "target_type": "shot",
        "target_id": target_id,
        "software": "houdini",
        "source_version": version,
        "source_iteration": iteration,
        "item_usd_path": f"{folder}/usd/PinchIn/{part}/data/{part}_{numbers}.usd",
        "asset_usd_path": f"{folder}/usd/PinchIn/PinchIn.usd",
        "status": "published",
        "metadata": {"asset_name": "PinchIn", "part_name": part, "frame_range": [1001, 1100]},
    }
    write_data_layer(payload["item_usd_path"], part)
    return payload
