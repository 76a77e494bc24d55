"""Engines, transactions and retries: the one place where a transaction begins and ends.

Write transactions on SQLite start with `BEGIN IMMEDIATE`, so a read-then-write can never
be upgraded into a deadlock; WAL mode lets readers go on meanwhile (a SQLite database has
two engines: writes begin immediate, reads begin deferred). On PostgreSQL the
allocation statements lock the rows they change. Transient failures (SQLite busy,
PostgreSQL serialization failure or deadlock) re-run the whole unit of work.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from threading import Lock
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, Row, Select, create_engine, inspect
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from pm_db.config import Settings, load_settings, mask_url
from pm_db.errors import ConfigError, Unavailable

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A unit of work is re-run after a transient failure up to RETRIES times, and not once
# RETRY_SECONDS have passed: a SQLite lock error comes after the busy handler has itself
# waited SQLITE_BUSY_TIMEOUT_MS.
RETRIES = 30
RETRY_SECONDS = 30.0
# serialization failure, deadlock, lock not available, too many connections (a farm burst
# can briefly exceed max_connections), server starting up or shutting down, connection
# ended by a server shutdown.
TRANSIENT_PG_CODES = {"40001", "40P01", "55P03", "53300", "57P01", "57P02", "57P03"}


def _is_transient(exc: DBAPIError) -> bool:
    """A failure that re-running the unit of work can cure: a lock, a serialization
    failure, or a pooled connection the server dropped (no pre-ping: it costs a round
    trip per transaction; a dropped connection fails its first statement instead)."""
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        message = str(orig).lower()
        return "locked" in message or "busy" in message
    if getattr(orig, "pgcode", None) in TRANSIENT_PG_CODES:
        return True
    # Refused at connect time, libpq gives no code: only the server's words.
    message = str(orig).lower()
    return any(
        words in message for words in ("too many clients", "is starting up", "is shutting down")
    )


class PysqliteDialect(SQLiteDialect_pysqlite):
    """pysqlite as pm sets it up. Every new connection gets pm's settings (busy timeout,
    WAL, synchronous NORMAL, foreign keys) and has pysqlite's own transaction handling
    switched off: pysqlite would begin only before the first write, leaving the reads
    before it outside the transaction. pm sends `begin` when each transaction starts
    instead: `BEGIN IMMEDIATE` on the write engine, `BEGIN` on the other. A dialect's
    methods, not engine events: an engine with a listener for connection events (begin
    among them) runs SQLAlchemy's event dispatch around every statement."""

    supports_statement_cache = True  # adds no SQL of its own to what the parent compiles

    def __init__(self, begin: str = "BEGIN", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.begin = begin

    def on_connect(self) -> Callable[[Any], None]:
        add_functions = super().on_connect()

        def set_up(dbapi_connection: Any) -> None:
            add_functions(dbapi_connection)
            dbapi_connection.isolation_level = None
            for pragma in (
                f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = NORMAL",
                "PRAGMA foreign_keys = ON",
            ):
                dbapi_connection.execute(pragma)

        return set_up

    def do_begin(self, dbapi_connection: Any) -> None:
        dbapi_connection.execute(self.begin)


registry.register("sqlite.pm", __name__, "PysqliteDialect")


def _engines(url: URL, echo: bool) -> tuple[Engine, Engine, Engine]:
    """The (read, write, single statement) engines of `url`.

    SQLite: reads begin deferred, writes begin immediate; single statements are reads.
    PostgreSQL: reads and writes share an engine (the allocation statements lock the rows
    they change), and single statements (`rows`, `read_each`) run in autocommit on a pool
    of their own: a single statement is its own snapshot and its own transaction, and
    BEGIN and COMMIT or ROLLBACK would cost two round trips.
    """
    if url.get_backend_name() == "sqlite":
        sqlite_args: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        reads = create_engine(url, echo=echo, begin="BEGIN", **sqlite_args)
        writes = create_engine(url, echo=echo, begin="BEGIN IMMEDIATE", **sqlite_args)
        return reads, writes, reads
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if "options" not in url.query:
        # pm's statements are index seeks of a few milliseconds; PostgreSQL's JIT compiles
        # any whose estimate is high (a LIMIT over a filtered index walk is estimated at a
        # fraction of the whole walk) and spends 100s of ms on it. A URL that gives its
        # own `options` keeps them.
        connect_args["options"] = "-c jit=off"
    engine = create_engine(url, echo=echo, connect_args=connect_args)
    single = create_engine(
        url,
        echo=echo,
        connect_args=connect_args,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
    )
    return engine, engine, single


class Database:
    """One database: its engine and its read and write units of work."""

    def __init__(self, url: str, echo: bool = False) -> None:
        """Raises ConfigError for a URL SQLAlchemy cannot use, Unavailable for a SQLite
        file whose folder cannot be made."""
        self.url = url
        self.masked_url = mask_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError:
            # Neither the URL nor SQLAlchemy's message is shown: a URL that cannot be parsed
            # cannot be masked either.
            raise ConfigError(
                "is not a database URL (like postgresql://user@host:5432/name "
                "or sqlite:////path/pm.sqlite)",
                field="PM_DB_URL",
            ) from None
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            parsed = _sqlite_driver(parsed)
            _ensure_sqlite_folder(url)
        elif parsed.get_backend_name() == "postgresql":
            parsed = _postgres_driver(parsed)
        try:
            self.engine, self._write_engine, self._autocommit_engine = _engines(parsed, echo)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise ConfigError(
                f"cannot use {self.masked_url}: {mask_url(str(exc))}", field="PM_DB_URL"
            ) from None
        self._writer = sessionmaker(bind=self._write_engine, expire_on_commit=False)
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._one_reader = sessionmaker(bind=self._autocommit_engine, expire_on_commit=False)

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine of this database, each once (for listeners that must see every
        statement)."""
        return tuple(dict.fromkeys((self.engine, self._write_engine, self._autocommit_engine)))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction, committed on return; re-run on a transient
        lock or serialization failure. Raises Unavailable if the database cannot be reached."""
        return self.retrying(lambda: self._in_session(self._writer, work, commit=True))

    def read(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a read transaction (rolled back). Raises Unavailable."""
        return self.retrying(lambda: self._in_session(self._reader, work, commit=False))

    def rows(self, statement: Executable, params: Mapping[str, Any]) -> list[Row[Any]]:
        """The rows of one Core SELECT, read without an ORM session (the hot listings).
        Raises Unavailable."""
        if not isinstance(statement, Select):
            raise TypeError("Database.rows runs a SELECT only")

        def fetch() -> list[Row[Any]]:
            with self._autocommit_engine.connect() as conn:
                return list(conn.execute(statement, params))

        return self.retrying(fetch)

    def read_each(self, work: Callable[[Session], T]) -> T:
        """Run `work`, whose statements need not share one snapshot (each sees the newest
        committed data), without a transaction of its own on PostgreSQL: no BEGIN and
        ROLLBACK round trips (on SQLite: `read`). Raises Unavailable."""
        return self.retrying(lambda: self._in_session(self._one_reader, work, commit=False))

    @staticmethod
    def _in_session(
        factory: sessionmaker[Session], work: Callable[[Session], T], commit: bool
    ) -> T:
        with factory() as session:
            result = work(session)
            if commit:
                session.commit()
            return result

    def retrying(self, attempt_once: Callable[[], T]) -> T:
        """Run `attempt_once`, an all-or-nothing unit of work, again after a transient
        failure (a lock, a serialization failure, a dropped connection). Raises
        Unavailable."""
        deadline = time.monotonic() + RETRY_SECONDS
        for attempt in range(RETRIES):
            try:
                return attempt_once()
            except DBAPIError as exc:
                if not _is_transient(exc):
                    self._raise_unavailable(exc)
                    raise
                if attempt == RETRIES - 1 or time.monotonic() > deadline:
                    raise Unavailable(
                        f"database {self.masked_url} stayed busy (locked, or out of "
                        "connections); try again"
                    ) from exc
                time.sleep(min(0.2, 0.002 * 2**attempt) * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable: the retry loop returns or raises")

    def _raise_unavailable(self, exc: DBAPIError) -> None:
        """Raise Unavailable for a connection failure, an unusable file or a missing (or
        older) schema; else return, and the caller re-raises the original error."""
        lines = str(exc.orig).strip().splitlines() if exc.orig else []
        reason = mask_url(" ".join(line.strip() for line in lines[:2]) or type(exc).__name__)
        if _is_missing_schema(reason):
            raise Unavailable(
                f"database {self.masked_url} has no pm schema or an older one ({reason}); "
                "run `pm db upgrade`"
            ) from exc
        if self.is_sqlite and ("not a database" in reason or "malformed" in reason):
            raise Unavailable(
                f"{self.masked_url} is not a usable SQLite database ({reason})"
            ) from exc
        # No statement means the failure came while connecting.
        connecting = exc.statement is None or exc.connection_invalidated
        if isinstance(exc, OperationalError | InterfaceError) and connecting:
            hint = ""
            if "does not exist" in reason and "database" in reason:
                hint = "; create it first (e.g. `createdb`), then run `pm db upgrade`"
            raise Unavailable(f"cannot reach database {self.masked_url}: {reason}{hint}") from exc

    @contextmanager
    def connect(self, write: bool = False, foreign_keys: bool = True) -> Iterator[Connection]:
        """A connection inside one transaction, committed when the block ends (BEGIN
        IMMEDIATE on SQLite with `write`; `foreign_keys=False` lifts SQLite's checks for
        the block, for migrations that copy tables). Raises Unavailable if the database
        cannot be reached or has no schema."""
        try:
            with (self._write_engine if write else self.engine).connect() as conn:
                if foreign_keys or not self.is_sqlite:
                    with conn.begin():
                        yield conn
                    return
                driver: Any = conn.connection.driver_connection
                # SQLite accepts this pragma only outside a transaction.
                driver.execute("PRAGMA foreign_keys = OFF")
                try:
                    with conn.begin():
                        yield conn
                finally:
                    driver.execute("PRAGMA foreign_keys = ON")
        except DBAPIError as exc:
            if not _is_transient(exc):
                self._raise_unavailable(exc)
            raise

    def check(self) -> list[str]:
        """The table names present; raises Unavailable if the database cannot be reached."""
        with self.connect() as conn:
            return sorted(inspect(conn).get_table_names())

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()


def _sqlite_driver(url: URL) -> URL:
    """`url` with pm's pysqlite dialect (PysqliteDialect), pm's one SQLite driver
    (`sqlite:///` means it too). Raises ConfigError naming PM_DB_URL for another driver
    or an in-memory database (gone with its connection, and each engine would get its
    own)."""
    if url.drivername not in ("sqlite", "sqlite+pysqlite", "sqlite+pm"):
        raise ConfigError(
            f"{url.drivername} is not a driver pm ships; use sqlite:////path/pm.sqlite",
            field="PM_DB_URL",
        )
    if url.database in (None, "", ":memory:") or "mode=memory" in str(url):
        raise ConfigError(
            "names an in-memory SQLite database, which is lost when its connection "
            "closes; give a file: sqlite:////path/pm.sqlite",
            field="PM_DB_URL",
        )
    return url.set(drivername="sqlite+pm")


def _postgres_driver(url: URL) -> URL:
    """`url` with psycopg2, pm's one PostgreSQL driver (`postgresql://` means it too).
    Raises ConfigError naming PM_DB_URL for another driver, or a psycopg 3 setting
    (`prepare_threshold`), which psycopg2 would reject with a less clear message."""
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg2")
    if url.drivername != "postgresql+psycopg2":
        raise ConfigError(
            f"{url.drivername} is not a driver pm ships; use postgresql:// (psycopg2)",
            field="PM_DB_URL",
        ) from None
    if "prepare_threshold" in url.query:
        raise ConfigError(
            "prepare_threshold is a psycopg 3 setting; pm uses psycopg2, which never "
            "prepares statements on the server: remove it",
            field="PM_DB_URL",
        ) from None
    return url


def _is_missing_schema(reason: str) -> bool:
    """The error says a table, a column or pm's function is missing (SQLite or PostgreSQL
    wording)."""
    if "no such table" in reason or "no such column" in reason:
        return True
    return "does not exist" in reason and any(
        kind in reason for kind in ("relation", "column", "function")
    )


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database `url` names that does not exist yet, else None."""
    if not url.startswith("sqlite"):
        return None
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:") or os.path.exists(path):
        return None
    return path


def _ensure_sqlite_folder(url: str) -> None:
    """Make the folder of a SQLite file; raises Unavailable if it cannot be made."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Unavailable(
            f"cannot make the folder of the SQLite database {path}: {exc.strerror}"
        ) from None


_open: dict[str, Database] = {}
_open_lock = Lock()


def open_database(settings: Settings | None = None) -> Database:
    """The process-wide Database for `settings` (default: the environment). Raises
    ConfigError for the default database under a production configuration."""
    settings = settings or load_settings()
    if settings.production and settings.db_source == "default":
        raise ConfigError(
            "a production configuration needs PM_DB_URL or PM_DB_NAME, not the default",
            field="PM_DB_URL",
        )
    url = settings.db_url
    with _open_lock:
        if url not in _open:
            _open[url] = Database(url)
        return _open[url]
