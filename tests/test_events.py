"""The event log's readers on SQLite and PostgreSQL: the service (filters, keyset pages),
`GET /api/events/` and `pm events` (with --json and --follow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from pm_db.api.app import create_app
from pm_db.cli import main
from pm_db.errors import NotFound, ValidationError
from pm_db.models import Event
from pm_db.services import entities, events
from pm_db.services.events import EventFilter, read_events
from tests.conftest import Studio
from tests.helpers import cli_document
from tests.test_api_support import auth, token_for
from tests.test_browser_support import save, shot_history

FOLLOW_SECONDS = 20


@pytest.fixture
def logged(studio: Studio) -> Studio:
    shot_history(studio.db, studio.shot_task_id, iterations=3)
    return studio


def all_ids(studio: Studio) -> list[int]:
    """Every event id, newest first, read with SQL of its own."""
    with studio.db.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT id FROM events ORDER BY id DESC"))]


def test_events_come_newest_first_in_pages_that_never_overlap(logged: Studio) -> None:
    expected = all_ids(logged)
    seen: list[int] = []
    before = None
    while True:
        page = read_events(logged.db, EventFilter(before=before, limit=4))
        if not page:
            break
        seen += [e.id for e in page]
        before = page[-1].id
    assert seen == expected


def test_after_gives_the_oldest_newer_events_newest_first(logged: Studio) -> None:
    ids = all_ids(logged)
    middle = ids[len(ids) // 2]
    page = read_events(logged.db, EventFilter(after=middle, limit=3))
    newer = sorted(i for i in ids if i > middle)[:3]
    assert [e.id for e in page] == sorted(newer, reverse=True)


def test_filters(logged: Studio) -> None:
    db = logged.db
    completed = read_events(db, EventFilter(kind="publish.completed"))
    assert len(completed) == 6 and {e.kind for e in completed} == {"publish.completed"}
    family = read_events(db, EventFilter(kind="publish."))
    assert {e.kind for e in family} == {"publish.reserved", "publish.completed"}
    mine = read_events(db, EventFilter(artist="JDOE"))
    assert mine and {e.artist for e in mine} == {"jdoe"}
    one = completed[0]
    about = read_events(db, EventFilter(entity_type="publish", entity_id=one.entity_id))
    assert one.id in {e.id for e in about} and {e.entity_id for e in about} == {one.entity_id}
    now = datetime.now(timezone.utc)
    assert read_events(db, EventFilter(since=now + timedelta(hours=1))) == []
    assert read_events(db, EventFilter(until=now - timedelta(days=1))) == []
    assert len(read_events(db, EventFilter(since=now - timedelta(hours=1), limit=500))) == len(
        all_ids(logged)
    )


def other_project(studio: Studio) -> int:
    """A second project with a shot task, saved and published from; returns its id."""
    db = studio.db
    root = studio.root / "other"
    other = entities.create(
        db, "project", {"code": "OTHER", "name": "Other", "root_linux": str(root)}
    )
    sequence = entities.create(db, "sequence", {"project_id": other.id, "code": "SQ900"})
    shot = entities.create(db, "shot", {"sequence_id": sequence.id, "code": "SH900"})
    task = entities.create(
        db,
        "task",
        {"target_type": "shot", "target_id": shot.id, "step": "fx", "artist_id": studio.artist_id},
    )
    shot_history(db, task.id, iterations=2)
    return other.id


def projects_by_event(studio: Studio) -> dict[int, int | None]:
    """The project of every event's subject, found with plain SQL table by table."""
    with studio.db.engine.connect() as conn:

        def mapping(sql: str) -> dict[int, int]:
            return {row[0]: row[1] for row in conn.execute(text(sql))}

        of = {
            "project": mapping("SELECT id, id FROM projects"),
            "sequence": mapping("SELECT id, project_id FROM sequences"),
            "shot": mapping(
                "SELECT s.id, q.project_id FROM shots s JOIN sequences q ON q.id = s.sequence_id"
            ),
            "asset": mapping("SELECT id, project_id FROM assets"),
            "task": mapping("SELECT id, project_id FROM tasks"),
            "scene": mapping(
                "SELECT s.id, t.project_id FROM scenes s JOIN tasks t ON t.id = s.task_id"
            ),
            "part": mapping(
                "SELECT p.id, s.project_id FROM parts p JOIN scene_streams s ON s.id = p.stream_id"
            ),
            "publish": mapping(
                "SELECT p.id, t.project_id FROM publishes p JOIN tasks t ON t.id = p.task_id"
            ),
        }
        rows = conn.execute(text("SELECT id, entity_type, entity_id FROM events")).all()
    return {ident: of.get(kind, {}).get(subject or 0) for ident, kind, subject in rows}


def test_the_project_filter_keeps_the_events_about_its_records(logged: Studio) -> None:
    other = other_project(logged)
    entities.update(logged.db, "task", logged.shot_task_id, {"status": "review"})
    expected = projects_by_event(logged)
    for code, ident in (("OTHER", other), ("fx3x", logged.project_id)):
        found = read_events(logged.db, EventFilter(project=code, limit=500))
        wanted = sorted((e for e, p in expected.items() if p == ident), reverse=True)
        assert [e.id for e in found] == wanted
        kinds = {e.kind for e in found}
        assert {"scene.saved", "publish.completed", "shot.created"} <= kinds
    assert "task.updated" in {e.kind for e in read_events(logged.db, EventFilter(project="FX3X"))}
    assert "task.updated" not in {
        e.kind for e in read_events(logged.db, EventFilter(project="OTHER"))
    }
    with pytest.raises(NotFound) as caught:
        read_events(logged.db, EventFilter(project="NOPE"))
    assert caught.value.field == "project"


