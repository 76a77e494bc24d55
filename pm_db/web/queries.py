"""What the web view reads beyond the browser's tree (pm_db.services.browse): where a node
sits (its trail of parents), one publish or scene in full, publishes and saves filtered and
paged newest first. Every list is a keyset page (`before` an id, newest first, `limit`
rows): its cost does not grow with the history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, union_all
from sqlalchemy.orm import Session

from pm_db.db import Database
from pm_db.errors import NotFound, ValidationError
from pm_db.models import Artist, Asset, Part, Project, Publish, Scene, Shot, Task
from pm_db.models import Sequence as SequenceRow
from pm_db.services import lookups
from pm_db.services.browse import numbers, parse_key, past, project_roots, under
from pm_db.services.events import first_id_at

PAGE = 50
# A name search lists the publishes of at most this many parts.
MAX_PARTS = 200
STATUSES = ("pending", "published", "failed", "deprecated")
_PUBLISHES = cast(Table, Publish.__table__)


@dataclass(frozen=True)
class Crumb:
    """One step of a node's trail: its tree key, kind and name."""

    key: str
    kind: str
    name: str


@dataclass(frozen=True)
class PublishFilter:
    """Which publishes to list (each field optional); `part_ids` limits them to some
    parts; `before` is a publish id."""

    project: str | None = None
    artist: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    task_id: int | None = None
    part_ids: tuple[int, ...] | None = None
    before: int | None = None
    limit: int = PAGE


@dataclass
class PublishRow:
    """A publish as the lists and its own page show it; paths absolute on this platform
    (None when the project has no root here)."""

    id: int
    publish_uid: str
    project: str
    asset_name: str
    part_name: str
    part_id: int
    version: str
    status: str
    is_latest: bool
    artist: str
    task_id: int
    scene_id: int
    scene_name: str  # with its numbers: "PinchIn v003 i007"
    scene_path: str | None
    data_path: str | None
    part_path: str | None
    asset_path: str | None
    created_at: datetime
    completed_at: datetime | None
    error: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class SceneRow:
    """A saved work file."""

    id: int
    project: str
    name: str
    version: str
    artist: str
    task_id: int
    path: str | None
    host: str | None
    software: str
    created_at: datetime


# Trails -----------------------------------------------------------------------------


def trail(db: Database, key: str) -> list[Crumb]:
    """The node of `key` and its parents, from its project down. Raises ValidationError
    for a malformed key, NotFound for a node that does not exist."""
    kind, ident, asset_name = parse_key(key)
    if kind == "publish":
        raise ValidationError("a publish has its own page, /publish/ID", field="key")

    def work(session: Session) -> list[Crumb]:
        if kind == "project":
            return _project_trail(session, ident)
        if kind == "sequence":
            return _sequence_trail(session, ident)
        if kind == "shot":
            return _shot_trail(session, ident)
        if kind == "asset":
            return _asset_trail(session, ident)
        if kind == "usd_asset":
            return _usd_trail(session, ident, asset_name)
        return _part_trail(session, ident)

    return db.read(work)


def trails(db: Database, chains: list[list[str]]) -> list[list[Crumb]]:
    """The trails of many nodes at once, from their key chains (project down, as
    pm_db.services.browse.search gives them): one query per kind of node, whatever the
    number of chains. A chain naming a node that no longer exists is left out."""
    wanted: dict[str, set[int]] = {kind: set() for kind in _NAMES}
    for chain in chains:
        for key in chain:
            kind, ident, _ = parse_key(key)
            if kind in wanted:
                wanted[kind].add(ident)

    def work(session: Session) -> list[list[Crumb]]:
        names: dict[str, dict[int, str]] = {
            kind: dict(session.execute(select(table.id, column).where(table.id.in_(ids))).all())
            for kind, (table, column) in _NAMES.items()
            if (ids := wanted[kind])
        }
        found = []
        for chain in chains:
            crumbs = []
            for key in chain:
                kind, ident, asset_name = parse_key(key)
                name = asset_name if kind == "usd_asset" else names.get(kind, {}).get(ident)
                if name is None:
                    break
                crumbs.append(Crumb(key, kind, name))
            else:
                found.append(crumbs)
        return found

    return db.read(work)


