"""Fixtures for pm_houdini's tests: the fake `hou` on sys.path, a fresh Houdini session
per test, and the launcher's environment. Test modules import the fixtures they use:

    from tests.fake_hou.support import houdini, launched  # noqa: F401
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FAKE_DIR = Path(__file__).resolve().parent
REPO = FAKE_DIR.parent.parent
PUBLISH_HDA = REPO / "otls" / "pm_publish_part.hda"

if str(FAKE_DIR) not in sys.path:
    sys.path.insert(0, str(FAKE_DIR))

import hou  # noqa: E402  (the fake, from the folder just put on sys.path)

if PUBLISH_HDA.is_dir() and "pm::publish_part::1.0" not in {t.name() for t in hou._installed_hdas}:
    hou._install_hda(PUBLISH_HDA)


@pytest.fixture
def houdini(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[types.ModuleType]:
    """The fake hou, reset to an untitled headless session (cwd: the test's tmp_path)."""
    from pm_houdini import context

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PM_TASK_ID", raising=False)
    monkeypatch.delenv("PM_ARTIST", raising=False)
    monkeypatch.delenv("PM_ROOT", raising=False)
    hou._reset()
    context._known_scenes.clear()
    yield hou
    context._known_scenes.clear()


@pytest.fixture
def launched(studio: Any, houdini: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Houdini as the launcher starts it: PM_TASK_ID (the shot task) and PM_ARTIST set."""
    monkeypatch.setenv("PM_TASK_ID", str(studio.shot_task_id))
    monkeypatch.setenv("PM_ARTIST", studio.artist)
    return studio


def batch_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a headless batch process: the fake hou first on PYTHONPATH (as
    Houdini's own hou would be), pm_houdini and pm_db after, HDAs from the repository."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(FAKE_DIR), str(REPO / "python3.10libs"), str(REPO)])
    env["HOUDINI_PATH"] = f"{REPO}{os.pathsep}&"
    env.pop("PM_TASK_ID", None)
    env.update(extra or {})
    return env


def run_batch(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m pm_houdini.batch ARGS` in a fresh process with the fake hou."""
    return subprocess.run(
        [sys.executable, "-m", "pm_houdini.batch", *args],
        cwd=cwd,
        env=env or batch_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


class ReadOnly:
    """Make a folder read-only for everyone, root included (`chattr +i` as root: root
    ignores permission bits); undone on exit so pytest can clean up."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> Path:
        if os.geteuid() == 0:
            done = subprocess.run(["chattr", "+i", str(self.folder)], capture_output=True)
            assert done.returncode == 0, f"chattr +i failed: {done.stderr!r}"
        else:
            self.folder.chmod(0o555)
        return self.folder

    def __exit__(self, *exc: object) -> None:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(self.folder)], check=True)
        else:
            self.folder.chmod(0o755)
