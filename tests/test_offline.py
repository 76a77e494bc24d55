"""Offline work (docs/offline.md): a task checked out of the studio database into a laptop's
SQLite file, worked on with PM_OFFLINE, and checked back in. The studio runs on SQLite and
on PostgreSQL (the `db` fixture), the laptop on SQLite.

The check-in is judged against a second studio database of the same kind where the same
work was done online, through the ordinary save and publish paths, both read back with
plain SQL: the records, the events and the layers must be the same (UUIDs, ids and clock
times aside), and the studio must keep the laptop's own UUIDs and times.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from pm_db import faults, migrate, offline, publishing
from pm_db.backend import Backend, LocalBackend, get_backend
from pm_db.cli import main
from pm_db.config import sqlite_url
from pm_db.db import Database
from pm_db.errors import Conflict
from pm_db.services import entities, events, scenes
from tests.conftest import build_show, pg_admin
from tests.helpers import Studio, cli_document, original_payload, row_counts
from tests.test_usd_support import REPO, process_env, write_data_layer

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


# -- the show, twice ----------------------------------------------------------------------


@pytest.fixture
def twin(db_url: str, tmp_path: Path, sqlite_template: Path) -> Iterator[Studio]:
    """A second studio database of the studio's kind, with the same show under another
    root: where the work is done online, for comparison."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "twin.sqlite"
        shutil.copy(sqlite_template, path)
        database = Database(sqlite_url(path))
        yield build_show(database, tmp_path / "twin-show" / "FX3X")
        database.dispose()
        return
    name = f"{make_url(db_url).database}_twin"
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', db_url)
    pg_admin(f'CREATE DATABASE "{name}"', db_url)
    database = Database(make_url(db_url).set(database=name).render_as_string(False))
    migrate.upgrade(database)
    yield build_show(database, tmp_path / "twin-show" / "FX3X")
    database.dispose()
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', db_url)


def lighting_task(show: Studio) -> int:
    """A second task on the show's shot, for another artist (same ids in every copy)."""
    bob = entities.create(show.db, "artist", {"login": "bob", "name": "Bob Light"})
    data = {"target_type": "shot", "target_id": show.shot_id, "step": "lighting"}
    return int(entities.create(show.db, "task", {**data, "artist_id": bob.id}).id)


# -- the work ------------------------------------------------------------------------------


def save(backend: Backend, task: int, artist: str, scene: str, version_up: bool = False) -> Any:
    """A save, and the hip file Houdini would write at its path."""
    request = {"task_id": task, "artist": artist, "scene_name": scene, "version_up": version_up}
    saved = backend.save_scene(request)
    Path(saved.path).parent.mkdir(parents=True, exist_ok=True)
    Path(saved.path).write_text(f"hip {saved.name} {saved.version} {saved.iteration}\n")
    return saved


def publish(
    backend: Backend, show: Studio, scene: Any, asset: str, part: str, one_call: bool
) -> Any:
    """A shelf-style publish (reserve, write, complete) or the original API's one call."""
    if one_call:
        payload = {**original_payload(scene, part, asset), "target_id": show.shot_id}
        write_data_layer(payload["item_usd_path"], part)
        return backend.publish_part(payload)
    reserved = backend.reserve_publish(
        {"scene_id": scene.id, "asset_name": asset, "part_name": part}
    )
    write_data_layer(reserved.item_usd_path, part)
    return backend.complete_publish(reserved.id)


def history(backend: Backend, show: Studio, task: int, artist: str, scene: str) -> None:
    """What the studio held before the checkout: saves and publishes in one stream, and a
    reservation never completed."""
    first = save(backend, task, artist, scene)
    publish(backend, show, first, scene, "particles01", one_call=False)
    second = save(backend, task, artist, scene, version_up=True)
    publish(backend, show, second, scene, "particles01", one_call=True)
    publish(backend, show, save(backend, task, artist, scene), scene, "debris01", False)
    pending = save(backend, task, artist, scene)
    backend.reserve_publish({"scene_id": pending.id, "asset_name": scene, "part_name": "spray"})


