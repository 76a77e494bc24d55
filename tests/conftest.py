"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL.

PostgreSQL: `PM_TEST_PG_URL` (default: the local server, database `postgres` for admin),
one scratch database per test worker, created once and emptied between tests. Without a
server the PostgreSQL cases skip with a clear message, except under CI=true, where they
fail: a green CI run always means both databases were tested.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pm_db import migrate
from pm_db.db import Database
from pm_db.services import admin, entities
from tests.helpers import Studio

# psycopg2, pm's driver, also where the URL names none (SQLAlchemy 2.1 would pick psycopg 3).
PG_ADMIN_URL = (
    make_url(os.environ.get("PM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    .set(drivername="postgresql+psycopg2")
    .render_as_string(hide_password=False)
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _scratch_name() -> str:
    """A database name unique to this pytest run and worker, so that runs side by side
    (two checkouts, two developers) never touch each other's data."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"{os.getpid()}")[:12]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"pm_test_{run}_{worker}".lower()


def pg_admin(statement: str, url: str = PG_ADMIN_URL) -> None:
    """Run `statement` outside a transaction (CREATE or DROP DATABASE) on the PostgreSQL
    server of `url`."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated scratch PostgreSQL database, dropped at the end; skips (fails in CI)
    without a server."""
    name = _scratch_name()
    try:
        pg_admin(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # any connection failure means: no server here
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}"
        if IN_CI:
            pytest.fail(f"{message} (CI needs PostgreSQL; a skip would hide untested code)")
        pytest.skip(message)
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    migrate.upgrade(database)
    database.dispose()
    yield url
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "pm.sqlite"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    database.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """An empty, migrated database URL: a fresh SQLite file, or the emptied PostgreSQL one."""
    if request.param == "sqlite":
        path = tmp_path / "pm.sqlite"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    database = Database(url)
    with database.engine.begin() as conn:
        # Settings first: a test may have marked the database production, and then the
        # reset below would (rightly) refuse.
        conn.execute(text("DELETE FROM settings"))
    admin.reset(database)
    database.dispose()
    return url


@pytest.fixture
def db(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Database]:
    """A Database on an empty schema; PM_DB_URL points at it for code that reads the
    environment, and PM_PLATFORM is linux."""
    monkeypatch.setenv("PM_DB_URL", db_url)
    monkeypatch.setenv("PM_PLATFORM", "linux")
    monkeypatch.setenv("PM_HOME", str(tmp_path / "pm-home"))
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def studio(db: Database, tmp_path: Path) -> Studio:
    return build_show(db, tmp_path / "show" / "FX3X")


def build_show(db: Database, root: Path) -> Studio:
    """Project FX3X (rooted at `root` on Linux, P:/FX3X on Windows), sequence SQ010, shot
    SH010, asset Rock, artist jdoe and an fx task on the shot and on the asset."""
    project = entities.create(
        db,
        "project",
        {
            "code": "FX3X",
            "name": "Effects test show",
            "root_linux": str(root),
            "root_windows": "P:/FX3X",
        },
    )
    sequence = entities.create(db, "sequence", {"project_id": project.id, "code": "SQ010"})
    shot = entities.create(db, "shot", {"sequence_id": sequence.id, "code": "SH010"})
    asset = entities.create(
        db, "asset", {"project_id": project.id, "code": "Rock", "asset_type": "prop"}
    )
    artist = entities.create(db, "artist", {"login": "jdoe", "name": "Jane Doe"})

    def task(target_type: str, target_id: int) -> int:
        data = {"target_type": target_type, "target_id": target_id, "step": "fx"}
        return int(entities.create(db, "task", {**data, "artist_id": artist.id}).id)

    return Studio(
        db=db,
        root=root,
        project_id=project.id,
        sequence_id=sequence.id,
        shot_id=shot.id,
        asset_id=asset.id,
        artist_id=artist.id,
        artist="jdoe",
        shot_task_id=task("shot", shot.id),
        asset_task_id=task("asset", asset.id),
    )
