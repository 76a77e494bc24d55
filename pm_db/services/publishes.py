"""Part publishes: reserve -> (the caller writes the data layer) -> complete or fail.

Numbers follow the scene: a part published from `PinchIn_v003_i007.hip` is
`particles01_v003_i007.usd`. A part is published once per scene iteration; a retried
request returns the first record. `is_latest` changes in the same transaction as the
completion, and latest is the last completed publish of the part in database order.
The exact rules are in docs/versioning.md.

The hot path (record one publish) runs a handful of Core statements on the `publishes`
table rather than ORM units of work: a farm records thousands of these. On PostgreSQL a
new one-call publish is one call of the `pm_publish_new` function (migration 0002) instead;
everything else takes the same path on both databases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from pm_db import schemas
from pm_db.db import Database
from pm_db.errors import Conflict, NotFound, ValidationError
from pm_db.models import Artist, Part, Project, Publish, Scene, SceneStream, Task, utcnow
from pm_db.services import events
from pm_db.services.context import (
    TaskContext,
    load_context,
    relative_path,
    root_for,
    target_id,
)
from pm_db.versions import next_publish_seq, part_for

PUBLISHES = cast(Table, Publish.__table__)
Row = Mapping[Any, Any]

_INSERT = insert(PUBLISHES).returning(PUBLISHES.c.id)
_CLEAR_LATEST = (
    update(PUBLISHES)
    .where(PUBLISHES.c.part_id == bindparam("b_part_id"), PUBLISHES.c.is_latest.is_(True))
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
    prefix = root.rstrip("/")
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
        item_usd_path=f"{prefix}/{row['item_usd_path']}",
        part_usd_path=f"{prefix}/{row['part_usd_path']}",
        asset_usd_path=f"{prefix}/{row['asset_usd_path']}",
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


def _record(
    session: Session,
    context: TaskContext,
    scene: SourceScene,
    part: Any,
    metadata: dict[str, Any],
    request_id: str | None,
    status: str,
) -> tuple[Row, bool]:
    """(the publish row, created?) of `part` (locked by `part_for`, which took its next
    completion number if `status` is published) from `scene`: a new one in `status`
    (pending, or published and latest at once), or the first one of an equal request (a
    failed one re-opened for its retry). Raises Conflict."""
    publishing = status == "published"
    if request_id is not None:
        _check_request_id(session, request_id, part.id, scene)
    names = {
        "software": scene.software,
        "artist": scene.login,
        "scene": scene.name,
        "asset": part.asset_name,
        "part": part.name,
    }
    numbers = {"version": scene.version, "iteration": scene.iteration}
    values = {
        **_new_values(context, names, numbers, status, request_id, metadata),
        "part_id": part.id,
        "scene_id": scene.id,
        "created_by": scene.artist_id,
        "published_seq": part.publish_seq if publishing else None,
    }
    kind = "publish.published" if publishing else "publish.reserved"
    event = events.values(kind, "publish", None, scene.artist_id)
    publish_id, created = _insert_new(session, values, event)
    if not created:
        existing = _reload(session, publish_id)
        return _same_request(session, existing, metadata, request_id), False
    values["id"] = publish_id
    return values, True


def _new_values(
    context: TaskContext,
    names: dict[str, Any],
    numbers: dict[str, int],
    status: str,
    request_id: str | None,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """The column values of a new publish that come from the request and the templates
    (`names`: software, artist, scene, asset, part; `numbers`: version, iteration); the
    caller adds the scene's, the part's and the artist's ids and the completion number."""
    publishing = status == "published"
    now = utcnow()
    return {
        "publish_id": str(uuid.uuid4()),
        "request_id": request_id,
        "task_id": context.task.id,
        "target_type": context.target_type,
        "target_id": target_id(context.task),
        "software": names["software"],
        "asset_name": names["asset"],
        "part_name": names["part"],
        "item_usd_path": context.relative("part_data", **names, **numbers),
        "part_usd_path": context.relative("part_layer", **names),
        "asset_usd_path": context.relative("asset_layer", **names),
        "status": status,
        "is_latest": publishing,
        "attempts": 1,
        "error": None,
        "metadata": metadata,
        "created_at": now,
        "completed_at": now if publishing else None,
        **numbers,
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


def _insert_new(
    session: Session, values: dict[str, Any], event: dict[str, Any]
) -> tuple[int, bool]:
    """(new id, True) after inserting the publish `values` with its `event`, first clearing
    the part's latest if `values` makes a new latest; (existing id, False) if the part
    already has a publish of these numbers (nothing written then). The caller holds the
    part's row lock, so no other publish of the part can come between the check and the
    insert, and the clearing statement starts after the lock was taken: it sees every
    latest committed before."""
    numbers = {
        "b_part_id": values["part_id"],
        "b_version": values["version"],
        "b_iteration": values["iteration"],
    }
    existing_id = session.scalar(_EXISTING_ID, numbers)
    if existing_id is not None:
        return existing_id, False
    if values["is_latest"]:
        session.execute(_CLEAR_LATEST, {"b_part_id": values["part_id"]})
    new_id = session.execute(_INSERT, values).scalar_one()
    session.execute(events.INSERT, {**event, "entity_id": new_id})
    return new_id, True


_EXISTING_ID = select(PUBLISHES.c.id).where(
    PUBLISHES.c.part_id == bindparam("b_part_id"),
    PUBLISHES.c.version == bindparam("b_version"),
    PUBLISHES.c.iteration == bindparam("b_iteration"),
)


def _same_request(
    session: Session, existing: Row, metadata: dict[str, Any], request_id: str | None
) -> Row:
    """`existing` if the new request repeats it; raises Conflict otherwise."""
    label = (
        f"{existing['asset_name']}/{existing['part_name']} "
        f"v{existing['version']:03d} i{existing['iteration']:03d}"
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


def _complete(session: Session, row: Row) -> Row:
    """Mark a pending publish published and make it its part's latest, atomically."""
    if row["status"] == "published":
        return row
    if row["status"] != "pending":
        raise Conflict(f"publish {row['id']} is {row['status']}, not pending", field="status")
    done = _make_latest(session, row["part_id"])
    session.execute(update(PUBLISHES).where(PUBLISHES.c.id == row["id"]).values(done))
    events.record(session, "publish.completed", "publish", row["id"], row["created_by"])
    return {**row, **done}


def _make_latest(session: Session, part_id: int) -> dict[str, Any]:
    """Clear the part's latest and return the column values that make a publish its new
    latest: the next completion number, taken under the part's row lock."""
    seq = next_publish_seq(session, part_id)
    session.execute(_CLEAR_LATEST, {"b_part_id": part_id})
    return {
        "status": "published",
        "is_latest": True,
        "published_seq": seq,
        "completed_at": utcnow(),
    }


def _refresh_latest(session: Session, part_id: int) -> None:
    """Make the last completed, still published publish of a part its latest."""
    session.execute(
        update(PUBLISHES)
        .where(PUBLISHES.c.part_id == part_id, PUBLISHES.c.is_latest.is_(True))
        .values(is_latest=False)
    )
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


def reserve_publish(db: Database, data: object) -> schemas.PublishOut:
    """Reserve the numbers and paths of a part publish from a saved scene (status pending).
    Repeating the same request returns the same reservation. Raises ValidationError,
    NotFound, Conflict."""
    request = schemas.parse(schemas.ReserveRequest, data)

    def work(session: Session) -> schemas.PublishOut:
        scene = _scene_for(session, request.scene_id)
        context = load_context(session, scene.task_id)
        part = part_for(session, scene.stream_id, request.asset_name, request.part_name)
        row, _ = _record(
            session, context, scene, part, request.metadata, request.request_id, "pending"
        )
        return publish_out(row, context.root, scene.login)

    return db.write(work)


def complete_publish(db: Database, ref: int | str) -> schemas.PublishOut:
    """Mark a reserved publish published; it becomes its part's latest. Completing twice
    returns the same record. Raises NotFound, Conflict (failed or deprecated)."""

    def work(session: Session) -> schemas.PublishOut:
        return _out(session, _complete(session, _load(session, ref, lock=True)))

    return db.write(work)


def fail_publish(db: Database, ref: int | str, reason: str) -> schemas.PublishOut:
    """Mark a reserved publish failed with `reason`; latest is untouched. Raises NotFound,
    Conflict (already published or deprecated)."""

    def work(session: Session) -> schemas.PublishOut:
        row = _load(session, ref, lock=True)
        if row["status"] == "failed":
            return _out(session, row)
        if row["status"] != "pending":
            raise Conflict(f"publish {row['id']} is {row['status']}, not pending", "status")
        error = reason[:4000]
        session.execute(
            update(PUBLISHES)
            .where(PUBLISHES.c.id == row["id"])
            .values(status="failed", error=error)
        )
        events.record(
            session, "publish.failed", "publish", row["id"], row["created_by"], {"reason": error}
        )
        return _out(session, {**row, "status": "failed", "error": error})

    return db.write(work)


def deprecate_publish(db: Database, ref: int | str) -> schemas.PublishOut:
    """Withdraw a published version; the part's previous publish becomes latest again.
    Raises NotFound, Conflict (not published)."""

    def work(session: Session) -> schemas.PublishOut:
        row = _load(session, ref, lock=True)
        if row["status"] == "deprecated":
            return _out(session, row)
        if row["status"] != "published":
            raise Conflict(f"publish {row['id']} is {row['status']}, not published", "status")
        session.execute(select(Part.id).where(Part.id == row["part_id"]).with_for_update())
        session.execute(
            update(PUBLISHES)
            .where(PUBLISHES.c.id == row["id"])
            .values(status="deprecated", is_latest=False)
        )
        _refresh_latest(session, row["part_id"])
        events.record(session, "publish.deprecated", "publish", row["id"], row["created_by"])
        return _out(session, _reload(session, row["id"]))

    return db.write(work)


@dataclass(frozen=True)
class Checked:
    """A one-call publish request checked against its task's context: the template fields
    its item path names (check_publish_request)."""

    request: schemas.PublishIn
    context: TaskContext
    fields: dict[str, Any]


def check_request(session: Session, request: schemas.PublishIn) -> Checked:
    """`request` checked against its task's context; raises ValidationError, NotFound."""
    context = load_context(session, request.task_id)
    return Checked(request, context, check_publish_request(context, request))


def publish_part(db: Database, data: object, checked: Checked | None = None) -> schemas.PublishOut:
    """The seed's one-call publish: the caller computed the paths and wrote the file.

    pm checks that the paths are the templates' paths for the source scene's numbers and
    lie inside the project's roots, then records the publish (status published: latest
    flips; pending: a reservation). A retried request returns the first record. `checked`,
    the same request checked by the caller (check_request), saves checking it again.
    Raises ValidationError, NotFound, Conflict.
    """
    request = checked.request if checked else schemas.parse(schemas.PublishIn, data)
    if db.dialect == "postgresql":
        if checked is None:
            checked = db.read_one(lambda session: check_request(session, request))
        done = _publish_new_pg(db, checked)
        if done is not None:
            return done

    def work(session: Session) -> schemas.PublishOut:
        mine = checked or check_request(session, request)
        context, fields = mine.context, mine.fields
        scene = source_scene(session, context, fields)
        completing = request.status == "published"
        part = part_for(session, scene.stream_id, fields["asset"], fields["part"], completing)
        row, created = _record(
            session, context, scene, part, request.metadata, request.request_id, request.status
        )
        if not created and request.status == "published":
            row = _complete(session, row)
        return publish_out(row, context.root, scene.login)

    return db.write(work)


def _publish_new_pg(db: Database, checked: Checked) -> schemas.PublishOut | None:
    """publish_part's common case on PostgreSQL, a new publish, in one round trip after
    the request was checked against its task's context: the pm_publish_new function
    (migration 0002) as its own transaction, so the part's lock is held only while the
    server runs it. None when the function answers that the ordinary path must decide (a
    repeated request, a missing scene, another spelling); it then has written nothing but
    perhaps a gap in the part's completion numbers."""
    request, context, fields = checked.request, checked.context, checked.fields
    names = _names(fields)
    numbers = {"version": fields["version"], "iteration": fields["iteration"]}
    values = _new_values(
        context, names, numbers, request.status, request.request_id, request.metadata
    )
    params = {
        **_scene_params(context, fields),
        "p_software": fields["software"],
        "p_artist": fields["artist"],
        "p_scene": fields["scene"],
        "p_asset": fields["asset"],
        "p_part": fields["part"],
        "p_publishing": values["is_latest"],
        "p_host": events.HOST,
        **{f"p_{key}": values[key] for key in _FUNCTION_VALUES},
        "p_now": values["created_at"],
    }
    row = db.call(_PUBLISH_NEW, params)
    if row is not None and row.o_outcome == "exists":
        return _repeated(db, row.o_id, request)
    if row is None or row.o_outcome != "created":
        return None
    values.update(
        id=row.o_id,
        scene_id=row.o_scene_id,
        part_id=row.o_part_id,
        created_by=row.o_artist_id,
        published_seq=row.o_seq,
    )
    return publish_out(values, context.root, fields["artist"])


def _repeated(
    db: Database, publish_id: int, request: schemas.PublishIn
) -> schemas.PublishOut | None:
    """The first record of a repeated one-call publish when returning it changes nothing
    (same metadata and request id, and no completion, retry or refusal due); else None."""
    [row] = db.rows(_by_id(), {"b_id": publish_id})
    same_request = request.request_id is None or row.request_id in (None, request.request_id)
    settled = row.status == "published" or row.status == request.status == "pending"
    if same_request and row.metadata == request.metadata and settled:
        return _outs([row])[0]
    return None


@lru_cache(maxsize=1)
def _by_id() -> Any:
    return _listing().where(PUBLISHES.c.id == bindparam("b_id"))


_FUNCTION_VALUES = (
    "request_id",
    "publish_id",
    "task_id",
    "target_type",
    "target_id",
    "item_usd_path",
    "part_usd_path",
    "asset_usd_path",
    "metadata",
)
_PUBLISH_NEW = text(
    "SELECT * FROM pm_publish_new(:b_project_id, :b_key, :b_version, :b_iteration, "
    ":p_software, :p_artist, :p_scene, :p_asset, :p_part, :p_publishing, :p_request_id, "
    ":p_publish_id, :p_task_id, :p_target_type, :p_target_id, :p_item_usd_path, "
    ":p_part_usd_path, :p_asset_usd_path, :p_metadata, :p_host, :p_now)"
).bindparams(
    bindparam("p_metadata", type_=PUBLISHES.c.metadata.type),
    bindparam("p_now", type_=PUBLISHES.c.created_at.type),
)


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


def get_publish(db: Database, ref: int | str) -> schemas.PublishOut:
    """One publish by id or publish_id; raises NotFound."""
    return db.read(lambda session: _out(session, _load(session, ref)))


def _listing() -> Any:
    return (
        select(
            PUBLISHES,
            Project.code.label("project_code"),
            Project.root_linux,
            Project.root_windows,
            Project.root_mac,
            Artist.login,
        )
        .join(Task, Task.id == PUBLISHES.c.task_id)
        .join(Project, Project.id == Task.project_id)
        .join(Artist, Artist.id == PUBLISHES.c.created_by)
    )


def _outs(rows: Iterable[Any]) -> list[schemas.PublishOut]:
    """The output models of listing rows (see _listing)."""
    roots: dict[tuple[str, ...], str] = {}
    out = []
    for row in rows:
        key = (row.project_code, row.root_linux, row.root_windows, row.root_mac)
        root = roots.get(key)
        if root is None:
            root = roots[key] = root_for(_Roots(row))
        out.append(publish_out(row._mapping, root, row.login))
    return out


class _Roots:
    """A listing row seen as its project's roots (no ORM object per row)."""

    def __init__(self, row: Any) -> None:
        self.code: str = row.project_code
        self.root_linux: str | None = row.root_linux
        self.root_windows: str | None = row.root_windows
        self.root_mac: str | None = row.root_mac


def latest_per_part(
    db: Database, asset_name: str, project_id: int | None = None, task_id: int | None = None
) -> list[schemas.PublishOut]:
    """The latest publish of every part of an asset, in one query (the seed's
    `latest_per_part=1`). Pending, failed and deprecated publishes are never latest."""
    query = latest_query(project_id is not None, task_id is not None)
    params = {"b_asset_name": asset_name, "b_project_id": project_id, "b_task_id": task_id}
    return _outs(db.rows(query, params))


@lru_cache(maxsize=4)
def latest_query(by_project: bool = False, by_task: bool = False) -> Any:
    """The one set-based query behind latest_per_part (also shown by the benchmark), with
    the parameters b_asset_name, and b_project_id and b_task_id if filtered by them."""
    query = (
        _listing()
        .where(
            PUBLISHES.c.asset_name == bindparam("b_asset_name"),
            PUBLISHES.c.is_latest.is_(True),
        )
        .order_by(PUBLISHES.c.part_name, PUBLISHES.c.part_id)
    )
    if by_project:
        query = query.where(Task.project_id == bindparam("b_project_id"))
    if by_task:
        query = query.where(PUBLISHES.c.task_id == bindparam("b_task_id"))
    return query


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
    filters = (
        (PUBLISHES.c.asset_name, asset_name),
        (PUBLISHES.c.part_name, part_name),
        (PUBLISHES.c.task_id, task_id),
        (PUBLISHES.c.part_id, part_id),
        (PUBLISHES.c.scene_id, scene_id),
        (PUBLISHES.c.status, status),
    )

    def work(session: Session) -> list[schemas.PublishOut]:
        query = _listing().order_by(
            PUBLISHES.c.version.desc(), PUBLISHES.c.iteration.desc(), PUBLISHES.c.id.desc()
        )
        for column, value in filters:
            if value is not None:
                query = query.where(column == value)
        return _outs(session.execute(query.limit(limit).offset(offset)))

    return db.read(work)


def count_publishes(db: Database) -> int:
    """How many publish records exist, in any status."""
    return db.read(lambda s: s.scalar(select(func.count()).select_from(Publish)) or 0)
