"""The project_manager API's demo, against pm: save the scene, then publish the original
API's example part over HTTP and print the service's answer.

    API_BASE_URL    the service (default http://127.0.0.1:8002; `pm serve`)
    DEMO_TASK_ID    the task to save and publish in (default 1)
    DEMO_TARGET_ID  the shot or asset that task is on (default 1)
    PM_API_TOKEN    the artist's token (`pm token create --artist LOGIN`), or PM_API_TOKEN_FILE

A publish needs a saved source scene, so the demo first saves one (POST /api/scenes/: the
next iteration, as the token's artist), writes the part's data layer where a USD ROP would,
and posts the original API's payload (POST /api/publishes/). Run it again: the numbers go
on. The same variables as the original demo, and the token pm needs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import requests

from pm_db.config import load_settings
from pm_db.errors import PmError

ASSET = "PinchIn"
PART = "particles01"
TIMEOUT = (3.05, 30.0)


class DemoError(Exception):
    """The service refused a request or could not be reached."""


def call(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """The `data` of the service's envelope; raises DemoError with its error."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        response = requests.request(
            method, base + path, json=body, headers=headers, timeout=TIMEOUT
        )
    except requests.RequestException as exc:
        raise DemoError(f"cannot reach {base}: {exc}; is `pm serve` running?") from None
    try:
        envelope = response.json()
    except ValueError:
        raise DemoError(f"{base}{path} answered HTTP {response.status_code}, not JSON") from None
    if not envelope.get("ok"):
        raise DemoError(f"{method} {path}: HTTP {response.status_code} {json.dumps(envelope)}")
    return envelope["data"]


def write_data_layer(path: str) -> None:
    """The part's data layer, as a USD ROP would render it (a small ASCII USD file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        f'#usda 1.0\n(\n    defaultPrim = "{PART}"\n)\n\n'
        f'def Points "{PART}"\n{{\n    point3f[] points = [(0, 0, 0), (1, 0, 0), (0, 1, 0)]\n}}\n'
    )


def original_payload(task: dict[str, Any], target_id: int, scene: dict[str, Any]) -> dict[str, Any]:
    """The original API's example publish of particles01 of PinchIn from `scene`, with the
    paths its tools compute: beside the work file, under usd/<asset>/."""
    folder = scene["path"].rsplit("/", 1)[0]
    version, iteration = scene["version"], scene["iteration"]
    numbers = f"v{version:03d}_i{iteration:03d}"
    return {
        "task_id": task["id"],
        "target_type": task["target_type"],
        "target_id": target_id,
        "software": "houdini",
        "source_version": version,
        "source_iteration": iteration,
        "item_usd_path": f"{folder}/usd/{ASSET}/{PART}/data/{PART}_{numbers}.usd",
        # What the original clients send here: the part's stable layer.
        "asset_usd_path": f"{folder}/usd/{ASSET}/{PART}/{PART}.usd",
        "status": "published",
        "metadata": {"asset_name": ASSET, "part_name": PART, "frame_range": [1001, 1100]},
    }


def run(base: str, token: str, task_id: int, target_id: int) -> dict[str, Any]:
    """Save, write the data layer, publish; returns the publish the service recorded."""
    task = call(base, token, "GET", f"/api/tasks/{task_id}/")
    scene = call(base, token, "POST", "/api/scenes/", {"task_id": task_id, "scene_name": ASSET})
    print(f"saved     v{scene['version']:03d} i{scene['iteration']:03d}  {scene['path']}")
    payload = original_payload(task, target_id, scene)
    write_data_layer(payload["item_usd_path"])
    published: dict[str, Any] = call(base, token, "POST", "/api/publishes/", payload)
    return published


def main() -> int:
    base = os.environ.get("API_BASE_URL", "http://127.0.0.1:8002").rstrip("/")
    try:
        token = load_settings().api_token
        task_id = int(os.environ.get("DEMO_TASK_ID", "1"))
        target_id = int(os.environ.get("DEMO_TARGET_ID", "1"))
    except PmError as exc:
        print(f"demo_api_publish: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValueError:
        print("demo_api_publish: DEMO_TASK_ID and DEMO_TARGET_ID must be numbers", file=sys.stderr)
        return 2
    if not token:
        print(
            "demo_api_publish: set PM_API_TOKEN (pm token create --artist LOGIN)", file=sys.stderr
        )
        return 2
    try:
        published = run(base, token, task_id, target_id)
    except DemoError as exc:
        print(f"demo_api_publish: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"ok": True, "data": published}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
