"""Part publishes: reserve -> (the caller writes the data layer) -> complete or fail.

Numbers follow the scene: a part published from `PinchIn_v003_i007.hip` is
`particles01_v003_i007.usd`. A part is published once per scene iteration; a retried
request returns the first record. `is_latest` changes in the same transaction as the
completion, and latest is the last completed publish of the part in database order.
The exact rules are in docs/versioning.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pm_db import schemas
from pm_db.db import Database
from pm_db.errors import Conflict, NotFound, ValidationError
from pm_db.models import Artist, Part, Project, Publish, Scene, SceneStream, Task, utcnow
from pm_db.services import events
from pm_db.services.context import TaskContext, absolute_path, load_context, target_id
from pm_db.versions import next_publish_seq, part_for


def publish_out(publish: Publish, project: Project, login: str) -> schemas.PublishOut:
    return schemas.PublishOut(
        publish_id=publish.publish_id,
        id=publish.id,
        task_id=publish.task_id,
        target_type=publish.target_type,
        target_id=publish.target_id,
        software=publish.software,
        scene_id=publish.scene_id,
        part_id=publish.part_id,
        asset_name=publish.asset_name,
        part_name=publish.part_name,
        source_version=publish.version,
        source_iteration=publish.iteration,
        version=publish.version,
        iteration=publish.iteration,
        item_usd_path=absolute_path(project, publish.item_usd_path),
        part_usd_path=absolute_path(project, publish.part_usd_path),
        asset_usd_path=absolute_path(project, publish.asset_usd_path),
        status=publish.status,
        is_latest=publish.is_latest,
        metadata=publish.meta,
        created_by=login,
        created_at=publish.created_at,
        completed_at=publish.completed_at,
        error=publish.error,
    )


def _out(session: Session, publish: Publish) -> schemas.PublishOut:
    task = session.get(Task, publish.task_id)
    assert task is not None
    project = session.get(Project, task.project_id)
    artist = session.get(Artist, publish.created_by)
    assert project is not None and artist is not None
    return publish_out(publish, project, artist.login)


def _load_publish(session: Session, ref: int | str, lock: bool = False) -> Publish:
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        query = select(Publish).where(Publish.id == int(ref))
    else:
        query = select(Publish).where(Publish.publish_id == str(ref))
    if lock:
        query = query.with_for_update()
    publish = session.scalars(query).first()
    if publish is None:
        raise NotFound(f"no publish {ref!r}", field="publish_id")
    return publish


def _reserve(
    session: Session,
    context: TaskContext,
    scene: Scene,
    login: str,
    asset_name: str,
    part_name: str,
    metadata: dict[str, Any],
    request_id: str | None,
) -> Publish:
    """The pending publish of a part from `scene`: created, or the first one of an equal
    request (a failed one is re-opened for its retry). Raises Conflict."""
    names = {
        "software": scene.software,
        "artist": login,
        "scene": scene.name,
        "asset": asset_name,
        "part": part_name,
    }
    numbers = {"version": scene.version, "iteration": scene.iteration}
    part = part_for(session, scene.stream_id, asset_name, part_name)
    existing = session.scalars(
        select(Publish).where(
            Publish.part_id == part.id,
            Publish.version == scene.version,
            Publish.iteration == scene.iteration,
        )
    ).first()
    if existing is not None:
        return _same_request(session, existing, metadata, request_id)
    if request_id is not None:
        taken = session.scalar(select(Publish.id).where(Publish.request_id == request_id))
        if taken is not None:
            raise Conflict(f"already used by publish {taken} of another part", "request_id")
    publish = Publish(
        publish_id=str(uuid.uuid4()),
        request_id=request_id,
        part_id=part.id,
        scene_id=scene.id,
        task_id=context.task.id,
        target_type=context.target_type,
        target_id=target_id(context.task),
        software=scene.software,
        asset_name=asset_name,
        part_name=part_name,
        version=scene.version,
        iteration=scene.iteration,
        item_usd_path=context.relative("part_data", **names, **numbers),
        part_usd_path=context.relative("part_layer", **names),
        asset_usd_path=context.relative("asset_layer", **names),
        status="pending",
        is_latest=False,
        meta=metadata,
        created_by=scene.artist_id,
    )
    session.add(publish)
    session.flush()
    events.record(
        session,
        "publish.reserved",
        "publish",
        publish.id,
        scene.artist_id,
        {"path": publish.item_usd_path},
    )
    return publish


def _same_request(
    session: Session, existing: Publish, metadata: dict[str, Any], request_id: str | None
) -> Publish:
    """`existing` if the new request repeats it; raises Conflict otherwise."""
    numbers = f"v{existing.version:03d} i{existing.iteration:03d}"
    if request_id is not None and existing.request_id not in (None, request_id):
        raise Conflict(
            f"{existing.asset_name}/{existing.part_name} {numbers} was published by another "
            "request; save a new iteration to publish again",
            field="request_id",
        )
    if metadata != existing.meta:
        raise Conflict(
            f"{existing.asset_name}/{existing.part_name} was already published from {numbers} "
            "with other metadata; save a new iteration to publish again",
            field="metadata",
        )
    if existing.status == "deprecated":
        raise Conflict(f"publish {existing.id} was deprecated; save a new iteration", "status")
    if existing.status == "failed":
        existing.status = "pending"
        existing.error = None
        existing.attempts += 1
        events.record(session, "publish.retried", "publish", existing.id, existing.created_by)
    return existing


def _complete(session: Session, publish: Publish) -> Publish:
    """Mark a pending publish published and make it the part's latest, atomically."""
    if publish.status == "published":
        return publish
    if publish.status != "pending":
        raise Conflict(f"publish {publish.id} is {publish.status}, not pending", "status")
    part = session.scalars(select(Part).where(Part.id == publish.part_id).with_for_update()).one()
    publish.published_seq = next_publish_seq(session, part)
    session.execute(
        update(Publish)
        .where(Publish.part_id == publish.part_id, Publish.is_latest.is_(True))
        .values(is_latest=False)
    )
    publish.status = "published"
    publish.is_latest = True
    publish.completed_at = utcnow()
    session.flush()
    events.record(session, "publish.completed", "publish", publish.id, publish.created_by)
    return publish