_NAMES: dict[str, tuple[Any, Any]] = {
    "project": (Project, Project.code),
    "sequence": (SequenceRow, SequenceRow.code),
    "shot": (Shot, Shot.code),
    "asset": (Asset, Asset.code),
    "part": (Part, Part.name),
}


def _missing(kind: str, ident: int | str) -> NotFound:
    return NotFound(f"no {kind.replace('_', ' ')} {ident}", field="key")


def _project_trail(session: Session, project_id: int) -> list[Crumb]:
    code = session.scalar(select(Project.code).where(Project.id == project_id))
    if code is None:
        raise _missing("project", project_id)
    return [Crumb(f"project:{project_id}", "project", code)]


def _sequence_trail(session: Session, sequence_id: int) -> list[Crumb]:
    row = session.execute(
        select(SequenceRow.project_id, SequenceRow.code).where(SequenceRow.id == sequence_id)
    ).first()
    if row is None:
        raise _missing("sequence", sequence_id)
    return [*_project_trail(session, row[0]), Crumb(f"sequence:{sequence_id}", "sequence", row[1])]


def _shot_trail(session: Session, shot_id: int) -> list[Crumb]:
    row = session.execute(select(Shot.sequence_id, Shot.code).where(Shot.id == shot_id)).first()
    if row is None:
        raise _missing("shot", shot_id)
    return [*_sequence_trail(session, row[0]), Crumb(f"shot:{shot_id}", "shot", row[1])]


def _asset_trail(session: Session, asset_id: int) -> list[Crumb]:
    row = session.execute(select(Asset.project_id, Asset.code).where(Asset.id == asset_id)).first()
    if row is None:
        raise _missing("asset", asset_id)
    return [*_project_trail(session, row[0]), Crumb(f"asset:{asset_id}", "asset", row[1])]


def _usd_trail(session: Session, stream_id: int, asset_name: str) -> list[Crumb]:
    """A USD asset hangs under the shot or asset where the first publish (lowest numbers)
    of its first part was made: an index seek per part, not a walk of its history."""
    first = _PUBLISHES.alias("first_publish")
    first_id = (
        select(first.c.id)
        .where(first.c.part_id == Part.id)
        .order_by(first.c.version, first.c.iteration)
        .limit(1)
        .scalar_subquery()
    )
    row = session.execute(
        select(Publish.target_type, Publish.target_id, Part.asset_name)
        .select_from(Part)
        .join(Publish, Publish.id == first_id)
        .where(Part.stream_id == stream_id, func.lower(Part.asset_name) == asset_name.lower())
        .order_by(Part.id)
        .limit(1)
    ).first()
    if row is None:
        raise _missing("USD asset", f"{asset_name!r} of scene location {stream_id}")
    target_type, target_id, name = row
    parent = (
        _shot_trail(session, target_id)
        if target_type == "shot"
        else _asset_trail(session, target_id)
    )
    return [*parent, Crumb(f"usd:{stream_id}:{name}", "usd_asset", name)]


def _part_trail(session: Session, part_id: int) -> list[Crumb]:
    row = session.execute(
        select(Part.stream_id, Part.asset_name, Part.name).where(Part.id == part_id)
    ).first()
    if row is None:
        raise _missing("part", part_id)
    return [*_usd_trail(session, row[0], row[1]), Crumb(f"part:{part_id}", "part", row[2])]


# Publishes --------------------------------------------------------------------------


def _publish_query() -> Any:
    return (
        select(
            Publish,
            Artist.login,
            Task.project_id,
            Scene.name.label("scene_name"),
            Scene.version.label("scene_version"),
            Scene.iteration.label("scene_iteration"),
            Scene.path.label("scene_path"),
        )
        .join(Artist, Artist.id == Publish.created_by)
        .join(Task, Task.id == Publish.task_id)
        .join(Scene, Scene.id == Publish.scene_id)
    )


