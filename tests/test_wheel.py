"""The built wheel is the whole product: installed alone in a clean virtual environment
(offline: no index; pm's dependencies are borrowed from this test environment, pm itself
is not), `pm --version`, `pm db upgrade`, `pm demo` and `pm houdini install` work, and the
package root it installs holds the shelf, HDA, panel, package file and migrations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import pm_db

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _run(*command: str | Path, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_alone_upgrades_a_database_runs_the_demo_and_installs_into_houdini(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PM_") and k != "PYTHONPATH"}
    env |= {"PM_HOME": str(tmp_path / "home"), "PM_PLATFORM": "linux", "PIP_NO_INDEX": "1"}
    wheels = tmp_path / "wheels"
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q",
        "-w", wheels, REPO, cwd=tmp_path, env=env,
    )  # fmt: skip
    (wheel,) = wheels.glob("pm_pipeline-*.whl")
    assert wheel.name.startswith(f"pm_pipeline-{pm_db.__version__}-py3-none-any")

    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    purelib = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
             cwd=tmp_path, env=env).strip()
    )  # fmt: skip
    # The dependencies, not pm: this environment's site-packages as a plain path entry
    # (its .pth files, the editable install of this checkout among them, stay unread).
    (purelib / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel,
        cwd=tmp_path, env=env,
    )  # fmt: skip

    root = purelib / "pm_pipeline"
    loaded = _run(
        python, "-c", "import pm_db, pm_houdini; print(pm_db.__file__)", cwd=tmp_path, env=env
    )
    assert Path(loaded.strip()).is_relative_to(root)
    for shipped in (
        "alembic.ini",
        "pm.json",
        "migrations/env.py",
        "toolbar/pm.shelf",
        "otls/pm_publish_part.hda/houdini.hdalibrary",
        "python_panels/pm_asset_browser.pypanel",
        "python3.10libs/pm_houdini/__init__.py",
        "python3.11libs/uiready.py",
    ):
        assert (root / shipped).is_file(), shipped

    pm = target / "bin" / "pm"
    assert _run(pm, "--version", cwd=tmp_path, env=env).strip() == f"pm {pm_db.__version__}"
    upgraded = json.loads(_run(pm, "db", "upgrade", "--json", cwd=tmp_path, env=env))
    assert upgraded["ok"] and upgraded["data"]["to"] is not None
    demo = _run(pm, "demo", cwd=tmp_path, env=env)
    assert "composed" in demo and "stage prims: /particles01, /debris01" in demo
    packages = tmp_path / "houdini21.0" / "packages"
    installed = json.loads(
        _run(pm, "houdini", "install", "--dest", packages, "--json", cwd=tmp_path, env=env)
    )
    assert installed["data"]["installed"][0]["pm_root"] == str(root)
    package = json.loads((packages / "pm.json").read_text(encoding="utf-8"))
    assert package["path"] == root.as_posix()
    _run(pm, "houdini", "package", "--check", cwd=tmp_path, env=env)
