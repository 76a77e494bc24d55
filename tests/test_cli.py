"""The `pm` command line on both databases: every command prints exactly one JSON document
with --json; every error is one line on stderr naming the field, with the documented exit
code (2 invalid, 3 not found, 4 conflict, 5 permission, 6 unavailable, 7 configuration);
no password is ever printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from pm_db import migrate
from pm_db.cli import main
from pm_db.db import Database
from pm_db.services import admin, entities
from tests.helpers import cli_document

PM = Path(sys.executable).with_name("pm")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """(exit code, the one JSON document on stdout, stderr) of `pm ARGV --json`."""
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, cli_document(out), err


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, document, err = run(capsys, *argv)
    assert (code, err) == (0, ""), err
    return document


def failed(capsys: pytest.CaptureFixture[str], exit_code: int, field: str, *argv: str) -> str:
    """Run a command that must fail; returns its one stderr line."""
    code, envelope, err = run(capsys, *argv)
    assert code == exit_code, err
    assert envelope["ok"] is False and envelope["error"]["field"] == field, envelope
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"pm: error: {field}: "), err
    return lines[0]


def test_every_command_prints_one_json_document(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ok(capsys, "db", "upgrade")["to"] == migrate.head_revision()
    assert ok(capsys, "db", "info")["counts"]["project"] == 0
    assert ok(capsys, "db", "set", "production", "false") == {
        "key": "production",
        "value": "false",
    }
    root = tmp_path / "show"
    project = ok(
        capsys, "project", "create", "--code", "FX3X", "--name", "FX", "--root-linux", str(root)
    )
    sequence = ok(capsys, "sequence", "create", "--project", "FX3X", "--code", "SQ010")
    shot = ok(
        capsys, "shot", "create", "--project", "fx3x", "--sequence", "sq010", "--code", "SH010"
    )
    asset = ok(capsys, "asset", "create", "--project", "FX3X", "--code", "Rock", "--type", "prop")
    artist = ok(capsys, "artist", "create", "--login", "jdoe", "--name", "Jane Doe")
    task = ok(
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
    assert (task["target_type"], task["target_id"], task["artist_id"]) == (
        "shot",
        shot["id"],
        artist["id"],
    )
    asset_task = ok(
        capsys, "task", "create", "--project", "FX3X", "--asset", "Rock", "--step", "model"
    )
    assert asset_task["target_id"] == asset["id"]

    shown = {
        "project": ok(capsys, "project", "show", "fx3x"),
        "sequence": ok(capsys, "sequence", "show", "SQ010", "--project", "FX3X"),
        "shot": ok(capsys, "shot", "show", "SQ010/SH010", "--project", "FX3X"),
        "asset": ok(capsys, "asset", "show", "rock", "--project", "FX3X"),
        "artist": ok(capsys, "artist", "show", "JDOE"),
        "task": ok(capsys, "task", "show", str(task["id"])),
    }
    assert shown == {
        "project": project,
        "sequence": sequence,
        "shot": shot,
        "asset": asset,
        "artist": artist,
        "task": task,
    }
    assert [p["code"] for p in ok(capsys, "project", "list")] == ["FX3X"]
    assert [s["id"] for s in ok(capsys, "sequence", "list", "--project", "FX3X")] == [
        sequence["id"]
    ]
    assert [s["id"] for s in ok(capsys, "shot", "list", "--project", "FX3X")] == [shot["id"]]
    assert [a["id"] for a in ok(capsys, "asset", "list", "--type", "prop")] == [asset["id"]]
    assert [a["login"] for a in ok(capsys, "artist", "list", "--active", "yes")] == ["jdoe"]
    assert [t["id"] for t in ok(capsys, "task", "list", "--artist", "jdoe")] == [task["id"]]
    assert [t["id"] for t in ok(capsys, "task", "list", "--step", "model")] == [asset_task["id"]]

    assert ok(capsys, "project", "update", str(project["id"]), "--name", "Effects")["name"] == (
        "Effects"
    )
    assert ok(capsys, "sequence", "update", str(sequence["id"]), "--code", "SQ020")["code"] == (
        "SQ020"
    )
    assert ok(capsys, "shot", "update", str(shot["id"]), "--frame-end", "1200")["frame_end"] == 1200
    assert ok(capsys, "asset", "update", str(asset["id"]), "--type", "env")["asset_type"] == "env"
    assert ok(capsys, "artist", "update", str(artist["id"]), "--active", "no")["active"] is False
    updated = ok(capsys, "task", "update", str(task["id"]), "--status", "wip", "--unassign")
    assert (updated["status"], updated["artist_id"]) == ("wip", None)

    batch = tmp_path / "shots.json"
    batch.write_text(
        json.dumps([{"sequence_id": sequence["id"], "code": f"SH0{n}0"} for n in (2, 3)])
    )
    imported = ok(capsys, "shot", "import", str(batch))
    assert imported["created"] == 2 and imported["last_id"] == imported["first_id"] + 1

    for kind, ident in (("task", task["id"]), ("task", asset_task["id"]), ("asset", asset["id"])):
        assert ok(capsys, kind, "delete", str(ident)) == {"deleted": kind, "id": ident}
    deleted = ok(capsys, "db", "reset", "--yes")["deleted"]
    assert deleted["shots"] == 3 and deleted["projects"] == 1
    assert entities.counts(db) == dict.fromkeys(entities.KINDS, 0)


def test_text_output_is_readable(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    entities.create(db, "artist", {"login": "jdoe", "name": "Jane Doe"})
    assert main(["artist", "list"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["id", "login", "name"]
    assert row.split()[1] == "jdoe"
    assert main(["artist", "show", "jdoe"]) == 0
    assert "login       jdoe" in capsys.readouterr().out


# Errors ------------------------------------------------------------------------------------


@pytest.fixture
def show(db: Database, tmp_path: Path) -> Database:
    project = entities.create(
        db, "project", {"code": "FX3X", "name": "FX", "root_linux": str(tmp_path / "s")}
    )
    entities.create(db, "sequence", {"project_id": project.id, "code": "SQ010"})
    entities.create(db, "artist", {"login": "jdoe", "name": "Jane Doe"})
    return db


ERRORS: list[tuple[int, str, list[str]]] = [
    # 2: invalid input, including what argparse finds
    (2, "code", ["project", "create", "--code", "../x", "--name", "X", "--root-linux", "/x"]),
    (2, "name", ["artist", "create", "--login", "bob", "--name", ""]),
    (2, "--code", ["project", "create", "--name", "X"]),
    (
        2,
        "--frame-start",
        ["shot", "create", "--sequence", "1", "--code", "S", "--frame-start", "x"],
    ),
    (2, "--colour", ["project", "list", "--colour", "red"]),
    (2, "COMMAND", ["project", "creat"]),
    (2, "--active", ["artist", "create", "--login", "bob", "--name", "B", "--active", "maybe"]),
    (2, "--shot", ["task", "create", "--project", "FX3X", "--step", "fx"]),
    (2, "--shot", ["task", "create", "--project", "FX3X", "--shot", "SH010", "--step", "fx"]),
    (2, "--project", ["shot", "create", "--sequence", "SQ010", "--code", "SH020"]),
    (2, "--templates", ["project", "create", "--code", "A", "--name", "A", "--templates", "{"]),
    (2, "templates.bogus", ["project", "update", "{project}", "--templates", '{"bogus": "x"}']),
    (2, "--yes", ["db", "reset"]),
    (2, "key", ["db", "set", "colour", "red"]),
    (2, "value", ["db", "set", "production", "maybe"]),
    (2, "ref", ["task", "show", "first"]),
    (2, "id", ["shot", "delete", "0"]),
    # 3: not found, naming the flag that held the reference
    (3, "--project", ["sequence", "create", "--project", "NOPE", "--code", "SQ020"]),
    (
        3,
        "--sequence",
        ["shot", "create", "--project", "FX3X", "--sequence", "SQ999", "--code", "S"],
    ),
    (3, "--artist", ["task", "list", "--artist", "nobody"]),
    (3, "ref", ["project", "show", "NOPE"]),
    (3, "id", ["asset", "update", "999", "--type", "env"]),
    (3, "id", ["artist", "delete", "999"]),
    # 4: conflict
    (4, "code", ["project", "create", "--code", "fx3x", "--name", "X", "--root-linux", "/x"]),
    (4, "login", ["artist", "create", "--login", "JDOE", "--name", "Jane again"]),
    (4, "id", ["project", "delete", "{project}"]),
]


@pytest.mark.parametrize(
    ("exit_code", "field", "argv"), ERRORS, ids=[" ".join(a[:2]) + f"-{f}" for _c, f, a in ERRORS]
)
def test_errors_are_one_line_naming_the_field(
    show: Database, capsys: pytest.CaptureFixture[str], exit_code: int, field: str, argv: list[str]
) -> None:
    project = str(entities.find(show, "project", "FX3X").id)
    before = entities.counts(show)
    failed(capsys, exit_code, field, *(a.replace("{project}", project) for a in argv))
    assert entities.counts(show) == before


def test_errors_without_json_print_nothing_on_stdout(
    show: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sequence", "create", "--project", "FX3X", "--code", "sq010"]) == 4
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("pm: error: code: ") and err.count("\n") == 1


def test_reset_refuses_on_a_production_database(
    show: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    admin.set_setting(show, "production", "true")
    failed(capsys, 5, "production", "db", "reset", "--yes")
    assert entities.counts(show)["project"] == 1
    ok(capsys, "db", "set", "production", "false")
    ok(capsys, "db", "reset", "--yes")
    assert entities.counts(show)["project"] == 0
    assert admin.get_setting(show, "production") == "false"


def test_reset_refuses_in_a_production_environment(
    show: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PM_ENV", "production")
    failed(capsys, 5, "PM_ENV", "db", "reset", "--yes")
    assert entities.counts(show)["project"] == 1


def test_a_database_without_schema_says_to_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.sqlite"
    monkeypatch.setenv("PM_DB_URL", f"sqlite:///{empty}")
    code, envelope, err = run(capsys, "project", "list")
    assert code == 6 and envelope["error"]["code"] == "unavailable"
    assert "pm db upgrade" in err and len(err.splitlines()) == 1
    info = ok(capsys, "db", "info")
    assert info.get("revision") is None and "pm db upgrade" in info["hint"]
    assert "counts" not in info
    # Neither command made the file: looking never creates a database.
    assert not empty.exists()
    empty.touch()
    info = ok(capsys, "db", "info")
    assert info["revision"] is None and "pm db upgrade" in info["hint"]


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"PM_PLATFORM": "amiga"}, "PM_PLATFORM"),
        ({"PM_ENV": "production", "PM_DB_URL": ""}, "PM_DB_URL"),
        ({"PM_DB_URL": "postgres:/pm:s3cretpw@db/pm"}, "PM_DB_URL"),
        ({"PM_DB_URL": "", "PM_DB_NAME": "pm", "PM_DB_PORT": "port"}, "PM_DB_PORT"),
    ],
)
def test_configuration_errors_exit_7(
    db: Database,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    field: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    line = failed(capsys, 7, field, "db", "info")
    assert "s3cretpw" not in line


# Passwords ---------------------------------------------------------------------------------


def _pg_env(pg_url: str, password: str) -> dict[str, str]:
    url = make_url(pg_url)
    return {
        "PM_DB_NAME": str(url.database),
        "PM_DB_USER": url.username or "",
        "PM_DB_HOST": url.host or "127.0.0.1",
        "PM_DB_PORT": str(url.port or 5432),
        "PM_DB_PASSWORD": password,
    }


@pytest.fixture
def password(pg_url: str) -> str:
    """The test server's password, or one it ignores (trust authentication)."""
    return make_url(pg_url).password or "s3cret-pw-4711"


