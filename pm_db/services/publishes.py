"""The publish records: what each step of the publish pipeline (pm_db.publishing) writes,
in the caller's transaction, and the reads of publishes.

Numbers follow the scene: a part published from `PinchIn_v003_i007.hip` is
`particles01_v003_i007.usd`. A part is published once per scene iteration; a retried
request returns the first record and changes nothing. `is_latest` changes in the same
transaction as the completion, and latest is the last completed publish of the part in
database order. The exact rules are in docs/versioning.md.

The hot path (record one publish) runs a handful of Core statements on the `publishes`
table rather than ORM units of work: a farm records thousands of these. Both databases
take the same path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from sqlalchemy import (
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from pm_db import schemas
from pm_db.errors import Conflict, NotFound, ValidationError
from pm_db.models import Artist, Project, Publish, Scene, SceneStream, Task, is_latest, utcnow
from pm_db.numbers import label as numbers_label
from pm_db.services import events
from pm_db.services.context import (
    TaskContext,
    join_root,
    load_context,
    relative_path,
    root_for,
    target_id,
)
from pm_db.versions import lock_part, next_completion, part_for

PUBLISHES = cast(Table, Publish.__table__)
Row = Mapping[Any, Any]

_INSERT = insert(PUBLISHES).returning(PUBLISHES.c.id)
_CLEAR_LATEST = (
    update(PUBLISHES)
    .where(PUBLISHES.c.part_id == bindparam("b_part_id"), is_latest(PUBLISHES))
    .values(is_latest=False)
)


@dataclass(frozen=True)
class SourceScene:
    """What a publish takes from the saved scene it comes from, and its artist's login."""

    id: int
    stream_id: int
    task_id: int
    software: str
    name: str
    version: int
    iteration: int
    artist_id: int
    login: str


_SCENES, _STREAMS = cast(Table, Scene.__table__), cast(Table, SceneStream.__table__)
_ARTISTS = cast(Table, Artist.__table__)
# Table columns, not mapped attributes: a plain Core statement skips the ORM's per-query
# work (see services.context).
_SCENE_COLUMNS = (
    _SCENES.c.id,
    _SCENES.c.stream_id,
    _SCENES.c.task_id,
    _SCENES.c.software,
    _SCENES.c.name,
    _SCENES.c.version,
    _SCENES.c.iteration,
    _SCENES.c.artist_id,
    _ARTISTS.c.login,
)
_SOURCE_SCENE = (
    select(*_SCENE_COLUMNS)
    .join(_STREAMS, _STREAMS.c.id == _SCENES.c.stream_id)
    .join(_ARTISTS, _ARTISTS.c.id == _SCENES.c.artist_id)
    .where(
        _STREAMS.c.project_id == bindparam("b_project_id"),
        _STREAMS.c.key == bindparam("b_key"),
        _SCENES.c.version == bindparam("b_version"),
        _SCENES.c.iteration == bindparam("b_iteration"),
    )
)


def publish_out(row: Row, root: str, login: str) -> schemas.PublishOut:
    """The output model of a `publishes` row, its paths made absolute under `root` (the
    project's root on this platform, see `root_for`). Built without re-validation: the row
    comes from pm's own schema, and listings build thousands of these."""
    return schemas.PublishOut.model_construct(
        publish_id=row["publish_id"],
        id=row["id"],
        task_id=row["task_id"],
        target_type=row["target_type"],
        target_id=row["target_id"],
        software=row["software"],
        scene_id=row["scene_id"],
        part_id=row["part_id"],
        asset_name=row["asset_name"],
        part_name=row["part_name"],
        source_version=row["version"],
        source_iteration=row["iteration"],
        version=row["version"],
        iteration=row["iteration"],
        item_usd_path=join_root(root, row["item_usd_path"]),
        part_usd_path=join_root(root, row["part_usd_path"]),
        asset_usd_path=join_root(root, row["asset_usd_path"]),
        status=row["status"],
        is_latest=row["is_latest"],
        metadata=row["metadata"],
        created_by=login,
        created_at=row["created_at"],
        completed_at=row["completed_at"],
        error=row["error"],
    )


