"""What the layers of one asset should say, read from the database.

An asset, for layers, is every part that shares one scene stream (one scene folder) and
one USD asset name: `.../scenes/jdoe/PinchIn/usd/PinchIn/PinchIn.usd` composes the parts
published from that folder under `PinchIn`. The rules:

- a part has a layer once it has completed a publish (`Part.publish_seq > 0`);
- the part layer points at its pinned publish while that publish is still published,
  otherwise at its latest one; with neither it is an empty layer;
- the asset layer composes the part layers of the parts that point at something and are
  not withdrawn, ordered by part name;
- layer paths are the ones recorded on the part's most recently completed publish.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, select
from sqlalchemy.orm import Session

from pm_db.errors import NotFound
from pm_db.models import Artist, Part, PartPin, Project, Publish, Scene, SceneStream
from pm_db.services.context import root_for


@dataclass(frozen=True, order=True)
class AssetKey:
    """One asset layer: the parts of scene stream `stream_id` under `asset_name`."""

    stream_id: int
    asset_name: str

    @property
    def lock_id(self) -> int:
        """A signed 64-bit number naming this asset's lock (PostgreSQL advisory locks).
        Case-folded, so that two spellings that share a folder on Windows share a lock."""
        text = f"pm.layers:{self.stream_id}:{self.asset_name.casefold()}"
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class Source:
    """The publish a part layer points at, with its provenance."""

    id: int
    publish_id: str
    version: int
    iteration: int
    data_layer: str
    scene: str
    artist: str
    published_at: datetime | None
    pinned: bool


@dataclass(frozen=True)
class PartState:
    """One part of an asset: where its layer lives and what it points at."""

    id: int
    name: str
    layer: str
    withdrawn: bool
    source: Source | None

    @property
    def composed(self) -> bool:
        """Whether the asset layer includes this part."""
        return self.source is not None and not self.withdrawn


@dataclass(frozen=True)
class AssetState:
    """Everything the layers of one asset are made from (paths project-relative)."""

    key: AssetKey
    project: str
    root: str
    layer: str
    parts: tuple[PartState, ...]

    def absolute(self, relative: str) -> str:
        """The absolute path of a project-relative path on this platform."""
        return f"{self.root.rstrip('/')}/{relative}"


def asset_keys(
    session: Session, project_id: int | None = None, asset_name: str | None = None
) -> list[AssetKey]:
    """Every asset that has layers, optionally of one project or one asset name (any
    case), in a stable order."""
    query = (
        select(Part.stream_id, Part.asset_name)
        .join(SceneStream, SceneStream.id == Part.stream_id)
        .where(Part.publish_seq > 0)
        .distinct()
        .order_by(Part.stream_id, Part.asset_name)
    )
    if project_id is not None:
        query = query.where(SceneStream.project_id == project_id)
    if asset_name is not None:
        query = query.where(func.lower(Part.asset_name) == asset_name.lower())
    return [AssetKey(stream_id, name) for stream_id, name in session.execute(query)]


def key_of_part(session: Session, part_id: int) -> AssetKey:
    """The asset a part belongs to; raises NotFound."""
    row = session.execute(_KEY_OF_PART, {"b_part": part_id}).first()
    if row is None:
        raise NotFound(f"no part with id {part_id}", field="part")
    return AssetKey(row[0], row[1])


_PART = cast(Table, Part.__table__)
_PUBLISH = cast(Table, Publish.__table__)
_PIN = cast(Table, PartPin.__table__)


def _state_statement() -> Any:
    """One row per part of the asset `b_stream`/`b_asset` that ever completed a publish:
    (id, name, withdrawn, newest completed publish's id, completed_at, part layer and
    asset layer paths, pinned publish id if still published, latest publish id)."""
    in_asset = and_(
        _PART.c.stream_id == bindparam("b_stream"), _PART.c.asset_name == bindparam("b_asset")
    )
    completions = _PUBLISH.alias("completions")
    newest_seq = (
        select(completions.c.part_id, func.max(completions.c.published_seq).label("seq"))
        .join(_PART, _PART.c.id == completions.c.part_id)
        .where(in_asset, completions.c.published_seq.is_not(None))
        .group_by(completions.c.part_id)
        .subquery("newest_seq")
    )
    newest = _PUBLISH.alias("newest")
    pinned = _PUBLISH.alias("pinned")
    latest = _PUBLISH.alias("latest")
    return (
        select(
            _PART.c.id,
            _PART.c.name,
            _PART.c.withdrawn,
            newest.c.id,
            newest.c.completed_at,
            newest.c.part_usd_path,
            newest.c.asset_usd_path,
            pinned.c.id,
            latest.c.id,
        )
        .join(newest_seq, newest_seq.c.part_id == _PART.c.id)
        .join(
            newest,
            and_(newest.c.part_id == _PART.c.id, newest.c.published_seq == newest_seq.c.seq),
        )
        .outerjoin(_PIN, _PIN.c.part_id == _PART.c.id)
        .outerjoin(pinned, and_(pinned.c.id == _PIN.c.publish_id, pinned.c.status == "published"))
        .outerjoin(latest, and_(latest.c.part_id == _PART.c.id, latest.c.is_latest.is_(True)))
        .where(in_asset)
        .order_by(_PART.c.name, _PART.c.id)
    )


# Built once: a layer update runs these on every publish, and building a statement with
# aliases costs more than running it.
_STATE = _state_statement()
_SOURCES = (
    select(
        _PUBLISH.c.id,
        _PUBLISH.c.publish_id,
        _PUBLISH.c.version,
        _PUBLISH.c.iteration,
        _PUBLISH.c.item_usd_path,
        Scene.path,
        Artist.login,
        _PUBLISH.c.completed_at,
    )
    .join(Scene, Scene.id == _PUBLISH.c.scene_id)
    .join(Artist, Artist.id == _PUBLISH.c.created_by)
    .where(_PUBLISH.c.id.in_(bindparam("b_ids", expanding=True)))
)
_PROJECT = (
    select(Project)
    .join(SceneStream, SceneStream.project_id == Project.id)
    .where(SceneStream.id == bindparam("b_stream"))
)
_KEY_OF_PART = select(_PART.c.stream_id, _PART.c.asset_name).where(
    _PART.c.id == bindparam("b_part")
)


def asset_state(session: Session, key: AssetKey) -> AssetState | None:
    """The state of one asset's layers, or None if none of its parts ever completed a
    publish (it has no layers). Three queries whatever the number of parts."""
    params = {"b_stream": key.stream_id, "b_asset": key.asset_name}
    rows = session.execute(_STATE, params).all()
    if not rows:
        return None
    shown = {row[7] or row[8] for row in rows} - {None}
    sources = _sources(session, shown)
    parts = tuple(
        PartState(
            id=part_id,
            name=name,
            layer=part_layer,
            withdrawn=withdrawn,
            source=_pinned(sources, pin_id) if pin_id else sources.get(latest_id or 0),
        )
        for part_id, name, withdrawn, _, _, part_layer, _, pin_id, latest_id in rows
    )
    # Every part records the asset layer path; the most recent completion decides, so a
    # template change moves the asset layer with the next publish.
    newest_row = max(rows, key=lambda row: (row[4], row[3]))
    project = session.execute(_PROJECT, {"b_stream": key.stream_id}).scalar_one()
    return AssetState(
        key=key,
        project=project.code,
        root=root_for(project),
        layer=newest_row[6],
        parts=parts,
    )


def _pinned(sources: dict[int, Source], publish_id: int) -> Source:
    return replace(sources[publish_id], pinned=True)


def _sources(session: Session, publish_ids: set[int]) -> dict[int, Source]:
    if not publish_ids:
        return {}
    rows = session.execute(_SOURCES, {"b_ids": sorted(publish_ids)})
    return {
        row[0]: Source(
            id=row[0],
            publish_id=row[1],
            version=row[2],
            iteration=row[3],
            data_layer=row[4],
            scene=row[5],
            artist=row[6],
            published_at=row[7],
            pinned=False,
        )
        for row in rows
    }
