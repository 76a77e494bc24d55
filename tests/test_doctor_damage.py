"""A show damaged by hand, as a careless script or a killed USD write would leave it:
`pm doctor` names each kind of damage, `--repair` mends it, and a second run is clean.
The damage is made and the result read back with USD's own layer API, not with pm's."""

from __future__ import annotations

import os
import posixpath
from typing import Any

from pm_db import doctor
from pm_db.services import parts
from tests.helpers import Studio
from tests.test_usd_support import publish


def _set_sublayers(path: str, sublayers: list[str]) -> None:
    from pxr import Sdf

    layer = Sdf.Layer.FindOrOpen(path)
    assert layer is not None
    layer.subLayerPaths = sublayers
    assert layer.Save()


def _sublayers(path: str) -> list[str]:
    from pxr import Sdf

    layer = Sdf.Layer.OpenAsAnonymous(path)
    assert layer is not None
    return list(layer.subLayerPaths)


def test_doctor_finds_and_repairs_a_hand_damaged_show(studio: Studio) -> None:
    old = publish(studio, "particles01")
    new = publish(studio, "particles01")
    debris = publish(studio, "debris01")
    smoke = publish(studio, "smoke01")
    parts.withdraw_part(studio.db, {"part": smoke.part_id})
    asset_layer = new.asset_usd_path
    assert doctor.examine(studio.db).problems == []

    # A part taken out of the asset layer, and a withdrawn one put back in.
    _set_sublayers(asset_layer, ["./particles01/particles01.usd", "./smoke01/smoke01.usd"])
    # A part layer pointing at an older version.
    data = posixpath.relpath(old.item_usd_path, posixpath.dirname(new.part_usd_path))
    _set_sublayers(new.part_usd_path, [f"./{data}"])
    # What USD's safe output leaves beside a data layer when the writer is killed.
    stray = f"{posixpath.dirname(debris.item_usd_path)}/debris01_v001_i003.RhWjf1"
    with open(stray, "w") as handle:
        handle.write("#usda 1.0\n")

    found = doctor.examine(studio.db)
    kinds = {problem.kind for problem in found.problems}
    assert {"asset_part_missing", "asset_part_extra", "part_layer_wrong", "usd_temp_file"} <= kinds
    by_kind = {p.kind: p for p in found.problems}
    assert "debris01" in by_kind["asset_part_missing"].message
    assert "smoke01" in by_kind["asset_part_extra"].message
    assert by_kind["usd_temp_file"].path == stray
    assert os.path.exists(stray), "a check alone changes nothing"

    repaired = doctor.examine(studio.db, repair=True)
    assert repaired.problems and all(p.repaired for p in repaired.problems)
    assert doctor.examine(studio.db).problems == []
    assert sorted(_sublayers(asset_layer)) == [
        "./debris01/debris01.usd",
        "./particles01/particles01.usd",
    ]
    data_now = posixpath.relpath(new.item_usd_path, posixpath.dirname(new.part_usd_path))
    assert _sublayers(new.part_usd_path) == [f"./{data_now}"]
    assert not os.path.exists(stray)


def test_a_usd_temp_file_of_a_publish_in_flight_is_left_alone(studio: Studio) -> None:
    from tests.test_usd_support import reserve

    done = publish(studio, "particles01")
    pending = reserve(studio, "particles01")
    stem = posixpath.splitext(posixpath.basename(pending.item_usd_path))[0]
    in_flight = f"{posixpath.dirname(done.item_usd_path)}/{stem}.Ab12Cd"
    with open(in_flight, "w") as handle:
        handle.write("#usda 1.0\n")
    report = doctor.examine(studio.db, repair=True)
    assert [p for p in report.problems if p.kind == "usd_temp_file"] == []
    assert os.path.exists(in_flight)


def test_an_interrupted_repair_says_what_it_repaired(
    studio: Studio, monkeypatch: Any, capsys: Any
) -> None:
    from pm_db.cli import main

    first = publish(studio, "particles01", asset="PinchIn")
    second = publish(studio, "debris01", asset="Rocks")
    os.unlink(first.part_usd_path)
    os.unlink(second.part_usd_path)
    real_ticker = doctor._ticker

    def ticker(progress: Any, total: int) -> Any:
        tick = real_ticker(progress, total)
        calls = [0]

        def interrupting() -> None:
            tick()
            calls[0] += 1
            if calls[0] == 1:
                raise KeyboardInterrupt

        return interrupting

    monkeypatch.setattr(doctor, "_ticker", ticker)
    code = main(["doctor", "--repair"])
    err = capsys.readouterr().err
    assert code == 130
    assert "repaired so far, and kept: 1 layer_missing" in err
    assert os.path.exists(first.part_usd_path) != os.path.exists(second.part_usd_path)
