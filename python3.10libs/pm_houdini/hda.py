"""Callbacks of the `pm::publish_part` LOP (otls/pm_publish_part.hda).

The HDA's PythonModule calls these, so the logic lives in version control with the rest
of pm_houdini and the HDA stays a thin, diffable interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hou

from pm_houdini import messages
from pm_houdini.publish import Outcome
from pm_houdini.shelf import publish_nodes


def publish_button(kwargs: Mapping[str, Any]) -> list[Outcome]:
    """The Publish button: save a new iteration, then publish this node's part."""
    node = kwargs["node"]
    assert isinstance(node, hou.Node)
    with messages.reporting("Publish"):
        return publish_nodes([node.path()], tool="hda")
    return []
