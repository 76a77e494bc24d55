"""Every page of the web view reads a page, never the history: two checks that do not
trust each other, on a part whose history grows by thousands of versions (and as many
events):

- the plans of the statements each page actually sends (captured at the driver): SQLite's
  `EXPLAIN QUERY PLAN` and PostgreSQL's `EXPLAIN` (sequential scans switched off) may
  walk `publishes`, `scenes` or `events` only through an index, or along the primary key
  for a page read newest first with a LIMIT;
- SQLite's count of virtual-machine instructions for each page, with 500 and with 3,000
  more versions: within 1.2x (no timing: the count is exact).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from pm_db.api.app import create_app
from pm_db.db import Database
from pm_db.models import Event, Part, Publish, Scene
from tests.conftest import Studio
from tests.test_api_support import token_for
from tests.test_browser_support import publish, save, shot_history
from tests.test_hot_path_cost import SKIP, _vm_steps, captured

HISTORY_TABLES = ("publishes", "scenes", "events")
# A page read newest first: `ORDER BY <table>.id DESC LIMIT`.
NEWEST_FIRST = re.compile(r"ORDER BY (\w+)\.id DESC\s+LIMIT", re.I)


def grow(studio: Studio, part_id: int, versions: int, first: int) -> None:
    """`versions` more publishes of a part (versions 100 + `first` on), written straight
    into the table the way years of history would be, each with its event."""
    now = datetime.now(timezone.utc)

    def work(session: Any) -> None:
        model = session.scalars(select(Publish).where(Publish.part_id == part_id)).first()
        base = {
            c.key: getattr(model, c.key)
            for c in Publish.__mapper__.column_attrs
            if c.key not in ("id", "publish_id", "request_id", "version", "iteration", "is_latest")
        }
        rows = [
            {
                **{k if k != "meta" else "metadata": v for k, v in base.items()},
                "publish_id": str(uuid.uuid4()),
                "version": 100 + first + n,
                "iteration": 1,
                "is_latest": False,
                "item_usd_path": f"{base['item_usd_path']}.old{first + n}",
                "created_at": now,
            }
            for n in range(versions)
        ]
        session.execute(insert(Publish.__table__), rows)
        ids = session.scalars(
            select(Publish.id).where(Publish.part_id == part_id, Publish.version >= 100 + first)
        ).all()
        session.execute(
            insert(Event.__table__),
            [
                {
                    "kind": "publish.completed",
                    "entity_type": "publish",
                    "entity_id": ident,
                    "artist_id": base["created_by"],
                    "host": "old",
                    "payload": {},
                    "created_at": now,
                }
                for ident in ids[-versions:]
            ],
        )

    studio.db.write(work)


@pytest.fixture
def site(studio: Studio) -> Iterator[tuple[Studio, TestClient, dict[str, str]]]:
    """A show, a signed-in client and the pages to check."""
    shot_history(studio.db, studio.shot_task_id, iterations=3)
    failed = save(studio.db, studio.shot_task_id)
    publish(studio.db, failed.id, "PinchIn", "smoke01", status="failed")
    part_id, stream_id = studio.db.read(
        lambda s: s.execute(select(Part.id, Part.stream_id).where(Part.name == "particles01")).one()
    )
    newest = studio.db.read(lambda s: s.scalar(select(Publish.id).order_by(Publish.id.desc())))
    scene = studio.db.read(lambda s: s.scalar(select(Scene.id).order_by(Scene.id.desc())))
    urls = {
        "home": "/",
        "project": f"/browse/project:{studio.project_id}",
        "sequence": f"/browse/sequence:{studio.sequence_id}",
        "shot": f"/browse/shot:{studio.shot_id}",
        "part": f"/browse/part:{part_id}",
        "publish": f"/publish/{newest}",
        "scene": f"/scene/{scene}",
        "search by name": "/search?q=particles",
        "search: failed": "/search?status=failed",
        "search: a date": "/search?until=2000-01-01",
        "activity": "/activity",
        "activity: a project": "/activity?project=FX3X",
        "artist": "/artist/jdoe",
        "task": f"/task/{studio.shot_task_id}",
        "events": "/api/events/?limit=100",
    }
    # The USD asset page also counts each part's versions: an index-only count, the one
    # figure on a page that grows with the history (checked by its plan, not its cost).
    usd = f"/browse/usd:{stream_id}:PinchIn"
    with TestClient(create_app(studio.db)) as client:
        token = token_for(studio.db, "jdoe")
        assert client.post("/login", data={"token": token}).status_code == 200
        client.headers["Authorization"] = f"Bearer {token}"
        grow(studio, part_id, 500, 0)
        yield studio, client, {**urls, "USD asset": usd}


def _get(client: TestClient, urls: dict[str, str]) -> Callable[[], None]:
    def run() -> None:
        for url in urls.values():
            response = client.get(url, follow_redirects=False)
            assert response.status_code == 200, (url, response.status_code)

    return run


def _slow_lines(db: Database, statements: dict[str, Any]) -> list[str]:
    slow: list[str] = []
    with db.engine.connect() as conn:
        if db.is_sqlite:
            for statement, params in statements.items():
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
                newest = NEWEST_FIRST.search(statement)
                for row in plan:
                    scanned = re.match(r"SCAN (\w+)", row[-1])
                    if not scanned or scanned.group(1) not in HISTORY_TABLES:
                        continue
                    if newest and newest.group(1) == scanned.group(1) and "USING" not in row[-1]:
                        continue  # the primary key, newest first, stopped by the LIMIT
                    slow.append(f"{row[-1]}  <-  {statement}")
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            for statement, params in statements.items():
                plan = conn.exec_driver_sql(f"EXPLAIN {statement}", params).scalars().all()
                for line in plan:
                    scanned = re.search(r"Seq Scan on (\w+)", line)
                    if scanned and scanned.group(1) in HISTORY_TABLES:
                        slow.append(f"{line}  <-  {statement}")
            conn.rollback()
    return slow


def test_every_page_reads_the_history_through_an_index(
    site: tuple[Studio, TestClient, dict[str, str]],
) -> None:
    studio, client, urls = site
    with captured(studio.db) as sent:
        _get(client, urls)()
    statements = {s: p for s, p in sent if not SKIP.match(s)}
    touching = [s for s in statements if any(t in s for t in HISTORY_TABLES)]
    assert len(touching) > 20
    slow = _slow_lines(studio.db, statements)
    assert slow == [], "\n".join(slow)


# SQLite's instruction counter; PostgreSQL is checked by its plans above.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_pages_do_the_same_work_with_thousands_more_versions(
    site: tuple[Studio, TestClient, dict[str, str]],
) -> None:
    studio, client, urls = site
    urls = {name: url for name, url in urls.items() if name != "USD asset"}
    part_id = int(urls["part"].rsplit(":", 1)[1])
    costs = {}
    for name, url in urls.items():
        costs[name] = _vm_steps(studio.db, _get(client, {name: url}))
    grow(studio, part_id, 3000, 500)
    grown = {name: _vm_steps(studio.db, _get(client, {name: url})) for name, url in urls.items()}
    heavier = {name: (costs[name], grown[name]) for name in urls if grown[name] > 1.2 * costs[name]}
    assert heavier == {}, heavier


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_sessions_never_compile_a_statement(db: Database) -> None:
    """PostgreSQL's JIT took half a second to compile the activity page's project filter (a
    LIMIT over a filtered index walk, estimated at a share of the whole walk) that then
    ran in a millisecond: pm's connections switch it off, unless the URL sets options."""
    for engine in db.engines:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
    url = db.engine.url.update_query_dict({"options": "-c work_mem=8MB"})
    own = Database(url.render_as_string(hide_password=False))
    try:
        with own.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW work_mem").scalar() == "8MB"
    finally:
        own.dispose()
