"""Parts of an asset: pin to a chosen publish, unpin, withdraw from the asset, restore.

A pinned part's layer points at the pinned publish instead of its latest, until unpinned
(a pin counts only while that publish is still published). A withdrawn part leaves its
asset layer; its publishes, its part layer and its pin stay, and restore brings it back.
Each change and the rewrite of the asset's layers happen in one transaction under the
asset's layer lock: if a layer cannot be written (read-only file), the database is left
unchanged and so are the layers.

A part is named by its id or as `ASSET/PART` (any case), with `project` to narrow it; a
name that matches parts in several scene folders is refused with their ids.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Annotated

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pm_db import schemas
from pm_db.db import Database
from pm_db.errors import Conflict, NotFound, ValidationError
from pm_db.models import Part, PartPin, Project, Publish, SceneStream
from pm_db.names import check_name
from pm_db.numbers import label as numbers_label
from pm_db.services import events, resolution
from pm_db.services.context import absolute_path
from pm_db.services.scenes import artist_by_login


class PublishRef(BaseModel):
    """A publish as a part refers to it."""

    id: int
    uuid: str
    """The publish's uuid, as the publish itself gives it (its `publish_id` is its id)."""
    version: int
    iteration: int
    status: str
    data_layer: str | None = None
    missing: bool = False
    """The data layer is not on disk (checked on the machine that answered)."""


class PartOut(BaseModel):
    """A part: where it lives, what its layer points at, pinned or withdrawn."""

    id: int
    project: str
    asset_name: str
    part_name: str
    folder: str
    withdrawn: bool
    pinned: PublishRef | None
    latest: PublishRef | None
    resolved: PublishRef | None
    part_usd_path: str | None
    asset_usd_path: str | None


PartKey = Annotated[str, Field(min_length=1, max_length=200)] | Annotated[int, Field(ge=1)]


class PartRequest(schemas.In):
    """Names one part, and who asks."""

    part: PartKey
    project: schemas.Name | None = None
    artist: schemas.Login | None = None


class PinRequest(PartRequest):
    """Pin a part to a publish (id or publish_id), or to a version (and iteration)."""

    publish: Annotated[str, Field(min_length=1, max_length=64)] | int | None = None
    version: schemas.Number | None = None
    iteration: schemas.Number | None = None


def _find(session: Session, ref: str | int, project: str | None) -> Part:
    """The part `ref` names; raises ValidationError, NotFound, Conflict (ambiguous)."""
    if isinstance(ref, int) or ref.isdigit():
        by_id = session.get(Part, int(ref))
        if by_id is None:
            raise NotFound(f"no part with id {ref}", field="part")
        return by_id
    if ref.count("/") != 1:
        raise ValidationError(f"must be a part id or ASSET/PART, got {ref!r}", field="part")
    asset_name, part_name = (check_name(name, "part") for name in ref.split("/"))
    query = (
        select(Part, SceneStream.folder)
        .join(SceneStream, SceneStream.id == Part.stream_id)
        .where(
            func.lower(Part.asset_name) == asset_name.lower(),
            func.lower(Part.name) == part_name.lower(),
        )
        .order_by(Part.id)
    )
    if project is not None:
        query = query.join(Project, Project.id == SceneStream.project_id).where(
            func.lower(Project.code) == project.lower()
        )
    rows = session.execute(query).all()
    if not rows:
        raise NotFound(f"no part {asset_name}/{part_name}", field="part")
    if len(rows) > 1:
        places = "; ".join(f"id {part.id} in {folder}" for part, folder in rows)
        raise Conflict(f"{ref} names {len(rows)} parts ({places}); give the part id", "part")
    part: Part = rows[0][0]
    return part


def _ref(publish: Publish | None, project: Project | None = None) -> PublishRef | None:
    if publish is None:
        return None
    path = absolute_path(project, publish.item_usd_path) if project is not None else None
    return PublishRef(
        id=publish.id,
        uuid=publish.publish_id,
        version=publish.version,
        iteration=publish.iteration,
        status=publish.status,
        data_layer=path,
        missing=path is not None and not os.path.isfile(path),
    )


