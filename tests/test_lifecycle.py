"""The publish lifecycle: reserve -> write -> verify -> complete -> update layers, and what
each failure leaves behind, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pm_db import publishing
from pm_db.backend import LocalBackend
from pm_db.errors import Conflict, PermissionDenied, PmError, ValidationError
from pm_db.services import publish_reads
from tests.helpers import Studio, original_payload, row_counts
from tests.test_usd_support import (
    composed_parts,
    publish,
    reserve,
    save,
    snapshot,
    sublayers,
    write_data_layer,
)


def _not_usd(path: str) -> None:
    Path(path).write_text("this is a Houdini log, not a USD layer\n")


def _empty_file(path: str) -> None:
    Path(path).write_bytes(b"")


def _no_prims(path: str) -> None:
    Path(path).write_text("#usda 1.0\n")


def _truncated(path: str) -> None:
    """What a ROP killed half-way through a text layer leaves."""
    Path(path).write_text('#usda 1.0\ndef Points "particles01" {\n')


def _nothing(path: str) -> None:
    """A ROP that reported success but wrote nothing."""


def _folder(path: str) -> None:
    """A ROP pointed at a folder of that name."""
    Path(path).mkdir()


def _link_loop(path: str) -> None:
    """A symbolic link to itself: the file cannot be read at all."""
    os.symlink(Path(path).name, path)


BAD_DATA_LAYERS = {
    "missing": (_nothing, "does not exist"),
    "folder": (_folder, "is not a file"),
    "unreadable": (_link_loop, "cannot be read: "),
    "empty": (_empty_file, "is empty"),
    "not USD": (_not_usd, "is not a USD layer"),
    "no prim": (_no_prims, "without any prim"),
    "truncated": (_truncated, "is not a USD layer: "),
}


@pytest.mark.parametrize("bad", BAD_DATA_LAYERS)
def test_a_bad_data_layer_fails_the_publish_and_leaves_latest_alone(
    studio: Studio, bad: str
) -> None:
    good = publish(studio, "particles01")
    layers_before = snapshot(good.part_usd_path, good.asset_usd_path)
    writer, message = BAD_DATA_LAYERS[bad]

    request = {"scene_id": save(studio).id, "asset_name": "PinchIn", "part_name": "particles01"}
    with pytest.raises(ValidationError) as caught:
        publishing.publish(studio.db, None, request, writer)

    assert caught.value.field == "item_usd_path"
    assert message in caught.value.message
    history = publish_reads.list_publishes(studio.db, part_name="particles01")
    # A data layer not written at all leaves the publish pending (write it, complete
    # again); one written wrong fails it, and the same request re-opens it.
    status = "pending" if bad == "missing" else "failed"
    assert [p.status for p in history] == [status, "published"]
    assert bad == "missing" or message in (history[0].error or "")
    assert publish_reads.get_publish(studio.db, good.id).is_latest
    assert snapshot(good.part_usd_path, good.asset_usd_path) == layers_before


def test_a_failed_publish_can_be_retried_with_the_same_numbers(studio: Studio) -> None:
    scene = save(studio)
    request = {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": "particles01"}
    with pytest.raises(ValidationError):
        publishing.publish(studio.db, None, request, _not_usd)

    done = publishing.publish(
        studio.db, None, request, lambda p: write_data_layer(p, "particles01")
    )

    assert (done.status, done.version, done.iteration, done.is_latest) == ("published", 1, 1, True)
    assert len(publish_reads.list_publishes(studio.db, part_name="particles01")) == 1
    assert composed_parts(done.asset_usd_path) == {"particles01": (1, 1)}


def test_a_writer_that_raises_marks_the_publish_failed(studio: Studio) -> None:
    scene = save(studio)
    request = {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": "particles01"}

    def rop_error(path: str) -> None:
        raise RuntimeError("USD ROP: cook error in /stage/particles")

    with pytest.raises(RuntimeError):
        publishing.publish(studio.db, None, request, rop_error)

    (failed,) = publish_reads.list_publishes(studio.db, part_name="particles01")
    assert failed.status == "failed"
    assert "cook error" in (failed.error or "")
    assert not Path(failed.part_usd_path).exists()


def test_a_data_layer_linked_from_outside_the_root_is_refused(
    studio: Studio, tmp_path: Path
) -> None:
    outside = tmp_path / "scratch" / "particles.usd"
    write_data_layer(str(outside), "particles01")
    pending = reserve(studio, "particles01")
    Path(pending.item_usd_path).parent.mkdir(parents=True)
    os.symlink(outside, pending.item_usd_path)

    with pytest.raises(ValidationError) as caught:
        publishing.complete(studio.db, None, pending.id)

    assert "outside the project root" in caught.value.message
    assert publish_reads.get_publish(studio.db, pending.id).status == "failed"


def test_a_read_only_layer_refuses_completion_and_changes_nothing(studio: Studio) -> None:
    first = publish(studio, "particles01")
    os.chmod(first.asset_usd_path, 0o444)
    before = snapshot(first.part_usd_path, first.asset_usd_path)
    pending = reserve(studio, "particles01")
    write_data_layer(pending.item_usd_path, "particles01")
    counts = row_counts(studio.db)

    with pytest.raises(PermissionDenied) as caught:
        publishing.complete(studio.db, None, pending.id)

    assert caught.value.field == "asset_usd_path"
    assert "read-only" in caught.value.message
    assert row_counts(studio.db) == counts
    assert publish_reads.get_publish(studio.db, pending.id).status == "pending"
    assert publish_reads.get_publish(studio.db, first.id).is_latest
    assert snapshot(first.part_usd_path, first.asset_usd_path) == before
    assert not [p for p in Path(first.asset_usd_path).parent.iterdir() if p.name.startswith(".")]

    os.chmod(first.asset_usd_path, 0o644)
    done = publishing.complete(studio.db, None, pending.id)
    assert done.is_latest
    assert composed_parts(done.asset_usd_path) == {"particles01": (1, 2)}


def test_completing_twice_returns_the_same_publish_and_repairs_layers(studio: Studio) -> None:
    pending = reserve(studio, "particles01")
    write_data_layer(pending.item_usd_path, "particles01")
    done = publishing.complete(studio.db, None, pending.id)
    Path(done.part_usd_path).unlink()

    again = publishing.complete(studio.db, None, done.publish_id)

    assert (again.id, again.status, again.completed_at) == (done.id, "published", done.completed_at)
    assert sublayers(done.part_usd_path) == ["./data/particles01_v001_i001.usd"]


def test_completing_a_failed_publish_is_a_conflict(studio: Studio) -> None:
    pending = reserve(studio, "particles01")
    publishing.fail(studio.db, None, pending.id, "render farm node lost")
    with pytest.raises(Conflict):
        publishing.complete(studio.db, None, pending.id)


def test_the_backend_verifies_then_completes_and_updates_layers(studio: Studio) -> None:
    backend = LocalBackend(db=studio.db)
    scene = save(studio)
    pending = backend.reserve_publish(
        {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": "debris01"}
    )
    before = row_counts(studio.db)
    with pytest.raises(ValidationError, match="complete the publish again") as refused:
        backend.complete_publish(pending.id)
    assert refused.value.field == "item_usd_path"
    assert backend.get_publish(pending.id).status == "pending"
    assert row_counts(studio.db) == before

    write_data_layer(pending.item_usd_path, "debris01")
    done = backend.complete_publish(pending.id)
    assert done.is_latest
    assert composed_parts(done.asset_usd_path) == {"debris01": (1, 1)}


def _payload(studio: Studio, part: str = "particles01") -> dict[str, Any]:
    payload = original_payload(save(studio), part=part)
    payload["target_id"] = studio.shot_id
    return payload


def test_one_call_publish_records_only_a_data_layer_that_verifies(studio: Studio) -> None:
    payload = _payload(studio)
    counts = row_counts(studio.db)
    with pytest.raises(ValidationError) as caught:
        publishing.publish_written(studio.db, None, payload)
    assert caught.value.field == "item_usd_path"
    assert row_counts(studio.db) == counts

    Path(payload["item_usd_path"]).parent.mkdir(parents=True)
    _not_usd(payload["item_usd_path"])
    with pytest.raises(ValidationError):
        publishing.publish_written(studio.db, None, payload)
    assert row_counts(studio.db) == counts

    write_data_layer(payload["item_usd_path"], "particles01")
    done = LocalBackend(db=studio.db).publish_part(payload)
    assert (done.status, done.is_latest) == ("published", True)
    assert composed_parts(done.asset_usd_path) == {"particles01": (1, 1)}
    assert LocalBackend(db=studio.db).publish_part(payload).id == done.id


def publish_events(studio: Studio, publish_id: int) -> list[tuple[str, int | None]]:
    """(kind, published_seq) of a publish's events, oldest first, read in plain SQL."""
    with studio.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT e.kind, p.published_seq FROM events e JOIN publishes p ON p.id = "
                "e.entity_id WHERE e.entity_type = 'publish' AND p.id = :id ORDER BY e.id"
            ),
            {"id": publish_id},
        )
        return [tuple(row) for row in rows]


