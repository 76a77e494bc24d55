"""The Houdini package file, `pm houdini install` and `pm houdini vendor`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pm_db.cli import houdini_commands, main
from pm_db.errors import PmError
from tests.helpers import cli_document

REPO = Path(__file__).resolve().parent.parent


def pm(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, cli_document(out) if out.strip() else None, err


# The package file -------------------------------------------------------------------------


def test_the_committed_package_file_is_the_generated_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    committed = (REPO / houdini_commands.PACKAGE_FILE).read_text(encoding="utf-8")
    assert committed == houdini_commands.package_text(
        houdini_commands.package_document("$HOUDINI_PACKAGE_PATH")
    )
    code, result, _ = pm(capsys, "houdini", "package", "--check")
    assert code == 0 and result["current"] is True


def test_the_package_file_puts_only_pm_houdini_on_pythonpath() -> None:
    document = json.loads((REPO / "pm.json").read_text(encoding="utf-8"))
    assert document["path"] == "$HOUDINI_PACKAGE_PATH"
    assert document["load_package_once"] is True
    env = {entry["var"]: entry for entry in document["env"]}
    assert env["PM_ROOT"]["value"] == "$HOUDINI_PACKAGE_PATH"
    # Every PYTHONPATH entry precedes site-packages: neither the vendor folder nor the
    # repository root (tests, bench) may be there.
    pythonpath = env["PYTHONPATH"]
    assert pythonpath["method"] == "append"
    assert pythonpath["value"] == ["$PM_ROOT/python3.10libs"]
    assert sorted(p.name for p in (REPO / "python3.10libs").iterdir() if p.suffix != ".pyc") == [
        "pm_houdini",
        "uiready.py",
    ]
    branches = {k: v for branch in env["PM_VENDOR"]["value"] for k, v in branch.items()}
    for python in ("3.10", "3.11"):
        for system in ("linux", "windows", "macos"):
            condition = f"houdini_python == 'python{python}' and houdini_os == '{system}'"
            assert branches[condition] == f"$PM_ROOT/vendor/py{python}-{system}"


def test_pm_houdini_finds_the_same_vendor_folder_the_package_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pm_houdini import vendor

    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    name = houdini_commands.vendor_folder_name(
        f"{sys.version_info[0]}.{sys.version_info[1]}", system
    )
    monkeypatch.setenv("PM_ROOT", str(tmp_path))
    assert vendor.vendor_folder() is None
    (tmp_path / "vendor" / name).mkdir(parents=True)
    assert vendor.vendor_folder() == tmp_path / "vendor" / name


def test_a_stale_package_file_is_reported(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stale = tmp_path / "checkout"
    (stale / "python3.10libs" / "pm_houdini").mkdir(parents=True)
    (stale / "pm.json").write_text('{"path": "$HOUDINI_PACKAGE_PATH"}\n')
    monkeypatch.setattr(houdini_commands, "package_root", lambda: stale)
    code, envelope, err = pm(capsys, "houdini", "package", "--check")
    assert code == 2 and envelope["error"]["field"] == "pm.json"
    assert "pm houdini package" in err


# install ---------------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    monkeypatch.delenv("HOUDINI_USER_PREF_DIR", raising=False)
    monkeypatch.setattr("pm_db.config.current_platform", lambda: "linux")
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def installed(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return {e["var"]: e["value"] for e in document["env"] if isinstance(e["value"], str)}


def test_install_writes_a_package_pointing_at_this_checkout(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    (home / "houdini20.5").mkdir()
    code, result, _ = pm(capsys, "houdini", "install")
    assert code == 0
    target = home / "houdini20.5" / "packages" / "pm.json"
    assert [i["file"] for i in result["installed"]] == [str(target)]
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["path"] == REPO.as_posix()
    assert installed(target)["PM_ROOT"] == REPO.as_posix()
    assert result["installed"][0]["replaced_pm_root"] is None

    code, again, _ = pm(capsys, "houdini", "install", "--houdini-version", "20.5")
    assert code == 0 and again["installed"][0]["replaced_pm_root"] == REPO.as_posix()
    assert list((home / "houdini20.5" / "packages").iterdir()) == [target]


def test_install_for_a_named_version_and_studio_settings(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    code, _, _ = pm(
        capsys,
        "houdini",
        "install",
        "--houdini-version",
        "21.0",
        "--set",
        "PM_DB_NAME=pm",
        "--set",
        "PM_DB_HOST=db.studio.lan",
    )
    assert code == 0
    env = installed(home / "houdini21.0" / "packages" / "pm.json")
    assert env["PM_DB_NAME"] == "pm" and env["PM_DB_HOST"] == "db.studio.lan"


def test_install_follows_houdini_user_pref_dir(
    capsys: pytest.CaptureFixture[str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOUDINI_USER_PREF_DIR", str(home / "prefs" / "houdini__HVER__"))
    code, _, _ = pm(capsys, "houdini", "install", "--houdini-version", "20.0")
    assert code == 0
    assert (home / "prefs" / "houdini20.0" / "packages" / "pm.json").is_file()


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("PM_DB_PASSWORD=hunter2", "--set"),
        ("PM_API_TOKEN=hunter2", "--set"),
        ("PM_DB_URL=postgresql://pm:hunter2@db/pm", "--set"),
        ("HOME=/tmp", "--set"),
        ("PM_ROOT=/elsewhere", "--set"),
    ],
)
def test_install_refuses_secrets_and_foreign_variables(
    capsys: pytest.CaptureFixture[str], home: Path, setting: str, field: str
) -> None:
    code, envelope, err = pm(
        capsys, "houdini", "install", "--houdini-version", "20.5", "--set", setting
    )
    assert code == 2 and envelope["error"]["field"] == field
    assert "hunter2" not in err and "hunter2" not in json.dumps(envelope)
    assert not (home / "houdini20.5").exists()


def test_install_without_any_houdini_prefs_names_the_option(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    code, envelope, _ = pm(capsys, "houdini", "install")
    assert code == 2 and envelope["error"]["field"] == "--houdini-version"
    assert not list(home.iterdir())


def test_install_into_a_read_only_folder_fails_cleanly(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    from tests.fake_hou.support import ReadOnly

    packages = home / "packages"
    packages.mkdir()
    with ReadOnly(packages):
        code, envelope, _ = pm(capsys, "houdini", "install", "--dest", str(packages))
    assert code != 0 and envelope["error"]["field"] == "--dest"
    assert list(packages.iterdir()) == []


# lock and vendor --------------------------------------------------------------------------


def test_lock_asks_uv_for_hashes_for_houdinis_python_and_system(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, plan, _ = pm(
        capsys, "houdini", "lock", "--python", "3.10", "--platform", "windows", "--dry-run"
    )
    assert code == 0
    command = plan["command"]
    assert command[1:3] == ["pip", "compile"] and "--generate-hashes" in command
    assert command[command.index("--python-version") + 1] == "3.10"
    assert command[command.index("--python-platform") + 1] == "x86_64-pc-windows-msvc"
    assert plan["lock"] == str(REPO / "locks" / "py3.10-windows.txt")
    assert "psycopg2-binary>=2.9.9" in plan["requirements"]
    assert not any(
        r.startswith(("psycopg>", "psycopg[", "usd-core", "pytest")) for r in plan["requirements"]
    )

    code, plan, _ = pm(
        capsys,
        "houdini",
        "lock",
        "--python",
        "3.11",
        "--platform",
        "macos",
        "--arch",
        "x86_64",
        "--dry-run",
    )
    assert plan["lock"].endswith("py3.11-macos-x86_64.txt")
    assert plan["command"][plan["command"].index("--python-platform") + 1] == "x86_64-apple-darwin"


def test_every_committed_lock_pins_every_package_with_hashes() -> None:
    locks = sorted(p.name for p in (REPO / "locks").glob("*.txt"))
    assert locks == [
        f"py{python}-{system}.txt"
        for python in houdini_commands.PYTHONS
        for system in sorted(houdini_commands.SYSTEMS)
    ]
    for name in locks:
        text = (REPO / "locks" / name).read_text(encoding="utf-8")
        blocks = [b for b in text.split("\n") if b and not b.startswith((" ", "#"))]
        for block in blocks:
            assert re.fullmatch(r"[a-z0-9-]+==[0-9][^ ]* \\", block), f"{name}: {block}"
        pins = houdini_commands.locked_packages(REPO / "locks" / name)
        assert text.count("--hash=sha256:") >= len(pins)
        assert {"sqlalchemy", "alembic", "pydantic", "psycopg2-binary", "requests"} <= set(pins)
        assert "psycopg" not in pins and "psycopg-binary" not in pins, name
        # uv evaluated the markers for the target: SQLAlchemy 2.1 needs Python 3.11,
        # alembic needs tomli below 3.11, SQLAlchemy 2.0 needs greenlet on x86_64.
        if name.startswith("py3.10"):
            assert pins["sqlalchemy"].startswith("2.0.") and "tomli" in pins, name
            assert ("greenlet" in pins) is ("macos" not in name), name
        else:
            assert not pins["sqlalchemy"].startswith("2.0.") and "tomli" not in pins, name


def test_vendor_installs_exactly_the_lock_for_houdinis_python(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, plan, _ = pm(
        capsys, "houdini", "vendor", "--python", "3.10", "--platform", "linux", "--dry-run"
    )
    assert code == 0
    command = plan["command"]
    assert command[1:4] == ["-m", "pip", "install"]
    assert plan["dest"] == str(REPO / "vendor" / "py3.10-linux")
    assert command[command.index("--target") + 1].endswith(".py3.10-linux.partial")
    assert command[command.index("--python-version") + 1] == "3.10"
    assert {"--only-binary=:all:", "--require-hashes", "--no-deps"} <= set(command)
    assert command[-2:] == ["--requirement", str(REPO / "locks" / "py3.10-linux.txt")]
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert "manylinux2014_x86_64" in platforms and "manylinux_2_28_x86_64" in platforms

    code, plan, _ = pm(
        capsys, "houdini", "vendor", "--python", "3.11", "--platform", "windows", "--dry-run"
    )
    command = plan["command"]
    assert [command[i + 1] for i, a in enumerate(command) if a == "--platform"] == ["win_amd64"]


def test_vendor_without_a_lock_names_the_lock_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, envelope, err = pm(
        capsys,
        "houdini",
        "vendor",
        "--python",
        "3.11",
        "--platform",
        "linux",
        "--lock",
        str(tmp_path / "missing.txt"),
        "--dest",
        str(tmp_path / "v"),
    )
    assert code == 2 and envelope["error"]["field"] == "--lock"
    assert "pm houdini lock --python 3.11 --platform linux" in err
    assert not (tmp_path / "v").exists()


def test_vendor_refuses_an_unknown_machine_or_python(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, envelope, _ = pm(
        capsys,
        "houdini",
        "vendor",
        "--python",
        "3.11",
        "--platform",
        "windows",
        "--arch",
        "arm64",
        "--dry-run",
    )
    assert code == 2 and envelope["error"]["field"] == "--arch"
    assert main(["houdini", "vendor", "--python", "3.9", "--platform", "linux"]) == 2
    assert "--python" in capsys.readouterr().err


def test_a_failed_pip_run_keeps_the_previous_vendor_folder(tmp_path: Path) -> None:
    dest = tmp_path / "vendor" / "py3.11-linux"
    dest.mkdir(parents=True)
    (dest / "sqlalchemy").mkdir()
    partial = dest.with_name(".py3.11-linux.partial")
    failing = [
        sys.executable,
        "-c",
        "import sys; sys.stderr.write('no matching distribution\\n'); sys.exit(1)",
    ]
    with pytest.raises(PmError, match="no matching distribution") as caught:
        houdini_commands.vendor(failing, partial, dest, "3.11", "linux")
    assert caught.value.field == "vendor"
    assert (dest / "sqlalchemy").is_dir() and not partial.exists()


def test_a_successful_run_swaps_the_new_folder_in(tmp_path: Path) -> None:
    dest = tmp_path / "vendor" / "py3.11-linux"
    (dest / "stale").mkdir(parents=True)
    partial = dest.with_name(".py3.11-linux.partial")
    writer = [
        sys.executable,
        "-c",
        f"import pathlib; p = pathlib.Path({str(partial)!r}); "
        "(p / 'demo-1.0.dist-info').mkdir(parents=True); (p / 'demo').mkdir()",
    ]
    result = houdini_commands.vendor(writer, partial, dest, "3.11", "linux")
    assert result["packages"] == {"demo": "1.0"}
    assert sorted(p.name for p in dest.iterdir()) == [
        "demo",
        "demo-1.0.dist-info",
        "pm-vendor.json",
    ]
    assert not partial.exists() and not dest.with_name(".py3.11-linux.old").exists()


# Houdini 20.0's Python with the vendored SQLAlchemy 2.0: migrate, create a task, save.
SCRIPT_310 = """
from pm_db.db import open_database
from pm_db import migrate
from pm_db.services import entities, scenes
db = open_database()
migrate.upgrade(db)
p = entities.create(db, "project", {{"code": "FX", "name": "x", "root_linux": {root!r}}})
a = entities.create(db, "asset", {{"project_id": p.id, "code": "Rock", "asset_type": "prop"}})
j = entities.create(db, "artist", {{"login": "jdoe", "name": "J"}})
t = entities.create(db, "task", {{"target_type": "asset", "target_id": a.id, "step": "fx"}})
s = scenes.save_scene(db, {{"task_id": t.id, "artist": "jdoe", "scene_name": "PinchIn"}})
import sqlalchemy, sys
print(sys.version_info[:2], sqlalchemy.__version__, s.path)
"""


def python310() -> str | None:
    """A real Python 3.10 (Houdini 20.0's), when this machine has one."""
    found = shutil.which("python3.10")
    candidates = [found] if found else []
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.10.*/bin/python3.10"))
    for candidate in candidates:
        done = subprocess.run([candidate, "--version"], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.startswith("Python 3.10"):
            return candidate
    return None


@pytest.mark.network
def test_a_fresh_lock_matches_the_committed_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fresh = tmp_path / "py3.10-windows.txt"
    code, result, err = pm(
        capsys,
        "houdini",
        "lock",
        "--python",
        "3.10",
        "--platform",
        "windows",
        "--output",
        str(fresh),
    )
    assert code == 0, err
    committed = houdini_commands.locked_packages(REPO / "locks" / "py3.10-windows.txt")
    # The registry moves on; the same packages are pinned, for the same target.
    assert set(result["packages"]) == set(committed)


@pytest.mark.network
def test_vendor_downloads_wheels_that_houdini_20_python_can_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dest = tmp_path / "py3.10-linux"
    code, result, err = pm(
        capsys, "houdini", "vendor", "--python", "3.10", "--platform", "linux", "--dest", str(dest)
    )
    assert code == 0, err
    packages = result["packages"]
    assert packages == houdini_commands.locked_packages(REPO / "locks" / "py3.10-linux.txt")
    assert packages["sqlalchemy"].startswith("2.0.")
    assert {"alembic", "pydantic", "pydantic-core", "psycopg2-binary", "requests", "tomli"} <= set(
        packages
    )
    assert "psycopg" not in packages and not list(dest.glob("psycopg_binary*"))
    compiled = [p.name for p in dest.rglob("*.so")]
    assert any("cpython-310-x86_64-linux-gnu" in name for name in compiled)
    assert not any("cpython-311" in name for name in compiled)
    assert json.loads((dest / "pm-vendor.json").read_text())["python"] == "3.10"

    interpreter = python310()
    if interpreter is None:
        return  # the wheels are checked above; running them needs a Python 3.10 here
    home = tmp_path / "pm-home"
    script = SCRIPT_310.format(root=str(tmp_path / "show"))
    done = subprocess.run(
        [interpreter, "-c", script],
        env={"PYTHONPATH": f"{REPO}:{dest}", "PM_HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "(3, 10) 2.0." in done.stdout and done.stdout.strip().endswith("PinchIn_v001_i001.hip")


@pytest.mark.network
def test_vendor_for_windows_brings_windows_binaries(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dest = tmp_path / "py3.10-windows"
    code, result, err = pm(
        capsys,
        "houdini",
        "vendor",
        "--python",
        "3.10",
        "--platform",
        "windows",
        "--dest",
        str(dest),
    )
    assert code == 0, err
    assert result["packages"]["sqlalchemy"].startswith("2.0.")
    # greenlet is SQLAlchemy 2.0's dependency on AMD64 machines only: locked for Windows
    # from Linux, the marker was evaluated for Windows and the Windows wheel installed.
    assert "greenlet" in result["packages"]
    compiled = [p.name for p in dest.rglob("*.pyd")]
    assert any(n.startswith("_greenlet") and n.endswith("cp310-win_amd64.pyd") for n in compiled)
    assert any(n.startswith("_psycopg") and n.endswith("cp310-win_amd64.pyd") for n in compiled)
    assert not list(dest.rglob("*.so"))