def _select_publish(ref: int | str) -> Any:
    query = select(PUBLISHES)
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        return query.where(PUBLISHES.c.id == int(ref))
    return query.where(PUBLISHES.c.publish_id == str(ref))


def _load(session: Session, ref: int | str, lock: bool = False) -> Row:
    query = _select_publish(ref)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"no publish {ref!r}", field="publish_id")
    return row


def _reload(session: Session, publish_id: int) -> Row:
    return session.execute(select(PUBLISHES).where(PUBLISHES.c.id == publish_id)).mappings().one()


def _out(session: Session, row: Row) -> schemas.PublishOut:
    project, login = session.execute(
        select(Project, Artist.login)
        .join(Task, Task.project_id == Project.id)
        .join(Artist, Artist.id == row["created_by"])
        .where(Task.id == row["task_id"])
    ).one()
    return publish_out(row, root_for(project), login)


@dataclass(frozen=True)
class Plan:
    """A publish worked out before anything is written: its task's context, the saved
    scene it comes from, its part's names and the request's own values."""

    context: TaskContext
    scene: SourceScene
    asset_name: str
    part_name: str
    metadata: dict[str, Any]
    request_id: str | None
    status: str = "pending"
    """What the request asks for: pending (a reservation) or published."""

    @property
    def names(self) -> dict[str, str]:
        """The template fields that name the publish's files, but for its numbers."""
        scene = self.scene
        return {
            "software": scene.software,
            "artist": scene.login,
            "scene": scene.name,
            "asset": self.asset_name,
            "part": self.part_name,
        }

    @cached_property
    def relative_paths(self) -> tuple[str, str, str]:
        """(data layer, part layer, asset layer), project-relative, from the task's
        templates."""
        names, scene = self.names, self.scene
        numbers = {"version": scene.version, "iteration": scene.iteration}
        return (
            self.context.relative("part_data", **names, **numbers),
            self.context.relative("part_layer", **names),
            self.context.relative("asset_layer", **names),
        )

    def paths(self) -> tuple[str, str, str]:
        """(data layer, part layer, asset layer), absolute on this platform."""
        root = self.context.root
        item, part_layer, asset_layer = self.relative_paths
        return join_root(root, item), join_root(root, part_layer), join_root(root, asset_layer)

    def output(self, row: Row) -> schemas.PublishOut:
        """The output model of this plan's publish record."""
        return publish_out(row, self.context.root, self.scene.login)


def plan_from_scene(session: Session, request: schemas.ReserveRequest) -> Plan:
    """The publish of a part from a saved scene (by id); raises NotFound."""
    scene = _scene_for(session, request.scene_id)
    context = load_context(session, scene.task_id)
    return Plan(
        context,
        scene,
        request.asset_name,
        request.part_name,
        request.metadata,
        request.request_id,
    )


def plan_from_paths(session: Session, request: schemas.PublishIn) -> Plan:
    """The publish a one-call request names by its paths, checked against its task's
    templates and its saved source scene; raises ValidationError, NotFound."""
    context = load_context(session, request.task_id)
    fields = check_publish_request(context, request)
    scene = source_scene(session, context, fields)
    return Plan(
        context,
        scene,
        fields["asset"],
        fields["part"],
        request.metadata,
        request.request_id,
        request.status,
    )


def reserve(session: Session, plan: Plan) -> Row:
    """Step 1, in the caller's transaction: the publish `plan` names, with its numbers (the
    scene's) and paths, or the first record of an equal request (a failed one re-opened
    for its retry). A new publish is pending, or, for a verified one-call publish (the
    plan's status is published), completed at once: steps 1 and 4 in one insert. Locks the
    part; takes no number for a repeated request. Raises Conflict."""
    scene = plan.scene
    part_id = part_for(session, scene.stream_id, plan.asset_name, plan.part_name).id
    if plan.request_id is not None:
        _check_request_id(session, plan.request_id, part_id, scene)
    numbers = {"b_part_id": part_id, "b_version": scene.version, "b_iteration": scene.iteration}
    existing_id = session.scalar(_EXISTING_ID, numbers)
    if existing_id is not None:
        existing = _reload(session, existing_id)
        return _same_request(session, existing, plan.metadata, plan.request_id)
    values = {**_new_values(plan), "part_id": part_id}
    kind = "publish.reserved"
    if plan.status == "published":
        values.update(_completion(session, part_id))
        kind = "publish.completed"
    values["id"] = session.execute(_INSERT, values).scalar_one()
    events.record(session, kind, "publish", values["id"], scene.artist_id)
    return values


