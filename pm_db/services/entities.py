"""Create, get, list, update and delete the studio's entities: projects, sequences, shots,
assets, artists and tasks. One generic implementation, described per kind by `KINDS`;
each function returns the kind's output model (e.g. `schemas.ProjectOut`).

Rules every kind keeps: codes are unique within their parent whatever their case (file
systems on Windows and macOS ignore it); a parent must exist; a record something still
refers to cannot be deleted; a code that is part of saved files' paths cannot change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pm_db import models, schemas
from pm_db.db import Database
from pm_db.errors import Conflict, NotFound, PmError, ValidationError
from pm_db.models import Artist, Asset, Base, Event, Project, Scene, Shot, Task, utcnow
from pm_db.services import events

MAX_ID = schemas.MAX_ID
MAX_BATCH = 100_000
CHUNK = 500  # ids per IN (...) list: far below every SQLite build's variable limit
INSERT_CHUNK = 5_000  # rows per INSERT of an import, between two progress reports


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
    unique_scope: tuple[str, ...] = ()
    """Columns within which `lookup` is unique (case-insensitively)."""
    path_fields: tuple[str, ...] = ()
    """Fields that are part of saved files' paths: fixed once a scene is saved under it."""


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("project", Project, schemas.ProjectIn, schemas.ProjectUpdate, schemas.ProjectOut),
        Kind(
            "sequence",
            models.Sequence,
            schemas.SequenceIn,
            schemas.SequenceUpdate,
            schemas.SequenceOut,
            parents={"project_id": Project},
            filters=("project_id",),
            unique_scope=("project_id",),
            path_fields=("code",),
        ),
        Kind(
            "shot",
            Shot,
            schemas.ShotIn,
            schemas.ShotUpdate,
            schemas.ShotOut,
            parents={"sequence_id": models.Sequence},
            filters=("project_id", "sequence_id"),
            unique_scope=("sequence_id",),
            path_fields=("code",),
        ),
        Kind(
            "asset",
            Asset,
            schemas.AssetIn,
            schemas.AssetUpdate,
            schemas.AssetOut,
            parents={"project_id": Project},
            filters=("project_id", "asset_type"),
            unique_scope=("project_id",),
            path_fields=("code", "asset_type"),
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
            unique_scope=("shot_id", "asset_id", "step"),
        ),
    )
}

_BOOL_FILTERS = {"active"}

CODE_FILTERS: dict[str, tuple[type[Base], str]] = {
    "project": (Project, "code"),
    "sequence": (models.Sequence, "code"),
    "shot": (Shot, "code"),
    "asset": (Asset, "code"),
    "artist": (Artist, "login"),
}
"""Filters that name a parent by its code (login for artists) or by its id: `?project=FX3X`
or `?project=1` mean `project_id` of that project."""
_DIGITS = re.compile(r"[0-9]{1,19}")


def code_filters(kind: Kind) -> tuple[str, ...]:
    """The code filters `kind` takes: one per `<name>_id` filter of a CODE_FILTERS kind."""
    return tuple(name for name in CODE_FILTERS if f"{name}_id" in kind.filters)


def kind_of(name: str) -> Kind:
    """The Kind called `name`; raises ValidationError for an unknown kind."""
    if name not in KINDS:
        raise ValidationError(f"unknown kind (known: {', '.join(KINDS)})", field="kind")
    return KINDS[name]


def _check_id(ident: object, field: str = "id") -> int:
    """`ident` as a record id; raises ValidationError naming `field`."""
    if isinstance(ident, bool) or not isinstance(ident, int) or not 1 <= ident <= MAX_ID:
        raise ValidationError(f"must be a whole number from 1, got {ident!r}", field=field)
    return ident


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


# Checks shared by create, create_many and update ---------------------------------------


def _payload(kind: Kind, schema: type[schemas.In], data: object) -> Any:
    if not isinstance(data, Mapping | BaseModel):
        raise ValidationError(
            f"must be an object of {kind.name} fields, got {type(data).__name__}",
            field="payload",
        )
    return schemas.parse(schema, data)


