"""Create, get, list, update and delete the studio's entities: projects, sequences, shots,
assets, artists and tasks. One generic implementation, described per kind by `KINDS`;
each function returns the kind's output model (e.g. `schemas.ProjectOut`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pm_db import schemas
from pm_db.db import Database
from pm_db.errors import Conflict, NotFound, ValidationError
from pm_db.models import Artist, Asset, Base, Project, Sequence, Shot, Task
from pm_db.services import events


@dataclass(frozen=True)
class Kind:
    """How one entity kind is stored, validated and shown."""

    name: str
    model: type[Base]
    create_schema: type[schemas.In]
    update_schema: type[schemas.In]
    out_schema: type[schemas.Out]
    parents: dict[str, type[Base]] = field(default_factory=dict)
    filters: tuple[str, ...] = ()
    lookup: str = "code"


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("project", Project, schemas.ProjectIn, schemas.ProjectUpdate, schemas.ProjectOut),
        Kind(
            "sequence",
            Sequence,
            schemas.SequenceIn,
            schemas.SequenceUpdate,
            schemas.SequenceOut,
            parents={"project_id": Project},
            filters=("project_id",),
        ),
        Kind(
            "shot",
            Shot,
            schemas.ShotIn,
            schemas.ShotUpdate,
            schemas.ShotOut,
            parents={"sequence_id": Sequence},
            filters=("sequence_id",),
        ),
        Kind(
            "asset",
            Asset,
            schemas.AssetIn,
            schemas.AssetUpdate,
            schemas.AssetOut,
            parents={"project_id": Project},
            filters=("project_id", "asset_type"),
        ),
        Kind(
            "artist",
            Artist,
            schemas.ArtistIn,
            schemas.ArtistUpdate,
            schemas.ArtistOut,
            filters=("active",),
            lookup="login",
        ),
        Kind(
            "task",
            Task,
            schemas.TaskIn,
            schemas.TaskUpdate,
            schemas.TaskOut,
            parents={"artist_id": Artist},
            filters=("project_id", "shot_id", "asset_id", "artist_id", "status", "step"),
            lookup="name",
        ),
    )
}


def kind_of(name: str) -> Kind:
    """The Kind called `name`; raises ValidationError for an unknown kind."""
    if name not in KINDS:
        raise ValidationError(f"unknown kind (known: {', '.join(KINDS)})", field="kind")
    return KINDS[name]


def _load(session: Session, model: type[Base], ident: int, field: str) -> Any:
    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"no {model.__tablename__[:-1]} with id {ident}", field=field)
    return row


def _task_out(task: Task) -> schemas.TaskOut:
    target_type, target_id = ("shot", task.shot_id) if task.shot_id else ("asset", task.asset_id)
    return schemas.TaskOut(
        id=task.id,
        project_id=task.project_id,
        target_type=target_type,
        target_id=target_id or 0,
        step=task.step,
        name=task.name,
        artist_id=task.artist_id,
        status=task.status,
        created_at=task.created_at,
    )


def to_out(kind: Kind, row: Any) -> schemas.Out:
    """The output model of a stored row."""
    if kind.name == "task":
        return _task_out(row)
    return kind.out_schema.model_validate(row)


def _task_values(session: Session, data: schemas.TaskIn) -> dict[str, Any]:
    target_model = Shot if data.target_type == "shot" else Asset
    target = _load(session, target_model, data.target_id, "target_id")
    if isinstance(target, Shot):
        project_id = _load(session, Sequence, target.sequence_id, "target_id").project_id
    else:
        project_id = target.project_id
    values = data.model_dump(exclude={"target_type", "target_id"})
    values["name"] = data.name or data.step
    values["project_id"] = project_id
    values[f"{data.target_type}_id"] = data.target_id
    return values


def _check_parents(session: Session, kind: Kind, values: dict[str, Any]) -> None:
    for key, model in kind.parents.items():
        if values.get(key) is not None:
            _load(session, model, values[key], key)


def _integrity(kind: Kind, exc: IntegrityError) -> Exception:
    message = str(exc.orig).lower()
    if "unique" in message or "duplicate" in message:
        return Conflict(f"a {kind.name} with this {kind.lookup} already exists", kind.lookup)
    if "foreign key" in message:
        return Conflict(f"the {kind.name} is still referred to by other records", "id")
    return ValidationError(f"breaks a rule of the {kind.name} table: {exc.orig}", kind.name)


def _flush(session: Session, kind: Kind) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise _integrity(kind, exc) from None


def _check_unique(session: Session, kind: Kind, values: dict[str, Any], row_id: int = 0) -> None:
    """Refuse a code that differs only in case from an existing one, with a clear field."""
    if kind.lookup not in values or values[kind.lookup] is None:
        return
    column = getattr(kind.model, kind.lookup)
    query = select(kind.model.id).where(  # type: ignore[attr-defined]
        func.lower(column) == values[kind.lookup].lower(),
        kind.model.id != row_id,  # type: ignore[attr-defined]
    )
    for scope in ("project_id", "sequence_id", "shot_id", "asset_id"):
        if scope in values and hasattr(kind.model, scope):
            query = query.where(getattr(kind.model, scope) == values[scope])
    existing = session.scalar(query.limit(1))
    if existing is not None:
        raise Conflict(
            f"a {kind.name} {values[kind.lookup]!r} already exists (id {existing}); "
            "names are unique whatever their case",
            field=kind.lookup,
        )


def create(db: Database, kind_name: str, data: object) -> Any:
    """Create one entity from `data`. Raises ValidationError, NotFound (a parent), Conflict."""
    kind = kind_of(kind_name)
    payload = schemas.parse(kind.create_schema, data)

    def work(session: Session) -> schemas.Out:
        if isinstance(payload, schemas.TaskIn):
            values = _task_values(session, payload)
        else:
            values = payload.model_dump()
        if isinstance(payload, schemas.ProjectIn) and not any(
            values[f"root_{p}"] for p in ("linux", "windows", "mac")
        ):
            raise ValidationError("a project needs at least one root", field="root_linux")
        if isinstance(payload, schemas.ShotIn) and payload.frame_end < payload.frame_start:
            raise ValidationError("must not be before frame_start", field="frame_end")
        _check_parents(session, kind, values)
        _check_unique(session, kind, values)
        row: Any = kind.model(**values)
        session.add(row)
        _flush(session, kind)
        events.record(
            session, f"{kind.name}.created", kind.name, row.id, payload={"values": _plain(values)}
        )
        return to_out(kind, row)

    return db.write(work)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if isinstance(v, str | int | bool | dict | None)}


def get(db: Database, kind_name: str, ident: int) -> Any:
    """One entity by id; raises NotFound."""
    kind = kind_of(kind_name)
    return db.read(lambda session: to_out(kind, _load(session, kind.model, ident, "id")))


def find(db: Database, kind_name: str, key: str, **scope: int) -> Any:
    """One entity by its code (login for artists, name for tasks), case-insensitively,
    within `scope` (e.g. project_id=1); raises NotFound naming the field."""
    kind = kind_of(kind_name)

    def work(session: Session) -> schemas.Out:
        column = getattr(kind.model, kind.lookup)
        query = select(kind.model).where(func.lower(column) == key.strip().lower())
        for name, value in scope.items():
            query = query.where(getattr(kind.model, name) == value)
        row = session.scalars(query.limit(1)).first()
        if row is None:
            where = "".join(f", {k}={v}" for k, v in scope.items())
            raise NotFound(f"no {kind.name} {key!r}{where}", field=kind.lookup)
        return to_out(kind, row)

    return db.read(work)


def list_(
    db: Database, kind_name: str, limit: int = 1000, offset: int = 0, **filters: Any
) -> list[Any]:
    """Entities of one kind in id order, filtered by the kind's filter fields."""
    kind = kind_of(kind_name)
    unknown = set(filters) - set(kind.filters)
    if unknown:
        raise ValidationError(f"cannot filter {kind.name}s by this", field=sorted(unknown)[0])
    if not 1 <= limit <= 100_000 or offset < 0:
        raise ValidationError("must be 1 to 100000 (offset 0 or more)", field="limit")

    def work(session: Session) -> list[schemas.Out]:
        query = select(kind.model).order_by(kind.model.__table__.c.id)
        for name, value in filters.items():
            if value is not None:
                query = query.where(getattr(kind.model, name) == value)
        rows = session.scalars(query.limit(limit).offset(offset))
        return [to_out(kind, row) for row in rows]

    return db.read(work)


