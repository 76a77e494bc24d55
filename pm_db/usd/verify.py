"""The checks a data layer passes before its publish may complete.

A data layer must exist as a regular file inside the project's root (after following
symbolic links, so a link cannot smuggle a file from elsewhere into the show tree), be
non-empty, open as a USD layer, and define at least one prim. It is opened as an
anonymous layer: a fresh read from disk, never a copy cached by this process.

A published version never changes: `verify_dependencies` checks that every file a data
layer depends on lies inside the publish's own folder (`publish_folder`) or is an
already published file, which nothing rewrites.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable

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


# A published version never changes --------------------------------------------------------

DATA_LAYER_NAME = re.compile(r"(?P<part>.+)_v\d{3,}_i\d{3,}")


def publish_folder(data_layer: str) -> str:
    """The publish's own folder: beside its data layer, named after it
    (`data/particles01_v003_i008.usd` -> `data/particles01_v003_i008/`). Every other file
    the ROP writes for that publish (layers with a save path) goes there."""
    return os.path.splitext(os.path.abspath(data_layer))[0]


def owning_data_layer(path: str) -> tuple[str, str] | None:
    """(data layer, part name) of the publish a file belongs to by its place: the data
    layer itself or a file inside its publish folder; None for any other file."""
    current = os.path.abspath(path)
    stem, _ = os.path.splitext(os.path.basename(current))
    match = DATA_LAYER_NAME.fullmatch(stem)
    if match:
        return current, match.group("part")
    folder = os.path.dirname(current)
    while folder != os.path.dirname(folder):
        match = DATA_LAYER_NAME.fullmatch(os.path.basename(folder))
        if match:
            for suffix in (".usd", ".usda", ".usdc"):
                if os.path.isfile(folder + suffix):
                    return folder + suffix, match.group("part")
        folder = os.path.dirname(folder)
    return None


def verify_dependencies(data_layer: str, published: Callable[[str], bool]) -> list[str]:
    """Every file the data layer depends on (sublayers, references, payloads and asset
    paths, and theirs in turn inside its publish folder), each checked: it must exist
    and lie inside the publish folder, or be a file `published(path)` accepts (another
    publish's never-rewritten files). Returns them, sorted. Raises ValidationError
    naming item_usd_path and the first file that breaks the rule."""
    folder = os.path.realpath(publish_folder(data_layer))
    found: set[str] = set()
    pending = [os.path.realpath(data_layer)]
    seen = set(pending)
    while pending:
        layer_path = pending.pop()
        for kind, dependency in _dependencies(layer_path):
            path = _resolved(dependency, layer_path)
            where = f"{kind} {dependency!r} of {layer_path}"
            if path is None:
                raise ValidationError(f"{where} is not a file path pm can check", FIELD)
            inside = os.path.commonpath([folder, path]) == folder
            if not inside and not published(path):
                raise ValidationError(
                    f"{where} is {path}, outside the publish folder {folder} and not a "
                    "published file: a later write there would change this version",
                    FIELD,
                )
            if not os.path.isfile(path):
                raise ValidationError(f"{where} is {path}, which does not exist", FIELD)
            found.add(path)
            if inside and kind != "asset path" and path not in seen:
                seen.add(path)
                pending.append(path)
    return sorted(found)


def _resolved(dependency: str, layer_path: str) -> str | None:
    """The real path a layer's dependency names: relative to the layer's folder (the
    default output processor writes them so), or absolute; None for a URI."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", dependency) and not re.match(
        r"^[A-Za-z]:[\\/]", dependency
    ):
        return None
    base = os.path.dirname(layer_path)
    return os.path.realpath(os.path.join(base, dependency))


def _dependencies(layer_path: str) -> list[tuple[str, str]]:
    """(kind, path as written) of every sublayer, reference, payload and asset value of a
    layer file, read fresh from disk."""
    from pxr import Sdf

    layer = Sdf.Layer.OpenAsAnonymous(layer_path)
    if layer is None:
        raise ValidationError(f"{layer_path} is not a USD layer", FIELD)
    found = [("sublayer", p) for p in layer.subLayerPaths]
    found += [
        ("reference or payload", p)
        for p in layer.GetCompositionAssetDependencies()
        if p not in layer.subLayerPaths
    ]

    def visit(path: Sdf.Path) -> None:
        spec = layer.GetObjectAtPath(path)
        if not isinstance(spec, Sdf.AttributeSpec):
            return
        values = [spec.default] if spec.HasDefaultValue() else []
        values += [layer.QueryTimeSample(path, t) for t in layer.ListTimeSamplesForPath(path)]
        for value in values:
            if isinstance(value, Sdf.AssetPath):
                value = [value]
            elif not isinstance(value, Sdf.AssetPathArray):
                continue
            found.extend(("asset path", a.path) for a in value if a.path)

    layer.Traverse(Sdf.Path.absoluteRootPath, visit)
    return found