@pytest.mark.parametrize(
    ("wanted", "field"),
    [
        (EventFilter(limit=0), "limit"),
        (EventFilter(limit=501), "limit"),
        (EventFilter(before=-1), "before"),
        (EventFilter(kind="x" * 65), "kind"),
        (
            EventFilter(
                since=datetime(2026, 12, 6, tzinfo=timezone.utc),
                until=datetime(2026, 12, 1, tzinfo=timezone.utc),
            ),
            "until",
        ),
    ],
)
def test_a_bad_filter_names_its_field(logged: Studio, wanted: EventFilter, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        read_events(logged.db, wanted)
    assert caught.value.field == field


def test_an_unknown_artist_is_not_found(logged: Studio) -> None:
    with pytest.raises(NotFound) as caught:
        read_events(logged.db, EventFilter(artist="nobody"))
    assert caught.value.field == "artist"


def test_dates_and_times_parse_strictly() -> None:
    day = events.parse_moment("2026-12-06", "since")
    assert day == datetime(2026, 12, 6, tzinfo=timezone.utc)
    assert events.parse_moment("2026-12-06", "until", end_of_day=True) == day + timedelta(days=1)
    assert events.parse_moment("2026-12-06T10:00:00Z", "since").hour == 10
    with pytest.raises(ValidationError) as caught:
        events.parse_moment("yesterday", "since")
    assert caught.value.field == "since"


# REST -------------------------------------------------------------------------------


def test_the_rest_route_pages_and_filters(logged: Studio) -> None:
    with TestClient(create_app(logged.db), raise_server_exceptions=False) as client:
        assert client.get("/api/events/").status_code == 401
        headers = auth(token_for(logged.db, "jdoe"))
        first = client.get("/api/events/?limit=5", headers=headers).json()
        assert first["ok"] is True and len(first["data"]) == 5
        last = first["data"][-1]["id"]
        second = client.get(f"/api/events/?limit=5&before={last}", headers=headers).json()
        assert all(e["id"] < last for e in second["data"])
        scenes = client.get("/api/events/?kind=scene.saved", headers=headers).json()["data"]
        assert len(scenes) == 3 and all(e["artist"] == "jdoe" for e in scenes)
        bad = client.get("/api/events/?since=soon", headers=headers)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "since"
        unknown = client.get("/api/events/?artist=nobody", headers=headers)
        assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "artist"
        other = other_project(logged)
        expected = projects_by_event(logged)
        mine = client.get("/api/events/?project=other&limit=500", headers=headers).json()["data"]
        assert [e["id"] for e in mine] == sorted(
            (e for e, p in expected.items() if p == other), reverse=True
        )
        missing = client.get("/api/events/?project=NOPE", headers=headers)
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "project"


# CLI --------------------------------------------------------------------------------


def test_pm_events_prints_one_json_document(
    logged: Studio, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events", "--kind", "scene.saved", "--json"]) == 0
    document = cli_document(capsys.readouterr().out)
    assert [e["kind"] for e in document] == ["scene.saved"] * 3
    assert main(["events", "--limit", "2"]) == 0
    assert "kind" in capsys.readouterr().out
    other = other_project(logged)
    expected = projects_by_event(logged)
    assert main(["events", "--project", "OTHER", "--limit", "500", "--json"]) == 0
    document = cli_document(capsys.readouterr().out)
    assert [e["id"] for e in document] == sorted(
        (e for e, p in expected.items() if p == other), reverse=True
    )
    assert main(["events", "--since", "never", "--json"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["field"] == "--since"


def test_pm_events_follow_prints_new_events_as_lines(logged: Studio) -> None:
    command = [sys.executable, "-m", "pm_db", "events", "--follow", "--json", "--limit", "1"]
    follower = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert follower.stdout is not None
        first: dict[str, Any] = json.loads(follower.stdout.readline())
        scene = save(logged.db, logged.shot_task_id)
        deadline = time.monotonic() + FOLLOW_SECONDS
        while time.monotonic() < deadline:
            line = json.loads(follower.stdout.readline())
            assert line["id"] > first["id"]
            if line["kind"] == "scene.saved" and line["entity_id"] == scene.id:
                break
        else:
            pytest.fail("the new save never showed")
    finally:
        follower.terminate()
        follower.wait(timeout=FOLLOW_SECONDS)


def test_time_bounds_match_what_sql_on_the_times_says(logged: Studio) -> None:
    """Times become id bounds by bisection: the answers must be those of a plain filter
    on the time column (the expected ids come from the times the test wrote)."""
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    with logged.db.engine.begin() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT id FROM events ORDER BY id"))]
        for n, ident in enumerate(ids):  # an hour apart, in id order
            later = update(Event).where(Event.id == ident)
            conn.execute(later.values(created_at=start + timedelta(hours=n)))
    for since_hours, until_hours in [(0, 1), (3, 7), (5, 500), (-10, 2), (len(ids), len(ids) + 9)]:
        since, until = start + timedelta(hours=since_hours), start + timedelta(hours=until_hours)
        page = read_events(logged.db, EventFilter(since=since, until=until, limit=500))
        expected = [i for n, i in enumerate(ids) if since_hours <= n < until_hours]
        assert [e.id for e in page] == expected[::-1]
