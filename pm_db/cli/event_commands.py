"""`pm events`: read the event log (who saved, published, pinned, withdrew what), newest
first; `--follow` keeps printing new events as they are recorded."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from pm_db.cli.common import leaf, whole_number
from pm_db.cli.output import plain

# How often --follow asks for new events: a reader sees a publish within a second, and
# an idle follower costs one index seek a second.
FOLLOW_INTERVAL = 1.0


def register(commands: Any) -> None:
    events = leaf(commands, "events", "list events newest first (publishes, saves, pins...)")
    events.add_argument("--kind", help="a kind (publish.published) or a family (publish.)")
    events.add_argument("--artist", help="artist login: only what this artist did")
    events.add_argument("--project", help="project code: only events about its records")
    events.add_argument("--entity-type", help="only events about this kind of record (part)")
    events.add_argument("--entity-id", type=whole_number, help="only events about this id")
    events.add_argument("--since", help="a date (2026-12-06) or ISO time, included")
    events.add_argument("--until", help="a date (that whole day) or ISO time, excluded")
    events.add_argument("--before", type=whole_number, help="only events older than this id")
    events.add_argument("--limit", type=whole_number, default=50, help="how many (default 50)")
    events.add_argument(
        "--follow",
        action="store_true",
        help="then print each new event as it is recorded (one JSON line each with --json)",
    )
    events.set_defaults(run=_events)


def _filter(args: argparse.Namespace, **changes: Any) -> Any:
    from pm_db.services.events import EventFilter, parse_moment

    values = {
        "kind": args.kind,
        "artist": args.artist,
        "project": args.project,
        "entity_type": args.entity_type,
        "entity_id": args.entity_id,
        "since": parse_moment(args.since, "--since") if args.since else None,
        "until": parse_moment(args.until, "--until", end_of_day=True) if args.until else None,
        "before": args.before,
        "limit": args.limit,
    }
    return EventFilter(**{**values, **changes})


def _events(args: argparse.Namespace) -> Any:
    from pm_db.cli.common import database
    from pm_db.services.events import read_events

    db = database()
    page = read_events(db, _filter(args))
    if not args.follow:
        return page
    newest = page[0].id if page else _last_id(db)
    for event in reversed(page):
        _print_line(event, args.json)
    while True:
        time.sleep(FOLLOW_INTERVAL)
        found = read_events(db, _filter(args, before=None, after=newest))
        for event in reversed(found):
            _print_line(event, args.json)
        if found:
            newest = found[0].id


def _last_id(db: Any) -> int:
    from pm_db.services.events import EventFilter, read_events

    last = read_events(db, EventFilter(limit=1))
    return last[0].id if last else 0


def _print_line(event: Any, as_json: bool) -> None:
    data = plain(event)
    if as_json:
        print(json.dumps(data), flush=True)
        return
    who = data["artist"] or "-"
    subject = f"{data['entity_type']} {data['entity_id'] or ''}".strip()
    print(f"{data['created_at']}  #{data['id']}  {data['kind']}  {who}  {subject}", flush=True)
