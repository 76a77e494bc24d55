"""What the asset browser and the launcher read: the tree of a studio's work, level by level
(projects, sequences, shots and assets, USD assets, parts, the versions of a part), a name
search, and the tasks of an artist.

Every call runs a fixed number of set-based queries whatever the number of rows or of
parents asked for (the versions of parts: one statement per 200 parts), so expanding
fifty shots costs the same round trips as expanding one; and each reads its page through
indexes, so its cost does not grow with the history (the one exception: a part's number
of versions, a count of its index entries).
Tree nodes are named by keys (`project:1`, `sequence:2`, `shot:3`, `asset:4`,
`usd:<stream id>:<asset name>`, `part:5`, `publish:6`): a USD asset is the asset layer of
one scene location (the asset layer path is per scene folder), a part is one `Part` row.
Paths are absolute on this platform (PM_PLATFORM); a project without a root here gives
`None` instead of failing the whole level.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Table, and_, func, or_, select, union_all
from sqlalchemy.orm import Session

from pm_db.db import Database
from pm_db.errors import NotFound, ValidationError
from pm_db.models import (
    Artist,
    Asset,
    Part,
    PartPin,
    Project,
    Publish,
    Scene,
    SceneStream,
    Shot,
    Task,
    is_latest,
)
from pm_db.models import (
    Sequence as SequenceRow,
)
from pm_db.numbers import label as numbers_label
from pm_db.services import resolution
from pm_db.services.context import absolute_path, join_root, root_for
from pm_db.views import BrowseNode, TaskRow

PAGE = 200
MAX_PAGE = 2000
MAX_KEYS = 1000
SEARCH_LIMIT = 200
# Parts whose version pages one statement reads (SQLite allows 500 terms in a UNION).
UNION_PARTS = 200
NODE_KINDS = ("project", "sequence", "shot", "asset", "usd_asset", "part", "publish")


_PUBLISHES = cast(Table, Publish.__table__)


def numbers(version: int, iteration: int) -> str:
    """The version label artists read, `v003 i007`."""
    return numbers_label(version, iteration)


def _absolute(project: Project, relative: str | None) -> str | None:
    if not relative:
        return None
    try:
        return absolute_path(project, relative)
    except ValidationError:
        return None


# Keys -------------------------------------------------------------------------------


def parse_key(key: str) -> tuple[str, int, str]:
    """(kind, id, asset name) of a node key; raises ValidationError naming `key`."""
    head, _, rest = key.partition(":")
    kind = "usd_asset" if head == "usd" else head
    if kind not in NODE_KINDS:
        raise ValidationError(f"unknown node key {key!r}", field="key")
    ident, _, name = rest.partition(":")
    if not ident.isdigit() or (kind == "usd_asset") != bool(name):
        raise ValidationError(f"malformed node key {key!r}", field="key")
    return kind, int(ident), name


def usd_key(stream_id: int, asset_name: str) -> str:
    return f"usd:{stream_id}:{asset_name}"


def _grouped(keys: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
    if len(keys) > MAX_KEYS:
        raise ValidationError(f"at most {MAX_KEYS} keys per call", field="keys")
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for key in keys:
        kind, ident, name = parse_key(key)
        groups[kind].append((ident, name))
    return groups


# Levels -----------------------------------------------------------------------------


def roots(db: Database) -> list[BrowseNode]:
    """Every project with how many sequences and assets it holds, by code."""

    def work(session: Session) -> list[BrowseNode]:
        sequences = (
            select(func.count())
            .where(SequenceRow.project_id == Project.id)
            .correlate(Project)
            .scalar_subquery()
        )
        assets = (
            select(func.count()).where(Asset.project_id == Project.id).correlate(Project)
        ).scalar_subquery()
        rows = session.execute(
            select(Project, sequences, assets).order_by(func.lower(Project.code))
        )
        return [
            BrowseNode(
                key=f"project:{project.id}",
                parent=None,
                kind="project",
                name=project.code,
                project=project.code,
                info=project.name,
                children=n_sequences + n_assets,
            )
            for project, n_sequences, n_assets in rows
        ]

    return db.read(work)


def children(db: Database, keys: Sequence[str], limit: int = PAGE) -> list[BrowseNode]:
    """The next level under each of `keys` (each node has `parent` set); a part's level is
    the first `limit` of its versions, newest first, plus its latest and pinned ones.
    Unknown parents have no children. Raises ValidationError for a malformed key."""
    groups = _grouped(keys)
    _check_page(limit, 0)

    def work(session: Session) -> list[BrowseNode]:
        nodes: list[BrowseNode] = []
        ids = {kind: [ident for ident, _ in pairs] for kind, pairs in groups.items()}
        if ids.get("project"):
            nodes += _project_children(session, ids["project"])
        if ids.get("sequence"):
            nodes += _shots(session, ids["sequence"])
        if ids.get("shot"):
            nodes += _usd_assets(session, "shot", ids["shot"])
        if ids.get("asset"):
            nodes += _usd_assets(session, "asset", ids["asset"])
        if groups.get("usd_asset"):
            nodes += _parts(session, groups["usd_asset"])
        if ids.get("part"):
            nodes += _versions(session, ids["part"], limit, 0)
        return nodes

    return db.read(work)


def versions(
    db: Database,
    part_id: int,
    offset: int = 0,
    limit: int = PAGE,
    before: int | None = None,
    after: int | None = None,
) -> list[BrowseNode]:
    """One page of a part's versions, newest first (version, then iteration): from
    `offset`, or the `limit` older than the publish `before` or newer than the publish
    `after` (keyset pages, of the same part). Raises ValidationError for a bad page,
    NotFound for an unknown part or a `before`/`after` publish not of this part."""
    _check_page(limit, offset)

    def work(session: Session) -> list[BrowseNode]:
        if session.get(Part, part_id) is None:
            raise NotFound(f"no part with id {part_id}", field="part_id")
        bounds = [
            _numbers_of(session, part_id, ident, field)
            for ident, field in ((before, "before"), (after, "after"))
        ]
        return _versions(session, [part_id], limit, offset, *bounds)

    return db.read(work)


def past(version: int, iteration: int, newer: bool) -> ColumnElement[bool]:
    """A part's publishes newer (or older) than `version`/`iteration`: one range of its
    (part_id, version, iteration) index."""
    if newer:
        return and_(
            Publish.version >= version,
            or_(
                Publish.version > version,
                and_(Publish.version == version, Publish.iteration > iteration),
            ),
        )
    return and_(
        Publish.version <= version,
        or_(
            Publish.version < version,
            and_(Publish.version == version, Publish.iteration < iteration),
        ),
    )


def _numbers_of(
    session: Session, part_id: int, publish_id: int | None, field: str
) -> tuple[int, int] | None:
    """(version, iteration) of a publish of the part; raises NotFound naming `field`."""
    if publish_id is None:
        return None
    found = session.execute(
        select(Publish.version, Publish.iteration).where(
            Publish.id == publish_id, Publish.part_id == part_id
        )
    ).first()
    if found is None:
        raise NotFound(f"part {part_id} has no publish {publish_id}", field=field)
    return found[0], found[1]


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"must be 1 to {MAX_PAGE}", field="limit")
    if offset < 0:
        raise ValidationError("must be 0 or more", field="offset")


def _projects(session: Session, ids: Iterable[int]) -> dict[int, Project]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(select(Project).where(Project.id.in_(wanted)))}


def _project_children(session: Session, project_ids: list[int]) -> list[BrowseNode]:
    projects = _projects(session, project_ids)
    shots = (
        select(func.count())
        .where(Shot.sequence_id == SequenceRow.id)
        .correlate(SequenceRow)
        .scalar_subquery()
    )
    nodes = [
        BrowseNode(
            key=f"sequence:{sequence.id}",
            parent=f"project:{sequence.project_id}",
            kind="sequence",
            name=sequence.code,
            project=projects[sequence.project_id].code,
            children=n_shots,
        )
        for sequence, n_shots in session.execute(
            select(SequenceRow, shots)
            .where(SequenceRow.project_id.in_(project_ids))
            .order_by(func.lower(SequenceRow.code))
        )
    ]
    assets = list(
        session.scalars(
            select(Asset)
            .where(Asset.project_id.in_(project_ids))
            .order_by(func.lower(Asset.asset_type), func.lower(Asset.code))
        )
    )
    counts = _usd_counts(session, "asset", (asset.id for asset in assets))
    nodes += [
        BrowseNode(
            key=f"asset:{asset.id}",
            parent=f"project:{asset.project_id}",
            kind="asset",
            name=asset.code,
            project=projects[asset.project_id].code,
            info=asset.asset_type,
            children=counts.get(asset.id, 0),
        )
        for asset in assets
    ]
    return nodes


class TargetPart(NamedTuple):
    """A part published on a shot or an asset, and its USD asset (location, name)."""

    target_id: int
    part_id: int
    stream_id: int
    asset_name: str


def _target_parts(session: Session, target: str, target_ids: Iterable[int]) -> list[TargetPart]:
    """Every part published on the given shots or assets (`publishes.target_type` and
    `target_id`: where each publish was made). A walk of the index
    `ix_publishes_target_part`, one seek per shot or asset and per part found (an emulated
    skip scan), whose cost does not grow with how many versions the parts have."""
    wanted = sorted(set(target_ids))
    if not wanted:
        return []
    first, step = _PUBLISHES.alias("first_part"), _PUBLISHES.alias("next_part")
    owner = Shot if target == "shot" else Asset
    start = select(
        owner.id.label("target_id"),
        select(func.min(first.c.part_id))
        .where(first.c.target_type == target, first.c.target_id == owner.id)
        .scalar_subquery()
        .label("part_id"),
    ).where(owner.id.in_(wanted))
    walk = start.cte("walk", recursive=True)
    walk = walk.union_all(
        select(
            walk.c.target_id,
            select(func.min(step.c.part_id))
            .where(
                step.c.target_type == target,
                step.c.target_id == walk.c.target_id,
                step.c.part_id > walk.c.part_id,
            )
            .scalar_subquery(),
        ).where(walk.c.part_id.is_not(None))
    )
    rows = session.execute(
        select(walk.c.target_id, walk.c.part_id, Part.stream_id, Part.asset_name).join(
            Part, Part.id == walk.c.part_id
        )
    )
    return [TargetPart(*row) for row in rows]


def _usd_counts(session: Session, target: str, target_ids: Iterable[int]) -> dict[int, int]:
    """How many USD assets (scene location + asset name) each shot or asset holds."""
    found: dict[int, set[tuple[int, str]]] = defaultdict(set)
    for row in _target_parts(session, target, target_ids):
        found[row.target_id].add((row.stream_id, row.asset_name.lower()))
    return {target_id: len(assets) for target_id, assets in found.items()}


def _shots(session: Session, sequence_ids: list[int]) -> list[BrowseNode]:
    rows = session.execute(
        select(Shot, Project.code)
        .join(SequenceRow, SequenceRow.id == Shot.sequence_id)
        .join(Project, Project.id == SequenceRow.project_id)
        .where(Shot.sequence_id.in_(sequence_ids))
        .order_by(func.lower(Shot.code))
    ).all()
    counts = _usd_counts(session, "shot", (shot.id for shot, _ in rows))
    return [
        BrowseNode(
            key=f"shot:{shot.id}",
            parent=f"sequence:{shot.sequence_id}",
            kind="shot",
            name=shot.code,
            project=code,
            info=f"{shot.frame_start}-{shot.frame_end}",
            children=counts.get(shot.id, 0),
        )
        for shot, code in rows
    ]


def _usd_assets(session: Session, target: str, target_ids: list[int]) -> list[BrowseNode]:
    """The USD assets published on the given shots or assets, each with its number of
    parts and its newest completion (time, asset layer path): one index seek per part."""
    found_parts = _target_parts(session, target, target_ids)
    part_ids = {row.part_id for row in found_parts}
    newest: dict[int, int | None] = {}
    if part_ids:
        newest = dict(
            session.execute(
                select(
                    Part.id,
                    func.coalesce(
                        resolution.newest_completion_id(Part.id), _newest_attempt_id(Part.id)
                    ),
                ).where(Part.id.in_(part_ids))
            ).all()
        )
    shown = _publishes_with_context(session, {i for i in newest.values() if i is not None})
    groups: dict[tuple[int, int, str], list[TargetPart]] = defaultdict(list)
    for row in found_parts:
        groups[(row.target_id, row.stream_id, row.asset_name.lower())].append(row)
    sources = _stream_sources(session, {stream_id for _, stream_id, _ in groups})
    nodes = []
    for (target_id, stream_id, _), members in groups.items():
        found = [shown[i] for i in (newest.get(m.part_id) for m in members) if i in shown]
        if not found:
            continue
        asset_name = min(m.asset_name for m in members)
        # The asset layer's path is the one its newest completion recorded.
        last, _, project = max(found, key=lambda row: (row[0].completed_at is not None, row[0].id))
        completions = [row[0].completed_at for row in found if row[0].completed_at]
        step, artist, scene = sources.get(stream_id, ("", None, ""))
        asset_path = _absolute(project, last.asset_usd_path)
        nodes.append(
            BrowseNode(
                key=usd_key(stream_id, asset_name),
                parent=f"{target}:{target_id}",
                kind="usd_asset",
                name=asset_name,
                project=project.code,
                info=f"{step} · {artist}/{scene}" if artist else step,
                children=len(members),
                artist=artist,
                time=max(completions) if completions else None,
                path=asset_path,
                asset_path=asset_path,
                asset_name=asset_name,
            )
        )
    nodes.sort(key=lambda n: (n.parent or "", n.name.lower(), n.info))
    return nodes


def _stream_sources(session: Session, stream_ids: set[int]) -> dict[int, tuple[str, str, str]]:
    """(step, artist login, scene name) of each scene location, from its newest save (its
    highest numbers: one index seek each)."""
    if not stream_ids:
        return {}
    newest = (
        select(Scene.id)
        .where(Scene.stream_id == SceneStream.id)
        .order_by(Scene.version.desc(), Scene.iteration.desc())
        .limit(1)
        .scalar_subquery()
    )
    saves = select(newest).where(SceneStream.id.in_(stream_ids))
    rows = session.execute(
        select(Scene.stream_id, Task.step, Artist.login, Scene.name)
        .join(Task, Task.id == Scene.task_id)
        .join(Artist, Artist.id == Scene.artist_id)
        .where(Scene.id.in_(saves))
    )
    return {stream_id: (step, login, name) for stream_id, step, login, name in rows}


def _newest_attempt_id(part_id: Any) -> ColumnElement[Any]:
    """The id of the part's publish with the highest numbers, whatever its status (what a
    part that never completed a publish shows): one index seek."""
    attempt = _PUBLISHES.alias("newest_attempt")
    return (
        select(attempt.c.id)
        .where(attempt.c.part_id == part_id)
        .order_by(attempt.c.version.desc(), attempt.c.iteration.desc())
        .limit(1)
        .scalar_subquery()
    )


def _version_count(part_id: Any) -> ColumnElement[Any]:
    """How many publishes (versions, whatever their status) the part has: a count over
    its entries of the index `uq_publishes_part_id_version_iteration`, never the table."""
    counted = _PUBLISHES.alias("counted")
    return select(func.count()).where(counted.c.part_id == part_id).scalar_subquery()


def _parts(session: Session, usd_assets: list[tuple[int, str]]) -> list[BrowseNode]:
    """The parts of the given USD assets, each with the publish it uses now: the pinned one,
    else the latest; a part never published shows its newest attempt."""
    wanted = {(stream_id, name.lower()) for stream_id, name in usd_assets}
    rows = session.execute(
        select(
            Part,
            _version_count(Part.id),
            resolution.pinned_id(Part.id),
            resolution.resolved_id(Part.id),
            resolution.newest_completion_id(Part.id),
            _newest_attempt_id(Part.id),
        )
        .where(
            Part.stream_id.in_({stream_id for stream_id, _ in wanted}),
            or_(
                *(
                    and_(Part.stream_id == stream_id, func.lower(Part.asset_name) == name)
                    for stream_id, name in wanted
                )
            ),
        )
        .order_by(func.lower(Part.name))
    ).all()
    shown = _publishes_with_context(
        session, {i for row in rows for i in (row[2], row[3], row[4], row[5]) if i is not None}
    )
    nodes = []
    for part, n_versions, pin_id, resolved_id, newest_id, attempt_id in rows:
        # A part that never completed a publish shows its newest attempt.
        current = shown.get(resolved_id or newest_id or attempt_id)
        paths_of = shown.get(newest_id or attempt_id)
        if current is None or paths_of is None:
            continue
        in_use, login, project = current
        publish = paths_of[0]
        part_path = _absolute(project, publish.part_usd_path)
        nodes.append(
            BrowseNode(
                key=f"part:{part.id}",
                parent=usd_key(part.stream_id, part.asset_name),
                kind="part",
                name=part.name,
                project=project.code,
                children=n_versions,
                version=numbers(in_use.version, in_use.iteration),
                status=in_use.status,
                artist=login,
                time=in_use.completed_at or in_use.created_at,
                path=part_path,
                part_path=part_path,
                asset_path=_absolute(project, publish.asset_usd_path),
                pinned=pin_id is not None,
                pinned_version=numbers(in_use.version, in_use.iteration) if pin_id else None,
                withdrawn=part.withdrawn,
                part_id=part.id,
                publish_id=in_use.id,
                asset_name=part.asset_name,
                part_name=part.name,
            )
        )
    return nodes


def _publishes_with_context(
    session: Session, publish_ids: set[int]
) -> dict[int, tuple[Publish, str, Project]]:
    """Publishes by id with their artist's login and their project."""
    if not publish_ids:
        return {}
    rows = session.execute(
        select(Publish, Artist.login, Project)
        .join(Artist, Artist.id == Publish.created_by)
        .join(Task, Task.id == Publish.task_id)
        .join(Project, Project.id == Task.project_id)
        .where(Publish.id.in_(publish_ids))
    )
    return {publish.id: (publish, login, project) for publish, login, project in rows}