def update(db: Database, kind_name: str, ident: int, data: object) -> Any:
    """Change the given fields of one entity; raises ValidationError, NotFound, Conflict."""
    kind = kind_of(kind_name)
    payload = schemas.parse(kind.update_schema, data)
    values = payload.model_dump(exclude_unset=True)

    def work(session: Session) -> schemas.Out:
        row = _load(session, kind.model, ident, "id")
        _check_parents(session, kind, values)
        scope = {k: getattr(row, k) for k in ("project_id", "sequence_id") if hasattr(row, k)}
        _check_unique(session, kind, {**scope, **values}, row_id=ident)
        for name, value in values.items():
            setattr(row, name, value)
        if isinstance(row, Shot) and row.frame_end < row.frame_start:
            raise ValidationError("must not be before frame_start", field="frame_end")
        _flush(session, kind)
        events.record(
            session, f"{kind.name}.updated", kind.name, ident, payload={"values": _plain(values)}
        )
        return to_out(kind, row)

    return db.write(work)


def delete(db: Database, kind_name: str, ident: int) -> None:
    """Delete one entity that nothing refers to; raises NotFound, Conflict (still used)."""
    kind = kind_of(kind_name)

    def work(session: Session) -> None:
        row = _load(session, kind.model, ident, "id")
        session.delete(row)
        _flush(session, kind)
        events.record(session, f"{kind.name}.deleted", kind.name, ident)

    db.write(work)


def counts(db: Database) -> dict[str, int]:
    """How many rows each kind holds."""

    def work(session: Session) -> dict[str, int]:
        return {
            name: session.scalar(select(func.count()).select_from(kind.model)) or 0
            for name, kind in KINDS.items()
        }

    return db.read(work)
