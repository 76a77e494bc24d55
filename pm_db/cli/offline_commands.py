"""`pm offline`: check a task out of the studio database to work without it, check it back
in, and the supervisor's view of leases (docs/offline.md).

The studio is the database chosen without PM_OFFLINE (PM_DB_URL, ...); the checkout is
the SQLite file PM_OFFLINE names, or `--to`/`--from`, else `$PM_HOME/offline/pm.sqlite`.
"""

from __future__ import annotations

import argparse
import getpass
from typing import TYPE_CHECKING, Any

from pm_db.cli.common import group, leaf, task_id

if TYPE_CHECKING:
    from pm_db.config import Settings
    from pm_db.db import Database


def register(commands: Any) -> None:
    offline = group(commands, "offline", "work without the studio database, then check in")
    checkout = leaf(offline, "checkout", "copy a task to this machine and lease its scene streams")
    checkout.add_argument("--task", type=task_id, required=True, help="task id")
    checkout.add_argument("--artist", help="who works on it (default: the task's artist)")
    checkout.add_argument("--to", help="the checkout's SQLite file (default: see PM_OFFLINE)")
    checkout.add_argument(
        "--root",
        help="this machine's own copy of the project root (default: the studio's root)",
    )
    checkout.set_defaults(run=_checkout)
    checkin = leaf(offline, "checkin", "bring the offline saves and publishes to the studio")
    checkin.add_argument("--from", dest="source", help="the checkout's SQLite file")
    checkin.set_defaults(run=_checkin)
    discard = leaf(offline, "discard", "give up the offline records and release the lease")
    discard.add_argument("--from", dest="source", help="the checkout's SQLite file")
    discard.set_defaults(run=_discard)
    listing = leaf(offline, "leases", "list the studio's held leases (--all: every lease)")
    listing.add_argument("--all", action="store_true", help="also broken and released ones")
    listing.set_defaults(run=_leases)
    breaking = leaf(offline, "break", "free a lease's streams in the studio (supervisor)")
    breaking.add_argument("lease", help="the lease id (pm offline leases)")
    breaking.add_argument("--reason", required=True, help="why, for the artist and the log")
    breaking.add_argument("--by", help="who breaks it (default: this login)")
    breaking.set_defaults(run=_break)


def _settings() -> Settings:
    from pm_db.config import load_settings

    return load_settings()


def _studio(settings: Settings) -> Database:
    from pm_db.offline import studio_database

    return studio_database(settings)


def _local(settings: Settings, given: str | None) -> Database:
    from pm_db.config import sqlite_url
    from pm_db.db import Database
    from pm_db.errors import NotFound
    from pm_db.offline import checkout_file

    path = checkout_file(settings, given)
    if not path.exists():
        raise NotFound(f"no checkout at {path}; `pm offline checkout` makes one", field="from")
    return Database(sqlite_url(path))


def _checkout(args: argparse.Namespace) -> Any:
    from pm_db import offline

    return offline.check_out_here(_settings(), args.task, args.artist, args.to, args.root)


def _checkin(args: argparse.Namespace) -> Any:
    from pm_db import offline

    settings = _settings()
    local = _local(settings, args.source)
    try:
        return offline.checkin(_studio(settings), local)
    finally:
        local.dispose()


def _discard(args: argparse.Namespace) -> Any:
    from pm_db import offline

    settings = _settings()
    local = _local(settings, args.source)
    try:
        return {"lease_id": offline.discard(local, _studio(settings)), "discarded": True}
    finally:
        local.dispose()


def _leases(args: argparse.Namespace) -> Any:
    from pm_db import offline

    return offline.list_leases(_studio(_settings()), held_only=not args.all)


def _break(args: argparse.Namespace) -> Any:
    from pm_db import offline
    from pm_db.services.events import HOST

    by = args.by or f"{getpass.getuser()}@{HOST}"
    return offline.break_lease(_studio(_settings()), args.lease, by, args.reason)
