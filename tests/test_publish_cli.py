"""`pm scene`, `pm publish`, `pm publishes` and `pm path` from the command line."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from pm_db.cli import main
from tests.helpers import Studio, cli_document, original_payload, row_counts
from tests.test_usd_support import write_data_layer


def pm(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Run `pm ... --json`; (exit code, the one JSON document printed, stderr)."""
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, cli_document(out), err


def test_save_version_up_and_list(studio: Studio, capsys: pytest.CaptureFixture[str]) -> None:
    task = str(studio.shot_task_id)
    base = ["--task", task, "--artist", "jdoe", "--scene", "PinchIn"]
    assert pm(capsys, "scene", "save", *base)[1]["iteration"] == 1
    assert pm(capsys, "scene", "save", *base, "--ext", "hipnc")[1]["path"].endswith(
        "PinchIn_v001_i002.hipnc"
    )
    code, scene, _ = pm(capsys, "scene", "version-up", *base, "--software-version", "20.5.410")
    assert code == 0 and (scene["version"], scene["iteration"]) == (2, 1)
    assert scene["software_version"] == "20.5.410"
    listed = pm(capsys, "scene", "list", "--task", task)[1]
    assert [(s["version"], s["iteration"]) for s in listed] == [(2, 1), (1, 2), (1, 1)]
    assert pm(capsys, "scene", "find", scene["path"])[1]["id"] == scene["id"]


def test_publish_original_payload_from_file_and_stdin(
    studio: Studio,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = str(studio.shot_task_id)
    scene = pm(capsys, "scene", "save", "--task", task, "--artist", "jdoe", "--scene", "PinchIn")[1]
    payload = {**original_payload(_Scene(scene, studio.shot_task_id)), "target_id": studio.shot_id}
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload))
    write_data_layer(payload["item_usd_path"])
    code, first, _ = pm(capsys, "publish", str(path))
    assert code == 0 and first["is_latest"] and first["version"] == 1
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(payload)))
    code, again, _ = pm(capsys, "publish", "-")
    assert again["id"] == first["id"]
    latest = pm(capsys, "publishes", "list", "--asset", "PinchIn", "--latest-per-part")[1]
    assert [p["id"] for p in latest] == [first["id"]]


class _Scene:
    def __init__(self, data: dict[str, Any], task_id: int) -> None:
        self.path = data["path"]
        self.version = data["version"]
        self.iteration = data["iteration"]
        self.task_id = task_id


def test_reserve_fail_retry_complete(studio: Studio, capsys: pytest.CaptureFixture[str]) -> None:
    task = str(studio.shot_task_id)
    scene = pm(capsys, "scene", "save", "--task", task, "--artist", "jdoe", "--scene", "PinchIn")[1]
    reserve = ["publish", "reserve", "--scene", str(scene["id"]), "--asset", "PinchIn"]
    reserved = pm(capsys, *reserve, "--part", "smoke", "--request-id", "job-1")[1]
    assert reserved["status"] == "pending"
    failed = pm(capsys, "publish", "fail", str(reserved["id"]), "--reason", "ROP failed")[1]
    assert failed["status"] == "failed" and failed["error"] == "ROP failed"
    retried = pm(capsys, *reserve, "--part", "smoke", "--request-id", "job-1")[1]
    assert retried["id"] == reserved["id"] and retried["status"] == "pending"
    write_data_layer(retried["item_usd_path"])
    done = pm(capsys, "publish", "complete", reserved["uuid"])[1]
    assert done["is_latest"]
    shown = pm(capsys, "publish", "show", str(reserved["id"]))[1]
    assert shown["status"] == "published"
    deprecated = pm(capsys, "publish", "deprecate", str(reserved["id"]))[1]
    assert deprecated["status"] == "deprecated"
    history = pm(capsys, "publishes", "list", "--asset", "PinchIn", "--part", "smoke")[1]
    assert [p["status"] for p in history] == ["deprecated"]


@pytest.mark.parametrize(
    ("argv", "exit_code", "field"),
    [
        (["scene", "save", "--task", "999", "--artist", "jdoe", "--scene", "X"], 3, "task_id"),
        (
            ["scene", "save", "--task", "{task}", "--artist", "jdoe", "--scene", "a/b"],
            2,
            "scene_name",
        ),
        (["scene", "save", "--task", "{task}", "--artist", "ghost", "--scene", "X"], 3, "artist"),
        (["publish", "reserve", "--scene", "999", "--asset", "A", "--part", "p"], 3, "scene_id"),
        (["publish", "complete", "999"], 3, "publish_id"),
        (["publish", "{missing}"], 2, "payload"),
        (["publishes", "list", "--latest-per-part"], 2, "--asset"),
        (["publishes", "list", "--status", "bogus"], 2, "status"),
        (["path", "format", "scene_file", "colour=red"], 2, "colour"),
        (["path", "format", "scene_file", "version=1"], 2, "root"),
        (["path", "format", "no_such_template"], 2, "template"),
        (["path", "parse", "scene_file", "/not/a/scene.hip"], 2, None),
    ],
)
def test_bad_commands_exit_non_zero_naming_the_field(
    studio: Studio,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    argv: list[str],
    exit_code: int,
    field: str | None,
) -> None:
    argv = [
        a.replace("{task}", str(studio.shot_task_id)).replace(
            "{missing}", str(tmp_path / "missing.json")
        )
        for a in argv
    ]
    before = row_counts(studio.db)
    code, envelope, err = pm(capsys, *argv)
    assert code == exit_code
    assert envelope["ok"] is False and envelope["error"]["field"] == field
    assert err.startswith("pm: error: ") and err.count("\n") == 1
    assert row_counts(studio.db) == before


def test_bad_json_payload(
    studio: Studio, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    code, envelope, _ = pm(capsys, "publish", str(path))
    assert code == 2 and envelope["error"]["field"] == "payload"


def test_path_format_and_parse_with_a_task(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    fields = [
        "software=houdini",
        "artist=jdoe",
        "scene=PinchIn",
        "version=3",
        "iteration=7",
        "ext=hip",
    ]
    code, formatted, _ = pm(
        capsys, "path", "format", "scene_file", *fields, "--task", str(studio.shot_task_id)
    )
    assert code == 0
    assert formatted["path"] == (
        f"{studio.root}/sequences/SQ010/SH010/fx/houdini/scenes/jdoe/PinchIn/PinchIn_v003_i007.hip"
    )
    parsed = pm(capsys, "path", "parse", "scene_file", formatted["path"])[1]
    assert parsed["fields"]["version"] == 3 and parsed["fields"]["shot"] == "SH010"
    templates = pm(capsys, "path", "templates", "--target-type", "asset")[1]
    assert templates["scene_folder"].startswith("{root}/assets/{asset_type}/{asset_name}")
