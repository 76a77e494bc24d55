"""`pm doctor [--repair]` and `pm usd rebuild`: what they find, what they fix, what they
never touch, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pm_db import publishing
from pm_db.services import parts, publish_reads
from tests.helpers import Studio
from tests.test_usd_support import (
    composed_parts,
    publish,
    reserve,
    run_cli,
    snapshot,
    write_data_layer,
)


def doctor(capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, dict[str, Any]]:
    code, report, _ = run_cli(capsys, "doctor", *flags)
    return code, report


def kinds(report: dict[str, Any]) -> list[str]:
    return sorted(p["kind"] for p in report["problems"])


def test_a_healthy_show_passes(studio: Studio, capsys: pytest.CaptureFixture[str]) -> None:
    publish(studio, "particles01")
    publish(studio, "debris01")
    reserve(studio, "particles01")

    code, report = doctor(capsys)

    assert code == 0
    assert report["clean"] is True and report["problems"] == []
    assert report["checked"] == {
        "pins": 0,
        "reservations": 1,
        "assets": 1,
        "layers": 3,
        "data_layers": 2,
    }


def test_a_missing_data_layer_is_reported_never_invented(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = publish(studio, "particles01")
    kept = publish(studio, "debris01")
    Path(gone.item_usd_path).unlink()
    layers_before = snapshot(gone.part_usd_path, gone.asset_usd_path, kept.item_usd_path)

    code, report = doctor(capsys, "--repair")

    assert code == 1 and report["clean"] is False
    (problem,) = report["problems"]
    assert problem["kind"] == "data_missing"
    assert problem["path"] == gone.item_usd_path
    assert problem["repair"] is None and problem["repaired"] is False
    assert f"pm publish deprecate {gone.id}" in problem["message"]
    assert not Path(gone.item_usd_path).exists()
    assert snapshot(gone.part_usd_path, gone.asset_usd_path, kept.item_usd_path) == layers_before


def test_stale_missing_and_leftover_layers_are_rewritten_by_repair(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    particles = publish(studio, "particles01")
    debris = publish(studio, "debris01")
    good = snapshot(particles.part_usd_path, debris.part_usd_path, debris.asset_usd_path)
    Path(particles.part_usd_path).write_text("#usda 1.0\n# edited by hand\n")
    Path(debris.asset_usd_path).unlink()
    leftover = Path(debris.asset_usd_path).parent / ".PinchIn.usd.0123456789ab.pm-tmp"
    leftover.write_text("#usda 1.0\n(\n")

    code, report = doctor(capsys)
    assert code == 1
    assert kinds(report) == ["layer_missing", "part_layer_wrong", "temp_file"]
    assert not any(p["repaired"] for p in report["problems"])
    assert leftover.exists()

    code, report = doctor(capsys, "--repair")
    assert code == 0 and report["clean"] is True
    assert all(p["repaired"] for p in report["problems"])
    assert snapshot(particles.part_usd_path, debris.part_usd_path, debris.asset_usd_path) == good
    assert not leftover.exists()
    assert doctor(capsys)[1]["problems"] == []


def test_layers_a_power_loss_emptied_are_found_and_rewritten(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without PM_LAYER_FSYNC a layer renamed into place just before a power loss may come
    # back empty (or with its old bytes) on some file systems.
    first = publish(studio, "particles01")
    done = publish(studio, "particles01")
    good = snapshot(done.part_usd_path, done.asset_usd_path)
    Path(done.part_usd_path).write_bytes(b"")
    Path(first.asset_usd_path).write_bytes(b"")

    code, report = doctor(capsys)
    assert code == 1
    assert kinds(report) == ["layer_unreadable", "layer_unreadable"]

    code, report = doctor(capsys, "--repair")
    assert code == 0
    assert snapshot(done.part_usd_path, done.asset_usd_path) == good


def test_a_stale_reservation_is_failed_and_its_file_kept(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    done = publish(studio, "particles01")
    pending = reserve(studio, "particles01")
    write_data_layer(pending.item_usd_path, "particles01")

    assert doctor(capsys)[1]["problems"] == []
    code, report = doctor(capsys, "--stale-after", "0")
    assert code == 1 and kinds(report) == ["stale_reservation"]
    assert publish_reads.get_publish(studio.db, pending.id).status == "pending"

    code, report = doctor(capsys, "--repair", "--stale-after", "0")

    assert code == 0 and report["problems"][0]["repaired"] is True
    failed = publish_reads.get_publish(studio.db, pending.id)
    assert failed.status == "failed" and "pm doctor" in (failed.error or "")
    assert Path(pending.item_usd_path).exists()
    assert publish_reads.get_publish(studio.db, done.id).is_latest
    retried = publishing.complete(
        studio.db,
        None,
        publishing.reserve(
            studio.db,
            None,
            {"scene_id": pending.scene_id, "asset_name": "PinchIn", "part_name": "particles01"},
        ).id,
    )
    assert (retried.id, retried.status) == (pending.id, "published")


def test_a_pin_on_a_deprecated_publish_is_removed_by_repair(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    first = publish(studio, "particles01")
    second = publish(studio, "particles01")
    parts.pin_part(studio.db, {"part": first.part_id, "publish": first.id})
    publishing.deprecate(studio.db, None, first.id)

    code, report = doctor(capsys)
    assert code == 1 and kinds(report) == ["pin_not_published"]

    code, report = doctor(capsys, "--repair")
    assert code == 0
    assert parts.get_part(studio.db, first.part_id).pinned is None
    assert composed_parts(second.asset_usd_path) == {"particles01": (1, 2)}


def test_a_read_only_stale_layer_is_reported_not_forced(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    done = publish(studio, "particles01")
    Path(done.part_usd_path).write_text("#usda 1.0\n")
    os.chmod(done.part_usd_path, 0o444)

    code, report = doctor(capsys, "--repair")

    assert code == 1
    (problem,) = report["problems"]
    assert problem["kind"] == "part_layer_wrong" and problem["repaired"] is False
    assert "read-only" in problem["error"]
    assert Path(done.part_usd_path).read_text() == "#usda 1.0\n"


def test_doctor_of_one_project(studio: Studio, capsys: pytest.CaptureFixture[str]) -> None:
    publish(studio, "particles01")
    code, report = doctor(capsys, "--project", "fx3x")
    assert code == 0 and report["checked"]["assets"] == 1
    code, envelope, _ = run_cli(capsys, "doctor", "--project", "NOPE")
    assert code == 3 and envelope["error"]["field"] == "project"


def test_usd_rebuild_commands(studio: Studio, capsys: pytest.CaptureFixture[str]) -> None:
    done = publish(studio, "particles01")
    Path(done.asset_usd_path).unlink()

    code, report, _ = run_cli(capsys, "usd", "rebuild", "--asset", "pinchin")
    assert code == 0
    assert (report["assets"], report["layers_written"], report["failed"]) == (1, 1, [])
    code, report, _ = run_cli(capsys, "usd", "rebuild", "--all")
    assert code == 0 and (report["layers_written"], report["layers_unchanged"]) == (0, 2)

    code, envelope, _ = run_cli(capsys, "usd", "rebuild")
    assert code == 2
    code, envelope, _ = run_cli(capsys, "usd", "rebuild", "--asset", "Nothing")
    assert code == 3 and envelope["error"]["field"] == "asset"

    Path(done.part_usd_path).write_text("#usda 1.0\n")
    os.chmod(done.part_usd_path, 0o444)
    code, report, _ = run_cli(capsys, "usd", "rebuild", "--all")
    assert code == 1 and "read-only" in report["failed"][0]["error"]


def test_doctor_and_usd_show_read_well_on_a_terminal(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    from pm_db.cli import main

    done = publish(studio, "particles01")
    Path(done.part_usd_path).write_text("#usda 1.0\n")

    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("part_layer_wrong: asset FX3X PinchIn")
    assert "--repair would rewrite it" in out
    assert "pm doctor: problems remain; 1 problem(s), 0 repaired" in out
    assert out.rstrip().endswith("part_layer_wrong: 1 found, 0 repaired, 1 left")

    assert main(["doctor", "--repair"]) == 0
    assert "repaired: rewrite it" in capsys.readouterr().out

    assert main(["usd", "show", "--asset", "PinchIn"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"FX3X PinchIn  {done.asset_usd_path}"
    assert lines[1].split()[:4] == ["particles01", "v001", "i001", "latest"]


def test_a_reservation_is_stale_by_its_age_counted_from_its_last_retry(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from pm_db.models import Publish, utcnow

    pending = reserve(studio, "particles01")
    two_days_ago = utcnow() - timedelta(days=2)
    studio.db.write(
        lambda s: s.execute(
            update(Publish).where(Publish.id == pending.id).values(created_at=two_days_ago)
        )
    )
    code, report = doctor(capsys)
    assert code == 1 and kinds(report) == ["stale_reservation"]

    publishing.fail(studio.db, None, pending.id, "farm node lost")
    request = {"scene_id": pending.scene_id, "asset_name": "PinchIn", "part_name": "particles01"}
    assert publishing.reserve(studio.db, None, request).status == "pending"

    code, report = doctor(capsys)
    assert code == 0 and report["checked"]["reservations"] == 1