def _publish_rows(session: Session, query: Any) -> list[PublishRow]:
    rows = session.execute(query).all()
    roots = project_roots(session, {row.project_id for row in rows})
    found = []
    for publish, login, project_id, scene_name, scene_v, scene_i, scene_path in rows:
        code, root = roots[project_id]
        found.append(
            PublishRow(
                id=publish.id,
                publish_uid=publish.publish_id,
                project=code,
                asset_name=publish.asset_name,
                part_name=publish.part_name,
                part_id=publish.part_id,
                version=numbers(publish.version, publish.iteration),
                status=publish.status,
                is_latest=publish.is_latest,
                artist=login,
                task_id=publish.task_id,
                scene_id=publish.scene_id,
                scene_name=f"{scene_name} {numbers(scene_v, scene_i)}",
                scene_path=under(root, scene_path),
                data_path=under(root, publish.item_usd_path),
                part_path=under(root, publish.part_usd_path),
                asset_path=under(root, publish.asset_usd_path),
                created_at=publish.created_at,
                completed_at=publish.completed_at,
                error=publish.error,
                metadata=publish.meta or {},
            )
        )
    return found


def publish(db: Database, publish_id: int) -> PublishRow:
    """One publish in full; raises NotFound naming `publish`."""

    def work(session: Session) -> PublishRow:
        rows = _publish_rows(session, _publish_query().where(Publish.id == publish_id))
        if not rows:
            raise NotFound(f"no publish with id {publish_id}", field="publish")
        return rows[0]

    return db.read(work)


def publishes_by_id(db: Database, publish_ids: set[int]) -> dict[int, PublishRow]:
    """The given publishes in full, by id (unknown ids are left out)."""
    if not publish_ids:
        return {}

    def work(session: Session) -> dict[int, PublishRow]:
        rows = _publish_rows(session, _publish_query().where(Publish.id.in_(publish_ids)))
        return {row.id: row for row in rows}

    return db.read(work)


def check_publish_filter(wanted: PublishFilter) -> None:
    """Refuse a filter no list can answer; raises ValidationError naming the field."""
    if wanted.status is not None and wanted.status not in STATUSES:
        raise ValidationError(f"must be one of {', '.join(STATUSES)}", field="status")
    if not 1 <= wanted.limit <= 500:
        raise ValidationError("must be 1 to 500", field="limit")
    if wanted.since and wanted.until and wanted.since >= wanted.until:
        raise ValidationError("must be later than since", field="until")


def publishes(db: Database, wanted: PublishFilter) -> list[PublishRow]:
    """A page of publishes matching `wanted`, newest first. Raises ValidationError (a bad
    filter), NotFound (an unknown project or artist)."""
    check_publish_filter(wanted)

    def work(session: Session) -> list[PublishRow]:
        page = _page_ids(session, wanted)
        if not page:
            return []
        query = _publish_query().where(Publish.id.in_(page)).order_by(Publish.id.desc())
        return _publish_rows(session, query)

    return db.read(work)


