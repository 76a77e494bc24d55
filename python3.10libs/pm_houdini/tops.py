"""Publishing a TOP network's outputs through pm, one work item at a time.

In a Python Script TOP (or a Python Processor's onCookTask) downstream of the TOP that
wrote a USD file per work item (a ROP USD Output TOP, say):

    from pm_houdini import tops
    tops.publish_work_item(work_item, hip=hou.hipFile.path(), asset="PinchIn", part="rock")

Each work item publishes the USD file among its input files (the upstream node's output)
as a part, from the hip file pm saved (the part takes that scene's version and
iteration), then carries the result as attributes: `pm_publish_id`, `pm_item_usd_path`,
`pm_part_usd_path`, `pm_version`, `pm_iteration`. The file is copied to the path pm
reserves (beside, then renamed), then pm verifies and completes the publish. A work item
cooked again publishes nothing twice: its request id comes from the work item's identity
(the TOP node's name and the item's index, with the scene, asset and part), so pm
returns the first record and the file is not copied again.

Names may come from the work item instead of the arguments: `pm_asset`, `pm_part` and
`pm_hip` string attributes (an Attribute Create TOP upstream, e.g. a part per wedge).
What is checked without Houdini and what needs a real one: docs/farm.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pm_db.errors import PmError, ValidationError
from pm_db.names import check_name
from pm_houdini import context as pm_context

if TYPE_CHECKING:
    from pm_db.backend import Backend
    from pm_db.schemas import PublishOut

USD_SUFFIXES = (".usd", ".usda", ".usdc", ".usdz")


class File(Protocol):
    """What pm reads of a `pdg.File`."""

    @property
    def path(self) -> str: ...


class Node(Protocol):
    """What pm reads of a `pdg.Node`."""

    @property
    def name(self) -> str: ...


class WorkItem(Protocol):
    """What pm uses of a `pdg.WorkItem` (names as SideFX documents them)."""

    @property
    def name(self) -> str: ...

    @property
    def index(self) -> int: ...

    @property
    def node(self) -> Node: ...

    @property
    def inputFiles(self) -> Sequence[File]: ...

    def stringAttribValue(self, name: str, index: int = 0) -> str | None: ...

    def setStringAttrib(self, name: str, value: str, index: int = 0) -> None: ...

    def setIntAttrib(self, name: str, value: int, index: int = 0) -> None: ...


def publish_work_item(
    work_item: WorkItem,
    hip: str | None = None,
    asset: str | None = None,
    part: str | None = None,
    source: str | None = None,
    backend: Backend | None = None,
) -> PublishOut:
    """Publish the work item's USD output as ASSET/PART from the pm scene `hip`, and set
    the result as work item attributes. Raises ValidationError (names, no single USD
    input), NotFound (a hip pm did not save), Conflict, Unavailable."""
    backend = backend or pm_context.backend()
    where = f"work item {work_item.name}"
    hip = hip or _attribute(work_item, "pm_hip")
    if not hip:
        raise ValidationError(f"{where}: give hip= or a pm_hip attribute", field="hip")
    scene = backend.find_scene_by_path(hip)
    asset = check_name(asset or _attribute(work_item, "pm_asset") or scene.name, "asset")
    part = check_name(part or _attribute(work_item, "pm_part") or "", "part")
    output = Path(source) if source else _usd_input(work_item)
    identity = json.dumps(["tops", scene.id, work_item.node.name, work_item.index, asset, part])
    reserved = backend.reserve_publish(
        {
            "scene_id": scene.id,
            "asset_name": asset,
            "part_name": part,
            "metadata": {
                "asset_name": asset,
                "part_name": part,
                "tool": "tops",
                "top_node": work_item.node.name,
                "work_item_index": work_item.index,
                "source": str(output),
            },
            "request_id": f"houdini-tops-{hashlib.sha256(identity.encode()).hexdigest()[:40]}",
        }
    )
    done = (
        reserved
        if reserved.status == "published"
        else _write_and_complete(backend, reserved, output)
    )
    _set_attributes(work_item, done)
    return done


def _attribute(work_item: WorkItem, name: str) -> str | None:
    value = work_item.stringAttribValue(name)
    return (value.strip() or None) if value else None


def _usd_input(work_item: WorkItem) -> Path:
    """The single USD file among the work item's input files; ValidationError otherwise."""
    found = [Path(f.path) for f in work_item.inputFiles if f.path.lower().endswith(USD_SUFFIXES)]
    if len(found) != 1:
        names = ", ".join(str(p) for p in found) or "none"
        raise ValidationError(
            f"work item {work_item.name} needs exactly one USD input file to publish "
            f"(found: {names}); give source=",
            field="source",
        )
    return found[0]


def _write_and_complete(backend: Backend, reserved: PublishOut, output: Path) -> PublishOut:
    """Copy `output` to the reserved data layer path, then complete; a copy that fails
    marks the publish failed (a later cook re-opens it)."""
    target = Path(reserved.item_usd_path)
    try:
        if not output.is_file():
            raise ValidationError(f"no USD file at {output}", field="source")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(output, partial)
        os.replace(partial, target)
    except (OSError, PmError) as exc:
        reason = str(exc) if isinstance(exc, PmError) else f"copying {output}: {exc.strerror}"
        backend.fail_publish(reserved.publish_id, reason)
        if isinstance(exc, PmError):
            raise
        raise ValidationError(reason, field="source") from exc
    return backend.complete_publish(reserved.publish_id)


def _set_attributes(work_item: WorkItem, publish: PublishOut) -> None:
    values: dict[str, Any] = {
        "pm_publish_id": publish.publish_id,
        "pm_item_usd_path": publish.item_usd_path,
        "pm_part_usd_path": publish.part_usd_path,
        "pm_version": publish.version,
        "pm_iteration": publish.iteration,
    }
    for name, value in values.items():
        if isinstance(value, int):
            work_item.setIntAttrib(name, value)
        else:
            work_item.setStringAttrib(name, str(value))
