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

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

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
    row = session.execute(select(Part.stream_id, Part.asset_name).where(Part.id == part_id)).first()
    if row is None:
        raise NotFound(f"no part with id {part_id}", field="part")
    return AssetKey(row[0], row[1])


def asset_state(session: Session, key: AssetKey) -> AssetState | None:
    """The state of one asset's layers, or None if none of its parts ever completed a
    publish (it has no layers). Three queries whatever the number of parts."""
    in_asset = and_(Part.stream_id == key.stream_id, Part.asset_name == key.asset_name)
    newest_seq = (
        select(Publish.part_id, func.max(Publish.published_seq).label("seq"))
        .join(Part, Part.id == Publish.part_id)
        .where(in_asset, Publish.published_seq.is_not(None))
        .group_by(Publish.part_id)
        .subquery()
    )
    newest = aliased(Publish, name="newest")
    pinned = aliased(Publish, name="pinned")
    latest = aliased(Publish, name="latest")
    rows = session.execute(
        select(
            Part.id,
            Part.name,
            Part.withdrawn,
            newest.id,
            newest.completed_at,
            newest.part_usd_path,
            newest.asset_usd_path,
            pinned.id,
            latest.id,
        )
        .join(newest_seq, newest_seq.c.part_id == Part.id)
        .join(newest, and_(newest.part_id == Part.id, newest.published_seq == newest_seq.c.seq))
        .outerjoin(PartPin, PartPin.part_id == Part.id)
        .outerjoin(pinned, and_(pinned.id == PartPin.publish_id, pinned.status == "published"))
        .outerjoin(latest, and_(latest.part_id == Part.id, latest.is_latest.is_(True)))
        .where(in_asset)
        .order_by(Part.name, Part.id)
    ).all()
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
    project = session.execute(
        select(Project)
        .join(SceneStream, SceneStream.project_id == Project.id)
        .where(SceneStream.id == key.stream_id)
    ).scalar_one()
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
    rows = session.execute(
        select(
            Publish.id,
            Publish.publish_id,
            Publish.version,
            Publish.iteration,
            Publish.item_usd_path,
            Scene.path,
            Artist.login,
            Publish.completed_at,
        )
        .join(Scene, Scene.id == Publish.scene_id)
        .join(Artist, Artist.id == Publish.created_by)
        .where(Publish.id.in_(sorted(publish_ids)))
    )
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
