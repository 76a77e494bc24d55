"""A part publish as named steps: reserve -> write -> verify -> complete -> update layers.

Each step is a function, and each leaves a state that is visible and repairable if the
process dies right after it (docs/publishing.md has the table):

- reserve: a pending publish holds the numbers and the paths (services.publishes);
- write: the data layer is written to the reserved path (Houdini's USD ROP, or a writer
  passed in); a writer that raises marks the publish failed;
- verify: the data layer exists, opens as USD and is not empty, or the publish is marked
  failed and latest is untouched; then the layers must be replaceable (a read-only layer
  raises PermissionDenied and leaves the publish pending: fix the file, complete again);
- complete: status published, latest flips, in one transaction;
- update layers: the part and asset layers are rewritten from the database
  (pm_db.usd.layers), atomically.

Fault injection, for the crash tests only: with `PM_FAULT=<point>` in the environment the
process kills itself with SIGKILL when it reaches that point (FAULT_POINTS).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pm_db import schemas
from pm_db.db import Database
from pm_db.errors import PmError, ValidationError
from pm_db.services import publishes

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pm_db.usd.layers import SyncResult
    from pm_db.usd.state import AssetKey

FAULT_POINTS = ("reserve", "write", "verify", "complete", "part-layer", "asset-layer")
"""Where PM_FAULT may stop a publish: after each step; `part-layer` and `asset-layer`
while that layer's new bytes sit beside it, not yet renamed into place."""

Writer = Callable[[str], None]


def checkpoint(point: str) -> None:
    """Kill this process with SIGKILL if PM_FAULT names `point` (crash tests only)."""
    # Read here rather than through pm_db.config: a test hook, not a setting.
    if os.environ.get("PM_FAULT") != point:
        return
    os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def reserve(db: Database, data: object) -> schemas.PublishOut:
    """Step 1: reserve the numbers and paths (status pending). Raises ValidationError,
    NotFound, Conflict."""
    publish = publishes.reserve_publish(db, data)
    checkpoint("reserve")
    return publish


def write(db: Database, publish: schemas.PublishOut, writer: Writer) -> None:
    """Step 2: create the data layer's folder and let `writer` write the file. If the
    writer raises, the publish is marked failed with the reason and the error goes on."""
    path = publish.item_usd_path
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer(path)
    except Exception as exc:
        publishes.fail_publish(db, publish.id, f"writing the data layer failed: {exc}")
        raise
    checkpoint("write")


def verify(db: Database, publish: schemas.PublishOut) -> None:
    """Step 3: check the data layer; on failure mark the publish failed (latest untouched)
    and raise ValidationError naming item_usd_path. Then check that its part and asset
    layers can be replaced: PermissionDenied leaves the publish pending."""
    from pm_db.usd.verify import verify_data_layer

    try:
        verify_data_layer(publish.item_usd_path, _root(db, publish.task_id))
    except ValidationError as exc:
        publishes.fail_publish(db, publish.id, exc.message)
        raise
    check_layers_writable(publish.part_usd_path, publish.asset_usd_path)
    checkpoint("verify")


def complete(db: Database, publish: schemas.PublishOut) -> schemas.PublishOut:
    """Step 4: mark the publish published; it becomes its part's latest. Raises Conflict
    (failed or deprecated meanwhile)."""
    done = publishes.complete_publish(db, publish.id)
    checkpoint("complete")
    return done


def update_layers(
    db: Database, publish: schemas.PublishOut, key: AssetKey | None = None
) -> SyncResult | None:
    """Step 5: rewrite the part and asset layers of the publish's asset from the database
    (`key`, the asset, if the caller knows it). Raises PermissionDenied or PmError saying
    the publish stands and how to repair."""
    from pm_db.usd import layers

    try:
        if key is not None:
            return layers.sync_asset(db, key)
        return layers.sync_part(db, publish.part_id)
    except PmError as exc:
        raise type(exc)(
            f"publish {publish.id} is {publish.status} but its layers were not updated "
            f"({exc.message}); fix that, then run `pm usd rebuild --asset {publish.asset_name}`",
            exc.field,
        ) from exc


def publish(db: Database, data: object, writer: Writer) -> schemas.PublishOut:
    """Every step in order: reserve from a saved scene (the ReserveRequest fields), write
    the data layer with `writer(path)`, verify, complete, update layers. A repeated request
    whose publish is done only brings its layers up to date. Raises ValidationError,
    NotFound, Conflict, PermissionDenied, or what the writer raised."""
    reserved = reserve(db, data)
    if reserved.status == "published":
        update_layers(db, reserved)
        return reserved
    write(db, reserved, writer)
    verify(db, reserved)
    done = complete(db, reserved)
    update_layers(db, done)
    return done


