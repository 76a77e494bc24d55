"""Every statement a save, a publish or a layer update runs is an index seek whose cost
does not grow with history. Two checks that do not trust each other:

- the query plans of the statements actually sent (captured at the driver), on a part
  with many versions: SQLite's `EXPLAIN QUERY PLAN` must not scan a table, PostgreSQL's
  `EXPLAIN` must find an index path for each with sequential scans switched off;
- SQLite's own count of virtual-machine instructions for the same work on a part with 1
  version and with 2,000: within 1.2x (no timing: the count is exact).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from pm_db import publishing
from pm_db.db import Database
from pm_db.models import Part, Publish
from pm_db.services import scenes
from tests.helpers import Studio, original_payload
from tests.test_usd_support import write_data_layer

HISTORY = 2_000
_SAVES = itertools.count()


@contextmanager
def captured(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """The statements and parameters sent to the driver inside the block."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        sent.append((statement, params))

    for engine in db.engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in db.engines:
            event.remove(engine, "before_cursor_execute", record)


def add_history(studio: Studio, part_id: int, versions: int) -> None:
    """`versions` older completed publishes of a part, written straight into the table (the
    way years of history would be there), with the newest one its latest."""
    now = datetime.now(timezone.utc)

    def work(session: Any) -> None:
        model = session.scalars(select(Publish).where(Publish.part_id == part_id)).first()
        base = {
            c.key: getattr(model, c.key)
            for c in Publish.__mapper__.column_attrs
            if c.key not in ("id", "publish_id", "request_id", "version", "iteration")
        }
        session.execute(
            Publish.__table__.update().where(Publish.part_id == part_id).values(is_latest=False)
        )
        rows = [
            {
                **{k if k != "meta" else "metadata": v for k, v in base.items()},
                "publish_id": str(uuid.uuid4()),
                "version": 100 + n,
                "iteration": 1,
                "published_seq": n + 10,
                "is_latest": n == versions - 1,
                "item_usd_path": f"{base['item_usd_path']}.old{n}",
                "completed_at": now,
            }
            for n in range(versions)
        ]
        if rows:
            session.execute(insert(Publish.__table__), rows)

    studio.db.write(work)


def hot_path(studio: Studio) -> Callable[[], None]:
    """A save, a one-call publish of particles01 (its record and its layer update), and a
    shelf-style reserve and complete of debris01: what an artist's day repeats."""

    def run() -> None:
        n = next(_SAVES)
        scene = scenes.save_scene(
            studio.db,
            {
                "task_id": studio.shot_task_id,
                "artist": studio.artist,
                "scene_name": "PinchIn",
                "request_id": f"save-{n}",
            },
        )
        payload = {**original_payload(scene, "particles01"), "target_id": studio.shot_id}
        write_data_layer(payload["item_usd_path"], "particles01")
        publishing.publish_written(studio.db, None, payload)
        reserved = publishing.reserve(
            studio.db,
            None,
            {"scene_id": scene.id, "asset_name": "PinchIn", "part_name": "debris01"},
        )
        write_data_layer(reserved.item_usd_path, "debris01")
        publishing.complete(studio.db, None, reserved.id)

    return run


def _with_history(studio: Studio, versions: int) -> Callable[[], None]:
    run = hot_path(studio)
    run()
    for name in ("particles01", "debris01"):
        part_id = studio.db.read(
            lambda s, name=name: s.scalar(select(Part.id).where(Part.name == name))
        )
        add_history(studio, part_id, versions)
    return run


SKIP = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA|SET|SHOW|select pg_)", re.I)


def test_every_hot_statement_is_an_index_seek(studio: Studio) -> None:
    run = _with_history(studio, HISTORY)
    with captured(studio.db) as sent:
        run()
    statements = {s: p for s, p in sent if not SKIP.match(s)}
    assert len(statements) > 10
    # The lease rule (pm_db.leases) is checked by the save, the reserve and the completion.
    leased = [s for s in statements if "FROM lease_streams" in s]
    assert len(leased) == 2 and any("parts.id" in s for s in leased), leased
    slow: list[str] = []
    with studio.db.engine.connect() as conn:
        if studio.db.is_sqlite:
            for statement, params in statements.items():
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
                for row in plan:
                    detail = row[-1]
                    if re.match(r"SCAN (?!CONSTANT ROW)", detail):
                        slow.append(f"{detail}  <-  {statement}")
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            for statement, params in statements.items():
                plan = conn.exec_driver_sql(f"EXPLAIN {statement}", params).scalars().all()
                slow += [f"{line}  <-  {statement}" for line in plan if "Seq Scan" in line]
            conn.rollback()
    assert slow == [], "\n".join(slow)


def _vm_steps(db: Database, work: Callable[[], None]) -> int:
    """SQLite's count of virtual-machine instructions run by `work` (every connection)."""
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    def attach(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.set_progress_handler(tick, 1)

    db.dispose()
    for engine in db.engines:
        event.listen(engine, "connect", attach)
    try:
        work()
    finally:
        for engine in db.engines:
            event.remove(engine, "connect", attach)
        db.dispose()
    return steps[0]


# SQLite's instruction counter; PostgreSQL is checked by its plans above.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_does_the_same_work_on_a_part_with_2000_versions(studio: Studio) -> None:
    fresh = _with_history(studio, 0)
    fresh()
    new_part = _vm_steps(studio.db, fresh)
    aged = _with_history(studio, HISTORY)
    aged()
    old_part = _vm_steps(studio.db, aged)
    assert old_part <= 1.2 * new_part, (new_part, old_part)
