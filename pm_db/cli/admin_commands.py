"""`pm db ...`: create, inspect and reset the database."""

from __future__ import annotations

import argparse
from typing import Any

from pm_db.cli.common import database, group, leaf
from pm_db.errors import PermissionDenied, ValidationError


def register(commands: Any) -> None:
    db = group(commands, "db", "create, inspect or reset the database")
    leaf(db, "upgrade", "create or upgrade the schema to the newest revision").set_defaults(
        run=upgrade
    )
    leaf(db, "info", "show the database in use (password masked) and its contents").set_defaults(
        run=info
    )
    reset = leaf(db, "reset", "delete every row, keep the schema (refused on production)")
    reset.add_argument("--yes", action="store_true", help="really delete everything")
    reset.set_defaults(run=reset_db)
    setting = leaf(db, "set", "set a database setting, e.g. `pm db set production true`")
    setting.add_argument("key", help="setting name: production")
    setting.add_argument("value", help="new value: true or false")
    setting.set_defaults(run=set_value)


def upgrade(args: argparse.Namespace) -> dict[str, Any]:
    from pm_db import migrate

    handle = database(create=True)
    before = migrate.current_revision(handle)
    migrate.upgrade(handle)
    return {"url": handle.masked_url, "from": before, "to": migrate.current_revision(handle)}


def info(args: argparse.Namespace) -> dict[str, Any]:
    from pm_db import migrate
    from pm_db.config import load_settings
    from pm_db.db import missing_sqlite_file
    from pm_db.services import admin, entities, publish_reads

    settings = load_settings()
    result: dict[str, Any] = {
        "url": settings.masked_db_url,
        "configured_by": settings.db_source,
        "platform": settings.platform,
        "environment": "production" if settings.production else "development",
        "layer_fsync": settings.layer_fsync,
        "head": migrate.head_revision(),
    }
    # Looking must not make an empty SQLite file.
    missing = missing_sqlite_file(settings.db_url)
    if missing and not settings.api_url:
        result["hint"] = f"no database file at {missing} yet: run `pm db upgrade`"
        return result
    handle = database()
    revision = migrate.current_revision(handle)
    head = result["head"]
    result |= {"dialect": handle.dialect, "revision": revision}
    if revision is None:
        result["hint"] = "no pm schema yet: run `pm db upgrade`"
        return result
    if revision != head:
        result["hint"] = f"schema at {revision}, this pm expects {head}: run `pm db upgrade`"
        return result
    result["production"] = admin.is_production(handle)
    result["counts"] = {**entities.counts(handle), "publish": publish_reads.count_publishes(handle)}
    return result


def reset_db(args: argparse.Namespace) -> dict[str, Any]:
    from pm_db.config import load_settings
    from pm_db.services import admin

    if not args.yes:
        raise ValidationError("reset deletes every row; pass --yes to confirm", field="--yes")
    if load_settings().production:
        raise PermissionDenied("PM_ENV is production; reset refused", field="PM_ENV")
    handle = database()
    return {"url": handle.masked_url, "deleted": admin.reset(handle)}


def set_value(args: argparse.Namespace) -> dict[str, str]:
    from pm_db.services import admin

    admin.set_setting(database(), args.key, args.value)
    return {"key": args.key, "value": args.value}
