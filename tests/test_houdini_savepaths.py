"""Publishing a LOP network whose ROP writes more than one file: every layer with a save
path lands in the publish's own folder (or the publish is refused naming node and layer),
and a published version's files never change afterwards. Fake hou, real USD files, real
databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
import types
from pathlib import Path
from typing import Any

import pytest
from pxr import Sdf, UsdUtils

# The fake hou must be on sys.path (support does it) before pm_houdini imports hou.
from tests.fake_hou import support

# isort: split
from pm_houdini import context as pm_context
from pm_houdini import publish as pm_publish
from pm_houdini import save as pm_save
from pm_houdini import savepaths

from pm_db import publishing
from pm_db.errors import ValidationError
from pm_db.services import publish_reads

houdini = support.houdini
launched = support.launched


def save_path_network(hou: types.ModuleType) -> Any:
    """sphere (root layer) + SOP Import writing $HIP/geo/particles.usd + a Configure Layer
    over another sphere writing $HIP/layers/fx.usd, merged into a pm Publish Part node."""
    stage = hou.node("/stage")
    source = stage.createNode("sphere", "source")
    sop = stage.createNode("sopimport", "sim")
    sop.setInput(0, source)
    sop.parm("savepath").set("$HIP/geo/particles.usd")
    debris = stage.createNode("sphere", "debris")
    debris.setInput(0, sop)
    configure = stage.createNode("configurelayer", "fxlayer")
    configure.setInput(0, debris)
    configure.parm("savepath").set("$HIP/layers/fx.usd")
    node = stage.createNode("pm::publish_part::1.0", "particles01")
    node.setInput(0, configure)
    node.parm("asset").set("PinchIn")
    return node


def publish(node: Any) -> Any:
    backend = pm_context.backend()
    ctx = pm_context.current_context(backend)
    target = pm_publish.collect(node.path())
    _, [outcome] = pm_publish.publish_from_open_scene(
        [target], tool="shelf", ctx=ctx, backend=backend
    )
    if outcome.error is not None:
        raise outcome.error
    return outcome.result.publish


def file_bytes(data_layer: str) -> dict[str, str]:
    """sha256 of the data layer and of every file it depends on, found by usd-core."""
    layers, assets, unresolved = UsdUtils.ComputeAllDependencies(data_layer)
    assert not unresolved
    paths = {layer.realPath for layer in layers} | set(assets)
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in sorted(paths)}


def test_the_fake_rop_writes_every_save_path_layer(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    node = save_path_network(houdini)
    layers = savepaths.save_path_layers(node)
    hip = Path(houdini.hipFile.path()).parent
    assert [(layer.save_path, layer.node.path()) for layer in layers] == [
        (str(hip / "geo" / "particles.usd"), "/stage/sim"),
        (str(hip / "layers" / "fx.usd"), "/stage/fxlayer"),  # an editor of debris' layer
    ]
    rop = houdini.node("/out").createNode("usd")
    rop.parm("loppath").set(node.path())
    rop.parm("lopoutput").set(str(tmp_path / "out" / "top.usd"))
    rop.render()
    assert (hip / "geo" / "particles.usd").is_file() and (hip / "layers" / "fx.usd").is_file()
    assert len(file_bytes(str(tmp_path / "out" / "top.usd"))) == 3


def test_save_path_layers_land_in_the_publish_folder(
    launched: Any, houdini: types.ModuleType
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    node = save_path_network(houdini)
    done = publish(node)
    assert done.status == "published"
    folder = Path(done.item_usd_path).with_suffix("")
    assert folder.name == "particles01_v001_i002"
    written = sorted(p.name for p in folder.iterdir())
    assert written == ["fx.usd", "particles.usd"]
    root = Sdf.Layer.OpenAsAnonymous(done.item_usd_path)
    assert sorted(root.subLayerPaths) == [
        "particles01_v001_i002/fx.usd",
        "particles01_v001_i002/particles.usd",
    ]
    hip = Path(houdini.hipFile.path()).parent
    assert not (hip / "geo").exists() and not (hip / "layers").exists()
    # The artist's save paths are put back.
    assert houdini.node("/stage/sim").parm("savepath").unexpandedString() == (
        "$HIP/geo/particles.usd"
    )
    assert houdini.node("/stage/fxlayer").parm("savepath").unexpandedString() == (
        "$HIP/layers/fx.usd"
    )


def test_a_published_version_and_its_files_never_change(
    launched: Any, houdini: types.ModuleType
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    node = save_path_network(houdini)
    first = publish(node)
    before = file_bytes(first.item_usd_path)
    assert len(before) == 3

    houdini.setFrame(25.0)  # the next iteration writes other points
    second = publish(node)
    assert (second.version, second.iteration) == (1, 3)
    assert file_bytes(first.item_usd_path) == before
    after = file_bytes(second.item_usd_path)
    assert len(after) == 3 and not set(after) & set(before)
    own_folder = Path(second.item_usd_path).with_suffix("")
    assert sorted(Path(p).parent for p in after) == [
        Path(second.item_usd_path).parent,
        own_folder,
        own_folder,
    ]


def test_a_layer_pm_cannot_move_is_refused_naming_node_and_layer(
    launched: Any, houdini: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    pm_save.save_scene(scene_name="PinchIn")
    node = save_path_network(houdini)
    # A layer whose save path no `savepath` parameter gives (a Python LOP's, say).
    monkeypatch.setattr(savepaths, "_save_path_parm", lambda node, save_path: None)
    with pytest.raises(ValidationError, match=r"particles\.usd") as caught:
        publish(node)
    assert "/stage/sim" in caught.value.message and caught.value.field == "node"
    [record] = publish_reads.list_publishes(launched.db)
    assert record.status == "failed"
    assert not Path(record.item_usd_path).exists()
    assert not (Path(houdini.hipFile.path()).parent / "geo").exists()


def test_a_dependency_on_a_published_version_passes_on_a_deprecated_one_fails(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    scene = pm_save.save_scene(scene_name="PinchIn")
    first = publish(save_path_network(houdini))
    inside_first = Path(first.item_usd_path).with_suffix("") / "particles.usd"

    def depending(part: str) -> Any:
        """A reservation whose data layer sublayers a file of the first publish."""
        request = {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": part}
        reserved = publishing.reserve(launched.db, None, request)
        Path(reserved.item_usd_path).parent.mkdir(parents=True, exist_ok=True)
        layer = Sdf.Layer.CreateNew(reserved.item_usd_path)
        layer.subLayerPaths = [os.path.relpath(inside_first, Path(reserved.item_usd_path).parent)]
        Sdf.CreatePrimInLayer(layer, "/debris")
        layer.Save()
        return reserved

    assert publishing.complete(launched.db, None, depending("debris01").id).status == "published"

    publishing.deprecate(launched.db, None, first.id)
    refused = depending("smoke01")
    with pytest.raises(ValidationError, match="not a published file"):
        publishing.complete(launched.db, None, refused.id)
    assert publish_reads.get_publish(launched.db, refused.id).status == "failed"
