"""`pm scene ...`, `pm publish ...` and `pm publishes list`: saves and part publishes."""

from __future__ import annotations

import argparse
from typing import Any

from pm_db.cli.common import (
    MAX_LIMIT,
    Page,
    add_paging,
    backend,
    database,
    group,
    leaf,
    read_json,
    remote,
    whole_number,
)

SAVE_EPILOG = """examples:
  pm scene save --task 1 --artist jdoe --scene PinchIn
  PM_ARTIST=jdoe pm scene version-up --task 1 --scene PinchIn
"""


def register(commands: Any) -> None:
    scene = group(commands, "scene", "save work files and list them")
    for name, version_up, help_text in (
        ("save", False, "record the next iteration and print the path to write"),
        ("version-up", True, "record the next version (iteration 1) and print its path"),
    ):
        parser = leaf(scene, name, help_text, SAVE_EPILOG)
        parser.add_argument("--task", type=whole_number, required=True, help="task id")
        parser.add_argument("--artist", required=True, help="artist login")
        parser.add_argument("--scene", required=True, help="scene name, e.g. PinchIn")
        parser.add_argument("--software", default="houdini")
        parser.add_argument("--ext", default="hip", help="file extension (hip, hipnc, hiplc)")
        parser.add_argument("--software-version")
        parser.set_defaults(run=_save, version_up=version_up)
    listing = leaf(scene, "list", "list saved scenes, newest first")
    listing.add_argument("--task", type=whole_number)
    listing.add_argument("--artist")
    listing.add_argument("--scene")
    add_paging(listing)
    listing.set_defaults(run=_list_scenes)
    find = leaf(scene, "find", "the saved scene recorded for a hip file path")
    find.add_argument("path")
    find.set_defaults(run=lambda a: _backend().find_scene_by_path(a.path))

    verbs = group(
        commands,
        "publish",
        "publish a part: pm publish FILE|- (the original API's JSON payload), or "
        "reserve/complete/fail/deprecate/show",
    )
    payload = leaf(
        verbs, PAYLOAD_VERB, "publish the original API's JSON payload (pm publish FILE|-)"
    )
    payload.add_argument("payload", help="JSON file of the payload, or - for stdin")
    payload.set_defaults(run=_publish)
    reserve = leaf(verbs, "reserve", "reserve numbers and paths from a saved scene")
    reserve.add_argument("--scene", type=whole_number, required=True, help="saved scene id")
    reserve.add_argument("--asset", required=True, help="USD asset name, e.g. PinchIn")
    reserve.add_argument("--part", required=True, help="part name, e.g. particles01")
    reserve.add_argument("--request-id", help="client id that makes retries idempotent")
    reserve.set_defaults(run=_reserve)
    for name, help_text in (
        ("complete", "mark a reserved publish published (it becomes latest)"),
        ("fail", "mark a reserved publish failed"),
        ("deprecate", "withdraw a published version; the previous becomes latest"),
        ("show", "show one publish"),
    ):
        parser = leaf(verbs, name, help_text)
        parser.add_argument("publish", help="publish id or publish_id")
        if name == "fail":
            parser.add_argument("--reason", required=True)
        parser.set_defaults(run=_run_verb, verb=name)

    publishes = group(commands, "publishes", "list publishes")
    plist = leaf(publishes, "list", "list publishes, newest first")
    plist.add_argument("--asset", help="USD asset name")
    plist.add_argument("--part", help="part name")
    plist.add_argument("--task", type=whole_number)
    plist.add_argument("--status")
    plist.add_argument("--latest-per-part", action="store_true", help="one publish per part")
    add_paging(plist)
    plist.set_defaults(run=_list_publishes)


PAYLOAD_VERB = "payload"
PUBLISH_VERBS = {PAYLOAD_VERB, "reserve", "complete", "fail", "deprecate", "show"}


def with_payload_verb(argv: list[str]) -> list[str]:
    """`pm publish FILE|-` spelled as the `payload` subcommand argparse understands."""
    if len(argv) < 2 or argv[0] != "publish" or argv[1] in PUBLISH_VERBS:
        return argv
    if argv[1] == "-" or not argv[1].startswith("-"):
        return [argv[0], PAYLOAD_VERB, *argv[1:]]
    return argv


def _backend() -> Any:
    """The backend the environment selects: the REST service when PM_API_URL is set,
    else the database. Publishes go through the full publish pipeline either way (verify the
    data layer, complete, update the part and asset layers)."""
    return backend()


def _save(args: argparse.Namespace) -> Any:
    return _backend().save_scene(
        {
            "task_id": args.task,
            "artist": args.artist,
            "scene_name": args.scene,
            "software": args.software,
            "ext": args.ext,
            "version_up": args.version_up,
            "software_version": args.software_version,
        }
    )


def _list_scenes(args: argparse.Namespace) -> Any:
    # The service pages by limit only: read up to the end of this page, one row more.
    wanted = min(args.offset + args.limit + 1, MAX_LIMIT + 1)
    filters = {"task_id": args.task, "artist": args.artist, "name": args.scene, "limit": wanted}
    if remote():
        found = _backend().list_scenes(**filters)
    else:
        from pm_db.services import scenes

        found = scenes.list_scenes(database(), **filters)
    return Page(list(found[args.offset :]), args.offset, args.limit)


def _publish(args: argparse.Namespace) -> Any:
    return _backend().publish_part(read_json(args.payload))


def _reserve(args: argparse.Namespace) -> Any:
    return _backend().reserve_publish(
        {
            "scene_id": args.scene,
            "asset_name": args.asset,
            "part_name": args.part,
            "request_id": args.request_id,
        }
    )


def _run_verb(args: argparse.Namespace) -> Any:
    backend = _backend()
    if args.verb == "complete":
        return backend.complete_publish(args.publish)
    if args.verb == "fail":
        return backend.fail_publish(args.publish, args.reason)
    if args.verb == "deprecate":
        return backend.deprecate_publish(args.publish)
    return backend.get_publish(args.publish)


def _list_publishes(args: argparse.Namespace) -> Any:
    from pm_db.errors import ValidationError

    backend = _backend()
    if args.latest_per_part:
        if not args.asset:
            raise ValidationError("is needed with --latest-per-part", field="--asset")
        return backend.latest_per_part(args.asset, task_id=args.task)
    found = backend.list_publishes(
        asset_name=args.asset,
        part_name=args.part,
        task_id=args.task,
        status=args.status,
        limit=args.limit + 1,
        offset=args.offset,
    )
    rows = [_publish_row(p, brief=not (args.json or args.wide)) for p in found]
    return Page(rows, args.offset, args.limit)


# The columns of `pm publishes list` in a table (--json and --wide show every field).
PUBLISH_COLUMNS = (
    "id",
    "asset_name",
    "part_name",
    "version",
    "iteration",
    "status",
    "is_latest",
    "created_by",
    "completed_at",
    "item_usd_path",
)


def _publish_row(publish: Any, brief: bool) -> dict[str, Any]:
    data: dict[str, Any] = publish.model_dump(mode="json")
    if not brief:
        return data
    return {name: data.get(name) for name in PUBLISH_COLUMNS if name in data}