def _no_password_printed(capsys: pytest.CaptureFixture[str], secret: str, *argv: str) -> Any:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert secret not in out and secret not in err
    return code, cli_document(out), err


def test_db_info_masks_a_password_in_pm_db_url(
    pg_url: str, password: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_url(pg_url).set(password=password).render_as_string(hide_password=False)
    monkeypatch.setenv("PM_DB_URL", url)
    code, info, _err = _no_password_printed(capsys, password, "db", "info")
    assert code == 0 and ":***@" in info["url"] and info["configured_by"] == "PM_DB_URL"
    assert info["revision"] == migrate.head_revision()
    assert info["layer_fsync"] is False
    monkeypatch.setenv("PM_LAYER_FSYNC", "1")
    assert _no_password_printed(capsys, password, "db", "info")[1]["layer_fsync"] is True


def test_db_info_masks_pm_db_password(
    pg_url: str, password: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PM_DB_URL", raising=False)
    for name, value in _pg_env(pg_url, password).items():
        monkeypatch.setenv(name, value)
    code, info, _err = _no_password_printed(capsys, password, "db", "info")
    assert code == 0 and ":***@" in info["url"] and info["configured_by"] == "PM_DB_NAME"


def test_db_info_masks_pm_db_password_file(
    pg_url: str,
    password: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PM_DB_URL", raising=False)
    env = _pg_env(pg_url, password)
    secret = tmp_path / "db-password"
    secret.write_text(env.pop("PM_DB_PASSWORD") + "\n")
    for name, value in {**env, "PM_DB_PASSWORD_FILE": str(secret)}.items():
        monkeypatch.setenv(name, value)
    code, info, _err = _no_password_printed(capsys, password, "db", "info")
    assert code == 0 and ":***@" in info["url"]


@pytest.mark.parametrize("where", ["unreachable", "missing database"])
@pytest.mark.parametrize("how", ["PM_DB_URL", "PM_DB_PASSWORD", "PM_DB_PASSWORD_FILE"])
@pytest.mark.parametrize("command", [["db", "info"], ["db", "upgrade"], ["project", "list"]])
def test_no_error_path_prints_the_password(
    pg_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    how: str,
    command: list[str],
) -> None:
    secret = "Pa55:w@rd/42"
    server = make_url(pg_url)
    url = server.set(port=1) if where == "unreachable" else server.set(database="pm_nothing")
    monkeypatch.delenv("PM_DB_URL", raising=False)
    if how == "PM_DB_URL":
        monkeypatch.setenv("PM_DB_URL", url.set(password=secret).render_as_string(False))
    else:
        env = _pg_env(url.render_as_string(False), secret)
        if how == "PM_DB_PASSWORD_FILE":
            (tmp_path / "pw").write_text(env.pop("PM_DB_PASSWORD"))
            env["PM_DB_PASSWORD_FILE"] = str(tmp_path / "pw")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
    code, envelope, err = _no_password_printed(capsys, "Pa55", *command)
    assert code == 6 and envelope["error"]["code"] == "unavailable"
    assert len(err.splitlines()) == 1 and ":***@" in err


# Code-first references ---------------------------------------------------------------------


def test_digit_codes_are_codes_first(show: Database, capsys: pytest.CaptureFixture[str]) -> None:
    """A sequence whose code is another's id: `--sequence N` with a project means the code;
    without a project (codes need one) it means the id."""
    first = entities.find(show, "sequence", "SQ010")
    number = str(first.id)
    coded = ok(capsys, "sequence", "create", "--project", "FX3X", "--code", number)
    by_code = ok(capsys, "shot", "create", "--project", "FX3X", "--sequence", number, "--code", "A")
    assert by_code["sequence_id"] == coded["id"] != first.id
    by_id = ok(capsys, "shot", "create", "--sequence", number, "--code", "B")
    assert by_id["sequence_id"] == first.id
    leading = ok(capsys, "sequence", "create", "--project", "FX3X", "--code", "010")
    in_010 = ok(capsys, "shot", "create", "--project", "FX3X", "--sequence", "010", "--code", "C")
    assert in_010["sequence_id"] == leading["id"]
    missing = str(leading["id"] + 1000)
    failed(
        capsys,
        3,
        "--sequence",
        "shot",
        "create",
        "--project",
        "FX3X",
        "--sequence",
        missing,
        "--code",
        "D",
    )


# The module entry point and the console script -----------------------------------------------


def _subprocess_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PM_DB_URL": db_url, "PM_HOME": str(tmp_path), "PM_PLATFORM": "linux"}


def test_python_dash_m_pm_db_runs_the_cli(db: Database, tmp_path: Path) -> None:
    entities.create(db, "artist", {"login": "jdoe", "name": "Jane Doe"})
    done = subprocess.run(
        [sys.executable, "-m", "pm_db", "artist", "list", "--json"],
        capture_output=True,
        text=True,
        env=_subprocess_env(db.url, tmp_path),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [a["login"] for a in cli_document(done.stdout)] == ["jdoe"]


def test_the_console_script_reports_errors_with_exit_codes(db: Database, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(PM), "project", "show", "NOPE", "--json"],
        capture_output=True,
        text=True,
        env=_subprocess_env(db.url, tmp_path),
        timeout=120,
        check=False,
    )
    assert done.returncode == 3
    assert cli_document(done.stdout)["error"]["field"] == "ref"
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_help_works_without_a_database(tmp_path: Path) -> None:
    env = {**os.environ, "PM_DB_URL": "postgresql+psycopg2://u:p@127.0.0.1:1/none"}
    done = subprocess.run(
        [sys.executable, "-m", "pm_db", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and "db" in done.stdout and "project" in done.stdout


def test_a_reader_that_stops_early_is_no_error(db: Database, tmp_path: Path) -> None:
    """`pm artist list | head -1`: more output than a pipe holds, the reader gone."""
    entities.create_many(
        db, "artist", [{"login": f"artist{n:04}", "name": "A" * 100} for n in range(1500)]
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"'{PM}' artist list | head -1"],
        capture_output=True,
        text=True,
        env=_subprocess_env(db.url, tmp_path),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.split()[:2] == ["id", "login"]