def test_a_one_call_publish_is_recorded_completed_with_one_event(studio: Studio) -> None:
    payload = _payload(studio)
    write_data_layer(payload["item_usd_path"], "particles01")
    done = publishing.publish_written(studio.db, None, payload)
    assert publish_events(studio, done.id) == [("publish.completed", 1)]
    publishing.publish_written(studio.db, None, payload)
    assert publish_events(studio, done.id) == [("publish.completed", 1)]


def test_a_one_call_publish_completes_its_own_earlier_reservation(studio: Studio) -> None:
    payload = _payload(studio)
    pending = publishing.publish_written(studio.db, None, {**payload, "status": "pending"})
    write_data_layer(payload["item_usd_path"], "particles01")
    done = publishing.publish_written(studio.db, None, payload)
    assert (done.id, done.status, done.is_latest) == (pending.id, "published", True)
    kinds = publish_events(studio, done.id)
    assert kinds == [("publish.reserved", 1), ("publish.completed", 1)]


def test_one_call_publish_outside_the_roots_names_the_field(studio: Studio) -> None:
    payload = _payload(studio)
    payload["item_usd_path"] = "/tmp/elsewhere/particles01_v001_i001.usd"
    counts = row_counts(studio.db)
    with pytest.raises(ValidationError) as caught:
        publishing.publish_written(studio.db, None, payload)
    assert caught.value.field == "item_usd_path"
    assert "not inside the project's roots" in caught.value.message
    assert row_counts(studio.db) == counts