def _page_ids(session: Session, wanted: PublishFilter) -> list[int]:
    """The ids of one page. The page is read in id order, newest first, with each filter
    checked on the way (times become id bounds: events.first_id_at), so it stops after
    `limit` matches instead of sorting every match; a few parts are read part by part
    through their own index instead."""
    conditions: list[Any] = []
    if wanted.project:
        in_project = select(Task.id).where(
            Task.id == Publish.task_id,
            Task.project_id == lookups.project_id(session, wanted.project),
        )
        conditions.append(in_project.exists())
    if wanted.artist:
        conditions.append(Publish.created_by == lookups.artist_id(session, wanted.artist))
    if wanted.status:
        conditions.append(Publish.status == wanted.status)
    if wanted.since:
        since_id = first_id_at(session, Publish.id, Publish.created_at, wanted.since)
        conditions += [Publish.id >= since_id, Publish.created_at >= wanted.since]
    if wanted.until:
        until_id = first_id_at(session, Publish.id, Publish.created_at, wanted.until)
        conditions += [Publish.id < until_id, Publish.created_at < wanted.until]
    if wanted.task_id is not None:
        conditions.append(_of_task(Publish.task_id, wanted.task_id))
    if wanted.before is not None:
        conditions.append(Publish.id < wanted.before)
    if wanted.part_ids is not None:
        if not wanted.part_ids:
            return []
        # One statement: each part's newest matches through its own index entries.
        pages = [
            select(Publish.id)
            .where(Publish.part_id == part_id, *conditions)
            .order_by(Publish.version.desc(), Publish.iteration.desc())
            .limit(wanted.limit)
            .subquery()
            for part_id in wanted.part_ids[:MAX_PARTS]
        ]
        found = session.scalars(union_all(*(select(page.c.id) for page in pages)))
        return sorted(found, reverse=True)[: wanted.limit]
    query = select(Publish.id).where(*conditions)
    if wanted.task_id is not None:
        query = query.order_by(Publish.task_id.desc())
    query = query.order_by(Publish.id.desc())
    return list(session.scalars(query.limit(wanted.limit)))


def neighbours(
    db: Database, part_id: int, newest: tuple[int, int], oldest: tuple[int, int]
) -> tuple[bool, bool]:
    """Whether part `part_id` has a version newer than `newest` and one older than `oldest`
    (the (version, iteration) of a page's first and last rows): two index seeks."""

    def beyond(numbers: tuple[int, int], newer: bool) -> Any:
        return (
            select(Publish.id)
            .where(Publish.part_id == part_id, past(*numbers, newer=newer))
            .limit(1)
        )

    def work(session: Session) -> tuple[bool, bool]:
        return (
            session.scalar(beyond(newest, newer=True)) is not None,
            session.scalar(beyond(oldest, newer=False)) is not None,
        )

    return db.read_each(work)


def parts_of(db: Database, usd_keys: list[str]) -> set[int]:
    """The part ids of the given USD assets (`usd:<scene location>:<asset name>` keys)."""
    wanted = set()
    for key in usd_keys:
        _, stream_id, asset_name = parse_key(key)
        wanted.add((stream_id, asset_name.lower()))
    if not wanted:
        return set()
    query = select(Part.id).where(
        or_(
            *(
                and_(Part.stream_id == stream_id, func.lower(Part.asset_name) == name)
                for stream_id, name in wanted
            )
        )
    )
    return db.read(lambda session: set(session.scalars(query)))


def _of_task(column: Any, task_id: int) -> Any:
    """`column = task_id` written as a range, for a page ordered by (task_id, id): the
    order of the indexes `ix_publishes_task_id_id` and `ix_scenes_task_id_id`, which then
    give the task's newest rows first. With `=`, PostgreSQL drops task_id from the order
    and may walk the primary key from the newest row of the whole table instead (200,000
    rows for an old task's saves at a million publishes)."""
    return column.between(task_id, task_id)


def project_codes(db: Database) -> list[str]:
    """Every project code, for the filter menus."""
    return db.read(
        lambda session: list(session.scalars(select(Project.code).order_by(Project.code)))
    )


# Artists and saves ------------------------------------------------------------------


def artist(db: Database, login: str) -> Artist:
    """The artist of `login`; raises NotFound naming `artist`."""

    def work(session: Session) -> Artist:
        found = session.scalar(select(Artist).where(Artist.login == login.strip().lower()))
        if found is None:
            raise NotFound(f"no artist with login {login!r}", field="artist")
        session.expunge(found)
        return found

    return db.read(work)


@dataclass
class TaskLine:
    """A task as an artist's page lists it."""

    id: int
    name: str
    step: str
    status: str
    project: str
    target_key: str | None
    target: str | None