def mark_published(session: Session, row: Row) -> Row:
    """Step 4's record, in the caller's transaction: a pending publish becomes published
    and its part's latest, with the part's next completion number, atomically; a
    published one is returned as it is (a repeat takes no number). Raises Conflict
    (failed or deprecated)."""
    if row["status"] == "published":
        return row
    if row["status"] != "pending":
        raise Conflict(f"publish {row['id']} is {row['status']}, not pending", field="status")
    lock_part(session, row["part_id"])
    done = _completion(session, row["part_id"])
    session.execute(update(PUBLISHES).where(PUBLISHES.c.id == row["id"]).values(done))
    events.record(session, "publish.completed", "publish", row["id"], row["created_by"])
    return {**row, **done}


def _completion(session: Session, part_id: int) -> dict[str, Any]:
    """The values that make a publish completing now its part's latest, with the part's
    next completion number; the part's current latest stops being latest. The caller
    holds the part's lock."""
    session.execute(_CLEAR_LATEST, {"b_part_id": part_id})
    return {
        "status": "published",
        "is_latest": True,
        "published_seq": next_completion(session, part_id),
        "completed_at": utcnow(),
    }


def mark_failed(session: Session, row: Row, reason: str) -> Row:
    """A pending publish marked failed with `reason` (latest untouched); a failed one is
    returned as it is. Raises Conflict (published or deprecated)."""
    if row["status"] == "failed":
        return row
    if row["status"] != "pending":
        raise Conflict(f"publish {row['id']} is {row['status']}, not pending", "status")
    error = reason[:4000]
    session.execute(
        update(PUBLISHES).where(PUBLISHES.c.id == row["id"]).values(status="failed", error=error)
    )
    events.record(
        session, "publish.failed", "publish", row["id"], row["created_by"], {"reason": error}
    )
    return {**row, "status": "failed", "error": error}


def mark_deprecated(session: Session, row: Row) -> Row:
    """A published version withdrawn: the part's previous completed, still published
    publish becomes latest again; a deprecated one is returned as it is. Raises Conflict
    (not published)."""
    if row["status"] == "deprecated":
        return row
    if row["status"] != "published":
        raise Conflict(f"publish {row['id']} is {row['status']}, not published", "status")
    lock_part(session, row["part_id"])
    session.execute(
        update(PUBLISHES)
        .where(PUBLISHES.c.id == row["id"])
        .values(status="deprecated", is_latest=False)
    )
    _refresh_latest(session, row["part_id"])
    events.record(session, "publish.deprecated", "publish", row["id"], row["created_by"])
    return _reload(session, row["id"])


def find(session: Session, ref: int | str) -> Row:
    """The publish `ref` (id or publish_id); raises NotFound."""
    return _load(session, ref)


def load(session: Session, ref: int | str) -> Row:
    """The publish `ref` (id or publish_id), locked for the rest of the transaction;
    raises NotFound."""
    return _load(session, ref, lock=True)


def output(session: Session, row: Row) -> schemas.PublishOut:
    """The output model of a `publishes` row read in `session`."""
    return _out(session, row)


def owner(session: Session, row: Row) -> str:
    """The login of the artist whose scene a publish comes from."""
    login: str = session.execute(
        select(Artist.login).where(Artist.id == row["created_by"])
    ).scalar_one()
    return login


