"""Where the artist is working: the task, the artist, and the open scene if pm saved it.

The open hip file decides first: a scene pm saved names its own task and scene name (an
artist who opens another shot's file and saves keeps saving that file's stream). For an
untitled scene, or a file pm did not save, the launcher's variables decide:
`PM_TASK_ID` (the task) and `PM_ARTIST` (the login; default: the operating system's user
name). With neither, every tool says so instead of guessing.

pm_houdini talks to pm only through `pm_db.backend.get_backend()`: the local database or
the REST service, whichever the environment selects. It never computes a path itself.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import hou

from pm_db.errors import ConfigError, NotFound, ValidationError
from pm_db.names import check_login
from pm_db.numbers import label as numbers_label

if TYPE_CHECKING:
    from pm_db.backend import Backend
    from pm_db.schemas import SceneOut

# Saved scenes never change once recorded, so a path seen once is known for the session.
_known_scenes: dict[str, SceneOut] = {}


@dataclass(frozen=True)
class HoudiniContext:
    """The task and artist a save or publish is recorded against."""

    task_id: int
    artist: str
    hip_path: str
    scene: SceneOut | None
    """The open hip file's record, when pm saved it."""

    @property
    def scene_name(self) -> str | None:
        """The open scene's name (`PinchIn`), or None for an untitled or foreign file."""
        return self.scene.name if self.scene is not None else None

    def describe(self) -> str:
        """A short line for messages: the scene and its numbers, or the task."""
        if self.scene is None:
            return f"task {self.task_id} ({self.artist})"
        scene = self.scene
        return f"{scene.name} {numbers_label(scene.version, scene.iteration)} ({scene.artist})"


def backend() -> Backend:
    """The backend the environment selects (the vendored dependencies were made
    importable when pm_houdini was imported). Raises ConfigError."""
    from pm_db.backend import get_backend

    return get_backend()


def current_artist() -> str:
    """The artist at the keyboard: `PM_ARTIST`, else the system login. Raises ValidationError."""
    login = os.environ.get("PM_ARTIST") or getpass.getuser()
    field = "PM_ARTIST" if os.environ.get("PM_ARTIST") else "artist"
    return check_login(login, field)


def environment_task() -> int | None:
    """`PM_TASK_ID` as a task id, or None when unset. Raises ConfigError if malformed."""
    raw = os.environ.get("PM_TASK_ID", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"must be a task id (a whole number), got {raw!r}", field="PM_TASK_ID")
    return int(raw)


def remember(scene: SceneOut) -> None:
    """Note a scene pm just saved, so the next tool finds it without asking the database."""
    _known_scenes[scene.path] = scene


def open_scene(backend: Backend) -> tuple[SceneOut | None, str]:
    """The record of the open hip file, or None and why it has none (untitled, outside
    every project, not saved by pm).

    Raises only what the backend raises for other reasons (Unavailable, ConfigError)."""
    if hou.hipFile.isNewFile():
        return None, "this scene is untitled"
    path = hou.hipFile.path()
    known = _known_scenes.get(path)
    if known is not None:
        return known, ""
    try:
        scene = backend.find_scene_by_path(path)
    except ValidationError:
        return None, f"{path} lies outside every project's roots"
    except NotFound:
        return None, f"{path} was not saved by pm"
    remember(scene)
    return scene, ""


def current_context(backend: Backend) -> HoudiniContext:
    """The context of the open scene, else of the launcher's variables.

    Raises ConfigError (no context: names PM_TASK_ID), ValidationError (bad PM_ARTIST),
    Unavailable (database or service unreachable)."""
    artist = current_artist()
    scene, why_not = open_scene(backend)
    path = hou.hipFile.path()
    if scene is not None:
        return HoudiniContext(scene.task_id, artist, path, scene)
    task_id = environment_task()
    if task_id is None:
        raise ConfigError(
            f"no pm context: {why_not} and PM_TASK_ID is not set. Open a scene saved with "
            "pm, or start Houdini from the pm launcher.",
            field="PM_TASK_ID",
        )
    return HoudiniContext(task_id, artist, path, None)
