"""Every file a publish's ROP writes lands in the publish's own folder, and nothing it
depends on can change later.

A USD ROP writes its output file and, besides it, every layer of the stage that has a
save path (SOP Import, Configure Layer...) to that path (SideFX: solaris/output.html).
A save path outside pm's versioned folder would be rewritten by the next iteration, and
the published version would silently change. So, around the render:

- before: `inside_publish_folder` finds those layers in the stage the ROP writes
  (`HoudiniLayerInfo` prim, `HoudiniSavePath`; the node from `HoudiniCreatorNode`) and
  points each one outside the folder into it for this render, through the `savepath`
  parameter of the node that set it (put back afterwards). A layer whose node has no such
  parameter is refused, naming the node and the layer, before anything is written;
- after: completing the publish verifies it (pm_db.publishing, step 3, on every front
  end): any sublayer, reference, payload or asset path outside the publish folder that is
  not an already published file fails it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import hou

from pm_db.errors import ValidationError
from pm_db.usd.verify import publish_folder

if TYPE_CHECKING:
    pass

SAVE_PATH_PARM = "savepath"


@dataclass(frozen=True)
class SavePathLayer:
    """A layer of the stage with a save path; `node` is the node that gave it that path
    (its `savepath` parameter, found among the layer's creator and editors), else the
    node that created it, else None."""

    save_path: str
    node: hou.OpNode | None
    parm: hou.Parm | None


def source_lop(node: hou.OpNode, kind: str) -> hou.LopNode | None:
    """The LOP node whose stage a publish writes: the node itself, a LOP USD ROP's input
    (else its LOP Path), a `/out` USD ROP's LOP Path."""
    if kind == "lop":
        return node if isinstance(node, hou.LopNode) else None
    if kind == "lop_rop":
        inputs = [n for n in node.inputs() if n is not None]
        if inputs:
            return inputs[0] if isinstance(inputs[0], hou.LopNode) else None
    parm = node.parm("loppath")
    found = hou.node(parm.evalAsString()) if parm is not None else None
    return found if isinstance(found, hou.LopNode) else None


def save_path_layers(lop: hou.LopNode) -> list[SavePathLayer]:
    """The layers of `lop`'s stage the ROP will write to their own save path (none when
    the network does not cook: the render then reports why)."""
    layers: list[SavePathLayer] = []
    stage = lop.stage()  # held while its layers are read: they live as long as it does
    if stage is None:
        return layers
    for layer in stage.GetUsedLayers():
        if not layer.anonymous:
            continue  # read from disk: the ROP leaves it as it is
        info = layer.GetPrimAtPath("/HoudiniLayerInfo")
        save_path = info.customData.get("HoudiniSavePath") if info else None
        if not save_path:
            continue
        path = os.path.abspath(save_path)
        ids = [info.customData.get("HoudiniCreatorNode")]
        ids += list(info.customData.get("HoudiniEditorNodes") or [])
        nodes = [hou.nodeBySessionId(i) for i in ids if isinstance(i, int)]
        ops = [n for n in nodes if isinstance(n, hou.OpNode)]
        setters = [(n, p) for n in ops if (p := _save_path_parm(n, path)) is not None]
        node, parm = setters[-1] if setters else (ops[0] if ops else None, None)
        layers.append(SavePathLayer(path, node, parm))
    return sorted(layers, key=lambda layer: layer.save_path)


@contextmanager
def inside_publish_folder(node: hou.OpNode, kind: str, output: str) -> Iterator[list[str]]:
    """For the render inside: every layer with a save path outside the publish folder of
    `output` points into it (yields the paths the ROP will write besides `output`); the
    nodes' save paths are put back afterwards. Raises ValidationError naming the node
    and the layer when a save path cannot be moved, before anything is changed."""
    folder = publish_folder(output)
    lop = source_lop(node, kind)
    layers = save_path_layers(lop) if lop is not None else []
    moves: list[tuple[hou.Parm, str]] = []
    written: list[str] = []
    for layer in layers:
        if _inside(layer.save_path, folder):
            written.append(layer.save_path)
            continue
        parm = layer.parm
        if parm is None:
            owner = layer.node.path() if layer.node is not None else "an unknown node"
            raise ValidationError(
                f"{owner} writes the layer {layer.save_path} outside the publish folder "
                f"{folder}, and pm cannot move it there (no {SAVE_PATH_PARM!r} parameter "
                "gives that path); clear its save path, or set it under $HIP so the layer "
                "goes into the published file",
                field="node",
            )
        target = _free_name(folder, layer, written)
        written.append(target)
        moves.append((parm, target))
    originals = [(parm, parm.unexpandedString()) for parm, _ in moves]
    try:
        for parm, target in moves:
            parm.set(target)
        yield written
    finally:
        for parm, original in originals:
            parm.set(original)


def _save_path_parm(node: hou.OpNode, save_path: str) -> hou.Parm | None:
    """The node's `savepath` parameter, if it is what gives the layer `save_path`."""
    parm = node.parm(SAVE_PATH_PARM)
    if parm is None or os.path.abspath(parm.evalAsString()) != save_path:
        return None
    return parm


def _free_name(folder: str, layer: SavePathLayer, taken: list[str]) -> str:
    """`folder/<file name>`, or `folder/<node>_<file name>` when two layers share a name."""
    name = os.path.basename(layer.save_path)
    target = os.path.join(folder, name)
    if target in taken and layer.node is not None:
        target = os.path.join(folder, f"{layer.node.name()}_{name}")
    if target in taken:
        raise ValidationError(
            f"two layers would be written to {target}; give them different save paths",
            field="node",
        )
    return target


def _inside(path: str, folder: str) -> bool:
    real_folder = os.path.realpath(folder)
    return os.path.commonpath([real_folder, os.path.realpath(path)]) == real_folder
