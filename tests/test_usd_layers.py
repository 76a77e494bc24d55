"""Part and asset layers as a pure function of the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from pm_db.errors import PermissionDenied, PmError
from pm_db.services import entities, parts, publish_reads
from pm_db.usd import files, layers
from tests.helpers import Studio
from tests.test_usd_support import (
    composed_parts,
    provenance,
    publish,
    save,
    snapshot,
    sublayers,
)


def test_publish_writes_a_part_layer_and_an_asset_layer_that_compose(studio: Studio) -> None:
    particles = publish(studio, "particles01")
    debris = publish(studio, "debris01")

    assert sublayers(particles.part_usd_path) == ["./data/particles01_v001_i001.usd"]
    assert sublayers(debris.part_usd_path) == ["./data/debris01_v001_i002.usd"]
    assert particles.asset_usd_path == debris.asset_usd_path
    # Stable order: by part name, whatever the publish order.
    assert sublayers(debris.asset_usd_path) == [
        "./debris01/debris01.usd",
        "./particles01/particles01.usd",
    ]
    assert composed_parts(debris.asset_usd_path) == {"debris01": (1, 2), "particles01": (1, 1)}

    from pxr import Usd

    stage = Usd.Stage.Open(debris.asset_usd_path)
    assert {str(p.GetPath()) for p in stage.GetPseudoRoot().GetChildren()} == {
        "/debris01",
        "/particles01",
    }


def test_layers_carry_the_provenance_of_the_publish(studio: Studio) -> None:
    done = publish(studio, "particles01")
    part = provenance(done.part_usd_path)
    assert part["kind"] == "part"
    assert part["publish_id"] == done.uuid
    assert (part["version"], part["iteration"]) == (1, 1)
    assert part["artist"] == "jdoe"
    assert part["state"] == "latest"
    assert part["source_scene"].endswith("/PinchIn/PinchIn_v001_i001.hip")
    assert not part["source_scene"].startswith("/")
    assert done.completed_at is not None
    assert part["published_at"] == done.completed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    asset = provenance(done.asset_usd_path)
    assert asset["kind"] == "asset"
    assert list(asset["parts"]) == ["particles01"]
    assert list(asset["withdrawn"]) == []
    # The versions live in the part layers only.
    assert "publish_id" not in asset and "version" not in asset


def test_a_new_publish_moves_the_part_layer_and_keeps_the_others(studio: Studio) -> None:
    publish(studio, "particles01")
    debris = publish(studio, "debris01")
    debris_layer = Path(debris.part_usd_path).read_bytes()
    asset_file = os.stat(debris.asset_usd_path)
    again = publish(studio, "particles01")

    assert sublayers(again.part_usd_path) == ["./data/particles01_v001_i003.usd"]
    assert Path(debris.part_usd_path).read_bytes() == debris_layer
    # The asset layer names the same parts, so it is not written again: same file.
    assert os.stat(again.asset_usd_path).st_ino == asset_file.st_ino
    assert composed_parts(again.asset_usd_path) == {"debris01": (1, 2), "particles01": (1, 3)}


def test_a_publish_rewrites_an_asset_layer_an_earlier_pm_wrote(studio: Studio) -> None:
    first = publish(studio, "particles01")
    good = Path(first.asset_usd_path).read_bytes()
    # An earlier pm listed each part's version in the asset layer.
    Path(first.asset_usd_path).write_bytes(
        good.replace(b"string[] parts", b"int version = 1\n string[] parts")
    )

    publish(studio, "particles01")

    assert Path(first.asset_usd_path).read_bytes() == good


def test_same_database_state_gives_identical_bytes(studio: Studio) -> None:
    publish(studio, "particles01")
    done = publish(studio, "debris01")
    paths = [done.asset_usd_path, done.part_usd_path]
    before = {p: Path(p).read_bytes() for p in paths}

    report = layers.rebuild(studio.db)
    assert (report.layers_written, report.layers_unchanged) == (0, 3)

    for path in paths:
        Path(path).unlink()
    report = layers.rebuild(studio.db, asset_name="pinchin")
    assert report.layers_written == 2
    assert {p: Path(p).read_bytes() for p in paths} == before


def test_a_moved_show_tree_still_composes(studio: Studio, tmp_path: Path) -> None:
    publish(studio, "particles01")
    done = publish(studio, "debris01")
    moved = tmp_path / "elsewhere" / "FX3X"
    shutil.copytree(studio.root, moved)
    entities.update(studio.db, "project", studio.project_id, {"root_linux": str(moved)})

    relocated = done.asset_usd_path.replace(str(studio.root), str(moved))
    assert composed_parts(relocated) == {"debris01": (1, 2), "particles01": (1, 1)}
    assert layers.rebuild(studio.db).layers_written == 0


def test_deprecating_the_latest_returns_the_part_layer_to_the_previous(studio: Studio) -> None:
    from pm_db import publishing

    first = publish(studio, "particles01")
    second = publish(studio, "particles01")
    publishing.deprecate(studio.db, None, second.id)

    assert sublayers(first.part_usd_path) == ["./data/particles01_v001_i001.usd"]
    assert composed_parts(first.asset_usd_path) == {"particles01": (1, 1)}

    publishing.deprecate(studio.db, None, first.id)
    assert sublayers(first.part_usd_path) == []
    assert provenance(first.part_usd_path)["state"] == "none"
    assert sublayers(first.asset_usd_path) == []


def test_assets_of_two_scene_folders_have_their_own_layers(studio: Studio) -> None:
    one = publish(studio, "particles01")
    other = publish(studio, "particles01", scene=save(studio, scene="Splash"))

    assert one.asset_usd_path != other.asset_usd_path
    assert composed_parts(one.asset_usd_path) == {"particles01": (1, 1)}
    assert composed_parts(other.asset_usd_path) == {"particles01": (1, 1)}
    assert len(publish_reads.latest_per_part(studio.db, "PinchIn")) == 2
    assert layers.rebuild(studio.db, asset_name="PinchIn").assets == 2


@pytest.mark.parametrize(("setting", "flushed"), [(None, 0), ("0", 0), ("1", 2)])
def test_pm_layer_fsync_1_forces_each_written_layer_to_disk(
    studio: Studio, monkeypatch: pytest.MonkeyPatch, setting: str | None, flushed: int
) -> None:
    if setting is not None:
        monkeypatch.setenv("PM_LAYER_FSYNC", setting)
    synced: list[int] = []
    real = files.os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    done = publish(studio, "particles01")
    # With 1: the part layer and the asset layer, each before its rename.
    assert len(synced) == flushed
    assert sublayers(done.part_usd_path) == ["./data/particles01_v001_i001.usd"]


def test_a_failed_write_changes_no_layer_and_leaves_no_temporary_file(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(studio, "particles01")
    publish(studio, "debris01")
    done = publish(studio, "smoke01")
    paths = [p.part_usd_path for p in parts.list_parts(studio.db)] + [done.asset_usd_path]
    for path in paths:
        Path(path).write_text("#usda 1.0\n")
    before = snapshot(*paths)
    real_stage = files.stage

    def disk_full_for_debris(path: str, data: bytes) -> str:
        if path.endswith("/debris01.usd"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_stage(path, data)

    monkeypatch.setattr(files, "stage", disk_full_for_debris)
    with pytest.raises(PmError) as caught:
        layers.sync_part(studio.db, done.part_id)

    assert caught.value.field == "part_usd_path"
    assert "No space left on device" in caught.value.message
    assert snapshot(*paths) == before
    assert [p for p in studio.root.rglob("*") if p.name.endswith(".pm-tmp")] == []


def test_a_file_where_a_layer_folder_should_be_is_refused(studio: Studio) -> None:
    done = publish(studio, "particles01")
    publish(studio, "debris01")
    folder = Path(done.part_usd_path).parent
    shutil.rmtree(folder)
    folder.write_text("not a folder")

    with pytest.raises(PermissionDenied) as caught:
        layers.sync_part(studio.db, done.part_id)

    assert caught.value.field == "part_usd_path"
    assert "is a file, not a folder" in caught.value.message