def _refresh_latest(session: Session, part_id: int) -> None:
    """Make the last completed, still published publish of a part its latest."""
    session.execute(
        update(Publish)
        .where(Publish.part_id == part_id, Publish.is_latest.is_(True))
        .values(is_latest=False)
    )
    newest = session.scalar(
        select(Publish.id)
        .where(Publish.part_id == part_id, Publish.status == "published")
        .order_by(Publish.published_seq.desc())
        .limit(1)
    )
    if newest is not None:
        session.execute(update(Publish).where(Publish.id == newest).values(is_latest=True))


def _scene_for(session: Session, scene_id: int) -> tuple[Scene, str]:
    row = session.execute(
        select(Scene, Artist.login)
        .join(Artist, Artist.id == Scene.artist_id)
        .where(Scene.id == scene_id)
    ).first()
    if row is None:
        raise NotFound(f"no scene with id {scene_id}", field="scene_id")
    return row[0], row[1]


def reserve_publish(db: Database, data: object) -> schemas.PublishOut:
    """Reserve the numbers and paths of a part publish from a saved scene (status pending).
    Repeating the same request returns the same reservation. Raises ValidationError,
    NotFound, Conflict."""
    request = schemas.parse(schemas.ReserveRequest, data)

    def work(session: Session) -> schemas.PublishOut:
        scene, login = _scene_for(session, request.scene_id)
        context = load_context(session, scene.task_id)
        publish = _reserve(
            session,
            context,
            scene,
            login,
            request.asset_name,
            request.part_name,
            request.metadata,
            request.request_id,
        )
        return _out(session, publish)

    return db.write(work)


