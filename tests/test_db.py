"""The database layer: SQLite settings really in effect, write transactions that hold the
lock from their first statement, retries of transient failures, and clear errors (never a
password) when the database cannot be used."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from pm_db import db as db_module
from pm_db import migrate
from pm_db.config import load_settings
from pm_db.db import Database, open_database
from pm_db.errors import ConfigError, Conflict, NotFound, PermissionDenied, Unavailable
from pm_db.models import Artist
from pm_db.services import admin, entities, events


def test_sqlite_pragmas_are_in_effect_on_every_connection(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'pm.sqlite'}")
    for unit in (database.read, database.write):

        def pragmas(session: Session) -> tuple[Any, ...]:
            conn = session.connection()
            return tuple(
                conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            )

        assert unit(pragmas) == ("wal", 1, db_module.SQLITE_BUSY_TIMEOUT_MS, 1)
    database.dispose()


def test_sqlite_folder_is_made_for_a_new_database(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'new' / 'deeper' / 'pm.sqlite'}")
    migrate.upgrade(database)
    assert (tmp_path / "new" / "deeper" / "pm.sqlite").is_file()
    database.dispose()


def test_a_sqlite_write_holds_the_write_lock_from_its_start(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a unit of work that reads first and writes later can never be
    refused half-way because another writer came in between."""
    path = tmp_path / "pm.sqlite"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)

    def reads_only(session: Session) -> str:
        session.execute(select(Artist.id)).all()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        return "checked"

    assert database.write(reads_only) == "checked"
    other.execute("BEGIN IMMEDIATE")  # free again once the unit of work ended
    other.execute("ROLLBACK")
    other.close()
    database.dispose()


def test_a_sqlite_migration_connection_holds_the_write_lock_from_its_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pm.sqlite"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    with database.connect(write=True) as conn:
        conn.execute(select(Artist.id)).all()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.close()
    database.dispose()


def test_a_sqlite_read_sees_one_snapshot(tmp_path: Path) -> None:
    """A read unit of work begins a transaction before its first read: a row another
    process commits meanwhile is not seen half-way."""
    path = tmp_path / "pm.sqlite"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    other = sqlite3.connect(path, isolation_level=None)
    count = select(func.count()).select_from(Artist)

    def reads_twice(session: Session) -> tuple[int, int]:
        first = session.execute(count).scalar_one()
        other.execute(
            "INSERT INTO artists (login, name, active, created_at) "
            "VALUES ('x', 'X', 1, '2026-12-06 10:00:00')"
        )
        return first, session.execute(count).scalar_one()

    assert database.read(reads_twice) == (0, 0)
    assert database.read(lambda session: session.execute(count).scalar_one()) == 1
    other.close()
    database.dispose()


def test_a_read_never_blocks_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "pm.sqlite"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)

    def reads(session: Session) -> None:
        session.execute(select(Artist.id)).all()
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")

    database.read(reads)
    other.close()
    database.dispose()


def test_work_is_rolled_back_when_it_fails(db: Database) -> None:
    def half_done(session: Session) -> None:
        session.add(Artist(login="jdoe", name="Jane Doe"))
        session.flush()
        raise NotFound("something further on was missing", field="task_id")

    with pytest.raises(NotFound):
        db.write(half_done)
    assert entities.counts(db)["artist"] == 0


def test_a_read_unit_of_work_never_commits(db: Database) -> None:
    def sneaky(session: Session) -> None:
        session.add(Artist(login="jdoe", name="Jane Doe"))
        session.flush()

    db.read(sneaky)
    assert entities.counts(db)["artist"] == 0


