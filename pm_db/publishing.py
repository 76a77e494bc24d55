"""The publish pipeline: how a part's data layer becomes a version every department loads.

A publish is five steps, one function each, every front end (Backend, CLI, REST, the
shelf, the HDA, hython) going through them:

1. reserve: a pending record holds the numbers (the source scene's) and the paths;
2. write: the data layer is written to the reserved path (Houdini's USD ROP, or a writer);
3. verify: the data layer exists, opens as USD, holds a prim, and every file it depends
   on lies in its own publish folder or was published before; the layers can be replaced;
4. complete: the record becomes published and its part's latest, in one transaction;
5. update layers: the part and asset layers are rewritten from the database.

The entries front ends call:

- `reserve` (1): the shelf before it renders, `POST /api/publishes/reserve/`;
- `complete` (3, 4, 5) for a reservation whose data layer the caller wrote: the shelf after
  the ROP, `pm publish complete`, `POST /api/publishes/{id}/complete/`;
- `publish` (1 to 5) with a writer;
- `publish_written`, project_manager's one-call publish: 1 from the caller's paths, then
  3, 4, 5 (`pm publish FILE`, `POST /api/publishes/`). Its reserve and complete share
  one transaction, after verify, so a refused request records nothing;
- `fail` and `deprecate`.

Numbers are taken only for new work: a repeated request (same request id, or same part
and numbers) returns the first record and changes no counter, only bringing the layers
up to date. Each step leaves a state `pm doctor` reports and repairs if the process dies
right after it (docs/publishing.md).

A plan (what a request asks for, read before anything is written) is read apart from the
write that records it, each of its reads seeing the newest data (`Database.read_each`):
the write locks the part and finds a repeated request itself, so nothing it relies on
needs the plan's reads to share a snapshot.

`caller` is who asks: None for a tool holding the database's own credentials, which may
act for anyone; a REST token's caller acts only for its own artist unless it is an admin's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from pm_db import schemas
from pm_db.db import Database
from pm_db.errors import PmError, ValidationError
from pm_db.faults import checkpoint
from pm_db.services import publishes
from pm_db.services.context import TaskContext, load_context
from pm_db.services.tokens import Caller
from pm_db.usd import files, layers
from pm_db.usd.state import AssetKey
from pm_db.usd.verify import verify_data_layer, verify_dependencies

Writer = Callable[[str], None]


def reserve(db: Database, caller: Caller | None, data: object) -> schemas.PublishOut:
    """Step 1 from a saved scene (the ReserveRequest fields): the pending publish, or the
    first record of an equal request. Raises ValidationError, NotFound, Conflict,
    PermissionDenied."""
    request = schemas.parse(schemas.ReserveRequest, data)

    def plan_for(session: Session) -> publishes.Plan:
        plan = publishes.plan_from_scene(session, request)
        _authorize(caller, plan.scene.login, "publish from scenes")
        return plan

    return _reserve(db, db.read_each(plan_for))


def _reserve(db: Database, plan: publishes.Plan) -> schemas.PublishOut:
    reserved = db.write(lambda session: plan.output(publishes.reserve(session, plan)))
    checkpoint("reserve")
    return reserved


def write(db: Database, publish: schemas.PublishOut, writer: Writer) -> None:
    """Step 2: create the data layer's folder and let `writer` write the file. If the
    writer raises, the publish is marked failed with the reason and the error goes on."""
    path = publish.item_usd_path
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer(path)
    except Exception as exc:
        fail(db, None, publish.id, f"writing the data layer failed: {exc}")
        raise
    checkpoint("write")


def verify(db: Database, publish: schemas.PublishOut) -> None:
    """Step 3: check the data layer, then that the part and asset layers can be replaced.
    A data layer not written yet leaves the publish pending (write it, complete again); a
    bad one marks it failed (latest untouched; the same request re-opens it). Raises
    ValidationError naming item_usd_path, PermissionDenied (publish left pending)."""
    _check_written(publish.item_usd_path)
    context = db.read_each(lambda session: load_context(session, publish.task_id))
    try:
        _verify_files(db, publish.item_usd_path, context)
    except ValidationError as exc:
        fail(db, None, publish.id, exc.message)
        raise
    check_layers_writable(publish.part_usd_path, publish.asset_usd_path)
    checkpoint("verify")


def record_completion(db: Database, ref: int | str) -> schemas.PublishOut:
    """Step 4: the publish becomes published and its part's latest. Raises Conflict
    (failed or deprecated meanwhile)."""

    def work(session: Session) -> schemas.PublishOut:
        row = publishes.mark_published(session, publishes.load(session, ref))
        return publishes.output(session, row)

    done = db.write(work)
    checkpoint("complete")
    return done


def update_layers(
    db: Database, publish: schemas.PublishOut, key: AssetKey | None = None
) -> layers.SyncResult | None:
    """Step 5: rewrite the part and asset layers of the publish's asset from the database
    (`key`, the asset, if the caller knows it). Raises PermissionDenied or PmError saying
    the publish stands and how to repair."""
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


def complete(db: Database, caller: Caller | None, ref: int | str) -> schemas.PublishOut:
    """Steps 3 to 5 for a reservation whose data layer the caller wrote. Completing a
    published one again only brings its layers up to date. Raises NotFound,
    ValidationError (data layer), Conflict (failed or deprecated), PermissionDenied."""
    current = _owned(db, caller, ref, "complete publishes")
    if current.status == "pending":
        verify(db, current)
        current = record_completion(db, current.id)
    elif current.status != "published":
        current = record_completion(db, current.id)
    update_layers(db, current)
    return current


def publish(
    db: Database, caller: Caller | None, data: object, writer: Writer
) -> schemas.PublishOut:
    """Steps 1 to 5: reserve from a saved scene (the ReserveRequest fields), write the data
    layer with `writer(path)`, verify, complete, update layers. A repeated request whose
    publish is done only brings its layers up to date. Raises ValidationError, NotFound,
    Conflict, PermissionDenied, or what the writer raised."""
    reserved = reserve(db, caller, data)
    if reserved.status == "pending":
        write(db, reserved, writer)
    return complete(db, caller, reserved.id)


def publish_written(db: Database, caller: Caller | None, data: object) -> schemas.PublishOut:
    """project_manager's one-call publish of a data layer the caller wrote at the paths it
    computed: step 1 from those paths (checked against the task's templates and the saved
    source scene), then 3 to 5. With status pending it is a reservation only. Nothing is
    recorded unless the data layer verifies and the layers can be replaced. Raises
    ValidationError, NotFound, Conflict, PermissionDenied."""
    plan = plan_written(db, caller, data)
    if plan.status == "pending":
        return _reserve(db, plan)
    item, part_layer, asset_layer = plan.paths()
    _check_written(item)
    _verify_files(db, item, plan.context)
    check_layers_writable(part_layer, asset_layer)
    done = record_written(db, plan)
    update_layers(db, done, AssetKey(plan.scene.stream_id, done.asset_name))
    return done


def plan_written(db: Database, caller: Caller | None, data: object) -> publishes.Plan:
    """A one-call request checked against its task's templates and saved source scene, and
    against who asks. Raises ValidationError, NotFound, PermissionDenied."""
    request = schemas.parse(schemas.PublishIn, data)

    def work(session: Session) -> publishes.Plan:
        plan = publishes.plan_from_paths(session, request)
        _authorize(caller, plan.scene.login, "publish from scenes")
        return plan

    return db.read_each(work)


def record_written(db: Database, plan: publishes.Plan) -> schemas.PublishOut:
    """Steps 1 and 4 of a verified one-call publish in one transaction: reserved and
    published at once, or the first record of an equal request (a pending one completed).
    Raises Conflict."""

    def work(session: Session) -> schemas.PublishOut:
        return plan.output(publishes.mark_published(session, publishes.reserve(session, plan)))

    done = db.write(work)
    checkpoint("complete")
    return done


def fail(db: Database, caller: Caller | None, ref: int | str, reason: str) -> schemas.PublishOut:
    """Mark a reserved publish failed with `reason`; latest is untouched. Raises NotFound,
    Conflict (already published or deprecated), PermissionDenied."""

    def work(session: Session) -> schemas.PublishOut:
        row = publishes.load(session, ref)
        _authorize(caller, publishes.owner(session, row), "fail publishes")
        return publishes.output(session, publishes.mark_failed(session, row, reason))

    return db.write(work)


def deprecate(db: Database, caller: Caller | None, ref: int | str) -> schemas.PublishOut:
    """Withdraw a published version (the previous one becomes latest) and update the
    layers. Refused before any change if a layer is read-only. Raises NotFound, Conflict,
    PermissionDenied."""
    current = _owned(db, caller, ref, "deprecate publishes")
    if current.status == "published":
        check_layers_writable(current.part_usd_path, current.asset_usd_path)

    def work(session: Session) -> schemas.PublishOut:
        row = publishes.mark_deprecated(session, publishes.load(session, current.id))
        return publishes.output(session, row)

    done = db.write(work)
    update_layers(db, done)
    return done


def check_layers_writable(part_layer: str, asset_layer: str) -> None:
    """Raise PermissionDenied if the part or the asset layer cannot be replaced."""
    files.check_writable(part_layer, "part_usd_path")
    files.check_writable(asset_layer, "asset_usd_path")


def _check_written(path: str) -> None:
    """Raise ValidationError (nothing changed) if the data layer is not there yet."""
    if not os.path.lexists(path):
        raise ValidationError(
            f"data layer {path} does not exist yet; write it there (render the USD ROP), "
            "then complete the publish again: it stays pending until then",
            field="item_usd_path",
        )


def _authorize(caller: Caller | None, artist: str, what: str) -> None:
    if caller is not None:
        caller.check_acts_as(artist, what)


def _owned(db: Database, caller: Caller | None, ref: int | str, what: str) -> schemas.PublishOut:
    """The publish `ref`, after checking that `caller` may `what` it. Raises NotFound,
    PermissionDenied."""

    def work(session: Session) -> schemas.PublishOut:
        row = publishes.find(session, ref)
        _authorize(caller, publishes.owner(session, row), what)
        return publishes.output(session, row)

    return db.read(work)


def _verify_files(db: Database, data_layer: str, context: TaskContext) -> None:
    """The data layer verifies, and every file it depends on lies in its publish folder or
    is a file of a publish that is published: a later write can change neither. Raises
    ValidationError naming item_usd_path and the file."""
    verify_data_layer(data_layer, context.root)

    def published(path: str) -> bool:
        return db.read_each(lambda session: publishes.is_published_file(session, context, path))

    verify_dependencies(data_layer, published)
