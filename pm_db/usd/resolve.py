"""An asset layer read back the way downstream reads it: opened with `pxr.Usd.Stage`.

`resolve_asset_layer` says which parts the composed stage holds, which publish each part
layer resolves to (from the provenance pm wrote into it) and which data layer file that
is, so "what does lighting get from PinchIn.usd right now?" has a one-command answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pm_db.errors import NotFound, ValidationError


class ResolvedPart(BaseModel):
    """One part as the composed stage resolves it."""

    part: str
    version: int
    iteration: int
    state: str
    publish_id: str
    artist: str
    published_at: str
    data_layer: str
    prims: list[str]


class ResolvedAsset(BaseModel):
    """An asset layer opened as a stage: its parts and the stage's top-level prims."""

    project: str
    asset: str
    layer: str
    parts: list[ResolvedPart]
    withdrawn: list[str]
    prims: list[str]


def resolve_asset_layer(path: str) -> ResolvedAsset:
    """The asset layer at `path`, opened with Usd.Stage. Raises NotFound if it does not
    exist, ValidationError if it is not a pm asset layer or does not compose."""
    from pxr import Tf, Usd

    if not Path(path).is_file():
        raise NotFound(f"no asset layer at {path}; run `pm usd rebuild`", field="asset_usd_path")
    try:
        stage = Usd.Stage.Open(path)
        # Layers this process opened before may be cached; read what is on disk now.
        stage.Reload()
    except Tf.ErrorException as exc:
        raise ValidationError(f"{path} does not compose: {exc}", "asset_usd_path") from exc
    root = stage.GetRootLayer()
    meta: dict[str, Any] = dict(root.customLayerData.get("pm", {}))
    if meta.get("kind") != "asset":
        raise ValidationError(f"{path} is not an asset layer written by pm", "asset_usd_path")
    parts = [_part(root, sub) for sub in root.subLayerPaths]
    return ResolvedAsset(
        project=str(meta.get("project", "")),
        asset=str(meta.get("asset", "")),
        layer=path,
        parts=parts,
        withdrawn=[str(name) for name in meta.get("withdrawn", [])],
        prims=[str(prim.GetPath()) for prim in stage.GetPseudoRoot().GetChildren()],
    )


def _part(asset_layer: Any, sublayer: str) -> ResolvedPart:
    from pxr import Sdf

    path = Sdf.ComputeAssetPathRelativeToLayer(asset_layer, sublayer)
    layer = Sdf.Layer.FindOrOpen(path)
    if layer is None:
        raise ValidationError(f"part layer {path} is missing", field="part_usd_path")
    meta: dict[str, Any] = dict(layer.customLayerData.get("pm", {}))
    data_path = ""
    prims: list[str] = []
    if layer.subLayerPaths:
        data_path = Sdf.ComputeAssetPathRelativeToLayer(layer, layer.subLayerPaths[0])
        data = Sdf.Layer.FindOrOpen(data_path)
        prims = [str(prim.path) for prim in data.rootPrims] if data is not None else []
    return ResolvedPart(
        part=str(meta.get("part", "")),
        version=int(meta.get("version", 0)),
        iteration=int(meta.get("iteration", 0)),
        state=str(meta.get("state", "")),
        publish_id=str(meta.get("publish_id", "")),
        artist=str(meta.get("artist", "")),
        published_at=str(meta.get("published_at", "")),
        data_layer=data_path,
        prims=prims,
    )