_VERSION_COLUMNS = (
    Publish.id,
    Publish.part_id,
    Publish.publish_id,
    Publish.status,
    Publish.is_latest,
    Publish.version,
    Publish.iteration,
    Publish.item_usd_path,
    Publish.part_usd_path,
    Publish.asset_usd_path,
    Publish.asset_name,
    Publish.part_name,
    Publish.completed_at,
    Publish.created_at,
    Publish.error,
    Publish.meta,
    Scene.id.label("scene_id"),
    Scene.name.label("scene_name"),
    Scene.version.label("scene_version"),
    Scene.iteration.label("scene_iteration"),
    Scene.path.label("scene_path"),
    Artist.login,
    Task.project_id,
)


def _versions(
    session: Session,
    part_ids: list[int],
    limit: int,
    offset: int,
    before: tuple[int, int] | None = None,
    after: tuple[int, int] | None = None,
) -> list[BrowseNode]:
    """A page of each part's publishes, newest first; the first page also carries the
    latest and pinned publish wherever they are in the history. Each part's page is a
    range of its own index entries (highest numbers first, past `before` or `after`, the
    (version, iteration) of the page's neighbour), so a page costs its rows, not the
    part's history. Plain columns, not ORM objects: a page is hundreds of rows and the
    browser waits for it."""
    pins = dict(
        session.execute(
            select(PartPin.part_id, PartPin.publish_id).where(PartPin.part_id.in_(part_ids))
        ).all()
    )
    wanted = set(_page_ids(session, part_ids, limit, offset, before, after))
    if offset == 0 and before is None and after is None:
        wanted.update(pins.values())
        wanted.update(
            session.scalars(
                select(Publish.id).where(Publish.part_id.in_(part_ids), is_latest(_PUBLISHES))
            )
        )
    order = (Publish.version.desc(), Publish.iteration.desc())
    query = (
        select(*_VERSION_COLUMNS)
        .join(Scene, Scene.id == Publish.scene_id)
        .join(Artist, Artist.id == Publish.created_by)
        .join(Task, Task.id == Publish.task_id)
        .where(Publish.id.in_(wanted))
        .order_by(Publish.part_id, *order)
    )
    rows = session.execute(query).all() if wanted else []
    projects = project_roots(session, {row.project_id for row in rows})
    pinned_ids = set(pins.values())
    return [_version_node(row, *projects[row.project_id], row.id in pinned_ids) for row in rows]


