"""Schema migrations through alembic: `pm db upgrade` and friends."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from pm_db.db import Database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Create or upgrade the schema to `revision` (default: the newest)."""
    with database.engine.begin() as conn:
        config = _config(database)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(database: Database, revision: str) -> None:
    """Downgrade the schema to `revision` ("base" removes every table)."""
    with database.engine.begin() as conn:
        config = _config(database)
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with database.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this checkout."""
    script = ScriptDirectory.from_config(_config(Database("sqlite://")))
    return script.get_current_head()
