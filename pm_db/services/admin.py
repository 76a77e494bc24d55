"""Database-wide operations: settings, the production mark, and the development reset."""

from __future__ import annotations

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from pm_db.db import Database
from pm_db.errors import PermissionDenied, ValidationError
from pm_db.models import Base, Setting
from pm_db.services import events

SETTINGS = {"production": ("true", "false")}


def get_setting(db: Database, key: str) -> str | None:
    """A database setting's value, or None if unset."""
    return db.read(lambda s: s.scalar(select(Setting.value).where(Setting.key == key)))


def set_setting(db: Database, key: str, value: str) -> None:
    """Set a database setting; raises ValidationError for an unknown key or value."""
    if key not in SETTINGS:
        raise ValidationError(f"unknown setting (known: {', '.join(SETTINGS)})", field="key")
    if value not in SETTINGS[key]:
        raise ValidationError(f"must be one of {', '.join(SETTINGS[key])}", field="value")

    def work(session: Session) -> None:
        before = session.scalar(select(Setting.value).where(Setting.key == key))
        session.merge(Setting(key=key, value=value))
        events.record(
            session,
            "setting.changed",
            "setting",
            None,
            payload={"key": key, "from": before, "to": value},
        )

    db.write(work)


def is_production(db: Database) -> bool:
    """Whether the database is marked production (then reset refuses)."""
    return get_setting(db, "production") == "true"


def reset(db: Database) -> dict[str, int]:
    """Delete every row of every table, keeping the schema and the settings; ids start
    again from 1, as on a new database. Returns the rows deleted per table. Raises
    PermissionDenied on a database marked production."""

    def work(session: Session) -> dict[str, int]:
        if session.scalar(select(Setting.value).where(Setting.key == "production")) == "true":
            raise PermissionDenied(
                "this database is marked production; reset refused", field="production"
            )
        deleted: dict[str, int] = {}
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == Setting.__tablename__:
                continue
            result = session.execute(delete(table))
            deleted[table.name] = int(getattr(result, "rowcount", 0))
        if session.get_bind().dialect.name == "sqlite":
            # Ids are AUTOINCREMENT (never reused in normal work); a reset starts them
            # again, as on a new database.
            session.execute(text("DELETE FROM sqlite_sequence"))
        else:
            # PostgreSQL's sequences would go on counting: start them again too.
            for table in Base.metadata.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement is not False:
                    session.execute(
                        text("SELECT setval(pg_get_serial_sequence(:t, 'id'), 1, false)"),
                        {"t": table.name},
                    )
        return deleted

    return db.write(work)
