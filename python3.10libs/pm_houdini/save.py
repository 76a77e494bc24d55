"""Saving the open scene: pm hands out the number and the path, Houdini writes the file.

Save is the next iteration of the open scene (`PinchIn_v003_i008.hip`), Version Up the
next version at iteration 1, Save As the next save of a scene with another name (a new
scene starts at v001 i001). The extension follows the licence, as Houdini requires:
`.hip` commercial, `.hiplc` Indie, `.hipnc` Apprentice and Education; a session that
opened a `.hipnc` or `.hiplc` file keeps that extension.

Nothing is recorded that did not happen where it can be checked first: the scene name
is validated and the folder of the open scene's stream is checked for write access
before the number is taken. See docs/houdini.md for the one case that cannot be checked
first.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import hou

from pm_db.errors import PermissionDenied, ValidationError
from pm_db.names import check_name
from pm_db.numbers import label as numbers_label
from pm_houdini import context as pm_context
from pm_houdini.errors import WriteFailed, describe

if TYPE_CHECKING:
    from pm_db.backend import Backend
    from pm_db.schemas import SceneOut

EXTENSIONS = ("hip", "hiplc", "hipnc")
"""From least to most restricted: a session never saves to a less restricted one."""


def licence_extension() -> str:
    """The hip extension this Houdini licence writes."""
    category = hou.licenseCategory()
    if category == hou.licenseCategoryType.Commercial:
        return "hip"
    if category == hou.licenseCategoryType.Indie:
        return "hiplc"
    return "hipnc"


def scene_extension(hip_path: str | None = None) -> str:
    """The extension the next save uses: the licence's, or the open file's when that is
    more restricted (Houdini keeps a session that loaded a `.hipnc` non-commercial)."""
    licensed = licence_extension()
    current = Path(hip_path or hou.hipFile.path()).suffix.lstrip(".").lower()
    if current in EXTENSIONS and EXTENSIONS.index(current) > EXTENSIONS.index(licensed):
        return current
    return licensed


def label(scene: SceneOut) -> str:
    """`PinchIn v003 i008`."""
    return f"{scene.name} {numbers_label(scene.version, scene.iteration)}"


def save_scene(
    *,
    version_up: bool = False,
    scene_name: str | None = None,
    ctx: pm_context.HoudiniContext | None = None,
    backend: Backend | None = None,
) -> SceneOut:
    """Record the next save of the open scene (or of `scene_name`) and write the hip file.

    Raises ValidationError (no scene name for an untitled or foreign scene, a bad name),
    ConfigError (no context), PermissionDenied (the folder is read-only), WriteFailed
    (Houdini could not write the file), Unavailable, NotFound."""
    backend = backend or pm_context.backend()
    ctx = ctx or pm_context.current_context(backend)
    name = check_name(scene_name, "scene_name") if scene_name else ctx.scene_name
    if name is None:
        raise ValidationError(
            f"{ctx.hip_path} is not a pm scene yet: give it a scene name (Save As)",
            field="scene_name",
        )
    if _continues_open_stream(ctx, name):
        assert ctx.scene is not None
        _check_writable(Path(ctx.scene.path).parent)
    scene = backend.save_scene(
        {
            "task_id": ctx.task_id,
            "artist": ctx.artist,
            "scene_name": name,
            "software": "houdini",
            "version_up": version_up,
            "ext": scene_extension(ctx.hip_path),
            "software_version": hou.applicationVersionString(),
            # One id per Save: a retry of this request (the REST client repeats it while
            # the service is unreachable) returns this save instead of taking a number.
            "request_id": f"save-{uuid.uuid4()}",
        }
    )
    try:
        write_hip(scene)
    except WriteFailed as failure:
        # No record may name a file that does not exist; the number stays used.
        backend.discard_scene(scene.id, failure.message)
        raise
    pm_context.remember(scene)
    return scene


def _continues_open_stream(ctx: pm_context.HoudiniContext, name: str) -> bool:
    """True when the save lands beside the open scene (same task, artist and name)."""
    scene = ctx.scene
    return (
        scene is not None
        and scene.task_id == ctx.task_id
        and scene.artist == ctx.artist
        and scene.name.lower() == name.lower()
    )


def _check_writable(folder: Path) -> None:
    """Raise PermissionDenied if files cannot be created in `folder` (or the nearest
    existing folder above it), before any number is taken."""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionDenied(f"cannot write in {existing}; nothing was saved", field="path")


def write_hip(scene: SceneOut) -> None:
    """Write the open scene to the path pm recorded. Raises WriteFailed."""
    folder = Path(scene.path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        hou.hipFile.save(scene.path)
    except (OSError, hou.Error) as exc:
        raise WriteFailed(
            f"Houdini could not write {scene.path}: {describe(exc)}; nothing was saved and "
            f"{label(scene)} is skipped",
            field="path",
        ) from exc