def artist_tasks(db: Database, login: str, limit: int = PAGE) -> list[TaskLine]:
    """The newest `limit` tasks of an artist (an artist may hold thousands: the page lists
    the newest, through the tasks' artist index). Raises NotFound naming `artist`."""

    def work(session: Session) -> list[TaskLine]:
        rows = session.execute(
            select(Task, Project.code, SequenceRow.code, Shot.code, Asset.code)
            .join(Project, Project.id == Task.project_id)
            .outerjoin(Shot, Shot.id == Task.shot_id)
            .outerjoin(SequenceRow, SequenceRow.id == Shot.sequence_id)
            .outerjoin(Asset, Asset.id == Task.asset_id)
            .where(Task.artist_id == lookups.artist_id(session, login))
            .order_by(Task.id.desc())
            .limit(limit)
        ).all()
        lines = []
        for task, project, sequence, shot, asset in rows:
            key, target = None, None
            if task.shot_id is not None and shot is not None:
                key, target = f"shot:{task.shot_id}", f"{sequence}/{shot}"
            elif task.asset_id is not None and asset is not None:
                key, target = f"asset:{task.asset_id}", asset
            lines.append(TaskLine(task.id, task.name, task.step, task.status, project, key, target))
        return lines

    return db.read(work)


def logins(db: Database, artist_ids: set[int]) -> dict[int, str]:
    """The logins of the given artists, by id."""
    if not artist_ids:
        return {}
    return db.read(
        lambda session: dict(
            session.execute(select(Artist.id, Artist.login).where(Artist.id.in_(artist_ids))).all()
        )
    )


def scenes(
    db: Database,
    artist_login: str | None = None,
    task_id: int | None = None,
    before: int | None = None,
    limit: int = PAGE,
) -> list[SceneRow]:
    """A page of saves, newest first, of one artist or one task. Raises NotFound."""

    def work(session: Session) -> list[SceneRow]:
        query = (
            select(Scene, Artist.login, Task.project_id)
            .join(Artist, Artist.id == Scene.artist_id)
            .join(Task, Task.id == Scene.task_id)
            .limit(limit)
        )
        if artist_login is not None:
            query = query.where(Scene.artist_id == lookups.artist_id(session, artist_login))
        if task_id is not None:
            query = query.where(_of_task(Scene.task_id, task_id)).order_by(Scene.task_id.desc())
        query = query.order_by(Scene.id.desc())
        if before is not None:
            query = query.where(Scene.id < before)
        return _scene_rows(session, query)

    return db.read(work)


def scene(db: Database, scene_id: int) -> SceneRow:
    """One save; raises NotFound naming `scene`."""

    def work(session: Session) -> SceneRow:
        rows = _scene_rows(
            session,
            select(Scene, Artist.login, Task.project_id)
            .join(Artist, Artist.id == Scene.artist_id)
            .join(Task, Task.id == Scene.task_id)
            .where(Scene.id == scene_id),
        )
        if not rows:
            raise NotFound(f"no scene with id {scene_id}", field="scene")
        return rows[0]

    return db.read(work)


def _scene_rows(session: Session, query: Any) -> list[SceneRow]:
    rows = session.execute(query).all()
    roots = project_roots(session, {row.project_id for row in rows})
    return [
        SceneRow(
            id=saved.id,
            project=roots[project_id][0],
            name=saved.name,
            version=numbers(saved.version, saved.iteration),
            artist=login,
            task_id=saved.task_id,
            path=under(roots[project_id][1], saved.path),
            host=saved.host,
            software=saved.software,
            created_at=saved.created_at,
        )
        for saved, login, project_id in rows
    ]


def scene_publishes(db: Database, scene_id: int) -> list[PublishRow]:
    """The parts published from one save (a handful: one per part)."""
    return db.read(
        lambda session: _publish_rows(
            session, _publish_query().where(Publish.scene_id == scene_id).order_by(Publish.id)
        )
    )