def test_one_call_pending_publish_is_a_reservation(studio: Studio) -> None:
    payload = {**_payload(studio), "status": "pending"}
    pending = publishing.publish_written(studio.db, None, payload)
    assert pending.status == "pending"
    assert not Path(pending.part_usd_path).exists()


def test_one_call_publish_with_a_read_only_layer_records_nothing(studio: Studio) -> None:
    first = publish(studio, "particles01")
    os.chmod(first.part_usd_path, 0o444)
    payload = _payload(studio)
    write_data_layer(payload["item_usd_path"], "particles01")
    counts = row_counts(studio.db)

    with pytest.raises(PermissionDenied) as caught:
        publishing.publish_written(studio.db, None, payload)

    assert caught.value.field == "part_usd_path"
    assert row_counts(studio.db) == counts


def test_deprecate_with_a_read_only_layer_changes_nothing(studio: Studio) -> None:
    publish(studio, "particles01")
    second = publish(studio, "particles01")
    os.chmod(second.part_usd_path, 0o444)
    with pytest.raises(PermissionDenied):
        publishing.deprecate(studio.db, None, second.id)
    assert publish_reads.get_publish(studio.db, second.id).status == "published"


def test_a_layer_write_failure_after_completion_says_how_to_repair(studio: Studio) -> None:
    first = publish(studio, "particles01")
    pending = reserve(studio, "particles01")
    write_data_layer(pending.item_usd_path, "particles01")
    publishing.verify(studio.db, pending)
    done = publishing.record_completion(studio.db, pending.id)
    # The folder of the part layer turns into a file between completion and the layer update.
    folder = Path(first.part_usd_path).parent
    for child in folder.iterdir():
        if child.is_file():
            child.unlink()
    Path(first.part_usd_path).mkdir()

    with pytest.raises(PmError) as caught:
        publishing.update_layers(studio.db, done)

    assert "pm usd rebuild --asset PinchIn" in caught.value.message
    assert publish_reads.get_publish(studio.db, done.id).is_latest
