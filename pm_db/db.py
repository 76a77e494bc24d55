"""Engines, transactions and retries: the one place where a transaction begins and ends.

Write transactions on SQLite start with `BEGIN IMMEDIATE`, so a read-then-write can never
be upgraded into a deadlock; WAL mode lets readers go on meanwhile. On PostgreSQL the
allocation statements lock the rows they change. Transient failures (SQLite busy,
PostgreSQL serialization failure or deadlock) re-run the whole unit of work.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from threading import Lock
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from pm_db.config import Settings, load_settings, mask_url
from pm_db.errors import Unavailable

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
RETRIES = 30
TRANSIENT_PG_CODES = {"40001", "40P01", "55P03"}


def _is_transient(exc: DBAPIError) -> bool:
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        message = str(orig).lower()
        return "locked" in message or "busy" in message
    return getattr(orig, "pgcode", None) in TRANSIENT_PG_CODES


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # pysqlite's own transaction handling is switched off; we emit BEGIN ourselves.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("pm_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """One database: its engine and its read and write units of work."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.masked_url = mask_url(url)
        self.is_sqlite = url.startswith("sqlite")
        connect_args: dict[str, Any] = {}
        if self.is_sqlite:
            _ensure_sqlite_folder(url)
            connect_args["check_same_thread"] = False
        else:
            connect_args["connect_timeout"] = 5
        self.engine = create_engine(
            url, echo=echo, pool_pre_ping=not self.is_sqlite, connect_args=connect_args
        )
        if self.is_sqlite:
            _prepare_sqlite(self.engine)
        self._writer = sessionmaker(
            bind=self.engine.execution_options(pm_write=True), expire_on_commit=False
        )
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction, committed on return; re-run on a transient
        lock or serialization failure. Raises Unavailable if the database cannot be reached."""
        return self._run(self._writer, work, commit=True)

    def read(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a read transaction (rolled back). Raises Unavailable."""
        return self._run(self._reader, work, commit=False)

    def _run(self, factory: sessionmaker[Session], work: Callable[[Session], T], commit: bool) -> T:
        for attempt in range(RETRIES):
            try:
                with factory() as session:
                    result = work(session)
                    if commit:
                        session.commit()
                    return result
            except DBAPIError as exc:
                if not _is_transient(exc):
                    self._raise_unavailable(exc)
                    raise
                if attempt == RETRIES - 1:
                    raise Unavailable(
                        f"database {self.masked_url} stayed locked; try again"
                    ) from exc
                time.sleep(min(0.2, 0.002 * 2**attempt) * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable: the retry loop returns or raises")

    def _raise_unavailable(self, exc: DBAPIError) -> None:
        """Raise Unavailable for a connection failure or a missing schema; else return."""
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        if "no such table" in reason or ("does not exist" in reason and "relation" in reason):
            raise Unavailable(
                f"database {self.masked_url} has no pm schema ({reason}); run `pm db upgrade`"
            ) from exc
        if isinstance(exc, OperationalError) and not self._is_connected():
            raise Unavailable(
                f"cannot reach database {self.masked_url}: {mask_url(reason)}"
            ) from exc

    def _is_connected(self) -> bool:
        try:
            with self.engine.connect():
                return True
        except DBAPIError:
            return False

    def check(self) -> list[str]:
        """The table names present; raises Unavailable if the database cannot be reached."""
        try:
            with self.engine.connect() as conn:
                return sorted(inspect(conn).get_table_names())
        except DBAPIError as exc:
            self._raise_unavailable(exc)
            raise

    def dispose(self) -> None:
        self.engine.dispose()


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


_open: dict[str, Database] = {}
_open_lock = Lock()


def open_database(settings: Settings | None = None) -> Database:
    """The process-wide Database for `settings` (default: the environment)."""
    url = (settings or load_settings()).db_url
    with _open_lock:
        if url not in _open:
            _open[url] = Database(url)
        return _open[url]
