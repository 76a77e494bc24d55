"""The command line's conventions (docs/cli.md): help and --version, global options
anywhere, one JSON shape, paging, tables that fit, PM_PROJECT/PM_ARTIST, shell
completion, remote mode that never falls back to a local database, read-only commands
that make no file, Ctrl-C at any moment, progress on stderr, and pins refused when the
data layer is missing (CLI and REST)."""

from __future__ import annotations

import importlib.abc
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pm_db.cli import main
from pm_db.cli import progress as progress_module
from pm_db.cli.common import NEEDS_DATABASE
from pm_db.db import Database
from pm_db.services import entities
from tests.conftest import Studio
from tests.test_usd_support import publish

PM = Path(sys.executable).with_name("pm")


def pm(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_pm_alone_prints_help_and_version_prints_the_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = pm(capsys)
    assert code == 0 and out.startswith("usage: pm") and "COMMAND" in out and err == ""
    code, out, _ = pm(capsys, "project")
    assert code == 0 and out.startswith("usage: pm project") and "import" in out
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"pm {entities_version()}"


def entities_version() -> str:
    from importlib.metadata import version

    return version("pm-pipeline")


def test_global_options_go_anywhere_and_json_is_one_envelope(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    first = pm(capsys, "--json", "project", "list")
    middle = pm(capsys, "project", "--json", "list")
    last = pm(capsys, "project", "list", "--json")
    assert first == middle == last
    code, out, err = first
    assert code == 0 and err == ""
    assert json.loads(out) == {
        "ok": True,
        "data": [],
        "page": {"offset": 0, "limit": 100, "count": 0, "more": False},
    }
    code, out, err = pm(capsys, "--json", "project", "show", "NOPE")
    assert code == 3 and json.loads(out)["ok"] is False
    assert json.loads(out)["error"]["field"] == "ref" and err.count("\n") == 1


def test_lists_page_say_when_more_follow_and_show_codes(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    for login in ("amy", "bob", "cat"):
        entities.create(studio.db, "artist", {"login": login, "name": login.title()})
    code, out, _ = pm(capsys, "artist", "list", "--limit", "2", "--offset", "1", "--json")
    document = json.loads(out)
    assert [a["login"] for a in document["data"]] == ["amy", "bob"]
    assert document["page"] == {"offset": 1, "limit": 2, "count": 2, "more": True}
    code, out, _ = pm(capsys, "artist", "list", "--limit", "2")
    assert out.rstrip().endswith("more follow: --offset 2)")
    code, out, _ = pm(capsys, "task", "list")
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["id", "project", "artist", "target"]
    assert rows[0].split()[1:4] == ["FX3X", "jdoe", "SQ010/SH010"]
    code, out, _ = pm(capsys, "task", "list", "--json")
    task = json.loads(out)["data"][0]
    assert (task["project"], task["target"], task["artist"]) == ("FX3X", "SQ010/SH010", "jdoe")
    assert task["project_id"] == studio.project_id
    code, _, err = pm(capsys, "artist", "list", "--limit", "0")
    assert code == 2 and err.startswith("pm: error: --limit: must be 1 to")


def test_tables_fit_120_columns_unless_wide(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(studio, "particles01")
    publish(studio, "debris01")
    code, out, _ = pm(capsys, "publishes", "list")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 120
    code, wide, _ = pm(capsys, "publishes", "list", "--wide")
    assert max(len(line) for line in wide.splitlines()) > 120
    assert "part_usd_path" in wide.splitlines()[0]


def test_project_and_artist_come_from_the_environment(
    studio: Studio, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PM_PROJECT", "FX3X")
    monkeypatch.setenv("PM_ARTIST", "jdoe")
    code, out, err = pm(capsys, "sequence", "create", "--code", "SQ020", "--json")
    assert code == 0, err
    assert json.loads(out)["data"]["project"] == "FX3X"
    code, out, err = pm(
        capsys, "scene", "save", "--task", str(studio.shot_task_id), "--scene", "Env", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["data"]["artist"] == "jdoe"
    with pytest.raises(SystemExit):
        main(["sequence", "create", "--help"])
    assert "(default: $PM_PROJECT)" in capsys.readouterr().out


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_is_generated_from_the_parser(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = pm(capsys, "completion", shell)
    assert code == 0 and "doctor" in out and "--latest-per-part" in out
    if shutil.which(shell):
        checked = subprocess.run([shell, "-n"], input=out, text=True, capture_output=True)
        assert checked.returncode == 0, checked.stderr


def test_log_level_is_checked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PM_LOG_LEVEL", "chatty")
    code, _, err = pm(capsys, "project", "list")
    assert code == 7 and err.startswith("pm: error: PM_LOG_LEVEL: must be one of DEBUG")


def test_remote_mode_never_opens_a_local_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.delenv("PM_DB_URL", raising=False)
    monkeypatch.setenv("PM_HOME", str(home))
    # Nothing listens on port 9 (discard): the service is unreachable.
    monkeypatch.setenv("PM_API_URL", "http://127.0.0.1:9")
    for argv in (
        ["db", "upgrade"],
        ["db", "info"],
        ["doctor"],
        ["token", "list"],
        ["usd", "show", "--asset", "PinchIn"],
        ["project", "import", str(tmp_path / "projects.csv")],
        ["path", "templates", "--task", "1"],
        ["demo"],
    ):
        code, out, err = pm(capsys, *argv, "--json")
        assert code == 7, (argv, err)
        assert json.loads(out)["error"] == {
            "code": "config_error",
            "message": NEEDS_DATABASE,
            "field": "PM_API_URL",
        }
    for argv in (
        ["project", "list"],
        ["task", "list", "--project", "FX3X"],
        ["part", "list"],
        ["scene", "list"],
        ["publishes", "list"],
        ["usd", "rebuild", "--all"],
    ):
        code, _, err = pm(capsys, *argv)
        assert code == 6 and "cannot reach the pm service" in err, (argv, err)
    assert not home.exists()


def test_read_only_commands_make_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.delenv("PM_DB_URL", raising=False)
    monkeypatch.delenv("PM_API_URL", raising=False)
    monkeypatch.setenv("PM_HOME", str(home))
    code, out, _ = pm(capsys, "db", "info", "--json")
    assert code == 0 and "pm db upgrade" in json.loads(out)["data"]["hint"]
    for argv in (["project", "list"], ["doctor"], ["part", "list"], ["scene", "list"]):
        code, _, err = pm(capsys, *argv)
        assert code == 6 and "run `pm db upgrade`" in err, argv
    assert not home.exists()


class _InterruptingFinder(importlib.abc.MetaPathFinder):
    """Ctrl-C pressed while `name` loads."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname == self.name:
            raise KeyboardInterrupt
        return None


def test_ctrl_c_while_modules_load_exits_130_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m.startswith("pm_db.cli.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_InterruptingFinder("pm_db.cli.app"), *sys.meta_path])
    code, out, err = pm(capsys, "project", "list")
    assert (code, out, err) == (130, "", "pm: interrupted\n")


def test_ctrl_c_during_a_command_exits_130(
    db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pm_db.cli import entity_commands

    def interrupted(_args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(entity_commands, "_list", interrupted)
    code, out, err = pm(capsys, "project", "list")
    assert (code, out, err) == (130, "", "pm: interrupted\n")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_plain_lines_elsewhere_and_silent_for_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress_module, "START_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(progress_module, "PLAIN_EVERY_SECONDS", 0.0)
    terminal = _Terminal()
    with progress_module.Progress("pm doctor", stream=terminal) as bar:
        for done in range(5):
            bar(done, 4)
    assert "pm doctor" in terminal.getvalue() and "4/4" in terminal.getvalue()
    piped = io.StringIO()
    with progress_module.Progress("importing tasks", stream=piped) as plain:
        plain(2, 4)
        plain(4, 4)
    assert piped.getvalue().splitlines()[:2] == ["importing tasks: 2/4", "importing tasks: 4/4"]
    silent = io.StringIO()
    with progress_module.Progress("pm doctor", quiet=True, stream=silent) as quiet:
        quiet(4, 4)
    assert silent.getvalue() == ""


def test_a_version_whose_data_layer_is_missing_is_not_pinned_and_is_flagged(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastapi.testclient import TestClient

    from pm_db.api.app import create_app
    from pm_db.services import tokens

    first = publish(studio, "particles01")
    second = publish(studio, "particles01")
    os.remove(first.item_usd_path)
    assert (first.version, first.iteration) == (1, 1)
    argv = ["part", "pin", "PinchIn/particles01", "--version", "1", "--iteration", "1"]
    code, out, err = pm(capsys, *argv)
    assert code == 4 and err.startswith("pm: error: version: ") and "is missing" in err
    made = tokens.create_token(studio.db, "jdoe", "test", True)
    with TestClient(create_app(studio.db)) as client:
        answer = client.post(
            "/api/parts/pin/",
            json={"part": "PinchIn/particles01", "version": 1, "iteration": 1},
            headers={"Authorization": f"Bearer {made.token}"},
        )
    assert answer.status_code == 409 and "is missing" in answer.json()["error"]["message"]

    os.remove(second.item_usd_path)
    code, out, _ = pm(capsys, "part", "list")
    assert "FILE MISSING" in out
    code, out, _ = pm(capsys, "part", "list", "--json")
    assert json.loads(out)["data"][0]["resolved"]["missing"] is True


def test_vendor_reports_each_package_pip_collects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pm_db.cli import houdini_commands

    dest = tmp_path / "vendor" / "py3.11-linux"
    partial = dest.with_name(".py3.11-linux.partial")
    fake_pip = [
        sys.executable,
        "-c",
        f"import pathlib; pathlib.Path({str(partial)!r}).mkdir(parents=True); "
        "print('Collecting sqlalchemy'); print('  Downloading x.whl'); print('Collecting alembic')",
    ]
    told: list[tuple[int, int]] = []
    houdini_commands.vendor(
        fake_pip, partial, dest, "3.11", "linux", lambda d, t: told.append((d, t))
    )
    assert told == [(1, 0), (2, 0)] and dest.is_dir()
    monkeypatch.setattr(progress_module, "START_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(progress_module, "PLAIN_EVERY_SECONDS", 0.0)
    piped = io.StringIO()
    with progress_module.Progress("vendoring", stream=piped) as plain:
        plain(2, 0)
    assert piped.getvalue().splitlines()[0] == "vendoring: 2"


def test_remote_mode_lists_creates_and_pins_through_the_service(
    studio: Studio,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_api_support import live_server, token_for

    publish(studio, "particles01")
    token = token_for(studio.db, "jdoe", admin=True)
    with live_server(studio.db) as url:
        monkeypatch.setenv("PM_API_URL", url)
        monkeypatch.setenv("PM_API_TOKEN", token)
        # No database settings at all: only the service can answer.
        monkeypatch.setenv("PM_DB_URL", f"sqlite:///{tmp_path / 'nowhere' / 'pm.sqlite'}")
        code, out, err = pm(capsys, "--json", "task", "list", "--project", "FX3X")
        assert code == 0, err
        assert {t["target"] for t in json.loads(out)["data"]} == {"SQ010/SH010", "Rock"}
        code, out, err = pm(
            capsys, "--json", "sequence", "create", "--project", "FX3X", "--code", "SQ090"
        )
        assert code == 0, err
        assert json.loads(out)["data"]["project"] == "FX3X"
        code, out, err = pm(capsys, "--json", "scene", "list", "--limit", "1")
        assert code == 0 and json.loads(out)["page"]["more"] is False, err
        code, out, err = pm(capsys, "--json", "part", "list")
        assert code == 0 and json.loads(out)["data"][0]["part_name"] == "particles01", err
        code, out, err = pm(capsys, "--json", "doctor")
        assert code == 7 and json.loads(out)["error"]["message"] == NEEDS_DATABASE
    assert not (tmp_path / "nowhere").exists()
    assert entities.find(studio.db, "sequence", "SQ090", project_id=studio.project_id)


def test_verbose_logs_on_stderr_and_leaves_stdout_to_the_result(db: Database) -> None:
    env = {**os.environ, "PM_DB_URL": os.environ["PM_DB_URL"]}
    env.pop("PM_LOG_LEVEL", None)
    assert main(["db", "upgrade"]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "pm_db", "project", "list", "-vv", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["ok"] is True
    assert "pm: INFO: sqlalchemy.engine" in done.stderr and "SELECT" in done.stderr
    quiet = subprocess.run(
        [sys.executable, "-m", "pm_db", "project", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert quiet.returncode == 0 and quiet.stderr == ""
