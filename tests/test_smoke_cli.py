"""The CLI end to end on both databases: create a show, save, publish, list."""

from __future__ import annotations

from pathlib import Path

import pytest

from pm_db.cli import main
from tests.helpers import cli_document
from tests.test_usd_support import write_data_layer


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object, str]:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, cli_document(out) if out.strip() else None, err


def test_show_setup_save_and_publish(
    db: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "show"
    assert (
        run(
            capsys, "project", "create", "--code", "FX3X", "--name", "FX", "--root-linux", str(root)
        )[0]
        == 0
    )
    assert run(capsys, "sequence", "create", "--project", "FX3X", "--code", "SQ010")[0] == 0
    assert (
        run(
            capsys, "shot", "create", "--project", "FX3X", "--sequence", "SQ010", "--code", "SH010"
        )[0]
        == 0
    )
    assert run(capsys, "artist", "create", "--login", "jdoe", "--name", "Jane Doe")[0] == 0
    code, task, _ = run(
        capsys,
        "task",
        "create",
        "--project",
        "FX3X",
        "--shot",
        "SQ010/SH010",
        "--step",
        "fx",
        "--artist",
        "jdoe",
    )
    assert code == 0
    code, scene, _ = run(
        capsys, "scene", "save", "--task", str(task["id"]), "--artist", "jdoe", "--scene", "PinchIn"
    )
    assert scene["path"].endswith("/PinchIn/PinchIn_v001_i001.hip")
    code, reserved, _ = run(
        capsys,
        "publish",
        "reserve",
        "--scene",
        str(scene["id"]),
        "--asset",
        "PinchIn",
        "--part",
        "particles01",
    )
    assert reserved["status"] == "pending"
    write_data_layer(reserved["item_usd_path"])
    code, done, _ = run(capsys, "publish", "complete", str(reserved["id"]))
    assert done["is_latest"] is True
    assert Path(done["part_usd_path"]).is_file() and Path(done["asset_usd_path"]).is_file()
    code, latest, _ = run(capsys, "publishes", "list", "--asset", "PinchIn", "--latest-per-part")
    assert [p["part_name"] for p in latest] == ["particles01"]


def test_bad_name_names_the_field_and_writes_nothing(
    db: object, capsys: pytest.CaptureFixture[str]
) -> None:
    code, envelope, err = run(
        capsys, "project", "create", "--code", "../x", "--name", "X", "--root-linux", "/show/x"
    )
    assert code == 2
    assert envelope["ok"] is False and envelope["error"]["field"] == "code"
    assert "code" in err
    assert run(capsys, "project", "list")[1] == []