def _outs(session: Session, parts: list[Part]) -> list[PartOut]:
    """Parts as output, in four queries whatever their number."""
    if not parts:
        return []
    ids = [p.id for p in parts]
    places = {
        stream_id: (project, folder)
        for stream_id, project, folder in session.execute(
            select(SceneStream.id, Project, SceneStream.folder)
            .join(Project, Project.id == SceneStream.project_id)
            .where(SceneStream.id.in_({p.stream_id for p in parts}))
        )
    }
    pins: dict[int, Publish] = {
        part_id: publish
        for part_id, publish in session.execute(
            select(PartPin.part_id, Publish)
            .join(Publish, Publish.id == PartPin.publish_id)
            .where(PartPin.part_id.in_(ids))
        )
    }
    chosen = {
        part_id: (latest_id, resolved_id, newest_id)
        for part_id, latest_id, resolved_id, newest_id in session.execute(
            select(
                Part.id,
                resolution.latest_id(Part.id),
                resolution.resolved_id(Part.id),
                resolution.newest_completion_id(Part.id),
            ).where(Part.id.in_(ids))
        )
    }
    wanted = {publish_id for ids_of in chosen.values() for publish_id in ids_of if publish_id}
    by_id = {p.id: p for p in session.scalars(select(Publish).where(Publish.id.in_(wanted)))}
    result = []
    for part in parts:
        project, folder = places[part.stream_id]
        pin = pins.get(part.id)
        latest_id, resolved_id, newest_id = chosen[part.id]
        paths = by_id.get(newest_id) if newest_id else None
        result.append(
            PartOut(
                id=part.id,
                project=project.code,
                asset_name=part.asset_name,
                part_name=part.name,
                folder=folder,
                withdrawn=part.withdrawn,
                pinned=_ref(pin, project),
                latest=_ref(by_id.get(latest_id) if latest_id else None, project),
                resolved=_ref(by_id.get(resolved_id) if resolved_id else None, project),
                part_usd_path=absolute_path(project, paths.part_usd_path) if paths else None,
                asset_usd_path=absolute_path(project, paths.asset_usd_path) if paths else None,
            )
        )
    return result


def get_part(db: Database, ref: str | int, project: str | None = None) -> PartOut:
    """One part by id or ASSET/PART; raises ValidationError, NotFound, Conflict."""
    request = schemas.parse(PartRequest, {"part": ref, "project": project})
    return db.read(lambda s: _outs(s, [_find(s, request.part, request.project)])[0])


def list_parts(
    db: Database, asset_name: str | None = None, project: str | None = None
) -> list[PartOut]:
    """Every part (of one asset name, any case; of one project), by asset, part, id."""

    def work(session: Session) -> list[PartOut]:
        query = (
            select(Part)
            .join(SceneStream, SceneStream.id == Part.stream_id)
            .join(Project, Project.id == SceneStream.project_id)
            .order_by(Part.asset_name, Part.name, Part.id)
        )
        if asset_name is not None:
            query = query.where(func.lower(Part.asset_name) == asset_name.lower())
        if project is not None:
            query = query.where(func.lower(Project.code) == project.lower())
        return _outs(session, list(session.scalars(query)))

    return db.read(work)


Change = Callable[[Session, Part, int | None], str | None]


