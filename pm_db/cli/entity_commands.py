"""`pm project|sequence|shot|asset|artist|task create|list|show|update|delete`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pm_db.cli.common import database, group, leaf
from pm_db.errors import ValidationError


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None


def _templates(value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"--templates is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError("--templates must be a JSON object")
    return data


def project_id(ref: str) -> int:
    """A project id from its id or code."""
    from pm_db.services import entities

    if ref.isdigit():
        return int(ref)
    return int(entities.find(database(), "project", ref).id)


def _sequence_id(project: str, ref: str) -> int:
    from pm_db.services import entities

    if ref.isdigit():
        return int(ref)
    found = entities.find(database(), "sequence", ref, project_id=project_id(project))
    return int(found.id)


def shot_id(project: str, ref: str) -> int:
    """A shot id from its id or `SEQ/SHOT` codes."""
    from pm_db.services import entities

    if ref.isdigit():
        return int(ref)
    if "/" not in ref:
        raise ValidationError(f"give SEQUENCE/SHOT or an id, got {ref!r}", field="--shot")
    sequence, shot = ref.split("/", 1)
    found = entities.find(database(), "shot", shot, sequence_id=_sequence_id(project, sequence))
    return int(found.id)


def asset_id(project: str, ref: str) -> int:
    """An asset id from its id or code."""
    from pm_db.services import entities

    if ref.isdigit():
        return int(ref)
    found = entities.find(database(), "asset", ref, project_id=project_id(project))
    return int(found.id)


def artist_id(ref: str) -> int:
    """An artist id from its id or login."""
    from pm_db.services import entities

    if ref.isdigit():
        return int(ref)
    return int(entities.find(database(), "artist", ref).id)


def _need_project(args: argparse.Namespace) -> str:
    if not args.project:
        raise ValidationError("is needed to look up codes", field="--project")
    return str(args.project)


def _values(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """The service payload of `pm KIND create/update` from its flags (unset flags left out)."""
    raw = {k: v for k, v in vars(args).items() if v is not None}
    values: dict[str, Any] = {}
    for key in ("code", "name", "email", "frame_start", "frame_end", "status", "step", "login"):
        if key in raw:
            values[key] = raw[key]
    for platform in ("linux", "windows", "mac"):
        if f"root_{platform}" in raw:
            values[f"root_{platform}"] = raw[f"root_{platform}"]
    if "templates" in raw:
        values["templates"] = raw["templates"]
    if "type" in raw:
        values["asset_type"] = raw["type"]
    if "active" in raw:
        values["active"] = raw["active"] == "yes"
    if "sequence" in raw and kind == "shot":
        values["sequence_id"] = _sequence_id(_need_project(args), raw["sequence"])
    elif kind in ("sequence", "asset") and "project" in raw:
        values["project_id"] = project_id(raw["project"])
    if "artist" in raw:
        values["artist_id"] = artist_id(raw["artist"])
    if kind == "task" and ("shot" in raw or "asset" in raw):
        if "shot" in raw and "asset" in raw:
            raise ValidationError("give --shot or --asset, not both", field="--shot")
        if "shot" in raw:
            values.update(target_type="shot", target_id=shot_id(_need_project(args), raw["shot"]))
        else:
            values.update(
                target_type="asset", target_id=asset_id(_need_project(args), raw["asset"])
            )
    return values


FLAGS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "project": [
        ("--code", {}),
        ("--name", {}),
        ("--root-linux", {}),
        ("--root-windows", {}),
        ("--root-mac", {}),
        ("--templates", {"type": _templates, "help": "JSON object of template overrides"}),
    ],
    "sequence": [("--project", {"help": "project code or id"}), ("--code", {})],
    "shot": [
        ("--project", {"help": "project code or id"}),
        ("--sequence", {"help": "sequence code or id"}),
        ("--code", {}),
        ("--frame-start", {"type": _int}),
        ("--frame-end", {"type": _int}),
    ],
    "asset": [
        ("--project", {"help": "project code or id"}),
        ("--code", {}),
        ("--type", {"help": "asset type, e.g. prop, character, fx"}),
    ],
    "artist": [
        ("--login", {}),
        ("--name", {}),
        ("--email", {}),
        ("--active", {"choices": ["yes", "no"]}),
    ],
    "task": [
        ("--project", {"help": "project code or id (to look up codes)"}),
        ("--shot", {"help": "SEQ/SHOT codes or shot id"}),
        ("--asset", {"help": "asset code or id"}),
        ("--step", {"help": "pipeline step, e.g. fx"}),
        ("--name", {"help": "task name (default: the step)"}),
        ("--artist", {"help": "assigned artist login or id"}),
        ("--status", {}),
    ],
}

LIST_FILTERS: dict[str, list[str]] = {
    "sequence": ["--project"],
    "shot": ["--project", "--sequence"],
    "asset": ["--project", "--type"],
    "artist": [],
    "project": [],
    "task": ["--project", "--artist", "--status", "--step"],
}


def register(commands: Any) -> None:
    for kind, flags in FLAGS.items():
        verbs = group(commands, kind, f"create, list, show, update or delete {kind}s")
        create = leaf(verbs, "create", f"create a {kind}")
        update = leaf(verbs, "update", f"change fields of a {kind}")
        update.add_argument("id", type=_int)
        for flag, options in flags:
            create.add_argument(flag, **options)
            update.add_argument(flag, **options)
        create.set_defaults(run=_create, kind=kind)
        update.set_defaults(run=_update, kind=kind)
        listing = leaf(verbs, "list", f"list {kind}s")
        for flag in LIST_FILTERS[kind]:
            listing.add_argument(flag)
        listing.add_argument("--limit", type=_int, default=1000)
        listing.set_defaults(run=_list, kind=kind)
        show = leaf(verbs, "show", f"show one {kind}")
        show.add_argument("ref", help="id, or code/login")
        show.add_argument("--project", help="project code (for codes inside a project)")
        show.set_defaults(run=_show, kind=kind)
        delete = leaf(verbs, "delete", f"delete a {kind} nothing refers to")
        delete.add_argument("id", type=_int)
        delete.set_defaults(run=_delete, kind=kind)


def _create(args: argparse.Namespace) -> Any:
    from pm_db.services import entities

    return entities.create(database(), args.kind, _values(args.kind, args))


def _update(args: argparse.Namespace) -> Any:
    from pm_db.services import entities

    values = _values(args.kind, args)
    values.pop("project_id", None)
    return entities.update(database(), args.kind, args.id, values)


def _list(args: argparse.Namespace) -> Any:
    from pm_db.services import entities

    filters: dict[str, Any] = {}
    if getattr(args, "project", None):
        if args.kind == "shot":
            if args.sequence:
                filters["sequence_id"] = _sequence_id(args.project, args.sequence)
        else:
            filters["project_id"] = project_id(args.project)
    if getattr(args, "type", None):
        filters["asset_type"] = args.type
    for key in ("status", "step"):
        if getattr(args, key, None):
            filters[key] = getattr(args, key)
    if getattr(args, "artist", None):
        filters["artist_id"] = artist_id(args.artist)
    return entities.list_(database(), args.kind, limit=args.limit, **filters)


def _show(args: argparse.Namespace) -> Any:
    from pm_db.services import entities

    if args.ref.isdigit():
        return entities.get(database(), args.kind, int(args.ref))
    if args.kind in ("sequence", "asset"):
        return entities.find(
            database(), args.kind, args.ref, project_id=project_id(_need_project(args))
        )
    if args.kind == "shot":
        return entities.get(database(), "shot", shot_id(_need_project(args), args.ref))
    if args.kind == "task":
        raise ValidationError("show a task by its id", field="ref")
    return entities.find(database(), args.kind, args.ref)


def _delete(args: argparse.Namespace) -> dict[str, Any]:
    from pm_db.services import entities

    entities.delete(database(), args.kind, args.id)
    return {"deleted": args.kind, "id": args.id}
