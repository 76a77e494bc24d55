"""Bringing published layers into Solaris, and opening the scene a publish came from.

`add_layer` creates a Sublayer or a Reference LOP in the LOP network the artist is looking
at (the network editor's, else /stage), wired below its display node, showing the new
node. `hou` is imported when a function runs, so the asset browser also works (without
these actions) outside Houdini.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from pm_db.errors import NotFound, ValidationError

if TYPE_CHECKING:
    import hou

MODES = {"sublayer": "sublayer", "reference": "reference"}


def available() -> bool:
    """True in a graphical Houdini session, where LOP networks and scenes can be changed."""
    try:
        import hou
    except ImportError:
        return False
    return bool(hou.isUIAvailable())


def current_network() -> hou.Node:
    """The LOP network in the network editor, else /stage; raises NotFound if neither."""
    import hou

    editor = hou.ui.paneTabOfType(hou.paneTabType.NetworkEditor)
    if isinstance(editor, hou.NetworkEditor):
        network = editor.pwd()
        if network.childTypeCategory() == hou.lopNodeTypeCategory():
            return network
    stage = hou.node("/stage")
    if stage is None:
        raise NotFound("no LOP network: open one in the network editor", field="lop_network")
    return stage


def node_name(name: str) -> str:
    """A valid Houdini node name made from a pm name (letters, digits and underscores)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "layer"
    return cleaned if not cleaned[0].isdigit() else f"_{cleaned}"


def _unique(network: hou.Node, base: str) -> str:
    name, number = base, 1
    while network.node(name) is not None:
        number += 1
        name = f"{base}{number}"
    return name


def add_layer(path: str, mode: str, name: str, prim_path: str | None = None) -> hou.Node:
    """Create a Sublayer (mode "sublayer") or Reference ("reference", at `prim_path`) LOP
    loading `path` in the current LOP network, below its display node, and display it.
    Raises ValidationError (mode), NotFound (no network)."""
    import hou

    if mode not in MODES:
        raise ValidationError(f"must be one of {', '.join(MODES)}", field="mode")
    network = current_network()
    with hou.undos.group(f"pm: add {name} as {mode}"):
        display = None
        if isinstance(network, hou.LopNetwork | hou.LopNode):
            display = network.displayNode()
        node = network.createNode(MODES[mode], _unique(network, node_name(name)))
        _set(node, "filepath1", path)
        # Reference LOP 2.0 names the destination `primpath1`; older ones `primpath`.
        if mode == "reference" and prim_path and not _set(node, "primpath1", prim_path):
            _set(node, "primpath", prim_path)
        if display is not None:
            node.setInput(0, display)
        node.moveToGoodPosition()
        if isinstance(node, hou.LopNode):
            node.setDisplayFlag(True)
        node.setSelected(True, clear_all_selected=True)
    return node


def _set(node: hou.Node, name: str, value: str) -> bool:
    import hou

    parm = node.parm(name) if isinstance(node, hou.OpNode) else None
    if parm is None:
        return False
    parm.set(value)
    return True


def open_scene(path: str) -> None:
    """Load the hip file at `path`; Houdini asks first about unsaved changes. Raises
    NotFound if the file is gone."""
    import hou

    if not Path(path).is_file():
        raise NotFound(f"{path} does not exist", field="scene_path")
    hou.hipFile.load(path, suppress_save_prompt=False)