def _page_ids(
    session: Session,
    part_ids: list[int],
    limit: int,
    offset: int,
    before: tuple[int, int] | None,
    after: tuple[int, int] | None,
) -> list[int]:
    """The ids of each part's page, one statement per 200 parts (a UNION ALL of one index
    range per part)."""

    def one(part_id: int) -> Any:
        query = select(Publish.id).where(Publish.part_id == part_id)
        if after is not None:
            query = query.where(past(*after, newer=True)).order_by(
                Publish.version, Publish.iteration
            )
        else:
            query = query.order_by(Publish.version.desc(), Publish.iteration.desc())
        if before is not None:
            query = query.where(past(*before, newer=False))
        return query.limit(limit).offset(offset)

    found: list[int] = []
    for start in range(0, len(part_ids), UNION_PARTS):
        chunk = part_ids[start : start + UNION_PARTS]
        if len(chunk) == 1:
            found += session.scalars(one(chunk[0]))
            continue
        pages = [one(part_id).subquery() for part_id in chunk]
        found += session.scalars(union_all(*(select(page.c.id) for page in pages)))
    return found


def project_roots(session: Session, project_ids: set[int]) -> dict[int, tuple[str, str | None]]:
    """(code, root on this platform or None) of each project."""
    found = {}
    for project in _projects(session, project_ids).values():
        try:
            root: str | None = root_for(project).rstrip("/")
        except ValidationError:
            root = None
        found[project.id] = (project.code, root)
    return found