def _hold_write_lock(path: Path, seconds: float) -> threading.Thread:
    """Another process's writer: holds SQLite's write lock for `seconds` from now."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")

    def release() -> None:
        time.sleep(seconds)
        other.execute("ROLLBACK")
        other.close()

    holder = threading.Thread(target=release)
    holder.start()
    return holder


@pytest.mark.parametrize("unit", ["write", "upgrade"])
def test_a_sqlite_write_that_meets_a_held_lock_begins_again_once_it_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unit: str
) -> None:
    """The lock error comes at BEGIN IMMEDIATE, once the busy handler gave up: the unit
    of work (a write, a migration) is run again, not reported as an unreachable
    database."""
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 20)
    path = tmp_path / "pm.sqlite"
    database = Database(f"sqlite:///{path}")
    if unit == "write":
        migrate.upgrade(database)
    holder = _hold_write_lock(path, 0.3)
    if unit == "write":
        database.write(lambda session: session.add(Artist(login="jdoe", name="Jane Doe")))
        assert entities.counts(database)["artist"] == 1
    else:
        migrate.upgrade(database)
        assert migrate.current_revision(database) is not None
    holder.join()
    database.dispose()


def test_a_sqlite_lock_held_past_the_retry_window_says_busy_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 20)
    monkeypatch.setattr(db_module, "RETRY_SECONDS", 0.2)
    path = tmp_path / "pm.sqlite"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    holder = _hold_write_lock(path, 1.5)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="stayed busy"):
        database.write(lambda session: session.add(Artist(login="jdoe", name="Jane Doe")))
    assert time.monotonic() - started < 1.5
    holder.join()
    assert entities.counts(database)["artist"] == 0
    database.dispose()


def _locked_error() -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


def test_a_transient_failure_reruns_the_whole_unit_of_work(db: Database) -> None:
    """SQLite: a lock error; PostgreSQL: a real row lock taken with NOWAIT (55P03)."""
    attempts: list[int] = []
    holder = None
    if not db.is_sqlite:
        entities.create(db, "artist", {"login": "locked", "name": "Locked"})
        holder = db.engine.connect()
        holder.execute(text("SELECT id FROM artists WHERE login = 'locked' FOR UPDATE"))

    def work(session: Session) -> str:
        attempts.append(1)
        if db.is_sqlite:
            if len(attempts) == 1:
                raise _locked_error()
        else:
            if len(attempts) > 1 and holder is not None and holder.in_transaction():
                holder.rollback()  # the other session lets go
            session.execute(
                text("SELECT id FROM artists WHERE login = 'locked' FOR UPDATE NOWAIT")
            ).all()
        session.add(Artist(login="jdoe", name="Jane Doe"))
        return "done"

    assert db.write(work) == "done"
    assert len(attempts) >= 2
    assert [a.login for a in entities.list_(db, "artist")][-1] == "jdoe"
    if holder is not None:
        holder.close()


def test_a_lock_that_never_clears_becomes_unavailable(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "RETRIES", 3)
    monkeypatch.setattr(db_module.time, "sleep", lambda _seconds: None)
    attempts: list[int] = []

    def work(session: Session) -> None:
        attempts.append(1)
        raise _locked_error()

    with pytest.raises(Unavailable) as caught:
        db.write(work)
    assert len(attempts) == 3 and "try again" in caught.value.message


def test_other_database_errors_are_not_retried(db: Database) -> None:
    entities.create(db, "artist", {"login": "jdoe", "name": "Jane Doe"})
    attempts: list[int] = []

    def duplicate(session: Session) -> None:
        attempts.append(1)
        session.add(Artist(login="jdoe", name="Twice"))
        session.flush()

    with pytest.raises(IntegrityError):
        db.write(duplicate)
    assert len(attempts) == 1


def test_concurrent_creates_of_one_code_give_one_record(db: Database) -> None:
    """Eight clients creating the same project at once: one wins, seven get Conflict."""
    results: list[str] = []
    barrier = threading.Barrier(8)

    def client(number: int) -> None:
        database = Database(db.url)
        barrier.wait()
        try:
            entities.create(
                database,
                "project",
                {"code": "RACE" if number % 2 else "race", "name": "Race", "root_linux": "/r"},
            )
            results.append("created")
        except Conflict:
            results.append("conflict")
        finally:
            database.dispose()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["conflict"] * 7 + ["created"]
    assert entities.counts(db)["project"] == 1


def test_concurrent_creates_of_different_codes_all_succeed(db: Database) -> None:
    errors: list[BaseException] = []

    def client(number: int) -> None:
        database = Database(db.url)
        try:
            for index in range(5):
                entities.create(
                    database, "artist", {"login": f"a{number}x{index}", "name": "Artist"}
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert entities.counts(db)["artist"] == 30


def test_unreachable_postgresql_is_unavailable_with_the_password_masked() -> None:
    database = Database("postgresql+psycopg2://pipeline:s3cretpw@127.0.0.1:1/pm")
    with pytest.raises(Unavailable) as caught:
        entities.list_(database, "project")
    message = str(caught.value)
    assert "s3cretpw" not in message and "pipeline:***@127.0.0.1:1/pm" in message
    assert caught.value.exit_code == 6
    with pytest.raises(Unavailable):
        migrate.current_revision(database)
    with pytest.raises(Unavailable):
        migrate.upgrade(database)
    database.dispose()


def test_a_missing_postgresql_database_says_to_create_it(pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url).set(database="pm_no_such_database").render_as_string(False)
    database = Database(url)
    with pytest.raises(Unavailable) as caught:
        database.check()
    assert "createdb" in caught.value.message
    database.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgres:/pipeline:s3cretpw@db/pm",
        "nosuchdriver://pipeline:s3cretpw@db/pm",
        "postgresql+nosuchdriver://pipeline:s3cretpw@db/pm",
    ],
)
def test_an_unusable_url_is_a_config_error_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Database(url)
    assert caught.value.field == "PM_DB_URL" and caught.value.exit_code == 7
    assert "s3cretpw" not in str(caught.value)
    # A traceback would show the original error, which may quote the URL: it is cut off.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_file_that_is_not_a_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "pm.sqlite"
    path.write_bytes(b"this is a text file, not SQLite" * 100)
    database = Database(f"sqlite:///{path}")
    with pytest.raises(Unavailable) as caught:
        entities.list_(database, "project")
    assert "not a usable SQLite database" in caught.value.message
    database.dispose()


def test_a_sqlite_folder_that_cannot_be_made_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should go")
    with pytest.raises(Unavailable) as caught:
        Database(f"sqlite:///{blocker / 'pm.sqlite'}")
    assert str(blocker) in caught.value.message


def test_open_database_gives_one_handle_per_url(db: Database) -> None:
    first = open_database()
    assert open_database() is first
    assert first.url == load_settings().db_url == db.url


def test_reset_empties_every_table_keeps_settings_and_starts_ids_again(db: Database) -> None:
    first = entities.create(db, "artist", {"login": "jdoe", "name": "Jane Doe"})
    entities.create(db, "artist", {"login": "bob", "name": "Bob"})
    admin.set_setting(db, "production", "false")
    deleted = admin.reset(db)
    assert deleted["artists"] == 2 and deleted["events"] == 3
    assert set(entities.counts(db).values()) == {0}
    assert admin.get_setting(db, "production") == "false"
    again = entities.create(db, "artist", {"login": "carol", "name": "Carol"})
    assert again.id == first.id == 1


def test_reset_is_refused_on_a_production_database(db: Database) -> None:
    entities.create(db, "artist", {"login": "jdoe", "name": "Jane Doe"})
    admin.set_setting(db, "production", "true")
    with pytest.raises(PermissionDenied) as caught:
        admin.reset(db)
    assert caught.value.field == "production" and caught.value.exit_code == 5
    assert entities.counts(db)["artist"] == 1
    changes = events.list_events(db, kind="setting.changed")
    assert [e.payload for e in changes] == [{"key": "production", "from": None, "to": "true"}]


def test_a_postgresql_url_without_a_driver_uses_psycopg2() -> None:
    database = Database("postgresql://pm@127.0.0.1:1/pm")
    assert database.engine.url.drivername == "postgresql+psycopg2"
    assert database.engine.dialect.driver == "psycopg2"


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("postgresql+psycopg://pm@127.0.0.1:1/pm", "postgresql+psycopg is not a driver"),
        ("postgresql+pg8000://pm@127.0.0.1:1/pm", "postgresql+pg8000 is not a driver"),
        ("postgresql://pm@127.0.0.1:1/pm?prepare_threshold=none", "prepare_threshold"),
        ("sqlite+aiosqlite:////tmp/pm.sqlite", "sqlite+aiosqlite is not a driver"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
    ],
)
def test_another_driver_or_a_psycopg_3_setting_names_the_url(url: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Database(url)
    assert caught.value.field == "PM_DB_URL" and named in caught.value.message


def test_psycopg_3_is_not_a_dependency() -> None:
    from pathlib import Path

    import tomllib
    from packaging.requirements import Requirement

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared.extend(extra)
    names = {Requirement(r).name for r in declared}
    assert "psycopg2-binary" in names and "psycopg" not in names
