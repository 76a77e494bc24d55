"""Launching a DCC for a task (pm_db.launch and `pm launch`), on both databases: a stand-in
executable writes the environment it was started with, and the test reads it back."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pm_db import launch
from pm_db.backend import LocalBackend
from pm_db.cli import main
from pm_db.errors import ConfigError, NotFound, ValidationError
from pm_db.services import entities
from pm_db.services.events import list_events
from pm_db.views import TaskRow
from tests.conftest import Studio
from tests.helpers import cli_document


def stand_in(folder: Path, name: str = "houdini") -> tuple[Path, Path]:
    """An executable that writes its environment and arguments to a JSON file, then exits."""
    out = folder / f"{name}-env.json"
    script = folder / name
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(out)!r} + '.tmp', 'w') as f:\n"
        "    json.dump({'env': dict(os.environ), 'argv': sys.argv[1:]}, f)\n"
        f"os.replace({str(out)!r} + '.tmp', {str(out)!r})\n"
    )
    script.chmod(0o755)
    return script, out


def read_when_written(path: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while not path.exists():
        assert time.monotonic() < deadline, f"the stand-in never wrote {path}"
        time.sleep(0.02)
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.fixture
def package(tmp_path: Path) -> Path:
    folder = tmp_path / "package"
    folder.mkdir()
    (folder / "pm.json").write_text('{"hpath": "$HOUDINI_PACKAGE_PATH"}')
    return folder


@pytest.fixture
def env(tmp_path: Path, package: Path, db: object) -> dict[str, str]:
    script, _ = stand_in(tmp_path)
    return {
        **os.environ,
        "PM_DCC_HOUDINI": str(script),
        "PM_HOUDINI_PACKAGE_DIR": str(package),
        "PM_LAUNCH_CONFIG": "",
    }


def launches(studio: Studio) -> list[Any]:
    return list_events(studio.db, kind="dcc.launched")


def test_houdini_starts_with_the_task_context(
    studio: Studio, env: dict[str, str], tmp_path: Path, package: Path
) -> None:
    backend = LocalBackend(db=studio.db)
    result = launch.launch(backend, "houdini", studio.shot_task_id, "jdoe", env)
    seen = read_when_written(tmp_path / "houdini-env.json")["env"]
    assert seen["PM_PROJECT"] == "FX3X"
    assert seen["PM_TASK_ID"] == str(studio.shot_task_id)
    assert seen["PM_ARTIST"] == "jdoe"
    assert seen["PM_DB_URL"] == os.environ["PM_DB_URL"]
    assert seen["PM_PLATFORM"] == "linux"
    assert seen["PM_HOME"] == os.environ["PM_HOME"]
    assert seen["HOUDINI_PACKAGE_DIR"] == str(package)
    assert result.command == [env["PM_DCC_HOUDINI"]]
    assert result.context["PM_TASK_ID"] == str(studio.shot_task_id)
    [event] = launches(studio)
    assert (event.entity_type, event.entity_id, event.artist_id) == (
        "task",
        studio.shot_task_id,
        studio.artist_id,
    )
    assert event.payload["pid"] == result.pid and event.id == result.event_id
    assert event.payload["dcc"] == "houdini"


def test_secrets_stay_in_their_files(studio: Studio, env: dict[str, str], tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret")
    env = {**env, "PM_API_TOKEN_FILE": str(secret), "PM_DB_PASSWORD_FILE": str(secret)}
    launch.launch(LocalBackend(db=studio.db), "houdini", studio.asset_task_id, "jdoe", env)
    seen = read_when_written(tmp_path / "houdini-env.json")["env"]
    assert seen["PM_API_TOKEN_FILE"] == str(secret)
    assert "s3cret" not in json.dumps(seen)


def test_the_artist_defaults_to_pm_artist_then_the_task_artist(
    studio: Studio, env: dict[str, str]
) -> None:
    backend = LocalBackend(db=studio.db)
    entities.create(studio.db, "artist", {"login": "amy", "name": "Amy"})
    assert launch.plan_launch(backend, "houdini", studio.shot_task_id, env=env).artist == "jdoe"
    env["PM_ARTIST"] = "amy"
    assert launch.plan_launch(backend, "houdini", studio.shot_task_id, env=env).artist == "amy"
    assert (
        launch.plan_launch(backend, "houdini", studio.shot_task_id, "JDoe", env=env).artist
        == "jdoe"
    )


def test_bad_task_or_artist_is_refused_before_anything_starts(
    studio: Studio, env: dict[str, str], tmp_path: Path
) -> None:
    backend = LocalBackend(db=studio.db)
    entities.create(studio.db, "artist", {"login": "gone", "name": "Gone", "active": False})
    for task, artist, error, field in (
        (999_999, "jdoe", NotFound, "task_id"),
        (studio.shot_task_id, "nobody", NotFound, "login"),
        (studio.shot_task_id, "gone", ValidationError, "artist"),
        (studio.shot_task_id, "../x", ValidationError, "artist"),
    ):
        with pytest.raises(error) as raised:
            launch.launch(backend, "houdini", task, artist, env)
        assert raised.value.field == field, (task, artist)
    with pytest.raises(ValidationError) as raised:
        launch.launch(backend, "hou dini", studio.shot_task_id, "jdoe", env)
    assert raised.value.field == "dcc"
    assert launches(studio) == []
    assert not (tmp_path / "houdini-env.json").exists()


class TargetLost(LocalBackend):
    """A backend answering for a task whose shot or asset it could not find."""

    def task_row(self, task_id: int) -> TaskRow:
        return super().task_row(task_id).model_copy(update={"target": None, "target_type": None})


def test_a_task_without_a_target_is_refused(studio: Studio, env: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="no shot or asset") as raised:
        launch.launch(TargetLost(db=studio.db), "houdini", studio.shot_task_id, "jdoe", env)
    assert raised.value.field == "task_id"
    assert launches(studio) == []


def test_a_missing_executable_names_the_setting(studio: Studio, env: dict[str, str]) -> None:
    backend = LocalBackend(db=studio.db)
    env["PM_DCC_HOUDINI"] = "/opt/hfs21.0/bin/houdini-not-here"
    with pytest.raises(ConfigError, match="does not exist") as raised:
        launch.launch(backend, "houdini", studio.shot_task_id, "jdoe", env)
    assert raised.value.field == "PM_DCC_HOUDINI"
    env.pop("PM_DCC_HOUDINI")
    env.pop("HFS", None)
    env["PATH"] = "/nonexistent"
    with pytest.raises(ConfigError) as raised:
        launch.launch(backend, "houdini", studio.shot_task_id, "jdoe", env)
    assert "set PM_DCC_HOUDINI" in str(raised.value) and "launch.json" in str(raised.value)
    assert launches(studio) == []


def test_executables_per_platform_first_match_wins(tmp_path: Path) -> None:
    env_exe, _ = stand_in(tmp_path, "from-env")
    file_exe, _ = stand_in(tmp_path, "from-file")
    hfs = tmp_path / "hfs"
    (hfs / "bin").mkdir(parents=True)
    hfs_exe, _ = stand_in(hfs / "bin", "houdini")
    path_dir = tmp_path / "bin"
    path_dir.mkdir()
    path_exe, _ = stand_in(path_dir, "houdini")
    config = tmp_path / "studio" / "launch.json"
    config.parent.mkdir()
    config.write_text(
        json.dumps({"houdini": {"linux": str(file_exe), "windows": "C:/hfs/houdini.exe"}})
    )
    env = {
        "PM_HOME": str(tmp_path),
        "PM_DCC_HOUDINI": str(env_exe),
        "PM_LAUNCH_CONFIG": str(config),
        "HFS": str(hfs),
        "PATH": str(path_dir),
    }
    found = launch.find_executable("houdini", env, "linux")
    assert (found.path, found.source) == (str(env_exe), "PM_DCC_HOUDINI")
    del env["PM_DCC_HOUDINI"]
    found = launch.find_executable("houdini", env, "linux")
    assert (found.path, found.source) == (str(file_exe), f"{config}: houdini.linux")
    del env["PM_LAUNCH_CONFIG"]
    assert launch.find_executable("houdini", env, "linux").path == str(hfs_exe)
    del env["HFS"]
    assert launch.find_executable("houdini", env, "linux").path == str(path_exe)


def test_config_file_mistakes_name_the_entry(tmp_path: Path) -> None:
    config = tmp_path / "launch.json"
    env = {"PM_HOME": str(tmp_path)}
    for text, field in (
        ("{not json", str(config)),
        ('["houdini"]', str(config)),
        ('{"houdini": "/opt/hfs/bin/houdini"}', f"{config}: houdini"),
        ('{"houdini": {"linux": ""}}', f"{config}: houdini.linux"),
        ('{"houdini": {"args": "-foreground"}}', f"{config}: houdini.args"),
        ('{"houdini": {"irix": "/usr/bin/houdini"}}', f"{config}: houdini"),
        ('{"hou dini": {}}', f"{config}: hou dini"),
    ):
        config.write_text(text)
        with pytest.raises(ConfigError) as raised:
            launch.load_config(env)
        assert raised.value.field == field, text
    config.write_text('{"Nuke": {"linux": "/opt/nuke/Nuke15"}}')
    assert launch.available_dccs(env) == ["houdini", "nuke"]
    with pytest.raises(ConfigError) as raised:
        launch.load_config({"PM_LAUNCH_CONFIG": str(tmp_path / "absent.json")})
    assert raised.value.field == "PM_LAUNCH_CONFIG"


def test_configured_arguments_are_passed(
    studio: Studio, env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "launch.json"
    config.write_text(json.dumps({"houdini": {"args": ["-foreground", "--verbose"]}}))
    env["PM_LAUNCH_CONFIG"] = str(config)
    result = launch.launch(LocalBackend(db=studio.db), "houdini", studio.shot_task_id, "jdoe", env)
    assert read_when_written(tmp_path / "houdini-env.json")["argv"] == ["-foreground", "--verbose"]
    assert result.command[1:] == ["-foreground", "--verbose"]


def test_the_package_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: Path) -> None:
    assert launch.package_dir({"PM_HOUDINI_PACKAGE_DIR": str(package)}) == str(package)
    with pytest.raises(ConfigError) as raised:
        launch.package_dir({"PM_HOUDINI_PACKAGE_DIR": str(tmp_path / "nothing")})
    assert raised.value.field == "PM_HOUDINI_PACKAGE_DIR"
    monkeypatch.setattr(launch, "PACKAGE_ROOT", package)
    assert launch.package_dir({}) == str(package)
    monkeypatch.setattr(launch, "PACKAGE_ROOT", tmp_path)
    with pytest.raises(ConfigError, match=r"holds no pm\.json"):
        launch.package_dir({})


def test_a_replaced_package_folder_is_noted(studio: Studio, env: dict[str, str]) -> None:
    env["HOUDINI_PACKAGE_DIR"] = "/studio/packages"
    plan = launch.plan_launch(LocalBackend(db=studio.db), "houdini", studio.shot_task_id, env=env)
    assert plan.env["HOUDINI_PACKAGE_DIR"] == env["PM_HOUDINI_PACKAGE_DIR"]
    assert plan.notes == (
        "HOUDINI_PACKAGE_DIR was /studio/packages; pm's package folder replaces it",
    )


def test_cli_launch_dry_run_then_for_real(
    studio: Studio,
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("PM_DCC_HOUDINI", "PM_HOUDINI_PACKAGE_DIR"):
        monkeypatch.setenv(name, env[name])
    task = str(studio.shot_task_id)
    assert main(["launch", "houdini", "--task", task, "--dry-run", "--json"]) == 0
    plan = cli_document(capsys.readouterr().out)
    assert plan["command"] == [env["PM_DCC_HOUDINI"]] and plan["artist"] == "jdoe"
    assert plan["context"]["PM_PROJECT"] == "FX3X" and plan["target"] == "FX3X SQ010/SH010"
    assert launches(studio) == [] and not (tmp_path / "houdini-env.json").exists()

    assert main(["launch", "houdini", "--task", task, "--artist", "jdoe", "--json"]) == 0
    started = cli_document(capsys.readouterr().out)
    assert read_when_written(tmp_path / "houdini-env.json")["env"]["PM_TASK_ID"] == task
    assert [e.payload["pid"] for e in launches(studio)] == [started["pid"]]


def test_cli_missing_executable_is_one_clear_line(
    studio: Studio, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PM_DCC_HOUDINI", "/nowhere/houdini")
    code = main(["launch", "houdini", "--task", str(studio.shot_task_id)])
    err = capsys.readouterr().err
    assert code == 7
    assert err.strip() == "pm: error: PM_DCC_HOUDINI: /nowhere/houdini does not exist"
    assert main(["launch", "houdini", "--task", "abc"]) == 2
    assert "--task: must be a task id" in capsys.readouterr().err
    assert launches(studio) == []
