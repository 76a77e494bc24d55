"""alembic environment: the only way pm's schema is created or changed.

`pm db upgrade` (pm_db.migrate) hands in its connection. Run by hand (`alembic -c
alembic.ini upgrade head`, `alembic revision --autogenerate`), it opens the database pm's
configuration selects (PM_DB_URL, PM_DB_NAME..., or the SQLite default).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from pm_db.config import load_settings
from pm_db.db import Database
from pm_db.migrate import migration_connection
from pm_db.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or load_settings().db_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    database = Database(_url())
    try:
        with migration_connection(database) as conn:
            _run(conn)
    finally:
        database.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