def day(
    backend: Backend, show: Studio, task: int, artist: str, scene: str, saves: int, publishes: int
) -> None:
    """`saves` saves (a version up every tenth, every tenth one into a new scene folder,
    `<scene>Smoke`) and `publishes` publishes, alternating the shelf and the one call; then
    the first publish pinned and sparks01 withdrawn."""
    every = saves // publishes
    made: list[Any] = []
    for n in range(saves):
        name = f"{scene}Smoke" if n % 10 == 7 else scene
        saved = save(backend, task, artist, name, version_up=n % 10 == 5)
        if n % every == every - 1 and len(made) < publishes:
            part = ("particles01", "debris01", "sparks01")[len(made) % 3]
            made.append(publish(backend, show, saved, name, part, one_call=len(made) % 2 == 1))
    assert len(made) == publishes
    first = next(p for p in made if p.asset_name == scene)
    backend.pin_part({"part": f"{scene}/{first.part_name}", "publish": first.id, "artist": artist})
    backend.withdraw_part({"part": f"{scene}/sparks01", "artist": artist})


# -- reading back, with plain SQL ----------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(json.loads(value) if isinstance(value, str) else value, sort_keys=True)


def _payload(value: Any, paths: dict[int, str]) -> str:
    """An event's payload as JSON, the publish a pin names given by its data layer (ids
    differ from one database to the other)."""
    payload = json.loads(value) if isinstance(value, str) else dict(value)
    if "publish_id" in payload:
        payload["publish_id"] = paths[payload["publish_id"]]
    return json.dumps(payload, sort_keys=True)


