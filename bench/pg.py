"""Databases for a benchmark run: a new SQLite file and a scratch PostgreSQL database, each
dropped afterwards, or a kept PostgreSQL one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pm_db.db import Database


def _admin(admin_url: str, statement: str) -> None:
    # psycopg2, pm's driver, also where the URL names none (SQLAlchemy 2.1 picks psycopg 3).
    url = make_url(admin_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg2")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the server of `admin_url`, dropped on exit."""
    name = f"pm_bench_{os.getpid()}"
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def each_database(admin_url: str) -> Iterator[tuple[str, str]]:
    """("SQLite", the URL of a new file), then ("PostgreSQL", a scratch database's URL on
    the server of `admin_url`): each removed once the loop moves on."""
    with tempfile.TemporaryDirectory() as folder:
        yield "SQLite", f"sqlite:///{folder}/pm.sqlite"
    with scratch_database(admin_url) as url:
        yield "PostgreSQL", url


def kept_database(admin_url: str, name: str, built: Path) -> str:
    """The URL of the database `name` on the server of `admin_url`, kept between runs: made
    afresh (empty) unless the file `built` says it was filled."""
    if not built.exists():
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin(admin_url, f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def analyze(db: Database) -> None:
    """What autovacuum does to a real table after a bulk load: statistics, and on
    PostgreSQL the visibility map too (VACUUM runs outside a transaction; on SQLite pm
    begins every transaction itself, so ANALYZE is committed like any write)."""
    if db.is_sqlite:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