def complete_publish(db: Database, ref: int | str) -> schemas.PublishOut:
    """Mark a reserved publish published; it becomes its part's latest. Completing twice
    returns the same record. Raises NotFound, Conflict (failed or deprecated)."""

    def work(session: Session) -> schemas.PublishOut:
        return _out(session, _complete(session, _load_publish(session, ref, lock=True)))

    return db.write(work)


def fail_publish(db: Database, ref: int | str, reason: str) -> schemas.PublishOut:
    """Mark a reserved publish failed with `reason`; latest is untouched. Raises NotFound,
    Conflict (already published or deprecated)."""

    def work(session: Session) -> schemas.PublishOut:
        publish = _load_publish(session, ref, lock=True)
        if publish.status == "failed":
            return _out(session, publish)
        if publish.status != "pending":
            raise Conflict(f"publish {publish.id} is {publish.status}, not pending", "status")
        publish.status = "failed"
        publish.error = reason[:4000]
        session.flush()
        events.record(
            session,
            "publish.failed",
            "publish",
            publish.id,
            publish.created_by,
            {"reason": publish.error},
        )
        return _out(session, publish)

    return db.write(work)


def deprecate_publish(db: Database, ref: int | str) -> schemas.PublishOut:
    """Withdraw a published version; the part's previous publish becomes latest again.
    Raises NotFound, Conflict (not published)."""

    def work(session: Session) -> schemas.PublishOut:
        publish = _load_publish(session, ref, lock=True)
        if publish.status == "deprecated":
            return _out(session, publish)
        if publish.status != "published":
            raise Conflict(f"publish {publish.id} is {publish.status}, not published", "status")
        session.scalars(select(Part).where(Part.id == publish.part_id).with_for_update()).one()
        publish.status = "deprecated"
        publish.is_latest = False
        session.flush()
        _refresh_latest(session, publish.part_id)
        events.record(session, "publish.deprecated", "publish", publish.id, publish.created_by)
        session.refresh(publish)
        return _out(session, publish)

    return db.write(work)


def publish_part(db: Database, data: object) -> schemas.PublishOut:
    """The seed's one-call publish: the caller computed the paths and wrote the file.

    pm checks that the paths are the templates' paths for the source scene's numbers and
    lie inside the project's roots, then records the publish (status published: latest
    flips; pending: a reservation). A retried request returns the first record.
    Raises ValidationError, NotFound, Conflict.
    """
    request = schemas.parse(schemas.PublishIn, data)

    def work(session: Session) -> schemas.PublishOut:
        context = load_context(session, request.task_id)
        _check_target(context, request)
        fields = context.parse("part_data", request.item_usd_path, "item_usd_path")
        _check_request_fields(request, fields)
        expected_asset = context.path("asset_layer", **_names(fields))
        if request.asset_usd_path != expected_asset:
            raise ValidationError(
                f"must be {expected_asset!r} for this item path", field="asset_usd_path"
            )
        scene, login = _source_scene(session, context, fields)
        publish = _reserve(
            session,
            context,
            scene,
            login,
            fields["asset"],
            fields["part"],
            request.metadata,
            request.request_id,
        )
        if request.status == "published":
            _complete(session, publish)
        return _out(session, publish)

    return db.write(work)


def _names(fields: dict[str, Any]) -> dict[str, Any]:
    keys = ("software", "artist", "scene", "asset", "part")
    return {k: fields[k] for k in keys}


def _check_target(context: TaskContext, request: schemas.PublishIn) -> None:
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


