"""Ids are never handed out twice, even after the newest record is deleted (SQLite would
otherwise reuse the largest rowid): events and REST clients remember ids."""

from __future__ import annotations

from pm_db.db import Database
from pm_db.services import entities


def test_deleted_newest_id_is_not_reused(db: Database) -> None:
    entities.create(db, "artist", {"login": "first", "name": "First"})
    newest = entities.create(db, "artist", {"login": "second", "name": "Second"})
    entities.delete(db, "artist", newest.id)
    again = entities.create(db, "artist", {"login": "third", "name": "Third"})
    assert again.id > newest.id
