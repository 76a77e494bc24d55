"""Schema migrations through alembic: `pm db upgrade` and friends.

A migration runs in one transaction that no other writer can enter: `BEGIN IMMEDIATE` on
SQLite, a transaction-level advisory lock on PostgreSQL, so two `pm db upgrade` started at
once run one after the other and the second finds nothing to do. On SQLite, foreign keys
are switched off for the migration (a batch migration copies and drops tables, which the
rows of child tables would otherwise forbid) and checked before the commit.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, text

from pm_db.db import Database
from pm_db.errors import Conflict, ValidationError
from pm_db.models import Base

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
ADVISORY_LOCK = 0x706D5F6462  # "pm_db": serializes migrations on a PostgreSQL server


def _config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


@contextmanager
def migration_connection(database: Database) -> Iterator[Connection]:
    """A write transaction for a migration, serialized against other migrations; raises
    Unavailable, or Conflict if SQLite rows would lose their parent."""
    with database.connect(write=True, foreign_keys=False) as conn:
        if database.is_sqlite:
            yield conn
            _check_foreign_keys(conn)
            return
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        yield conn


def _check_foreign_keys(conn: Connection) -> None:
    """Raise Conflict (rolling the migration back) if a SQLite row lost its parent."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent = broken[0][0], broken[0][1], broken[0][2]
        raise Conflict(
            f"the migration would leave {len(broken)} row(s) without a parent "
            f"(first: {table} row {rowid} -> {parent}); nothing was changed",
            field="revision",
        )


def _known(revision: str | None) -> bool:
    if revision is None:
        return True
    try:
        return _script().get_revision(revision) is not None
    except CommandError:
        return False


def _run(database: Database, action: Callable[[Config, str], None], revision: str) -> None:
    """Run `action` to `revision` in one migration transaction, again from the start if a
    lock or a dropped connection ended it (nothing of it was committed then)."""
    database.retrying(lambda: _run_once(database, action, revision))


def _run_once(database: Database, action: Callable[[Config, str], None], revision: str) -> None:
    with migration_connection(database) as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        if not _known(current):
            raise Conflict(
                f"database {database.masked_url} is at revision {current}, which this pm does "
                f"not know (newest here: {head_revision()}); update pm",
                field="revision",
            )
        config = _config(database.url)
        config.attributes["connection"] = conn
        try:
            with warnings.catch_warnings():
                # A SQLite batch migration reflects the table it copies, and SQLAlchemy
                # cannot reflect an expression index (lower(name)); the migrations create
                # those again themselves, and _check_indexes proves it before the commit.
                warnings.filterwarnings(
                    "ignore", "Skipped unsupported reflection of expression-based index"
                )
                action(config, revision)
        except CommandError as exc:
            raise ValidationError(str(exc), field="revision") from None
        if MigrationContext.configure(conn).get_current_revision() == head_revision():
            _check_indexes(conn)


def index_names(conn: Connection) -> set[str]:
    """The names of the indexes in the database, expression indexes included (which
    SQLAlchemy's inspector skips)."""
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    return {row[0] for row in conn.exec_driver_sql(query)}


def _check_indexes(conn: Connection) -> None:
    """Raise Conflict (rolling the migration back) if an index of the models is missing:
    a SQLite batch migration rebuilds a table without its expression indexes."""
    wanted = {i.name for t in Base.metadata.tables.values() for i in t.indexes if i.name}
    missing = sorted(wanted - index_names(conn))
    if missing:
        raise Conflict(
            f"after the migration the index {missing[0]} is missing (of {len(missing)}); "
            "create it again in the migration; nothing was changed",
            field="revision",
        )


def upgrade(database: Database, revision: str = "head") -> None:
    """Create or upgrade the schema to `revision` (default: the newest). Raises Unavailable,
    Conflict (the database is newer than this pm), ValidationError (unknown revision)."""
    _run(database, command.upgrade, revision)


def downgrade(database: Database, revision: str) -> None:
    """Downgrade the schema to `revision` ("base" removes every table). Raises as upgrade."""
    _run(database, command.downgrade, revision)


def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None for an empty database; raises Unavailable."""
    with database.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this checkout."""
    return _script().get_current_head()