def under(root: str | None, relative: str | None) -> str | None:
    """A stored relative path under a project's root, if it has one on this platform."""
    return join_root(root, relative) if root and relative else None


def _version_node(row: Any, code: str, root: str | None, pinned: bool) -> BrowseNode:
    data_path = under(root, row.item_usd_path)
    label = numbers(row.version, row.iteration)
    # Built without validation: every value comes straight from the database.
    return BrowseNode.model_construct(
        key=f"publish:{row.id}",
        parent=f"part:{row.part_id}",
        kind="publish",
        name=data_path.rsplit("/", 1)[-1] if data_path else label,
        project=code,
        info="",
        children=0,
        version=label,
        status=row.status,
        artist=row.login,
        time=row.completed_at or row.created_at,
        path=data_path,
        latest=row.is_latest,
        pinned=pinned and row.status == "published",
        withdrawn=False,
        part_id=row.part_id,
        publish_id=row.id,
        publish_uid=row.publish_id,
        asset_name=row.asset_name,
        part_name=row.part_name,
        pinned_version=None,
        scene_id=row.scene_id,
        scene_name=row.scene_name,
        scene_version=row.scene_version,
        scene_iteration=row.scene_iteration,
        scene_path=under(root, row.scene_path),
        part_path=under(root, row.part_usd_path),
        asset_path=under(root, row.asset_usd_path),
        completed_at=row.completed_at,
        error=row.error,
        metadata=row.meta or {},
    )