def records(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every record a save or a publish makes, without ids, UUIDs or clock times."""
    queries = {
        "streams": "SELECT key, folder, version, iteration FROM scene_streams",
        "scenes": (
            "SELECT st.key, s.task_id, a.login, s.software, s.name, s.version, s.iteration, "
            "s.path, s.host, s.request_id FROM scenes s "
            "JOIN scene_streams st ON st.id = s.stream_id JOIN artists a ON a.id = s.artist_id"
        ),
        "parts": (
            "SELECT st.key, p.asset_name, p.name, p.withdrawn FROM parts p "
            "JOIN scene_streams st ON st.id = p.stream_id"
        ),
        "publishes": (
            "SELECT pa.asset_name, pa.name, pu.version, pu.iteration, pu.status, "
            "pu.is_latest, pu.published_seq, pu.item_usd_path, pu.part_usd_path, "
            "pu.asset_usd_path, sc.version, sc.iteration, pu.attempts, pu.error, "
            "pu.task_id, pu.target_type, pu.target_id, pu.created_by, pu.request_id "
            "FROM publishes pu JOIN parts pa ON pa.id = pu.part_id "
            "JOIN scenes sc ON sc.id = pu.scene_id"
        ),
        "pins": (
            "SELECT pa.asset_name, pa.name, pu.version, pu.iteration FROM part_pins pp "
            "JOIN parts pa ON pa.id = pp.part_id JOIN publishes pu ON pu.id = pp.publish_id"
        ),
    }
    with db.engine.connect() as conn:
        found = {
            name: sorted(tuple(r) for r in conn.execute(text(sql))) for name, sql in queries.items()
        }
        rows = conn.execute(
            text(
                "SELECT kind, entity_type, artist_id, host, payload FROM events "
                "WHERE entity_type IN ('scene', 'part', 'publish')"
            )
        )
        paths = dict(conn.execute(text("SELECT id, item_usd_path FROM publishes")).all())
        found["events"] = sorted((*row[:4], _payload(row[4], paths)) for row in rows)
        metadata = conn.execute(text("SELECT item_usd_path, metadata FROM publishes"))
        found["metadata"] = sorted((row[0], _json(row[1])) for row in metadata)
    return found


def _moment(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def times(db: Database) -> dict[Any, tuple[datetime | None, ...]]:
    """The stored times of every save (by folder and numbers), publish (by UUID) and event
    (by kind and time, as a set)."""
    with db.engine.connect() as conn:
        saved = conn.execute(
            text(
                "SELECT st.key, s.version, s.iteration, s.created_at FROM scenes s "
                "JOIN scene_streams st ON st.id = s.stream_id"
            )
        )
        found: dict[Any, tuple[datetime | None, ...]] = {
            tuple(row[:3]): (_moment(row[3]),) for row in saved
        }
        published = conn.execute(text("SELECT publish_id, created_at, completed_at FROM publishes"))
        for row in published:
            found[row[0]] = (_moment(row[1]), _moment(row[2]) if row[2] else None)
    return found


def event_times(db: Database) -> list[tuple[str, datetime]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT kind, created_at FROM events "
                "WHERE entity_type IN ('scene', 'part', 'publish')"
            )
        )
        return sorted((row[0], _moment(row[1])) for row in rows)


def layer_texts(show: Studio) -> dict[str, str]:
    """The text of every part and asset layer the records name, UUIDs, times and the root
    left out."""
    with show.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT DISTINCT part_usd_path, asset_usd_path FROM publishes "
                "WHERE status = 'published'"
            )
        )
        relative = sorted({path for row in rows for path in row})
    found = {}
    for path in relative:
        body = (show.root / path).read_text(encoding="utf-8")
        body = UUID.sub("<uuid>", STAMP.sub("<time>", body.replace(str(show.root), "<root>")))
        found[path] = body
    return found


def files(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def pm(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main([*argv, "--json"])
    return code, cli_document(capsys.readouterr().out)


def offline_backend(path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """What the shelf, the batch and the CLI get with PM_OFFLINE set (the REST service
    configured too, and ignored)."""
    monkeypatch.setenv("PM_OFFLINE", str(path))
    monkeypatch.setenv("PM_API_URL", "http://127.0.0.1:9")
    backend = get_backend()
    monkeypatch.delenv("PM_OFFLINE")
    monkeypatch.delenv("PM_API_URL")
    return backend


# -- the tests -----------------------------------------------------------------------------


def test_a_day_offline_comes_home_as_if_it_had_been_done_online(
    studio: Studio,
    twin: Studio,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task, artist = studio.shot_task_id, studio.artist
    history(LocalBackend(db=studio.db), studio, task, artist, "PinchIn")
    history(LocalBackend(db=twin.db), twin, task, artist, "PinchIn")
    laptop, laptop_root = tmp_path / "laptop" / "pm.sqlite", tmp_path / "laptop-show" / "FX3X"
    shutil.copytree(studio.root, laptop_root)

    code, out = pm(
        capsys,
        "offline",
        "checkout",
        "--task",
        str(task),
        "--to",
        str(laptop),
        "--root",
        str(laptop_root),
    )
    assert code == 0, out
    assert out["artist"] == "jdoe" and out["streams"] and out["scenes"] >= 1
    offline = offline_backend(laptop, monkeypatch)
    first = save(offline, task, artist, "PinchIn")
    online_first = save(LocalBackend(db=twin.db), task, artist, "PinchIn")
    assert first.path.replace(str(laptop_root), "") == online_first.path.replace(str(twin.root), "")
    assert (first.version, first.iteration) == (2, 4)

    # Meanwhile in the studio: refused, naming the artist, the machine and the time, and
    # nothing taken (no number, no record).
    before = records(studio.db)
    with pytest.raises(Conflict) as refused:
        scenes.save_scene(studio.db, {"task_id": task, "artist": artist, "scene_name": "PinchIn"})
    assert refused.value.field == "lease"
    for words in (
        "jdoe",
        events.HOST,
        out["lease_id"],
        datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    ):
        assert words in refused.value.message
    last_studio_scene = scenes.list_scenes(studio.db, task_id=task, limit=1)[0]
    with pytest.raises(Conflict, match="checked out to jdoe"):
        publishing.reserve(
            studio.db,
            None,
            {"scene_id": last_studio_scene.id, "asset_name": "PinchIn", "part_name": "late01"},
        )
    [pending] = [p for p in LocalBackend(db=studio.db).list_publishes() if p.status == "pending"]
    write_data_layer(pending.item_usd_path, "spray")
    with pytest.raises(Conflict, match="checked out"):
        publishing.complete(studio.db, None, pending.id)
    code, refused_cli = pm(
        capsys, "scene", "save", "--task", str(task), "--artist", artist, "--scene", "PinchIn"
    )
    assert code == 4 and refused_cli["error"]["field"] == "lease"
    assert records(studio.db) == before

    day(offline, studio, task, artist, "PinchIn", saves=49, publishes=20)
    day(LocalBackend(db=twin.db), twin, task, artist, "PinchIn", saves=49, publishes=20)
    laptop_db = Database(sqlite_url(laptop))
    laptop_times = times(laptop_db)
    laptop_events = event_times(laptop_db)

    code, report = pm(capsys, "offline", "checkin", "--from", str(laptop))
    assert code == 0, report
    assert (report["scenes"], report["publishes"], report["files_copied"]) == (50, 20, 70)
    assert records(studio.db) == records(twin.db)
    brought_layers = layer_texts(studio)
    assert brought_layers == layer_texts(twin)
    assert len(brought_layers) == 8, sorted(brought_layers)
    studio_times = times(studio.db)
    assert all(studio_times[key] == value for key, value in laptop_times.items())
    assert set(laptop_events) <= set(event_times(studio.db))
    # The studio's stream is free again, numbers go on from the offline ones.
    after = save(LocalBackend(db=studio.db), task, artist, "PinchIn")
    assert after.path.replace(str(studio.root), "") == save(
        LocalBackend(db=twin.db), task, artist, "PinchIn"
    ).path.replace(str(twin.root), "")
    # Run again: the checkout is closed, nothing more comes in.
    done = records(studio.db)
    code, again = pm(capsys, "offline", "checkin", "--from", str(laptop))
    assert code == 3 and again["error"]["field"] == "PM_OFFLINE"
    assert records(studio.db) == done
    laptop_db.dispose()


def checked_out(
    studio: Studio, task: int, laptop: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    code, out = pm(capsys, "offline", "checkout", "--task", str(task), "--to", str(laptop), *extra)
    assert code == 0, out
    return dict(out)


def laptop_backend(path: Path) -> LocalBackend:
    return LocalBackend(db=Database(sqlite_url(path)))


def checkin_process(laptop: Path) -> list[str]:
    return [sys.executable, "-m", "pm_db", "offline", "checkin", "--from", str(laptop), "--json"]


@pytest.mark.slow
def test_a_checkin_killed_at_any_moment_and_run_again_brings_everything_once(
    studio: Studio, twin: Studio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task, artist = studio.shot_task_id, studio.artist
    history(LocalBackend(db=studio.db), studio, task, artist, "PinchIn")
    history(LocalBackend(db=twin.db), twin, task, artist, "PinchIn")
    laptop, laptop_root = tmp_path / "laptop" / "pm.sqlite", tmp_path / "laptop-show" / "FX3X"
    shutil.copytree(studio.root, laptop_root)
    checked_out(studio, task, laptop, capsys, "--root", str(laptop_root))
    day(laptop_backend(laptop), studio, task, artist, "PinchIn", saves=30, publishes=12)
    day(LocalBackend(db=twin.db), twin, task, artist, "PinchIn", saves=30, publishes=12)
    command = checkin_process(laptop)
    untouched = row_counts(studio.db)

    def run(fault: str | None) -> subprocess.CompletedProcess[str]:
        env = process_env(studio.db, fault)
        return subprocess.run(
            command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300
        )

    after_copy, after_stream, after_layers = faults.CHECKIN_POINTS
    killed = run(after_copy)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert row_counts(studio.db) == untouched
    started = time.monotonic()
    killed = run(after_stream)
    to_stream = time.monotonic() - started
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert row_counts(studio.db) != untouched
    # Then at random moments of a run (start-up, checks and the first stream took
    # `to_stream`): in its checks, while streams come in, while layers are written, until
    # a run gets to the end. Timing decides which moments these catch (the named points
    # above and below are the cuts every run makes sure of).
    chance = random.Random(20261206)
    for _ in range(6):
        victim = subprocess.Popen(
            command,
            env=process_env(studio.db),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(chance.uniform(0.1, 1.0) * to_stream)
        victim.kill()
        victim.communicate()
        if victim.returncode != -signal.SIGKILL:
            break
    killed = run(after_layers)
    # 3: a run above finished the check-in (the checkout is closed).
    assert killed.returncode in (-signal.SIGKILL, 0, 3), killed.stderr
    finished = run(None)
    # 0, or 3 when a run above finished the check-in (the checkout is then closed).
    assert finished.returncode in (0, 3), finished.stderr
    assert records(studio.db) == records(twin.db)
    assert layer_texts(studio) == layer_texts(twin)
    # What a killed copy left beside its file is swept by `pm doctor --repair`; then the
    # show is clean and still the same.
    for argv in (["--repair"], []):
        doctor = subprocess.run(
            [sys.executable, "-m", "pm_db", "doctor", *argv, "--json"],
            env=process_env(studio.db),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert cli_document(doctor.stdout)["problems"] == []
    assert not [name for name in files(studio.root) if name.endswith(".pm-tmp")]
    assert records(studio.db) == records(twin.db)
    assert layer_texts(studio) == layer_texts(twin)


def test_a_broken_lease_frees_the_studio_and_refuses_the_checkin(
    studio: Studio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task, artist = studio.shot_task_id, studio.artist
    history(LocalBackend(db=studio.db), studio, task, artist, "PinchIn")
    laptop = tmp_path / "laptop.sqlite"
    lease = checked_out(studio, task, laptop, capsys)["lease_id"]
    offline = laptop_backend(laptop)
    assert [save(offline, task, artist, "PinchIn").iteration for _ in range(3)] == [4, 5, 6]
    code, held = pm(capsys, "offline", "leases")
    assert code == 0 and [(h["lease_id"], h["state"]) for h in held] == [(lease, "held")]

    code, broken = pm(
        capsys, "offline", "break", lease, "--reason", "client review tonight", "--by", "sup"
    )
    assert code == 0 and broken["state"].startswith("broken by sup at ")
    assert pm(capsys, "offline", "leases")[1] == []
    code, again = pm(capsys, "offline", "break", lease, "--reason", "twice")
    assert code == 4 and again["error"]["field"] == "lease"
    studio_save = save(LocalBackend(db=studio.db), task, artist, "PinchIn")
    assert (studio_save.version, studio_save.iteration) == (2, 4)

    before = row_counts(studio.db)
    code, refused = pm(capsys, "offline", "checkin", "--from", str(laptop))
    assert code == 4 and refused["error"]["field"] == "lease"
    message = refused["error"]["message"]
    assert "broken by sup" in message and "client review tonight" in message
    assert "nothing was written" in message
    assert row_counts(studio.db) == before

    code, gone = pm(capsys, "offline", "discard", "--from", str(laptop))
    assert code == 0 and gone == {"lease_id": lease, "discarded": True}
    assert row_counts(studio.db) == {**before, "events": before["events"]}
    again_out = checked_out(studio, task, laptop, capsys)
    assert again_out["lease_id"] != lease
    assert save(laptop_backend(laptop), task, artist, "PinchIn").iteration == 5


def test_a_checkin_names_every_conflict_and_writes_nothing(
    studio: Studio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task, artist = studio.shot_task_id, studio.artist
    history(LocalBackend(db=studio.db), studio, task, artist, "PinchIn")
    laptop, laptop_root = tmp_path / "laptop.sqlite", tmp_path / "laptop-show" / "FX3X"
    shutil.copytree(studio.root, laptop_root)
    checked_out(studio, task, laptop, capsys, "--root", str(laptop_root))
    offline = laptop_backend(laptop)
    publish(offline, studio, save(offline, task, artist, "PinchIn"), "PinchIn", "sparks01", False)
    save(offline, task, artist, "Smoke")

    # Three changes in the studio the lease does not stop: a farm job failing a reservation
    # made before the checkout, a first save into a folder the laptop also made, and a
    # template override.
    [pending] = [p for p in LocalBackend(db=studio.db).list_publishes() if p.status == "pending"]
    publishing.fail(studio.db, None, pending.id, "farm node died")
    save(LocalBackend(db=studio.db), task, artist, "Smoke")
    entities.update(
        studio.db,
        "project",
        studio.project_id,
        {
            "templates": {
                "scene_file": "{@scene_folder}/{scene}_v{version:03}_i{iteration:03}_w.{ext}"
            }
        },
    )
    before, on_disk = row_counts(studio.db), files(studio.root)
    code, refused = pm(capsys, "offline", "checkin", "--from", str(laptop))
    assert code == 4, refused
    message = refused["error"]["message"]
    for conflict in (
        "templates changed in the studio since checkout",
        "scenes/jdoe/PinchIn changed in the studio since the checkout",
        "scenes/jdoe/Smoke was first saved in the studio while it was checked out",
    ):
        assert conflict in message
    assert row_counts(studio.db) == before
    assert files(studio.root) == on_disk


def test_two_laptops_check_out_two_tasks_of_one_shot(
    studio: Studio, twin: Studio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fx, lighting = studio.shot_task_id, lighting_task(studio)
    assert lighting_task(twin) == lighting
    for show in (studio, twin):
        history(LocalBackend(db=show.db), show, fx, "jdoe", "PinchIn")
        history(LocalBackend(db=show.db), show, lighting, "bob", "Lights")
    laptop_a, laptop_b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    lease_a = checked_out(studio, fx, laptop_a, capsys)["lease_id"]
    lease_b = checked_out(studio, lighting, laptop_b, capsys)["lease_id"]
    code, third = pm(capsys, "offline", "checkout", "--task", str(fx), "--to", str(tmp_path / "c"))
    assert (
        code == 4
        and lease_a in third["error"]["message"]
        and lease_b not in third["error"]["message"]
    )
    with pytest.raises(Conflict, match="checked out to bob"):
        save(LocalBackend(db=studio.db), lighting, "bob", "Lights")

    day(laptop_backend(laptop_a), studio, fx, "jdoe", "PinchIn", saves=12, publishes=4)
    day(laptop_backend(laptop_b), studio, lighting, "bob", "Lights", saves=12, publishes=4)
    for task, login, scene in ((fx, "jdoe", "PinchIn"), (lighting, "bob", "Lights")):
        day(LocalBackend(db=twin.db), twin, task, login, scene, saves=12, publishes=4)
    for laptop in (laptop_b, laptop_a):
        code, report = pm(capsys, "offline", "checkin", "--from", str(laptop))
        assert code == 0 and (report["scenes"], report["publishes"]) == (12, 4), report
    assert records(studio.db) == records(twin.db)
    assert layer_texts(studio) == layer_texts(twin)
    assert pm(capsys, "offline", "leases")[1] == []


def test_the_rest_service_refuses_a_leased_stream_too(
    studio: Studio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastapi.testclient import TestClient

    from pm_db.api.app import create_app
    from tests.test_api_support import auth, token_for

    task, artist = studio.shot_task_id, studio.artist
    scene = save(LocalBackend(db=studio.db), task, artist, "PinchIn")
    lease = checked_out(studio, task, tmp_path / "laptop.sqlite", capsys)["lease_id"]
    headers = auth(token_for(studio.db, artist))
    payload = {**original_payload(scene, "particles01"), "target_id": studio.shot_id}
    write_data_layer(payload["item_usd_path"], "particles01")
    before = row_counts(studio.db)
    with TestClient(create_app(studio.db), raise_server_exceptions=False) as client:
        request = {"task_id": task, "artist": artist, "scene_name": "PinchIn"}
        for response in (
            client.post("/api/scenes/", json=request, headers=headers),
            client.post("/api/publishes/", json=payload, headers=headers),
        ):
            assert response.status_code == 409, response.text
            error = response.json()["error"]
            assert error["field"] == "lease" and lease in error["message"]
    assert row_counts(studio.db) == before


def test_bad_requests_name_the_field_and_change_nothing(
    studio: Studio, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    task = studio.shot_task_id
    save(LocalBackend(db=studio.db), task, studio.artist, "PinchIn")
    laptop = tmp_path / "laptop.sqlite"
    before = row_counts(studio.db)
    for argv, code, field in (
        (["checkout", "--task", "999", "--to", str(laptop)], 3, "task_id"),
        (["checkout", "--task", "x", "--to", str(laptop)], 2, "--task"),
        (["checkout", "--task", str(task), "--artist", "nobody", "--to", str(laptop)], 3, "artist"),
        (["break", "no-such-lease", "--reason", "x"], 3, "lease"),
        (["checkin", "--from", str(tmp_path / "missing.sqlite")], 3, "from"),
        (["discard", "--from", str(tmp_path / "missing.sqlite")], 3, "from"),
    ):
        got, out = pm(capsys, "offline", *argv)
        assert (got, out["error"]["field"]) == (code, field), (argv, out)
    assert row_counts(studio.db) == before and not laptop.exists()

    lease = checked_out(studio, task, laptop, capsys)["lease_id"]
    taken = row_counts(studio.db)
    for argv, code, field in (
        (["checkout", "--task", str(task), "--to", str(laptop)], 4, "to"),
        (["checkout", "--task", str(task), "--to", str(tmp_path / "other.sqlite")], 4, "lease"),
        (["break", lease, "--reason", "   "], 2, "reason"),
    ):
        got, out = pm(capsys, "offline", *argv)
        assert (got, out["error"]["field"]) == (code, field), (argv, out)
    assert row_counts(studio.db) == taken
    monkeypatch.setenv("PM_OFFLINE", "sqlite:///elsewhere.sqlite")
    got, out = pm(capsys, "offline", "checkin")
    assert (got, out["error"]["field"]) == (7, "PM_OFFLINE")


SAVER = """
import sys, time
from pm_db.db import open_database
from pm_db.errors import Conflict
from pm_db.services import scenes

db, saved, refused = open_database(), 0, 0
request = {"task_id": int(sys.argv[1]), "artist": "jdoe", "scene_name": "PinchIn"}
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        scenes.save_scene(db, request)
        saved += 1
        if saved == 1:
            print("saving", flush=True)
            deadline = time.monotonic() + float(sys.argv[2])
    except Conflict:
        refused += 1
print(saved, refused)
"""


@pytest.mark.slow
def test_a_checkout_amid_saves_copies_every_one_before_it_and_lets_none_after(
    studio: Studio, tmp_path: Path
) -> None:
    task = studio.shot_task_id
    save(LocalBackend(db=studio.db), task, studio.artist, "PinchIn")
    savers = [
        subprocess.Popen(
            [sys.executable, "-c", SAVER, str(task), "8"],
            env=process_env(studio.db),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for saver in savers:  # each is saving
        assert saver.stdout is not None and saver.stdout.readline() == "saving\n"
    time.sleep(0.5)
    laptop = tmp_path / "laptop.sqlite"
    checked_out = offline.checkout(studio.db, laptop, task, None, "laptop-7")
    counts = []
    for saver in savers:
        out, err = saver.communicate(timeout=180)
        assert saver.returncode == 0, err
        counts.append(tuple(int(n) for n in out.split()))
    assert all(s > 0 for s, _ in counts) and sum(r for _, r in counts) > 0, counts

    query = "SELECT version, iteration FROM scene_streams"
    with studio.db.engine.connect() as conn:
        [studio_counter] = conn.execute(text(query)).all()
        saves = conn.execute(text("SELECT count(*) FROM scenes")).scalar()
        [state] = conn.execute(text("SELECT state FROM lease_streams")).scalars().all()
    laptop_db = Database(sqlite_url(laptop))
    with laptop_db.engine.connect() as conn:
        [laptop_counter] = conn.execute(text(query)).all()
        [current] = conn.execute(text("SELECT version, iteration FROM scenes")).all()
    laptop_db.dispose()
    snapshot = json.loads(state) if isinstance(state, str) else state
    assert tuple(studio_counter) == tuple(laptop_counter) == tuple(current)
    assert (snapshot["version"], snapshot["iteration"]) == tuple(studio_counter)
    assert saves == 1 + sum(s for s, _ in counts) == snapshot["saves"]
    assert checked_out.scenes == 1


@pytest.mark.slow
def test_a_lease_broken_during_a_checkin_keeps_the_streams_already_in(
    studio: Studio, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task, artist = studio.shot_task_id, studio.artist
    history(LocalBackend(db=studio.db), studio, task, artist, "PinchIn")
    laptop = tmp_path / "laptop.sqlite"
    lease = checked_out(studio, task, laptop, capsys)["lease_id"]
    offline_work = laptop_backend(laptop)
    for scene in ("PinchIn", "Smoke", "PinchIn", "Smoke"):
        save(offline_work, task, artist, scene)
    _, after_stream, _ = faults.CHECKIN_POINTS
    killed = subprocess.run(
        checkin_process(laptop),
        env=process_env(studio.db, after_stream),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    in_studio = records(studio.db)["scenes"]
    assert [s[4:7] for s in in_studio if s[4] == "PinchIn"][-2:] == [
        ("PinchIn", 2, 4),
        ("PinchIn", 2, 5),
    ]
    assert not [s for s in in_studio if s[4] == "Smoke"]

    assert pm(capsys, "offline", "break", lease, "--reason", "needed now")[0] == 0
    code, refused = pm(capsys, "offline", "checkin", "--from", str(laptop))
    assert code == 4 and "broken by" in refused["error"]["message"]
    assert records(studio.db)["scenes"] == in_studio