def is_published_file(session: Session, context: TaskContext, path: str) -> bool:
    """Whether `path` is the data layer of a published publish of the context's project,
    or a file in such a publish's own folder (pm_db.usd.verify.owning_data_layer)."""
    from pm_db.usd.verify import owning_data_layer

    owner = owning_data_layer(path)
    if owner is None:
        return False
    try:
        relative = relative_path(context.project, owner[0], "item_usd_path")
    except ValidationError:
        return False
    found = session.scalar(
        select(PUBLISHES.c.id).where(
            PUBLISHES.c.item_usd_path == relative, PUBLISHES.c.status == "published"
        )
    )
    return found is not None


def _new_values(plan: Plan) -> dict[str, Any]:
    """The column values of a new publish, pending (completing it adds the rest), that
    come from the plan: the request, the scene's numbers and the templates; the caller
    adds the part's id."""
    context, scene = plan.context, plan.scene
    item, part_layer, asset_layer = plan.relative_paths
    return {
        "publish_id": str(uuid.uuid4()),
        "request_id": plan.request_id,
        "task_id": context.task.id,
        "target_type": context.target_type,
        "target_id": target_id(context.task),
        "software": scene.software,
        "asset_name": plan.asset_name,
        "part_name": plan.part_name,
        "item_usd_path": item,
        "part_usd_path": part_layer,
        "asset_usd_path": asset_layer,
        "status": "pending",
        "is_latest": False,
        "published_seq": None,
        "attempts": 1,
        "error": None,
        "metadata": plan.metadata,
        "created_at": utcnow(),
        "completed_at": None,
        "version": scene.version,
        "iteration": scene.iteration,
        "scene_id": scene.id,
        "created_by": scene.artist_id,
    }


def _check_request_id(session: Session, request_id: str, part_id: int, scene: SourceScene) -> None:
    """Raises Conflict if `request_id` already made a publish other than this part's from
    this scene (which the caller then finds as the repeated request)."""
    taken = session.execute(
        select(
            PUBLISHES.c.id, PUBLISHES.c.part_id, PUBLISHES.c.version, PUBLISHES.c.iteration
        ).where(PUBLISHES.c.request_id == request_id)
    ).first()
    if taken is not None and tuple(taken[1:]) != (part_id, scene.version, scene.iteration):
        raise Conflict(f"already used by publish {taken.id} of another part", "request_id")


_EXISTING_ID = select(PUBLISHES.c.id).where(
    PUBLISHES.c.part_id == bindparam("b_part_id"),
    PUBLISHES.c.version == bindparam("b_version"),
    PUBLISHES.c.iteration == bindparam("b_iteration"),
)


def _same_request(
    session: Session, existing: Row, metadata: dict[str, Any], request_id: str | None
) -> Row:
    """`existing` if the new request repeats it; raises Conflict otherwise."""
    label = f"{existing['asset_name']}/{existing['part_name']} " + numbers_label(
        existing["version"], existing["iteration"]
    )
    if request_id is not None and existing["request_id"] not in (None, request_id):
        raise Conflict(
            f"{label} was published by another request; save a new iteration to publish again",
            field="request_id",
        )
    if metadata != existing["metadata"]:
        raise Conflict(
            f"{label} was already published with other metadata; save a new iteration to "
            "publish again",
            field="metadata",
        )
    if existing["status"] == "deprecated":
        raise Conflict(f"{label} was deprecated; save a new iteration", field="status")
    if existing["status"] != "failed":
        return existing
    session.execute(
        update(PUBLISHES)
        .where(PUBLISHES.c.id == existing["id"])
        .values(status="pending", error=None, attempts=PUBLISHES.c.attempts + 1)
    )
    events.record(session, "publish.retried", "publish", existing["id"], existing["created_by"])
    return _reload(session, existing["id"])


def _refresh_latest(session: Session, part_id: int) -> None:
    """Make the last completed, still published publish of a part its latest."""
    session.execute(_CLEAR_LATEST, {"b_part_id": part_id})
    newest = session.scalar(
        select(PUBLISHES.c.id)
        .where(PUBLISHES.c.part_id == part_id, PUBLISHES.c.status == "published")
        .order_by(PUBLISHES.c.published_seq.desc())
        .limit(1)
    )
    if newest is not None:
        session.execute(update(PUBLISHES).where(PUBLISHES.c.id == newest).values(is_latest=True))


