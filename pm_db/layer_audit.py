"""What `pm doctor` expects each stable layer to say, worked out on its own.

The layer writer (pm_db.usd.state, services.resolution, pm_db.usd.compose) must not check
itself: a bug in its query would be repeated by a check that reads through it. So this
module reads the publish records with a query of its own and decides in plain Python,
from the rules in docs/publishing.md:

- a part has layers once one of its publishes completed; they live at the paths recorded
  on the publish with the highest completion number;
- a part layer points at the part's pinned publish if that is still published, otherwise
  at the published publish with the highest completion number, otherwise at nothing;
- an asset layer names exactly the parts that point at something and are not withdrawn.

Then it opens the layers on disk with USD's own reader (`Sdf.Layer`), resolves their
sublayer paths and compares. It also finds the temporary files USD leaves beside a data
layer when it is killed mid-write (`smoke01_v001_i435.RhWjf1`).
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from pm_db.services.context import join_root, root_for

USD_TEMP = re.compile(r"^(?P<stem>.+_v\d{3,}_i\d{3,})\.[A-Za-z0-9]{6}$")
"""A temporary file USD's safe output (TfSafeOutputFile) leaves beside `<stem>.usd`."""


@dataclass
class ExpectedPart:
    """One part as its records say its layer must be."""

    name: str
    withdrawn: bool
    layer: str
    points_at: str | None
    data_folders: set[str] = field(default_factory=set)


@dataclass
class ExpectedAsset:
    """One asset layer as the records say it must be (absolute paths)."""

    project: str
    asset: str
    layer: str
    parts: list[ExpectedPart]

    @property
    def composed(self) -> set[str]:
        """The part layers the asset layer must sublayer."""
        return {p.layer for p in self.parts if p.points_at is not None and not p.withdrawn}


@dataclass(frozen=True)
class Finding:
    """A way the files disagree with the records."""

    kind: str
    path: str
    message: str


_ASSETS = """
    SELECT DISTINCT parts.stream_id, parts.asset_name
    FROM parts
    JOIN publishes ON publishes.part_id = parts.id
    JOIN scene_streams ON scene_streams.id = parts.stream_id
    WHERE publishes.published_seq IS NOT NULL {project}
    ORDER BY parts.stream_id, parts.asset_name
"""

_RECORDS = text(
    """
    SELECT parts.id AS part_id, parts.name, parts.withdrawn,
           publishes.id, publishes.status, publishes.published_seq,
           publishes.item_usd_path, publishes.part_usd_path, publishes.asset_usd_path,
           publishes.completed_at,
           part_pins.publish_id AS pinned_id,
           projects.code, projects.root_linux, projects.root_windows, projects.root_mac
    FROM parts
    JOIN publishes ON publishes.part_id = parts.id
    JOIN scene_streams ON scene_streams.id = parts.stream_id
    JOIN projects ON projects.id = scene_streams.project_id
    LEFT JOIN part_pins ON part_pins.part_id = parts.id
    WHERE parts.stream_id = :stream_id AND parts.asset_name = :asset_name
    ORDER BY parts.id, publishes.id
    """
)


def assets(session: Session, project_id: int | None) -> list[tuple[int, str]]:
    """(stream id, asset name) of every asset some of whose publishes completed."""
    if project_id is None:
        rows = session.execute(text(_ASSETS.format(project="")))
    else:
        query = _ASSETS.format(project="AND scene_streams.project_id = :project_id")
        rows = session.execute(text(query), {"project_id": project_id})
    return [(stream_id, name) for stream_id, name in rows]


