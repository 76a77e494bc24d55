"""What the layers of one asset should say, read from the database.

An asset, for layers, is every part that shares one scene stream (one scene folder) and
one USD asset name: `.../scenes/jdoe/PinchIn/usd/PinchIn/PinchIn.usd` composes the parts
published from that folder under `PinchIn`. The rules:

- a part has a layer once it has completed a publish, at the paths its newest completion
  recorded, pointing at the publish it resolves to (services.resolution);
- the asset layer composes the part layers of the parts that resolve to something and
  are not withdrawn, ordered by part name, at the path the asset's newest completion
  recorded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from pm_db.errors import NotFound
from pm_db.models import Artist, Part, Project, Publish, Scene, SceneStream
from pm_db.services import resolution
from pm_db.services.context import join_root, root_for


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
        return join_root(self.root, relative)


def asset_keys(
    session: Session, project_id: int | None = None, asset_name: str | None = None
) -> list[AssetKey]:
    """Every asset that has layers, optionally of one project or one asset name (any
    case), in a stable order."""
    completed = select(Publish.id).where(
        Publish.part_id == Part.id, Publish.published_seq.is_not(None)
    )
    query = (
        select(Part.stream_id, Part.asset_name)
        .join(SceneStream, SceneStream.id == Part.stream_id)
        .where(completed.exists())
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


# Table columns, not mapped attributes: plain Core statements skip the ORM's per-query
# work, and a layer update runs them on every publish.
_PART = cast(Table, Part.__table__)
_PUBLISH = cast(Table, Publish.__table__)
_SCENE = cast(Table, Scene.__table__)
_STREAM = cast(Table, SceneStream.__table__)
_ARTIST = cast(Table, Artist.__table__)
_PROJECT = cast(Table, Project.__table__)


def _state_statement() -> Any:
    """One row per part of the asset `b_stream`/`b_asset` that ever completed a publish,
    in one statement: the part, the paths recorded on its newest completion, the publish
    its layer points at (services.resolution) with that publish's scene and artist, and
    the project. Each part costs a few index seeks, whatever its number of versions."""
    newest = _PUBLISH.alias("newest")
    shown = _PUBLISH.alias("shown")
    return (
        select(
            _PART.c.id,
            _PART.c.name,
            _PART.c.withdrawn,
            newest.c.id.label("newest_id"),
            newest.c.completed_at.label("newest_at"),
            newest.c.part_usd_path,
            newest.c.asset_usd_path,
            resolution.pinned_id(_PART.c.id).label("pinned_id"),
            shown.c.id.label("shown_id"),
            shown.c.publish_id,
            shown.c.version,
            shown.c.iteration,
            shown.c.item_usd_path,
            shown.c.completed_at,
            _SCENE.c.path.label("scene_path"),
            _ARTIST.c.login,
            _PROJECT.c.code,
            _PROJECT.c.root_linux,
            _PROJECT.c.root_windows,
            _PROJECT.c.root_mac,
        )
        .select_from(_PART)
        .join(newest, newest.c.id == resolution.newest_completion_id(_PART.c.id))
        .join(_STREAM, _STREAM.c.id == _PART.c.stream_id)
        .join(_PROJECT, _PROJECT.c.id == _STREAM.c.project_id)
        .outerjoin(shown, shown.c.id == resolution.resolved_id(_PART.c.id))
        .outerjoin(_SCENE, _SCENE.c.id == shown.c.scene_id)
        .outerjoin(_ARTIST, _ARTIST.c.id == shown.c.created_by)
        .where(
            _PART.c.stream_id == bindparam("b_stream"),
            _PART.c.asset_name == bindparam("b_asset"),
        )
        .order_by(_PART.c.name, _PART.c.id)
    )


# Built once: a layer update runs it on every publish, and building a statement with
# aliases costs more than running it.
_STATE = _state_statement()
_KEY_OF_PART = select(_PART.c.stream_id, _PART.c.asset_name).where(
    _PART.c.id == bindparam("b_part")
)


def asset_state(session: Session, key: AssetKey) -> AssetState | None:
    """The state of one asset's layers, or None if none of its parts ever completed a
    publish (it has no layers). One query whatever the number of parts."""
    params = {"b_stream": key.stream_id, "b_asset": key.asset_name}
    rows = session.execute(_STATE, params).all()
    if not rows:
        return None
    parts = tuple(
        PartState(
            id=row.id,
            name=row.name,
            layer=row.part_usd_path,
            withdrawn=row.withdrawn,
            source=_source(row),
        )
        for row in rows
    )
    # Every part records the asset layer path; the most recent completion decides, so a
    # template change moves the asset layer with the next publish.
    newest = max(rows, key=lambda row: (row.newest_at, row.newest_id))
    return AssetState(
        key=key,
        project=rows[0].code,
        root=root_for(rows[0]),
        layer=newest.asset_usd_path,
        parts=parts,
    )


def _source(row: Any) -> Source | None:
    if row.shown_id is None:
        return None
    return Source(
        id=row.shown_id,
        publish_id=row.publish_id,
        version=row.version,
        iteration=row.iteration,
        data_layer=row.item_usd_path,
        scene=row.scene_path,
        artist=row.login,
        published_at=row.completed_at,
        pinned=row.pinned_id is not None,
    )
