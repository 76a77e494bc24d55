"""A publish re-sent the way the world re-sends it (a farm's retry, a REST client's retry,
two identical requests racing) changes nothing: no counter moves, and every published
part stays in its asset layer. The layers are read back with USD's own reader, and the
counters with plain SQL, not through pm's layer state."""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from pm_db import doctor, publishing
from pm_db.api.app import create_app
from pm_db.backend import LocalBackend
from pm_db.cli import main
from tests.helpers import Studio, cli_document, original_payload
from tests.test_api_support import auth, token_for
from tests.test_usd_support import save, write_data_layer

Sender = Callable[[dict[str, Any]], dict[str, Any]]


def composed_parts(asset_layer: str) -> set[str]:
    """The parts an asset layer sublayers, read with USD (`./particles01/particles01.usd`
    names particles01)."""
    from pxr import Sdf

    layer = Sdf.Layer.OpenAsAnonymous(asset_layer)
    assert layer is not None, f"{asset_layer} does not open as USD"
    return {posixpath.basename(posixpath.dirname(path)) for path in layer.subLayerPaths}


def part_points_at(part_layer: str) -> list[str]:
    from pxr import Sdf

    layer = Sdf.Layer.OpenAsAnonymous(part_layer)
    assert layer is not None
    folder = posixpath.dirname(part_layer)
    return [posixpath.normpath(posixpath.join(folder, p)) for p in layer.subLayerPaths]


def counters(studio: Studio) -> list[tuple[Any, ...]]:
    """Every number a publish takes, read with plain SQL."""
    with studio.db.engine.connect() as conn:
        publishes = conn.execute(
            text(
                "SELECT id, part_id, version, iteration, published_seq, status, is_latest "
                "FROM publishes ORDER BY id"
            )
        ).all()
        streams = conn.execute(text("SELECT id, version, iteration FROM scene_streams")).all()
    return [tuple(row) for row in [*publishes, *streams]]


def written(studio: Studio, part: str) -> dict[str, Any]:
    """A one-call payload for `part` from a new save, its data layer written."""
    payload = {**original_payload(save(studio), part), "target_id": studio.shot_id}
    write_data_layer(payload["item_usd_path"], part)
    return payload


@pytest.fixture(params=["backend", "rest", "cli"])
def send(
    request: pytest.FixtureRequest,
    studio: Studio,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> Iterator[Sender]:
    """One front end's one-call publish: the Backend, `POST /api/publishes/`, or
    `pm publish FILE`."""
    if request.param == "backend":
        backend = LocalBackend(db=studio.db)
        yield lambda payload: backend.publish_part(payload).model_dump(mode="json")
    elif request.param == "rest":
        headers = auth(token_for(studio.db, studio.artist))
        with TestClient(create_app(studio.db), raise_server_exceptions=False) as client:

            def post(payload: dict[str, Any]) -> dict[str, Any]:
                response = client.post("/api/publishes/", json=payload, headers=headers)
                assert response.status_code == 201, response.text
                answer: dict[str, Any] = response.json()["data"]
                return answer

            yield post
    else:

        def run(payload: dict[str, Any]) -> dict[str, Any]:
            import json

            path = tmp_path / "payload.json"
            path.write_text(json.dumps(payload))
            code = main(["publish", str(path), "--json"])
            out = capsys.readouterr().out
            assert code == 0, out
            answer: dict[str, Any] = cli_document(out)
            return answer

        yield run


@pytest.mark.parametrize("request_id", [None, "farm-job-17"])
def test_resending_a_completed_publish_changes_nothing(
    studio: Studio, send: Sender, request_id: str | None
) -> None:
    particles = {**written(studio, "particles01"), "request_id": request_id}
    first = send(particles)
    debris = written(studio, "debris01")
    send(debris)
    before = counters(studio)
    asset_layer = first["asset_usd_path"]
    assert composed_parts(asset_layer) == {"particles01", "debris01"}

    for _ in range(3):
        again = send(particles)
        assert again["id"] == first["id"]
        assert counters(studio) == before, "a repeated request moved a number"
        assert composed_parts(asset_layer) == {"particles01", "debris01"}
    assert part_points_at(first["part_usd_path"]) == [first["item_usd_path"]]
    assert doctor.examine(studio.db).problems == []


def test_a_repeated_reservation_and_completion_take_no_number(studio: Studio) -> None:
    scene = save(studio)
    request = {
        "scene_id": scene.id,
        "asset_name": "PinchIn",
        "part_name": "smoke01",
        "request_id": "shelf-1",
    }
    reserved = publishing.reserve(studio.db, None, request)
    write_data_layer(reserved.item_usd_path, "smoke01")
    done = publishing.complete(studio.db, None, reserved.id)
    before = counters(studio)
    for _ in range(3):
        assert publishing.reserve(studio.db, None, request).id == done.id
        assert publishing.complete(studio.db, None, done.id).id == done.id
    assert counters(studio) == before
    assert composed_parts(done.asset_usd_path) == {"smoke01"}


def test_identical_requests_racing_make_one_record_and_lose_no_part(studio: Studio) -> None:
    other = written(studio, "debris01")
    publishing.publish_written(studio.db, None, other)
    for attempt in range(4):
        payload = {**written(studio, "particles01"), "request_id": f"race-{attempt}"}
        answers = race(
            lambda payload=payload: publishing.publish_written(studio.db, None, payload).id
        )
        assert len(set(answers)) == 1
        with studio.db.engine.connect() as conn:
            seqs = conn.execute(
                text(
                    "SELECT published_seq FROM publishes JOIN parts ON parts.id = part_id "
                    "WHERE parts.name = 'particles01' ORDER BY published_seq"
                )
            ).scalars()
            assert list(seqs) == list(range(1, attempt + 2)), "completion numbers have no gap"
        layer = publishing.publish_written(studio.db, None, payload).asset_usd_path
        assert composed_parts(layer) == {"particles01", "debris01"}


def race(work: Callable[[], Any], times: int = 2) -> list[Any]:
    """`work` run by `times` threads released at once; their answers (a failure in any
    fails the test with its cause)."""
    start = threading.Barrier(times)
    answers: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            answers.append(work())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return answers


def test_a_publish_completed_before_its_file_exists_stays_pending(studio: Studio) -> None:
    scene = save(studio)
    reserved = publishing.reserve(
        studio.db, None, {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": "fx"}
    )
    before = counters(studio)
    with pytest.raises(Exception, match="stays pending"):
        publishing.complete(studio.db, None, reserved.id)
    assert counters(studio) == before
    write_data_layer(reserved.item_usd_path, "fx")
    assert publishing.complete(studio.db, None, reserved.id).status == "published"