def _change(db: Database, request: PartRequest, change: Change) -> PartOut:
    """Apply `change` (which returns the event kind, or None if nothing changed) and
    rewrite the asset's layers, in one transaction under the asset's layer lock."""
    from pm_db.usd import layers
    from pm_db.usd.state import AssetKey, asset_state

    def work(session: Session) -> PartOut:
        found = _find(session, request.part, request.project)
        artist_id = artist_by_login(session, request.artist).id if request.artist else None
        key = AssetKey(found.stream_id, found.asset_name)
        layers.lock(session, key)
        part = session.scalars(
            select(Part)
            .where(Part.id == found.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        kind = change(session, part, artist_id)
        session.flush()
        if kind is not None:
            events.record(session, kind, "part", part.id, artist_id, _payload(session, part))
        state = asset_state(session, key)
        if state is not None:
            layers.write(state)
        return _outs(session, [part])[0]

    return db.write(work)


def _payload(session: Session, part: Part) -> dict[str, object]:
    pin = session.get(PartPin, part.id)
    payload: dict[str, object] = {"asset": part.asset_name, "part": part.name}
    if pin is not None:
        payload["publish_id"] = pin.publish_id
    return payload


def pin_part(db: Database, data: object) -> PartOut:
    """Hold a part at a chosen published version: `publish` (id or publish_id), or
    `version` (with `iteration`; without, the newest published iteration of that version).
    Raises ValidationError, NotFound (no such version), Conflict (not published),
    PermissionDenied (read-only layer; nothing changes)."""
    request = schemas.parse(PinRequest, data)
    if (request.publish is None) == (request.version is None):
        raise ValidationError("give either a publish or a version to pin to", field="version")
    if request.iteration is not None and request.version is None:
        raise ValidationError("needs a version", field="iteration")

    def change(session: Session, part: Part, artist_id: int | None) -> str | None:
        target = _pin_target(session, part, request)
        _check_data_layer(session, part, target, "publish" if request.publish else "version")
        pin = session.get(PartPin, part.id)
        if pin is not None and pin.publish_id == target.id:
            return None
        if pin is None:
            session.add(PartPin(part_id=part.id, publish_id=target.id, pinned_by=artist_id))
        else:
            pin.publish_id = target.id
            pin.pinned_by = artist_id
        return "part.pinned"

    return _change(db, request, change)


def _pin_target(session: Session, part: Part, request: PinRequest) -> Publish:
    """The published publish a pin request names; raises ValidationError, NotFound,
    Conflict."""
    label = f"{part.asset_name}/{part.name}"
    if request.publish is not None:
        ref = str(request.publish)
        match = Publish.id == int(ref) if ref.isdigit() else Publish.publish_id == ref
        target = session.scalars(select(Publish).where(match)).first()
        if target is None:
            raise NotFound(f"no publish {ref!r}", field="publish")
        if target.part_id != part.id:
            raise ValidationError(
                f"publish {ref} is of {target.asset_name}/{target.part_name}, not {label}",
                field="publish",
            )
        if target.status != "published":
            raise Conflict(f"publish {ref} is {target.status}; pin a published one", "publish")
        return target
    query = (
        select(Publish)
        .where(Publish.part_id == part.id, Publish.version == request.version)
        .order_by(Publish.iteration.desc())
    )
    if request.iteration is not None:
        query = query.where(Publish.iteration == request.iteration)
    candidates = list(session.scalars(query))
    wanted = f"v{request.version:03d}"
    if request.iteration is not None:
        wanted += f" i{request.iteration:03d}"
    if not candidates:
        raise NotFound(f"{label} has no publish {wanted}; {_published(session, part)}", "version")
    for candidate in candidates:
        if candidate.status == "published":
            return candidate
    statuses = ", ".join(f"i{c.iteration:03d} {c.status}" for c in candidates)
    raise Conflict(
        f"{label} {wanted} is not published ({statuses}); pin a published one", "version"
    )


def _check_data_layer(session: Session, part: Part, target: Publish, field: str) -> None:
    """Refuse to pin a version whose data layer is not on disk (the part layer would
    point at nothing); raises Conflict naming `field`."""
    project = session.scalars(
        select(Project)
        .join(SceneStream, SceneStream.project_id == Project.id)
        .where(SceneStream.id == part.stream_id)
    ).one()
    path = absolute_path(project, target.item_usd_path)
    if not os.path.isfile(path):
        raise Conflict(
            f"{part.asset_name}/{part.name} {numbers_label(target.version, target.iteration)}: "
            f"its data layer {path} is missing; restore the file, or pin another version",
            field=field,
        )


def _published(session: Session, part: Part) -> str:
    """The published versions of a part, for an error message."""
    numbers = session.execute(
        select(Publish.version, Publish.iteration)
        .where(Publish.part_id == part.id, Publish.status == "published")
        .order_by(Publish.version, Publish.iteration)
    ).all()
    if not numbers:
        return "it has no published version"
    return "published: " + ", ".join(f"{numbers_label(v, i)}" for v, i in numbers)


def unpin_part(db: Database, data: object) -> PartOut:
    """Let a part follow its latest publish again (unpinned already: no change).
    Raises ValidationError, NotFound, Conflict, PermissionDenied."""
    request = schemas.parse(PartRequest, data)

    def change(session: Session, part: Part, artist_id: int | None) -> str | None:
        pin = session.get(PartPin, part.id)
        if pin is None:
            return None
        session.delete(pin)
        return "part.unpinned"

    return _change(db, request, change)


def withdraw_part(db: Database, data: object) -> PartOut:
    """Take a part out of its asset layer; its history stays and `restore_part` brings it
    back. Raises ValidationError, NotFound, Conflict, PermissionDenied."""
    return _set_withdrawn(db, data, True)


def restore_part(db: Database, data: object) -> PartOut:
    """Put a withdrawn part back into its asset layer. Raises ValidationError, NotFound,
    Conflict, PermissionDenied."""
    return _set_withdrawn(db, data, False)


def _set_withdrawn(db: Database, data: object, withdrawn: bool) -> PartOut:
    request = schemas.parse(PartRequest, data)

    def change(session: Session, part: Part, artist_id: int | None) -> str | None:
        if part.withdrawn == withdrawn:
            return None
        part.withdrawn = withdrawn
        return "part.withdrawn" if withdrawn else "part.restored"

    return _change(db, request, change)
