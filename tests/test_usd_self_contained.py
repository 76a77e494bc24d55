"""A published version depends only on its own folder and on published files
(pm_db.usd.verify.verify_dependencies), checked on layers written with usd-core."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from pxr import Sdf, UsdUtils

from pm_db.errors import ValidationError
from pm_db.usd.verify import owning_data_layer, publish_folder, verify_dependencies


def write_layer(path: Path, body: str = "", sublayers: tuple[str, ...] = ()) -> Path:
    """A usda layer with sublayers and one prim; `body` is the prim's metadata when it
    starts with "(" (references, payloads), else its attributes."""
    layer = Sdf.Layer.CreateAnonymous()
    header = f"(\n    subLayers = [{', '.join(f'@{s}@' for s in sublayers)}]\n)\n"
    metadata, attributes = (body, "") if body.startswith("(") else ("", body)
    prim = f'def Xform "part" {metadata}\n{{\n{attributes}\n}}\n'
    layer.ImportFromString(f"#usda 1.0\n{header}\n{prim}")
    path.parent.mkdir(parents=True, exist_ok=True)
    layer.Export(str(path))
    return path


@pytest.fixture
def show(tmp_path: Path) -> Path:
    """A part's data folder with the publish being checked (v002_i003) and, beside it,
    an earlier version (v001_i001) with a file in its own publish folder, and a work
    folder."""
    data = tmp_path / "FX" / "usd" / "PinchIn" / "particles01" / "data"
    write_layer(data / "particles01_v001_i001" / "geo.usd")
    write_layer(data / "particles01_v001_i001.usd", sublayers=("./particles01_v001_i001/geo.usd",))
    write_layer(tmp_path / "FX" / "work" / "fx" / "cache.usd")
    return data


def nothing_published(path: str) -> bool:
    return False


def only(*published: Path) -> Callable[[str], bool]:
    real = {os.path.realpath(p) for p in published}
    return lambda path: path in real


def all_dependencies(path: Path) -> set[str]:
    """The second method: usd-core's own dependency walk."""
    layers, assets, unresolved = UsdUtils.ComputeAllDependencies(str(path))
    assert not unresolved
    found = {os.path.realpath(layer.realPath) for layer in layers} | {
        os.path.realpath(a) for a in assets
    }
    return found - {os.path.realpath(path)}


def test_the_publish_folder_sits_beside_the_data_layer_named_after_it(show: Path) -> None:
    data_layer = show / "particles01_v002_i003.usd"
    assert publish_folder(str(data_layer)) == str(show / "particles01_v002_i003")
    owner = owning_data_layer(str(show / "particles01_v001_i001" / "geo.usd"))
    assert owner == (str(show / "particles01_v001_i001.usd"), "particles01")
    assert owning_data_layer(str(show.parent / "particles01.usd")) is None


def test_layers_textures_and_nested_layers_inside_the_folder_pass(show: Path) -> None:
    folder = show / "particles01_v002_i003"
    (folder / "tex").mkdir(parents=True)
    (folder / "tex" / "albedo.png").write_bytes(b"png")
    write_layer(folder / "sim.usd", "    asset tex = @./tex/albedo.png@")
    write_layer(folder / "geo.usd", sublayers=("./sim.usd",))
    data_layer = write_layer(
        show / "particles01_v002_i003.usd",
        "(\n    prepend payload = @./particles01_v002_i003/geo.usd@\n)",
    )
    found = verify_dependencies(str(data_layer), nothing_published)
    assert set(found) == all_dependencies(data_layer)
    assert sorted(os.path.basename(p) for p in found) == ["albedo.png", "geo.usd", "sim.usd"]


@pytest.mark.parametrize(
    ("body", "sublayers", "named"),
    [
        # a reference to a file outside the show
        ("(\n    prepend references = @{outside}@\n)", (), "outside.usd"),
        # sideways into the work folder
        ("", ("../../../../work/fx/cache.usd",), "cache.usd"),
        # an asset path (texture) in the work folder, at a time sample
        ("    asset tex.timeSamples = {{1: @{work_tex}@}}", (), "albedo.png"),
        # into another version: not (yet) published
        ("(\n    prepend references = @./particles01_v001_i001.usd@\n)", (), "v001_i001.usd"),
        # the part's stable layer, which every publish rewrites
        ("(\n    prepend references = @../particles01.usd@\n)", (), "particles01.usd"),
    ],
)
def test_a_dependency_outside_the_folder_fails_naming_it(
    show: Path, tmp_path: Path, body: str, sublayers: tuple[str, ...], named: str
) -> None:
    outside = write_layer(tmp_path / "elsewhere" / "outside.usd")
    work_tex = tmp_path / "FX" / "work" / "fx" / "albedo.png"
    work_tex.write_bytes(b"png")
    write_layer(show.parent / "particles01.usd")
    data_layer = write_layer(
        show / "particles01_v002_i003.usd",
        body.format(outside=outside, work_tex=work_tex),
        sublayers,
    )
    with pytest.raises(ValidationError, match="outside the publish folder") as caught:
        verify_dependencies(str(data_layer), nothing_published)
    assert caught.value.field == "item_usd_path" and named in caught.value.message


def test_another_published_version_and_its_folder_pass(show: Path) -> None:
    data_layer = write_layer(
        show / "particles01_v002_i003.usd",
        "(\n    prepend references = [@./particles01_v001_i001.usd@, "
        "@./particles01_v001_i001/geo.usd@]\n)",
    )
    published = only(show / "particles01_v001_i001.usd", show / "particles01_v001_i001" / "geo.usd")
    found = verify_dependencies(str(data_layer), published)
    assert set(found) == all_dependencies(data_layer)


def test_a_nested_layer_in_the_folder_that_points_outside_fails(show: Path, tmp_path: Path) -> None:
    work = tmp_path / "FX" / "work" / "fx" / "cache.usd"
    folder = show / "particles01_v002_i003"
    write_layer(folder / "geo.usd", sublayers=(str(work),))
    data_layer = write_layer(
        show / "particles01_v002_i003.usd", sublayers=("./particles01_v002_i003/geo.usd",)
    )
    with pytest.raises(ValidationError, match=r"cache\.usd") as caught:
        verify_dependencies(str(data_layer), nothing_published)
    assert "geo.usd" in caught.value.message  # the layer that names it


def test_a_missing_file_inside_the_folder_fails(show: Path) -> None:
    data_layer = write_layer(
        show / "particles01_v002_i003.usd", sublayers=("./particles01_v002_i003/gone.usd",)
    )
    with pytest.raises(ValidationError, match=r"gone\.usd.*does not exist"):
        verify_dependencies(str(data_layer), nothing_published)


def test_a_uri_is_refused(show: Path) -> None:
    data_layer = write_layer(
        show / "particles01_v002_i003.usd",
        "(\n    prepend references = @https://example.com/x.usd@\n)",
    )
    with pytest.raises(ValidationError, match="not a file path"):
        verify_dependencies(str(data_layer), nothing_published)