def _check_rules(row: Mapping[str, Any]) -> None:
    """The rules that span fields of one record; raises ValidationError."""
    if "root_linux" in row and not any(row.get(f"root_{p}") for p in ("linux", "windows", "mac")):
        raise ValidationError("a project needs at least one root", field="root_linux")
    if "frame_end" in row and row["frame_end"] < row["frame_start"]:
        raise ValidationError("must not be before frame_start", field="frame_end")


def _in_chunks(ids: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(ids)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _existing_ids(session: Session, model: type[Base], ids: set[int]) -> set[int]:
    column = model.__table__.c.id
    found: set[int] = set()
    for chunk in _in_chunks(sorted(ids)):
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def _task_targets(session: Session, wanted: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The project id of each (target type, id) that exists."""
    found: dict[tuple[str, int], int] = {}
    shots = sorted(i for t, i in wanted if t == "shot")
    assets = sorted(i for t, i in wanted if t == "asset")
    for chunk in _in_chunks(shots):
        query = (
            select(Shot.id, models.Sequence.project_id)
            .join(models.Sequence, models.Sequence.id == Shot.sequence_id)
            .where(Shot.id.in_(chunk))
        )
        found.update((("shot", i), p) for i, p in session.execute(query))
    for chunk in _in_chunks(assets):
        query = select(Asset.id, Asset.project_id).where(Asset.id.in_(chunk))
        found.update((("asset", i), p) for i, p in session.execute(query))
    return found


def _unique_key(kind: Kind, row: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """(scope columns, scope values + case-folded code) under which `row` must be unique."""
    columns = tuple(c for c in kind.unique_scope if row.get(c) is not None)
    values = tuple(row[c] for c in columns)
    return columns, (*values, str(row[kind.lookup]).lower())


def _taken(
    session: Session, kind: Kind, columns: tuple[str, ...], keys: list[tuple[Any, ...]]
) -> dict[tuple[Any, ...], int]:
    """Which of `keys` (scope values + lower-cased code) exist already, with their ids."""
    table = kind.model.__table__
    # Logins are stored lower-case: the column itself is what its unique index holds.
    code = table.c.login if kind.name == "artist" else func.lower(table.c[kind.lookup])
    scope = [table.c[c] for c in columns]
    # Scope columns the row leaves empty must be empty in the match too: a task on a
    # shot never shares a scope with a task on an asset.
    empty = [table.c[c].is_(None) for c in kind.unique_scope if c not in columns]
    wanted = set(keys)
    found: dict[tuple[Any, ...], int] = {}
    for chunk in _in_chunks(keys):
        # One IN list per column, which the indexes serve (a row-value IN is not served
        # by SQLite's); the exact combinations are matched here.
        narrow = [column.in_({key[i] for key in chunk}) for i, column in enumerate(scope)]
        condition = code.in_({key[-1] for key in chunk})
        for row in session.execute(
            select(table.c.id, *scope, code).where(*narrow, condition, *empty)
        ):
            if tuple(row[1:]) in wanted:
                found[tuple(row[1:])] = row[0]
    return found


Locate = Callable[[int, PmError], PmError]


def _as_given(_index: int, error: PmError) -> PmError:
    return error


def _in_batch(index: int, error: PmError) -> PmError:
    """The error of item `index` of a batch, its field named `items[index].field`."""
    where = f"items[{index}]" + (f".{error.field}" if error.field else "")
    return type(error)(error.message, field=where)


def _resolve(session: Session, kind: Kind, payloads: Sequence[Any], locate: Locate) -> list[Any]:
    """The rows to insert for validated payloads: parents and targets looked up, codes
    checked against each other and the database. Raises NotFound, Conflict, Validation."""
    rows: list[dict[str, Any]] = []
    for index, payload in enumerate(payloads):
        row = payload.model_dump()
        if isinstance(payload, schemas.TaskIn):
            row.pop("target_type")
            row.pop("target_id")
            row["name"] = payload.name or payload.step
            row["shot_id"] = payload.target_id if payload.target_type == "shot" else None
            row["asset_id"] = payload.target_id if payload.target_type == "asset" else None
        try:
            _check_rules(row)
        except PmError as exc:
            raise locate(index, exc) from None
        rows.append(row)
    if kind.name == "task":
        wanted = {(p.target_type, p.target_id) for p in payloads}
        projects = _task_targets(session, wanted)
        for index, (payload, row) in enumerate(zip(payloads, rows, strict=True)):
            project_id = projects.get((payload.target_type, payload.target_id))
            if project_id is None:
                missing = NotFound(
                    f"no {payload.target_type} with id {payload.target_id}", "target_id"
                )
                raise locate(index, missing)
            row["project_id"] = project_id
    for key, model in kind.parents.items():
        existing = _existing_ids(session, model, {r[key] for r in rows if r.get(key)})
        for index, row in enumerate(rows):
            if row.get(key) and row[key] not in existing:
                missing = NotFound(f"no {model.__tablename__[:-1]} with id {row[key]}", key)
                raise locate(index, missing)
    _check_unique(session, kind, rows, locate)
    return rows


def _check_unique(
    session: Session, kind: Kind, rows: Sequence[Mapping[str, Any]], locate: Locate
) -> None:
    """Refuse a code that exists already (in any case) or twice in `rows`."""
    first: dict[tuple[tuple[str, ...], tuple[Any, ...]], int] = {}
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for index, row in enumerate(rows):
        columns, key = _unique_key(kind, row)
        if (columns, key) in first:
            clash = Conflict(
                f"{row[kind.lookup]!r} is given twice (also items[{first[columns, key]}]); "
                "names are unique whatever their case",
                field=kind.lookup,
            )
            raise locate(index, clash)
        first[columns, key] = index
        groups.setdefault(columns, []).append(key)
    for columns, keys in groups.items():
        taken = _taken(session, kind, columns, keys)
        for key in keys:
            if key in taken:
                index = first[columns, key]
                clash = Conflict(
                    f"a {kind.name} {rows[index][kind.lookup]!r} already exists "
                    f"(id {taken[key]}); names are unique whatever their case",
                    field=kind.lookup,
                )
                raise locate(index, clash)


def _integrity(kind: Kind, exc: IntegrityError) -> PmError:
    """The pm error for a constraint the database enforced (a race the checks missed)."""
    message = str(exc.orig).lower()
    if "unique" in message or "duplicate" in message:
        return Conflict(f"a {kind.name} with this {kind.lookup} already exists", kind.lookup)
    if "foreign key" in message:
        return Conflict(f"the {kind.name} refers to, or is referred to by, a changed record", "id")
    return ValidationError(f"breaks a rule of the {kind.name} table: {exc.orig}", kind.name)


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if isinstance(v, str | int | bool | dict | None)}


def _insert(session: Session, kind: Kind, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert `rows` in one statement per batch, with one `KIND.created` event each."""
    model: Any = kind.model
    statement = insert(model).returning(model, sort_by_parameter_order=True)
    try:
        created = list(session.scalars(statement, rows))
    except IntegrityError as exc:
        raise _integrity(kind, exc) from None
    now = utcnow()
    session.execute(
        insert(Event),
        [
            {
                "kind": f"{kind.name}.created",
                "entity_type": kind.name,
                "entity_id": obj.id,
                "artist_id": None,
                "host": events.HOST,
                "payload": {"values": _plain(row)},
                "created_at": now,
            }
            for obj, row in zip(created, rows, strict=True)
        ],
    )
    return created


# The use cases ---------------------------------------------------------------------------


def create(db: Database, kind_name: str, data: object) -> Any:
    """Create one entity from `data`. Raises ValidationError, NotFound (a parent), Conflict."""
    kind = kind_of(kind_name)
    payload = _payload(kind, kind.create_schema, data)

    def work(session: Session) -> schemas.Out:
        rows = _resolve(session, kind, [payload], _as_given)
        return to_out(kind, _insert(session, kind, rows)[0])

    return db.write(work)


def create_many(
    db: Database,
    kind_name: str,
    items: object,
    progress: Callable[[int, int], None] | None = None,
) -> list[Any]:
    """Create many entities of one kind in one transaction, all or nothing: an import from
    a spreadsheet or another tracker. Raises ValidationError, NotFound or Conflict naming
    the item (`items[3].code`); then nothing is written. `progress(done, total)` is told
    of each step: every item validated, then every item inserted (total: twice the items)."""
    kind = kind_of(kind_name)
    if not isinstance(items, list | tuple) or not items:
        raise ValidationError("must be a non-empty list of objects", field="items")
    if len(items) > MAX_BATCH:
        raise ValidationError(f"holds {len(items)} objects; the limit is {MAX_BATCH}", "items")
    told = progress or (lambda _done, _total: None)
    total = 2 * len(items)
    payloads = []
    for index, item in enumerate(items):
        try:
            payloads.append(_payload(kind, kind.create_schema, item))
        except PmError as exc:
            raise _in_batch(index, exc) from None
        if index % INSERT_CHUNK == 0:
            told(index, total)

    def work(session: Session) -> list[schemas.Out]:
        rows = _resolve(session, kind, payloads, _in_batch)
        told(len(rows), total)
        created: list[schemas.Out] = []
        for start in range(0, len(rows), INSERT_CHUNK):
            inserted = _insert(session, kind, rows[start : start + INSERT_CHUNK])
            created += [to_out(kind, row) for row in inserted]
            told(len(rows) + len(created), total)
        return created

    return db.write(work)


def get(db: Database, kind_name: str, ident: int) -> Any:
    """One entity by id; raises ValidationError (not an id), NotFound."""
    kind = kind_of(kind_name)
    ident = _check_id(ident)
    return db.read(lambda session: to_out(kind, _load(session, kind.model, ident, "id")))


def find(db: Database, kind_name: str, key: str, **scope: Any) -> Any:
    """One entity by its code (login for artists, name for tasks), case-insensitively,
    within `scope` (e.g. project_id=1); raises ValidationError, NotFound naming the field."""
    kind = kind_of(kind_name)
    if not isinstance(key, str) or not key.strip():
        raise ValidationError("must be a non-empty code", field=kind.lookup)
    checked = _check_filters(kind, scope)

    def work(session: Session) -> schemas.Out:
        column = getattr(kind.model, kind.lookup)
        wanted = key.strip().lower()
        # Logins are stored lower-case: comparing the column itself uses its unique index.
        condition = column == wanted if kind.name == "artist" else func.lower(column) == wanted
        query = select(kind.model).where(condition, *_conditions(session, kind, checked))
        row = session.scalars(query.order_by(kind.model.__table__.c.id).limit(1)).first()
        if row is None:
            where = "".join(f", {k}={v}" for k, v in scope.items())
            raise NotFound(f"no {kind.name} {key!r}{where}", field=kind.lookup)
        return to_out(kind, row)

    return db.read(work)


def _check_filters(kind: Kind, filters: Mapping[str, Any]) -> dict[str, Any]:
    known = set(kind.filters) | set(code_filters(kind))
    unknown = set(filters) - known
    if unknown:
        raise ValidationError(
            f"cannot filter {kind.name}s by this (known: {', '.join(sorted(known))})",
            field=sorted(unknown)[0],
        )
    checked: dict[str, Any] = {}
    for name, value in filters.items():
        if value is None:
            continue
        if name.endswith("_id"):
            _check_id(value, name)
        elif name in _BOOL_FILTERS and not isinstance(value, bool):
            raise ValidationError(f"must be true or false, got {value!r}", field=name)
        elif name not in _BOOL_FILTERS and not isinstance(value, str):
            raise ValidationError(f"must be text, got {type(value).__name__}", field=name)
        elif isinstance(value, str):
            schemas.check_text(value, name)
        checked[name] = value
    return checked


def _parent_ids(session: Session, name: str, ref: str) -> list[int]:
    """The ids a code filter means: the records whose code (login) is `ref` whatever its
    case, or, if none has that code and `ref` is a number, the record with that id."""
    model, column = CODE_FILTERS[name]
    table = model.__table__
    found = list(
        session.scalars(select(table.c.id).where(func.lower(table.c[column]) == ref.lower()))
    )
    if not found and _DIGITS.fullmatch(ref) and int(ref) <= MAX_ID:
        found = [int(ref)]
    return found


def _conditions(session: Session, kind: Kind, checked: Mapping[str, Any]) -> list[Any]:
    """The WHERE conditions of checked filters, code filters resolved to ids."""
    conditions = []
    for name, value in checked.items():
        if name in CODE_FILTERS:
            conditions.append(_condition(kind, f"{name}_id", _parent_ids(session, name, value)))
        else:
            conditions.append(_condition(kind, name, value))
    return conditions


def _condition(kind: Kind, name: str, value: Any) -> Any:
    """The WHERE condition of one filter (a shot's project goes through its sequence);
    a list `value` means any of them."""
    if kind.model is Shot and name == "project_id":
        project = models.Sequence.project_id
        test = project.in_(value) if isinstance(value, list) else project == value
        return Shot.sequence_id.in_(select(models.Sequence.id).where(test))
    column = getattr(kind.model, name)
    return column.in_(value) if isinstance(value, list) else column == value


def resolve(db: Database, kind_name: str, ref: str | int) -> int:
    """The id of the record of kind `kind_name` (project, sequence, shot, asset, artist)
    that `ref` names: an id, or a code (login) whatever its case. Raises ValidationError,
    NotFound naming the kind, Conflict if the code names several records."""
    if kind_name not in CODE_FILTERS:
        raise ValidationError(f"names no kind with codes (known: {', '.join(CODE_FILTERS)})")
    if isinstance(ref, int):
        return _check_id(ref, kind_name)
    schemas.check_text(ref, kind_name)
    ids = db.read(lambda session: _parent_ids(session, kind_name, ref.strip()))
    if len(ids) > 1:
        raise Conflict(f"{ref!r} names {len(ids)} {kind_name}s; give the id", field=kind_name)
    if not ids or not db.read(lambda session: session.get(KINDS[kind_name].model, ids[0])):
        raise NotFound(f"no {kind_name} {ref!r}", field=kind_name)
    return ids[0]


def list_(
    db: Database, kind_name: str, limit: int = 1000, offset: int = 0, **filters: Any
) -> list[Any]:
    """Entities of one kind in id order, filtered by the kind's filter fields (a shot's
    project too) and its parents' codes (`project="FX3X"`, see CODE_FILTERS). Raises
    ValidationError for an unknown filter or a bad value."""
    kind = kind_of(kind_name)
    checked = _check_filters(kind, filters)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_BATCH:
        raise ValidationError(f"must be 1 to {MAX_BATCH}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError("must be 0 or more", field="offset")

    def work(session: Session) -> list[schemas.Out]:
        query = select(kind.model).order_by(kind.model.__table__.c.id)
        query = query.where(*_conditions(session, kind, checked))
        rows = session.scalars(query.limit(limit).offset(offset))
        return [to_out(kind, row) for row in rows]

    return db.read(work)


def _scenes_under(session: Session, kind: Kind, ident: int) -> int:
    """How many scenes were saved under a sequence, shot or asset."""
    query = select(func.count(Scene.id)).join(Task, Task.id == Scene.task_id)
    if kind.name == "sequence":
        query = query.join(Shot, Shot.id == Task.shot_id).where(Shot.sequence_id == ident)
    elif kind.name == "shot":
        query = query.where(Task.shot_id == ident)
    else:
        query = query.where(Task.asset_id == ident)
    return session.scalar(query) or 0


def update(db: Database, kind_name: str, ident: int, data: object) -> Any:
    """Change the given fields of one entity; raises ValidationError, NotFound, Conflict
    (a duplicate code, or a code that saved files' paths already use)."""
    kind = kind_of(kind_name)
    ident = _check_id(ident)
    payload = _payload(kind, kind.update_schema, data)
    values = payload.model_dump(exclude_unset=True)
    columns = kind.model.__table__.columns
    for name, value in values.items():
        # The update models allow null to mean "not given"; only some columns may be empty.
        if value is None and not columns[name].nullable:
            raise ValidationError("must not be null", field=name)
    return _change(db, kind, ident, values, {})


def replace(db: Database, kind_name: str, ident: int, data: object) -> Any:
    """Replace one entity with a whole record (every field a create takes; one left out
    takes its default, as HTTP PUT means). Fields that fix where the record lives (its
    parent, a task's target and step, a project's code, a login) must keep their value.
    Raises ValidationError, NotFound, Conflict as update does."""
    kind = kind_of(kind_name)
    ident = _check_id(ident)
    payload = _payload(kind, kind.create_schema, data)
    whole = payload.model_dump()
    if isinstance(payload, schemas.TaskIn):
        whole["name"] = payload.name or payload.step
    changeable = set(kind.update_schema.model_fields)
    values = {k: v for k, v in whole.items() if k in changeable}
    fixed = {k: v for k, v in whole.items() if k not in changeable}
    return _change(db, kind, ident, values, fixed)


def _same(kept: object, given: object) -> bool:
    if isinstance(kept, str) and isinstance(given, str):
        return kept.lower() == given.lower()
    return kept == given


def _change(
    db: Database, kind: Kind, ident: int, values: dict[str, Any], fixed: dict[str, Any]
) -> Any:
    """Apply `values` to one entity whose `fixed` fields must be as given; raises
    ValidationError, NotFound, Conflict."""

    def work(session: Session) -> schemas.Out:
        row = _load(session, kind.model, ident, "id")
        current = to_out(kind, row).model_dump()
        for name, value in fixed.items():
            if not _same(current[name], value):
                raise ValidationError(
                    f"is {current[name]!r} and cannot change (create a new {kind.name} instead)",
                    field=name,
                )
        changes = {k: v for k, v in values.items() if getattr(row, k) != v}
        if not changes:
            return to_out(kind, row)
        for key, model in kind.parents.items():
            if changes.get(key) is not None:
                _load(session, model, changes[key], key)
        moved = [f for f in kind.path_fields if f in changes]
        if moved and _scenes_under(session, kind, ident):
            raise Conflict(
                f"scenes were saved under this {kind.name}; changing its {moved[0]} would "
                "move the paths of its next saves away from them",
                field=moved[0],
            )
        merged = {c.key: getattr(row, c.key) for c in row.__table__.columns} | changes
        _check_rules(merged)
        if kind.lookup in changes:
            scoped = {c: merged[c] for c in kind.unique_scope} | {kind.lookup: merged[kind.lookup]}
            columns, unique = _unique_key(kind, scoped)
            taken = _taken(session, kind, columns, [unique])
            if taken.get(unique, ident) != ident:
                raise Conflict(
                    f"a {kind.name} {merged[kind.lookup]!r} already exists "
                    f"(id {taken[unique]}); "
                    "names are unique whatever their case",
                    field=kind.lookup,
                )
        for name, value in changes.items():
            setattr(row, name, value)
        try:
            session.flush()
        except IntegrityError as exc:
            raise _integrity(kind, exc) from None
        events.record(
            session, f"{kind.name}.updated", kind.name, ident, payload={"values": _plain(changes)}
        )
        return to_out(kind, row)

    return db.write(work)


def _referrers(session: Session, kind: Kind, ident: int) -> list[str]:
    """`table (count)` for every table whose rows still point at this record."""
    target = kind.model.__table__
    found: list[str] = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is target:
                count = session.scalar(
                    select(func.count()).select_from(table).where(fk.parent == ident)
                )
                if count:
                    found.append(f"{table.name} ({count})")
    return found


def delete(db: Database, kind_name: str, ident: int) -> None:
    """Delete one entity that nothing refers to; raises ValidationError, NotFound, Conflict
    (still used: the message says by what)."""
    kind = kind_of(kind_name)
    ident = _check_id(ident)

    def work(session: Session) -> None:
        row = _load(session, kind.model, ident, "id")
        users = _referrers(session, kind, ident)
        if users:
            raise Conflict(
                f"{kind.name} {ident} is still used by {', '.join(users)}; delete those first",
                field="id",
            )
        session.delete(row)
        try:
            session.flush()
        except IntegrityError as exc:
            raise _integrity(kind, exc) from None
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