def _scene_for(session: Session, scene_id: int) -> SourceScene:
    row = session.execute(
        select(*_SCENE_COLUMNS)
        .join(_ARTISTS, _ARTISTS.c.id == _SCENES.c.artist_id)
        .where(_SCENES.c.id == scene_id)
    ).first()
    if row is None:
        raise NotFound(f"no scene with id {scene_id}", field="scene_id")
    return SourceScene(*row)


def check_publish_request(context: TaskContext, request: schemas.PublishIn) -> dict[str, Any]:
    """The template fields of a one-call publish's item path, after checking that the
    request's target, numbers, names and layer path agree with it and with the task.
    Raises ValidationError naming the field."""
    if request.target_type != context.target_type:
        raise ValidationError(
            f"task {context.task.id} is on a {context.target_type}, not a {request.target_type}",
            field="target_type",
        )
    if request.target_id != target_id(context.task):
        raise ValidationError(
            f"task {context.task.id} is on {context.target_type} {target_id(context.task)}, "
            f"not {request.target_id}",
            field="target_id",
        )
    fields = context.parse("part_data", request.item_usd_path, "item_usd_path")
    if fields["software"] != request.software:
        raise ValidationError(
            f"names software {fields['software']!r}, the request {request.software!r}",
            field="item_usd_path",
        )
    numbers = (fields["version"], fields["iteration"])
    if numbers != (request.source_version, request.source_iteration):
        raise ValidationError(
            f"names {numbers_label(numbers[0], numbers[1])} but the source scene is "
            f"{numbers_label(request.source_version, request.source_iteration)}",
            field="item_usd_path",
        )
    for key, field in (("asset_name", "asset"), ("part_name", "part")):
        given = request.metadata.get(key)
        if given is not None and given != fields[field]:
            raise ValidationError(
                f"is {given!r} but the item path names {fields[field]!r}",
                field=f"metadata.{key}",
            )
    # The original clients send the part's stable layer here; pm's own tools sent the
    # asset layer. Both name one asset and part, and only those two paths are accepted.
    given = relative_path(context.project, request.asset_usd_path, "asset_usd_path")
    layers = ("part_layer", "asset_layer")
    if given not in {context.relative(layer, **_names(fields)) for layer in layers}:
        part_layer, asset_layer = (context.path(layer, **_names(fields)) for layer in layers)
        raise ValidationError(
            f"must be the part's layer {part_layer!r} (or the asset layer {asset_layer!r}) "
            "for this item path",
            field="asset_usd_path",
        )
    return fields


def _names(fields: dict[str, Any]) -> dict[str, Any]:
    keys = ("software", "artist", "scene", "asset", "part")
    return {k: fields[k] for k in keys}


def source_scene(session: Session, context: TaskContext, fields: dict[str, Any]) -> SourceScene:
    """The saved scene a part_data path's fields name; raises NotFound (field
    source_iteration) if that scene was never saved through pm."""
    row = session.execute(_SOURCE_SCENE, _scene_params(context, fields)).first()
    if row is None:
        raise _no_scene(context, fields)
    return SourceScene(*row)


def _scene_params(context: TaskContext, fields: dict[str, Any]) -> dict[str, Any]:
    folder = context.relative("scene_folder", **_names(fields))
    return {
        "b_project_id": context.project.id,
        "b_key": folder.casefold(),
        "b_version": fields["version"],
        "b_iteration": fields["iteration"],
    }


def _no_scene(context: TaskContext, fields: dict[str, Any]) -> NotFound:
    folder = context.relative("scene_folder", **_names(fields))
    return NotFound(
        f"no saved scene {fields['scene']} v{fields['version']:03d} "
        f"i{fields['iteration']:03d} in {folder}; save before publishing",
        field="source_iteration",
    )