# Search -----------------------------------------------------------------------------


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(db: Database, text: str, limit: int = SEARCH_LIMIT) -> list[list[str]]:
    """The tree paths (key chains from the project down) of every sequence, shot, asset,
    USD asset and part whose name contains `text`, case-insensitively; at most `limit`
    of each kind. Raises ValidationError for a bad limit."""
    text = text.strip()
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"must be 1 to {MAX_PAGE}", field="limit")
    if not text or len(text) > 64:
        return []
    pattern = _like(text)

    def matches(column: Any) -> Any:
        return func.lower(column).like(pattern, escape="\\")

    def work(session: Session) -> list[list[str]]:
        chains: list[list[str]] = []
        for project_id, sequence_id in session.execute(
            select(SequenceRow.project_id, SequenceRow.id)
            .where(matches(SequenceRow.code))
            .limit(limit)
        ):
            chains.append([f"project:{project_id}", f"sequence:{sequence_id}"])
        for project_id, sequence_id, shot_id in session.execute(
            select(SequenceRow.project_id, SequenceRow.id, Shot.id)
            .join(SequenceRow, SequenceRow.id == Shot.sequence_id)
            .where(matches(Shot.code))
            .limit(limit)
        ):
            chains.append([f"project:{project_id}", f"sequence:{sequence_id}", f"shot:{shot_id}"])
        for project_id, asset_id in session.execute(
            select(Asset.project_id, Asset.id).where(matches(Asset.code)).limit(limit)
        ):
            chains.append([f"project:{project_id}", f"asset:{asset_id}"])
        parts = session.execute(
            select(Part.id, Part.stream_id, Part.asset_name, matches(Part.name))
            .where(or_(matches(Part.name), matches(Part.asset_name)))
            .limit(limit * 4)
        ).all()
        targets = _stream_targets(session, {row[1] for row in parts})
        seen_usd: set[str] = set()
        for part_id, stream_id, asset_name, part_matches in parts:
            if stream_id not in targets:
                continue
            usd = usd_key(stream_id, asset_name)
            if part_matches:
                chains.append([*targets[stream_id], usd, f"part:{part_id}"])
            elif usd not in seen_usd and len(seen_usd) < limit:
                seen_usd.add(usd)
                chains.append([*targets[stream_id], usd])
        return chains

    return db.read(work)


