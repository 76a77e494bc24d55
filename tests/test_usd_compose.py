"""Layer bytes from a state alone: relative paths agree with the OS's notion, and the
bytes depend on nothing but the state (no database needed here)."""

from __future__ import annotations

import posixpath
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from pm_db.usd import compose
from pm_db.usd.state import AssetKey, AssetState, PartState, Source

folder = st.lists(st.sampled_from(["usd", "PinchIn", "data", "a", "b"]), min_size=0, max_size=5)


@given(folder, folder, st.sampled_from(["x.usd", "PinchIn.usd", "p_v001_i001.usd"]))
def test_relative_paths_agree_with_posixpath(
    layer: list[str], target: list[str], name: str
) -> None:
    layer_path = "/".join(["show", *layer, "layer.usd"])
    target_path = "/".join(["show", *target, name])
    expected = posixpath.relpath(target_path, posixpath.dirname(layer_path))
    if not expected.startswith("../"):
        expected = f"./{expected}"
    assert compose.relative_to(layer_path, target_path) == expected


def _state(pinned: bool, withdrawn: bool) -> AssetState:
    source = Source(
        id=7,
        publish_id="0f8b9d8e-54c4-4a8e-a1b0-1d2c3e4f5a6b",
        version=3,
        iteration=7,
        data_layer="s/usd/PinchIn/particles01/data/particles01_v003_i007.usd",
        scene="s/PinchIn_v003_i007.hip",
        artist="jdoe",
        published_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc),
        pinned=pinned,
    )
    parts = (
        PartState(1, "debris01", "s/usd/PinchIn/debris01/debris01.usd", withdrawn, source),
        PartState(2, "particles01", "s/usd/PinchIn/particles01/particles01.usd", False, source),
        PartState(3, "smoke01", "s/usd/PinchIn/smoke01/smoke01.usd", False, None),
    )
    return AssetState(
        AssetKey(1, "PinchIn"), "FX3X", "/show/FX3X", "s/usd/PinchIn/PinchIn.usd", parts
    )


def test_the_asset_layer_composes_what_resolves_and_is_not_withdrawn() -> None:
    from pxr import Sdf

    layer = Sdf.Layer.CreateAnonymous(".usda")
    layer.ImportFromString(compose.asset_layer(_state(False, True)).decode())
    assert list(layer.subLayerPaths) == ["./particles01/particles01.usd"]
    meta = layer.customLayerData["pm"]
    assert list(meta["withdrawn"]) == ["debris01"]
    assert list(meta["parts"]) == ["particles01"]


def test_layer_bytes_depend_only_on_the_state() -> None:
    state = _state(True, False)
    compose.clear_cache()
    first = [compose.part_layer(state, part) for part in state.parts]
    compose.clear_cache()
    assert [compose.part_layer(state, part) for part in state.parts] == first
    assert compose.asset_layer(state) == compose.asset_layer(_state(True, False))
    assert b'string state = "pinned"' in first[0]
    assert b'string state = "none"' in first[2]
    # A pin changes the part layer only; withdrawing a part changes the asset layer.
    assert compose.asset_layer(state) == compose.asset_layer(_state(False, False))
    assert compose.asset_layer(state) != compose.asset_layer(_state(True, True))
