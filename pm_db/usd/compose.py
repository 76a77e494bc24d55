"""The bytes of the part and asset layers, made from an AssetState and nothing else.

A part layer sublayers the data layer it points at, with its provenance in
`customLayerData["pm"]`: publish id, version, iteration, source scene (project-relative),
artist and the stored completion time, never the time of writing, so the same database
state always gives the same bytes. An asset layer sublayers the part layers of its
composed parts, by part name, and names its composed and withdrawn parts: no versions, so
a new publish of a part rewrites that part's layer only. Sublayer paths are relative to
the layer (`./data/particles01_v003_i007.usd`), so a show tree can be moved or mounted
elsewhere. Layers are written as USD text (valid in a `.usd` file), readable and diffable.
"""

from __future__ import annotations

import functools
from datetime import timezone
from typing import Any

from pm_db.numbers import label as numbers_label
from pm_db.usd.state import AssetState, PartState, Source

NOTE = "Written by pm from its database; edits are overwritten (pm usd rebuild)."


@functools.lru_cache(maxsize=65536)
def relative_to(layer: str, target: str) -> str:
    """`target` as an anchored path relative to the folder of `layer` (both
    project-relative, '/'-separated, without '.' or '..'): `./data/x.usd` or
    `../other/x.usd`."""
    # Plain string work: posixpath.relpath would ask the OS for the working directory.
    start = layer.split("/")[:-1]
    parts = target.split("/")
    common = 0
    while common < min(len(start), len(parts) - 1) and start[common] == parts[common]:
        common += 1
    up = len(start) - common
    rest = "/".join(parts[common:])
    return f"{'../' * up}{rest}" if up else f"./{rest}"


def _stamp(source: Source) -> str:
    if source.published_at is None:
        return ""
    return source.published_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def provenance(source: Source) -> dict[str, Any]:
    """The provenance of one publish as layer metadata."""
    return {
        "publish_id": source.publish_id,
        "version": source.version,
        "iteration": source.iteration,
        "state": "pinned" if source.pinned else "latest",
        "source_scene": source.scene,
        "artist": source.artist,
        "published_at": _stamp(source),
    }


def part_layer(asset: AssetState, part: PartState) -> bytes:
    """The part layer: a sublayer of the data layer it points at (none if nothing is
    published), with its provenance."""
    return _part_layer(asset.project, asset.key.asset_name, part)


# A pure function of its arguments, so a long-lived process (a Houdini session, the REST
# service) keeps the bytes of unchanged part layers instead of composing them again.
@functools.lru_cache(maxsize=4096)
def _part_layer(project: str, asset_name: str, part: PartState) -> bytes:
    data: dict[str, Any] = {"kind": "part", "project": project, "asset": asset_name}
    data["part"] = part.name
    source = part.source
    if source is None:
        data["state"] = "none"
        doc = f"pm part layer {asset_name}/{part.name}: nothing published. {NOTE}"
        return _export([], data, doc)
    data_layer = relative_to(part.layer, source.data_layer)
    data.update(provenance(source), data_layer=data_layer)
    numbers = f"{numbers_label(source.version, source.iteration)}"
    pinned = " (pinned)" if source.pinned else ""
    doc = f"pm part layer {asset_name}/{part.name}: {numbers}{pinned}. {NOTE}"
    return _export([data_layer], data, doc)


def clear_cache() -> None:
    """Forget the layer bytes kept by this process (benchmarks of a fresh process)."""
    _part_layer.cache_clear()
    _asset_layer.cache_clear()


def asset_layer(asset: AssetState) -> bytes:
    """The asset layer: a sublayer of every composed part layer, by part name, with the
    names of the composed parts and of the withdrawn ones. The versions live in the part
    layers only, so a new publish of a part leaves the asset layer's bytes as they were."""
    composed = [p for p in asset.parts if p.composed]
    return _asset_layer(
        asset.project,
        asset.key.asset_name,
        tuple(p.name for p in composed),
        tuple(relative_to(asset.layer, p.layer) for p in composed),
        tuple(sorted(p.name for p in asset.parts if p.withdrawn)),
    )


# Like _part_layer: most publishes leave an asset layer as it was, so its bytes are kept.
@functools.lru_cache(maxsize=4096)
def _asset_layer(
    project: str,
    asset_name: str,
    parts: tuple[str, ...],
    sublayers: tuple[str, ...],
    withdrawn: tuple[str, ...],
) -> bytes:
    from pxr import Vt

    data: dict[str, Any] = {
        "kind": "asset",
        "project": project,
        "asset": asset_name,
        "parts": Vt.StringArray(list(parts)),
        "withdrawn": Vt.StringArray(list(withdrawn)),
    }
    doc = f"pm asset layer {asset_name}: {len(parts)} part(s). {NOTE}"
    return _export(list(sublayers), data, doc)


def _export(sublayers: list[str], data: dict[str, Any], doc: str) -> bytes:
    from pxr import Sdf

    layer = Sdf.Layer.CreateAnonymous(".usda")
    layer.documentation = doc
    layer.customLayerData = {"pm": data}
    layer.subLayerPaths = sublayers
    text: str = layer.ExportToString()
    return text.encode("utf-8")