def _stream_targets(session: Session, stream_ids: set[int]) -> dict[int, list[str]]:
    """The tree path of the shot or asset each scene location belongs to."""
    if not stream_ids:
        return {}
    # Each location's first save: its lowest numbers, one index seek.
    first = select(
        select(Scene.id)
        .where(Scene.stream_id == SceneStream.id)
        .order_by(Scene.version, Scene.iteration)
        .limit(1)
        .scalar_subquery()
    ).where(SceneStream.id.in_(stream_ids))
    rows = session.execute(
        select(Scene.stream_id, Task.project_id, Shot.sequence_id, Task.shot_id, Task.asset_id)
        .join(Task, Task.id == Scene.task_id)
        .outerjoin(Shot, Shot.id == Task.shot_id)
        .where(Scene.id.in_(first))
    )
    targets: dict[int, list[str]] = {}
    for stream_id, project_id, sequence_id, shot_id, asset_id in rows:
        if shot_id is not None:
            targets[stream_id] = [
                f"project:{project_id}",
                f"sequence:{sequence_id}",
                f"shot:{shot_id}",
            ]
        else:
            targets[stream_id] = [f"project:{project_id}", f"asset:{asset_id}"]
    return targets


# Tasks ------------------------------------------------------------------------------


_TASK_ROWS = (
    select(Task, Project, SequenceRow.code, Shot, Asset, Artist.login)
    .join(Project, Project.id == Task.project_id)
    .outerjoin(Shot, Shot.id == Task.shot_id)
    .outerjoin(SequenceRow, SequenceRow.id == Shot.sequence_id)
    .outerjoin(Asset, Asset.id == Task.asset_id)
    .outerjoin(Artist, Artist.id == Task.artist_id)
)