def _check_request_fields(request: schemas.PublishIn, fields: dict[str, Any]) -> None:
    if fields["software"] != request.software:
        raise ValidationError(
            f"names software {fields['software']!r}, the request {request.software!r}",
            field="item_usd_path",
        )
    numbers = (fields["version"], fields["iteration"])
    if numbers != (request.source_version, request.source_iteration):
        raise ValidationError(
            f"names v{numbers[0]:03d} i{numbers[1]:03d} but the source scene is "
            f"v{request.source_version:03d} i{request.source_iteration:03d}",
            field="item_usd_path",
        )
    for key, field in (("asset_name", "asset"), ("part_name", "part")):
        given = request.metadata.get(key)
        if given is not None and given != fields[field]:
            raise ValidationError(
                f"is {given!r} but the item path names {fields[field]!r}",
                field=f"metadata.{key}",
            )


def _source_scene(
    session: Session, context: TaskContext, fields: dict[str, Any]
) -> tuple[Scene, str]:
    folder = context.relative("scene_folder", **_names(fields))
    row = session.execute(
        select(Scene, Artist.login)
        .join(SceneStream, SceneStream.id == Scene.stream_id)
        .join(Artist, Artist.id == Scene.artist_id)
        .where(
            SceneStream.project_id == context.project.id,
            SceneStream.key == folder.casefold(),
            Scene.version == fields["version"],
            Scene.iteration == fields["iteration"],
        )
    ).first()
    if row is None:
        raise NotFound(
            f"no saved scene {fields['scene']} v{fields['version']:03d} "
            f"i{fields['iteration']:03d} in {folder}; save before publishing",
            field="source_iteration",
        )
    return row[0], row[1]


def get_publish(db: Database, ref: int | str) -> schemas.PublishOut:
    """One publish by id or publish_id; raises NotFound."""
    return db.read(lambda session: _out(session, _load_publish(session, ref)))


def _listing() -> Any:
    return (
        select(Publish, Project, Artist.login)
        .join(Task, Task.id == Publish.task_id)
        .join(Project, Project.id == Task.project_id)
        .join(Artist, Artist.id == Publish.created_by)
    )


def latest_per_part(
    db: Database, asset_name: str, project_id: int | None = None, task_id: int | None = None
) -> list[schemas.PublishOut]:
    """The latest publish of every part of an asset, in one query (the seed's
    `latest_per_part=1`). Pending, failed and deprecated publishes are never latest."""

    def work(session: Session) -> list[schemas.PublishOut]:
        query = (
            _listing()
            .where(Publish.asset_name == asset_name, Publish.is_latest.is_(True))
            .order_by(Publish.part_name, Publish.part_id)
        )
        if project_id is not None:
            query = query.where(Task.project_id == project_id)
        if task_id is not None:
            query = query.where(Publish.task_id == task_id)
        return [publish_out(p, project, login) for p, project, login in session.execute(query)]

    return db.read(work)


def list_publishes(
    db: Database,
    asset_name: str | None = None,
    part_name: str | None = None,
    task_id: int | None = None,
    part_id: int | None = None,
    scene_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[schemas.PublishOut]:
    """Publishes newest first (version history), filtered by asset, part, task, status."""
    if status is not None and status not in schemas.PUBLISH_STATUSES:
        raise ValidationError(f"must be one of {', '.join(schemas.PUBLISH_STATUSES)}", "status")
    if not 1 <= limit <= 10_000 or offset < 0:
        raise ValidationError("must be 1 to 10000 (offset 0 or more)", field="limit")

    def work(session: Session) -> list[schemas.PublishOut]:
        query = _listing().order_by(
            Publish.version.desc(), Publish.iteration.desc(), Publish.id.desc()
        )
        filters = (
            (Publish.asset_name, asset_name),
            (Publish.part_name, part_name),
            (Publish.task_id, task_id),
            (Publish.part_id, part_id),
            (Publish.scene_id, scene_id),
            (Publish.status, status),
        )
        for column, value in filters:
            if value is not None:
                query = query.where(column == value)
        rows = session.execute(query.limit(limit).offset(offset))
        return [publish_out(p, project, login) for p, project, login in rows]

    return db.read(work)


def count_publishes(db: Database) -> int:
    """How many publish records exist, in any status."""
    return db.read(lambda s: s.scalar(select(func.count()).select_from(Publish)) or 0)