def expected(session: Session, stream_id: int, asset_name: str) -> ExpectedAsset:
    """What the layers of one asset must say, from its publish records; paths absolute on
    this platform."""
    rows = session.execute(_RECORDS, {"stream_id": stream_id, "asset_name": asset_name}).all()
    root = root_for(rows[0]) if rows else ""
    by_part: dict[int, list[Any]] = {}
    for row in rows:
        by_part.setdefault(row.part_id, []).append(row)
    parts: list[ExpectedPart] = []
    newest_of_asset: Any = None
    for part_rows in by_part.values():
        completed = [r for r in part_rows if r.published_seq is not None]
        if not completed:
            continue
        newest = max(completed, key=lambda r: r.published_seq)
        published = [r for r in completed if r.status == "published"]
        pinned = [r for r in published if r.id == r.pinned_id]
        shown = pinned[0] if pinned else max(published, key=lambda r: r.published_seq, default=None)
        parts.append(
            ExpectedPart(
                name=newest.name,
                withdrawn=bool(newest.withdrawn),
                layer=_under(root, newest.part_usd_path),
                points_at=None if shown is None else _under(root, shown.item_usd_path),
                data_folders={posixpath.dirname(_under(root, r.item_usd_path)) for r in part_rows},
            )
        )
        if newest_of_asset is None or (newest.completed_at, newest.id) > (
            newest_of_asset.completed_at,
            newest_of_asset.id,
        ):
            newest_of_asset = newest
    return ExpectedAsset(
        project=rows[0].code if rows else "",
        asset=asset_name,
        layer="" if newest_of_asset is None else _under(root, newest_of_asset.asset_usd_path),
        parts=parts,
    )


def audit(asset: ExpectedAsset, pending_stems: set[str]) -> list[Finding]:
    """How the files of `asset` disagree with what its records say, read with USD's own
    layer reader; `pending_stems` names the data layers still being written (their USD
    temporary files are not leftovers)."""
    found: list[Finding] = []
    for part in asset.parts:
        found.extend(_audit_part(asset, part))
        found.extend(_usd_leftovers(part, pending_stems))
    sublayers = _sublayers(asset.layer)
    if isinstance(sublayers, Finding):
        message = f"asset layer {asset.asset} {sublayers.message}"
        found.append(Finding(sublayers.kind, asset.layer, message))
        return found
    names = {p.layer: p.name for p in asset.parts}
    for missing in sorted(asset.composed - set(sublayers)):
        message = f"asset layer {asset.asset} lacks part {names[missing]}, which is published"
        found.append(Finding("asset_part_missing", asset.layer, message))
    for extra in sorted(set(sublayers) - asset.composed):
        what = names.get(extra, extra)
        message = f"asset layer {asset.asset} names {what}, which is withdrawn or not published"
        found.append(Finding("asset_part_extra", asset.layer, message))
    return found


def _audit_part(asset: ExpectedAsset, part: ExpectedPart) -> list[Finding]:
    what = f"part layer {asset.asset}/{part.name}"
    sublayers = _sublayers(part.layer)
    if isinstance(sublayers, Finding):
        return [Finding(sublayers.kind, part.layer, f"{what} {sublayers.message}")]
    wanted = [] if part.points_at is None else [part.points_at]
    if sublayers != wanted:
        said = sublayers[0] if sublayers else "nothing"
        should = part.points_at or "nothing"
        message = f"{what} points at {said}; its records say {should}"
        return [Finding("part_layer_wrong", part.layer, message)]
    return []


def _usd_leftovers(part: ExpectedPart, pending_stems: set[str]) -> list[Finding]:
    found = []
    for folder in sorted(part.data_folders):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            match = USD_TEMP.match(name)
            if match is None or match["stem"] in pending_stems:
                continue
            path = f"{folder}/{name}"
            message = f"temporary file USD left beside {match['stem']}.usd (a killed write)"
            found.append(Finding("usd_temp_file", path, message))
    return found


def _sublayers(path: str) -> list[str] | Finding:
    """The absolute sublayer paths of the layer at `path`, or why there are none: no file
    (`layer_missing`), or one USD cannot read (`layer_unreadable`: empty, damaged)."""
    if not os.path.isfile(path):
        return Finding("layer_missing", path, "is missing")
    from pxr import Sdf, Tf

    unreadable = Finding("layer_unreadable", path, "is not a USD layer (empty or damaged)")
    try:
        layer = Sdf.Layer.OpenAsAnonymous(path)
    except Tf.ErrorException:
        return unreadable
    if layer is None:
        return unreadable
    folder = posixpath.dirname(path)
    return [posixpath.normpath(posixpath.join(folder, sub)) for sub in layer.subLayerPaths]


def _under(root: str, relative: str) -> str:
    return posixpath.normpath(join_root(root, relative))