def _task_row(
    task: Task,
    project: Project,
    sequence: str | None,
    shot: Shot | None,
    asset: Asset | None,
    login: str | None,
) -> TaskRow:
    target_type: str | None = None
    target_id: int | None = None
    target: str | None = None
    info = ""
    if shot is not None and sequence is not None:
        target_type, target_id, target = "shot", shot.id, f"{sequence}/{shot.code}"
        info = f"{shot.frame_start}-{shot.frame_end}"
    elif asset is not None:
        target_type, target_id, target, info = "asset", asset.id, asset.code, asset.asset_type
    return TaskRow(
        id=task.id,
        name=task.name,
        step=task.step,
        status=task.status,
        project_id=project.id,
        project=project.code,
        project_name=project.name,
        target_type=target_type,
        target_id=target_id,
        target=target,
        target_info=info,
        artist=login,
    )


def artist_tasks(db: Database, artist: str) -> list[TaskRow]:
    """The tasks assigned to the artist `artist` (a login), by project, shot or asset and
    step, in one query. Raises NotFound naming `artist`."""
    login = artist.strip().lower()

    def work(session: Session) -> list[TaskRow]:
        artist_id = session.scalar(select(Artist.id).where(Artist.login == login))
        if artist_id is None:
            raise NotFound(f"no artist with login {artist!r}", field="artist")
        rows = session.execute(_TASK_ROWS.where(Task.artist_id == artist_id))
        tasks = [_task_row(*row) for row in rows]
        return sorted(tasks, key=lambda t: (t.project.lower(), (t.target or "").lower(), t.step))

    return db.read(work)


def task_row(db: Database, task_id: int) -> TaskRow:
    """One task with its project and target; raises NotFound naming `task_id`."""

    def work(session: Session) -> TaskRow:
        row = session.execute(_TASK_ROWS.where(Task.id == task_id)).first()
        if row is None:
            raise NotFound(f"no task with id {task_id}", field="task_id")
        return _task_row(*row)

    return db.read(work)