def complete_publish(db: Database, ref: int | str) -> schemas.PublishOut:
    """Verify, complete and update layers for a publish whose data layer the caller wrote
    (what the Houdini tools call after the USD ROP). Completing a published one again
    brings its layers up to date. Raises NotFound, ValidationError (data layer; the
    publish is then failed), Conflict, PermissionDenied."""
    current = publishes.get_publish(db, ref)
    if current.status == "pending":
        verify(db, current)
        current = complete(db, current)
    elif current.status != "published":
        return publishes.complete_publish(db, ref)
    update_layers(db, current)
    return current


def publish_part(
    db: Database, data: object, authorize: Callable[[str], None] | None = None
) -> schemas.PublishOut:
    """The seed's one-call publish. With status published (the default) the data layer
    must verify first, and the part and asset layers must be writable: otherwise nothing
    is recorded. Then the publish is recorded (latest flips) and the layers updated.
    With status pending it is a reservation. `authorize`, if given, is called with the
    login of the source scene's artist before anything is checked on disk or recorded
    (the REST service refuses another artist's scene there). Raises ValidationError,
    NotFound, Conflict, PermissionDenied."""
    from pm_db.usd.verify import verify_data_layer

    request = schemas.parse(schemas.PublishIn, data)
    if request.status == "pending" and authorize is None:
        return publishes.publish_part(db, request)
    call = _one_call(db, request, authorize)
    if request.status == "pending":
        return publishes.publish_part(db, request, call.checked)
    verify_data_layer(call.item, call.root)
    check_layers_writable(call.part_layer, call.asset_layer)
    done = publishes.publish_part(db, request, call.checked)
    update_layers(db, done, call.key)
    return done


def deprecate_publish(db: Database, ref: int | str) -> schemas.PublishOut:
    """Deprecate a published version (the previous one becomes latest) and update the
    layers. Refused before any change if a layer is read-only. Raises NotFound, Conflict,
    PermissionDenied."""
    current = publishes.get_publish(db, ref)
    if current.status == "published":
        check_layers_writable(current.part_usd_path, current.asset_usd_path)
    done = publishes.deprecate_publish(db, ref)
    update_layers(db, done)
    return done


def check_layers_writable(part_layer: str, asset_layer: str) -> None:
    """Raise PermissionDenied if the part or the asset layer cannot be replaced."""
    from pm_db.usd import files

    files.check_writable(part_layer, "part_usd_path")
    files.check_writable(asset_layer, "asset_usd_path")


def _root(db: Database, task_id: int) -> str:
    """The project root (this platform) that holds a task's files."""
    from pm_db.services.context import load_context

    return db.read(lambda session: load_context(session, task_id).root)


@dataclass(frozen=True)
class _OneCall:
    """A one-call publish request checked against its task, and where it leads on this
    platform: its asset, data layer, part and asset layers, and the project root."""

    checked: publishes.Checked
    key: AssetKey
    item: str
    part_layer: str
    asset_layer: str
    root: str


def _one_call(
    db: Database, request: schemas.PublishIn, authorize: Callable[[str], None] | None
) -> _OneCall:
    """The request checked against its task's templates and its source scene (with
    `authorize`, that scene's artist too). Raises ValidationError, NotFound,
    PermissionDenied."""
    from pm_db.usd.state import AssetKey

    def work(session: Session) -> tuple[publishes.Checked, publishes.SourceScene]:
        checked = publishes.check_request(session, request)
        scene = publishes.source_scene(session, checked.context, checked.fields)
        if authorize is not None:
            authorize(scene.login)
        return checked, scene

    checked, scene = db.read(work)
    context, fields = checked.context, checked.fields
    names = {k: fields[k] for k in ("software", "artist", "scene", "asset", "part")}
    numbers = {"version": fields["version"], "iteration": fields["iteration"]}
    return _OneCall(
        checked=checked,
        # A part's asset is its scene stream and its asset name, spelled exactly as the
        # request spells it once the publish is recorded (another spelling is refused).
        key=AssetKey(scene.stream_id, fields["asset"]),
        item=context.path("part_data", **names, **numbers),
        part_layer=context.path("part_layer", **names),
        asset_layer=context.path("asset_layer", **names),
        root=context.root,
    )
