"""The checks a data layer passes before its publish may complete.

A data layer must exist as a regular file inside the project's root (after following
symbolic links, so a link cannot smuggle a file from elsewhere into the show tree), be
non-empty, open as a USD layer, and define at least one prim. It is opened as an
anonymous layer: a fresh read from disk, never a copy cached by this process.
"""

from __future__ import annotations

import os
import stat

from pm_db.errors import ValidationError

FIELD = "item_usd_path"


def verify_data_layer(path: str, root: str) -> int:
    """The number of root prims of the data layer at `path`; raises ValidationError naming
    item_usd_path if it is missing, outside `root`, empty, not USD or has no prim."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise ValidationError(f"data layer {path} does not exist; write it first", FIELD) from None
    except OSError as exc:
        raise ValidationError(f"data layer {path} cannot be read: {exc.strerror}", FIELD) from None
    if not stat.S_ISREG(info.st_mode):
        raise ValidationError(f"data layer {path} is not a file", FIELD)
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        raise ValidationError(
            f"data layer {path} resolves to {real}, outside the project root {root}", FIELD
        )
    if info.st_size == 0:
        raise ValidationError(f"data layer {path} is empty (0 bytes)", FIELD)
    from pxr import Sdf, Tf

    try:
        layer = Sdf.Layer.OpenAsAnonymous(path)
    except Tf.ErrorException as exc:
        reason = _reason(str(exc))
        raise ValidationError(f"data layer {path} is not a USD layer: {reason}", FIELD) from exc
    if layer is None:
        raise ValidationError(f"data layer {path} is not a USD layer", FIELD)
    prims = len(layer.rootPrims)
    if prims == 0:
        raise ValidationError(f"data layer {path} is a USD layer without any prim", FIELD)
    return prims


def _reason(error: str) -> str:
    """The reader's own words from a USD error, without its C++ source location."""
    _, _, said = error.rpartition(" : '")
    return " ".join((said or error).strip().rstrip("'").split())
