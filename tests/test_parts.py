"""Pin, unpin, withdraw and restore parts: the layers follow, history stays, bad input
changes nothing. Service, backend and CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest

from pm_db import publishing
from pm_db.backend import LocalBackend
from pm_db.errors import Conflict, NotFound, PermissionDenied, ValidationError
from pm_db.services import events, parts, publish_reads
from tests.helpers import Studio, row_counts
from tests.test_usd_support import (
    composed_parts,
    provenance,
    publish,
    reserve,
    run_cli,
    save,
    snapshot,
    sublayers,
)


def test_a_pinned_part_holds_its_version_until_unpinned(studio: Studio) -> None:
    first = publish(studio, "particles01")
    publish(studio, "particles01", scene=save(studio, version_up=True))

    pinned = parts.pin_part(studio.db, {"part": "PinchIn/particles01", "version": 1})

    assert pinned.pinned is not None and pinned.pinned.id == first.id
    assert pinned.resolved == pinned.pinned
    assert sublayers(first.part_usd_path) == ["./data/particles01_v001_i001.usd"]
    assert provenance(first.part_usd_path)["state"] == "pinned"
    third = publish(studio, "particles01")
    assert third.is_latest
    assert composed_parts(first.asset_usd_path) == {"particles01": (1, 1)}

    unpinned = parts.unpin_part(studio.db, {"part": pinned.id})

    assert unpinned.pinned is None
    assert unpinned.resolved is not None and unpinned.resolved.id == third.id
    assert composed_parts(first.asset_usd_path) == {"particles01": (2, 2)}
    kinds = [e.kind for e in events.list_events(studio.db, entity_type="part")]
    assert kinds == ["part.unpinned", "part.pinned"]


def test_pin_by_version_takes_its_newest_published_iteration(studio: Studio) -> None:
    publish(studio, "particles01")
    second = publish(studio, "particles01")
    publish(studio, "particles01", scene=save(studio, version_up=True))

    pinned = parts.pin_part(studio.db, {"part": "pinchin/PARTICLES01", "version": 1})
    assert pinned.resolved is not None and pinned.resolved.id == second.id

    by_iteration = parts.pin_part(
        studio.db, {"part": "PinchIn/particles01", "version": 1, "iteration": 1}
    )
    assert by_iteration.resolved is not None and by_iteration.resolved.iteration == 1

    by_publish = parts.pin_part(
        studio.db, {"part": "PinchIn/particles01", "publish": second.publish_id}
    )
    assert by_publish.resolved is not None and by_publish.resolved.id == second.id
    assert composed_parts(second.asset_usd_path) == {"particles01": (1, 2)}


def test_a_pin_to_a_missing_or_unpublished_version_changes_nothing(studio: Studio) -> None:
    done = publish(studio, "particles01")
    pending = reserve(studio, "particles01")
    publishing.fail(studio.db, None, pending.id, "ROP crashed")
    other = publish(studio, "debris01")
    counts = row_counts(studio.db)
    layers = snapshot(done.part_usd_path, done.asset_usd_path)
    part = "PinchIn/particles01"

    with pytest.raises(NotFound) as missing:
        parts.pin_part(studio.db, {"part": part, "version": 7})
    assert missing.value.field == "version"
    assert "published: v001 i001" in missing.value.message

    with pytest.raises(Conflict) as failed:
        parts.pin_part(studio.db, {"part": part, "version": 1, "iteration": 2})
    assert failed.value.field == "version" and "failed" in failed.value.message

    with pytest.raises(ValidationError) as wrong_part:
        parts.pin_part(studio.db, {"part": part, "publish": other.id})
    assert wrong_part.value.field == "publish"

    with pytest.raises(ValidationError) as neither:
        parts.pin_part(studio.db, {"part": part})
    assert neither.value.field == "version"

    with pytest.raises(ValidationError) as bad_name:
        parts.pin_part(studio.db, {"part": "../particles01", "version": 1})
    assert bad_name.value.field == "part"

    assert row_counts(studio.db) == counts
    assert snapshot(done.part_usd_path, done.asset_usd_path) == layers

    publishing.deprecate(studio.db, None, other.id)
    counts = row_counts(studio.db)
    layers = snapshot(done.part_usd_path, done.asset_usd_path)
    with pytest.raises(Conflict) as deprecated:
        parts.pin_part(studio.db, {"part": "PinchIn/debris01", "publish": other.id})
    assert deprecated.value.field == "publish"

    assert row_counts(studio.db) == counts
    assert snapshot(done.part_usd_path, done.asset_usd_path) == layers


def test_a_pin_to_a_publish_deprecated_later_no_longer_counts(studio: Studio) -> None:
    first = publish(studio, "particles01")
    second = publish(studio, "particles01")
    parts.pin_part(studio.db, {"part": "PinchIn/particles01", "publish": second.id})
    third = publish(studio, "particles01")

    publishing.deprecate(studio.db, None, second.id)

    part = parts.get_part(studio.db, "PinchIn/particles01")
    assert part.pinned is not None and part.pinned.status == "deprecated"
    assert part.resolved is not None and part.resolved.id == third.id
    assert composed_parts(first.asset_usd_path) == {"particles01": (1, 3)}


def test_withdraw_takes_a_part_out_of_its_asset_and_restore_brings_it_back(
    studio: Studio,
) -> None:
    particles = publish(studio, "particles01")
    debris = publish(studio, "debris01")
    history = publish_reads.list_publishes(studio.db, asset_name="PinchIn")

    withdrawn = parts.withdraw_part(studio.db, {"part": "PinchIn/debris01", "artist": "jdoe"})

    assert withdrawn.withdrawn
    assert composed_parts(particles.asset_usd_path) == {"particles01": (1, 1)}
    assert list(provenance(particles.asset_usd_path)["withdrawn"]) == ["debris01"]
    assert sublayers(debris.part_usd_path) == ["./data/debris01_v001_i002.usd"]
    assert publish_reads.list_publishes(studio.db, asset_name="PinchIn") == history
    # A new publish of a withdrawn part does not bring it back on its own.
    publish(studio, "debris01")
    assert composed_parts(particles.asset_usd_path) == {"particles01": (1, 1)}

    restored = parts.restore_part(studio.db, {"part": withdrawn.id})

    assert not restored.withdrawn
    assert composed_parts(particles.asset_usd_path) == {"debris01": (1, 3), "particles01": (1, 1)}
    assert parts.restore_part(studio.db, {"part": withdrawn.id}) == restored


def test_a_read_only_asset_layer_refuses_a_withdraw_and_changes_nothing(studio: Studio) -> None:
    publish(studio, "particles01")
    debris = publish(studio, "debris01")
    os.chmod(debris.asset_usd_path, 0o444)
    counts = row_counts(studio.db)
    before = snapshot(debris.part_usd_path, debris.asset_usd_path)

    with pytest.raises(PermissionDenied) as caught:
        parts.withdraw_part(studio.db, {"part": "PinchIn/debris01"})

    assert caught.value.field == "asset_usd_path"
    assert not parts.get_part(studio.db, "PinchIn/debris01").withdrawn
    assert row_counts(studio.db) == counts
    assert snapshot(debris.part_usd_path, debris.asset_usd_path) == before


def test_a_read_only_part_layer_refuses_a_pin_and_changes_nothing(studio: Studio) -> None:
    first = publish(studio, "particles01")
    publish(studio, "particles01")
    os.chmod(first.part_usd_path, 0o444)
    counts = row_counts(studio.db)
    before = snapshot(first.part_usd_path, first.asset_usd_path)

    with pytest.raises(PermissionDenied):
        parts.pin_part(studio.db, {"part": "PinchIn/particles01", "version": 1, "iteration": 1})

    assert parts.get_part(studio.db, "PinchIn/particles01").pinned is None
    assert row_counts(studio.db) == counts
    assert snapshot(first.part_usd_path, first.asset_usd_path) == before


def test_a_name_shared_by_two_scene_folders_needs_the_part_id(studio: Studio) -> None:
    one = publish(studio, "particles01")
    publish(studio, "particles01", scene=save(studio, scene="Splash"))

    with pytest.raises(Conflict) as caught:
        parts.withdraw_part(studio.db, {"part": "PinchIn/particles01"})
    assert caught.value.field == "part"
    assert f"id {one.part_id}" in caught.value.message

    with pytest.raises(NotFound):
        parts.get_part(studio.db, "PinchIn/particles01", project="NOPE")
    assert parts.withdraw_part(studio.db, {"part": one.part_id}).withdrawn


def test_the_backend_offers_the_part_operations(studio: Studio) -> None:
    backend = LocalBackend(db=studio.db)
    first = publish(studio, "particles01")
    publish(studio, "particles01")

    assert backend.pin_part({"part": first.part_id, "version": 1, "iteration": 1}).pinned
    assert backend.withdraw_part({"part": first.part_id}).withdrawn
    assert [p.part_name for p in backend.list_parts("PinchIn")] == ["particles01"]
    assert backend.restore_part({"part": first.part_id}).withdrawn is False
    assert backend.unpin_part({"part": first.part_id}).pinned is None
    assert backend.get_part(first.part_id).resolved is not None
    assert backend.rebuild_layers("PinchIn").assets == 1


def test_part_commands(studio: Studio, capsys: pytest.CaptureFixture[str]) -> None:
    first = publish(studio, "particles01")
    publish(studio, "particles01")

    code, pinned, _ = run_cli(
        capsys, "part", "pin", "PinchIn/particles01", "--version", "1", "--iteration", "1"
    )
    assert code == 0 and pinned["resolved"]["iteration"] == 1
    code, listed, _ = run_cli(capsys, "part", "list", "--asset", "PinchIn")
    assert code == 0 and listed[0]["pinned"]["id"] == first.id
    code, withdrawn, _ = run_cli(capsys, "part", "withdraw", str(first.part_id))
    assert code == 0 and withdrawn["withdrawn"] is True
    code, shown, _ = run_cli(capsys, "usd", "show", "--asset", "PinchIn")
    assert code == 0 and shown[0]["parts"] == [] and shown[0]["withdrawn"] == ["particles01"]
    code, restored, _ = run_cli(capsys, "part", "restore", str(first.part_id))
    assert code == 0 and restored["withdrawn"] is False
    code, unpinned, _ = run_cli(capsys, "part", "unpin", "PinchIn/particles01")
    assert code == 0 and unpinned["pinned"] is None
    code, shown, _ = run_cli(capsys, "usd", "show", "--asset", "PinchIn")
    assert [(p["part_name"], p["version"], p["iteration"]) for p in shown[0]["parts"]] == [
        ("particles01", 1, 2)
    ]


def test_part_command_errors_name_the_field(
    studio: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(studio, "particles01")
    code, envelope, err = run_cli(capsys, "part", "pin", "PinchIn/particles01", "--version", "9")
    assert code == 3 and envelope["error"]["field"] == "version"
    assert "version" in err
    code, envelope, _ = run_cli(capsys, "part", "pin", "PinchIn/particles01")
    assert code == 2
    code, envelope, _ = run_cli(capsys, "part", "restore", "PinchIn/nothing")
    assert code == 3 and envelope["error"]["field"] == "part"
