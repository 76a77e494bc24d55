"""Eight OS processes saving and publishing to one stream and one part at once: no
duplicate number, no lost operation, no error surfaced to a caller. On both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bench.contention import contend, prepare
from pm_db.db import Database
from pm_db.models import Publish
from pm_db.services import publish_reads, scenes

PROCESSES = 8
OPERATIONS = 30


@pytest.mark.slow
def test_contending_processes_never_share_a_number(db: Database, tmp_path: Path) -> None:
    task_id = prepare(db.url, tmp_path / "show")
    outcome = contend(db.url, task_id, PROCESSES, OPERATIONS)

    assert outcome.failures == []
    assert len(outcome.lines) == PROCESSES * OPERATIONS
    saved = [tuple(line["scene"]) for line in outcome.lines]
    assert len(set(saved)) == len(saved)
    published = [line["publish_id"] for line in outcome.lines]
    assert len(set(published)) == len(published)

    recorded = scenes.list_scenes(db, task_id=task_id, limit=10_000)
    assert sorted((s.version, s.iteration) for s in recorded) == sorted(saved)
    versions: dict[int, list[int]] = {}
    for version, iteration in saved:
        versions.setdefault(version, []).append(iteration)
    for iterations in versions.values():
        assert sorted(iterations) == list(range(1, len(iterations) + 1))
    assert sorted(versions) == list(range(1, len(versions) + 1))

    history = publish_reads.list_publishes(db, asset_name="PinchIn", limit=10_000)
    assert len(history) == PROCESSES * OPERATIONS
    latest = publish_reads.latest_per_part(db, "PinchIn")
    last_completed = db.read(
        lambda s: s.scalar(select(Publish.id).order_by(Publish.published_seq.desc()).limit(1))
    )
    assert [p.id for p in latest] == [last_completed]
