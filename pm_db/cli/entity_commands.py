"""`pm project|sequence|shot|asset|artist|task create|import|list|show|update|delete`.

References on the command line (`--project FX3X`, `--shot SQ010/SH010`, `--artist jdoe`)
are codes first: a code made of digits (sequence `010`) means that code; only when no
record has that code is it read as an id. An error about a reference names its flag.
Lists show the codes of what a record points at beside its ids. Everything but `import`
also works through the REST service (PM_API_URL).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from pm_db.cli.common import Page, add_paging, backend, group, leaf, whole_number
from pm_db.errors import NotFound, ValidationError


def _templates(value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError("must be a JSON object of template name to pattern")
    return data


def _reference(kind: str, ref: str, flag: str, **scope: int) -> int:
    """The id of the `kind` whose code (login for artists) is `ref` within `scope`, or whose
    id is `ref` when no code matches; raises NotFound naming `flag`."""
    try:
        return int(backend().find(kind, ref, **scope).id)
    except NotFound:
        if not ref.isdigit():
            where = "".join(f" in {k.removesuffix('_id')} {v}" for k, v in scope.items())
            raise NotFound(f"no {kind} with code {ref!r}{where}", field=flag) from None
    except ValidationError as exc:
        raise ValidationError(exc.message, field=flag) from None
    return _by_id(kind, ref, flag, **scope)


def _by_id(kind: str, ref: str, flag: str, **scope: int) -> int:
    """The id `ref` of an existing `kind` (inside `scope`); raises NotFound naming `flag`."""
    try:
        found = backend().get(kind, int(ref))
    except (NotFound, ValidationError):
        raise NotFound(f"no {kind} with code or id {ref!r}", field=flag) from None
    for key, value in scope.items():
        if getattr(found, key) != value:
            raise NotFound(f"{kind} {ref} is not in {key.removesuffix('_id')} {value}", flag)
    return int(found.id)


def _scoped(kind: str, ref: str, project: str | None, flag: str) -> int:
    """The id of a sequence or asset: its code inside `project`, or its id."""
    if project:
        return _reference(kind, ref, flag, project_id=project_id(project))
    if ref.isdigit():
        return _by_id(kind, ref, flag)
    raise ValidationError(f"is needed to look the {kind} code {ref!r} up", field="--project")


def project_id(ref: str, flag: str = "--project") -> int:
    """A project id from its code or id; raises NotFound naming `flag`."""
    return _reference("project", ref, flag)


def sequence_id(project: str | None, ref: str, flag: str = "--sequence") -> int:
    """A sequence id from its code (in `project`) or id; raises NotFound naming `flag`."""
    return _scoped("sequence", ref, project, flag)


def asset_id(project: str | None, ref: str, flag: str = "--asset") -> int:
    """An asset id from its code (in `project`) or id; raises NotFound naming `flag`."""
    return _scoped("asset", ref, project, flag)


def shot_id(project: str | None, ref: str, flag: str = "--shot") -> int:
    """A shot id from `SEQUENCE/SHOT` codes (in `project`) or its id; raises ValidationError
    or NotFound naming `flag`."""
    if "/" not in ref:
        if ref.isdigit():
            return _by_id("shot", ref, flag)
        raise ValidationError(f"give SEQUENCE/SHOT codes or an id, got {ref!r}", field=flag)
    sequence, shot = ref.split("/", 1)
    if not project:
        raise ValidationError(f"is needed to look {ref!r} up", field="--project")
    return _reference("shot", shot, flag, sequence_id=sequence_id(project, sequence, flag))


def artist_id(ref: str, flag: str = "--artist") -> int:
    """An artist id from the login or id; raises NotFound naming `flag`."""
    return _reference("artist", ref, flag)


# The flags of each verb: (flag, argparse options); unset flags are left out.
CREATE_FLAGS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "project": [
        ("--code", {"required": True}),
        ("--name", {"required": True, "help": "display name"}),
        ("--root-linux", {"help": "project root on Linux, e.g. /show/FX3X"}),
        ("--root-windows", {"help": "project root on Windows, e.g. P:/FX3X"}),
        ("--root-mac", {"help": "project root on macOS"}),
        ("--templates", {"type": _templates, "help": "JSON object of template overrides"}),
    ],
    "sequence": [
        ("--project", {"required": True, "help": "project code or id"}),
        ("--code", {"required": True}),
    ],
    "shot": [
        ("--project", {"help": "project code or id (to look the sequence code up)"}),
        ("--sequence", {"required": True, "help": "sequence code or id"}),
        ("--code", {"required": True}),
        ("--frame-start", {"type": whole_number, "help": "first frame (default 1001)"}),
        ("--frame-end", {"type": whole_number, "help": "last frame (default 1100)"}),
    ],
    "asset": [
        ("--project", {"required": True, "help": "project code or id"}),
        ("--code", {"required": True}),
        ("--type", {"required": True, "help": "asset type, e.g. prop, character, fx"}),
    ],
    "artist": [
        ("--login", {"required": True}),
        ("--name", {"required": True, "help": "full name"}),
        ("--email", {}),
        ("--active", {"choices": ["yes", "no"]}),
    ],
    "task": [
        ("--project", {"help": "project code or id (to look codes up)"}),
        ("--shot", {"help": "SEQUENCE/SHOT codes or shot id"}),
        ("--asset", {"help": "asset code or id"}),
        ("--step", {"required": True, "help": "pipeline step, e.g. fx"}),
        ("--name", {"help": "task name (default: the step)"}),
        ("--artist", {"help": "assigned artist login or id"}),
        ("--status", {"help": "todo (default), wip, review, approved, done or omit"}),
    ],
}

UPDATE_FLAGS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "project": [
        ("--name", {}),
        ("--root-linux", {"help": "new Linux root ('' removes it)"}),
        ("--root-windows", {"help": "new Windows root ('' removes it)"}),
        ("--root-mac", {"help": "new macOS root ('' removes it)"}),
        ("--templates", {"type": _templates, "help": "JSON object of template overrides"}),
    ],
    "sequence": [("--code", {"help": "refused once scenes were saved under it"})],
    "shot": [
        ("--code", {"help": "refused once scenes were saved under it"}),
        ("--frame-start", {"type": whole_number}),
        ("--frame-end", {"type": whole_number}),
    ],
    "asset": [
        ("--code", {"help": "refused once scenes were saved under it"}),
        ("--type", {"help": "refused once scenes were saved under it"}),
    ],
    "artist": [
        ("--name", {}),
        ("--email", {"help": "new address ('' removes it)"}),
        ("--active", {"choices": ["yes", "no"]}),
    ],
    "task": [
        ("--name", {}),
        ("--artist", {"help": "assigned artist login or id"}),
        ("--unassign", {"action": "store_true", "help": "remove the assigned artist"}),
        ("--status", {"help": "todo, wip, review, approved, done or omit"}),
    ],
}

LIST_FLAGS: dict[str, list[str]] = {
    "project": [],
    "sequence": ["--project"],
    "shot": ["--project", "--sequence"],
    "asset": ["--project", "--type"],
    "artist": ["--active"],
    "task": ["--project", "--shot", "--asset", "--artist", "--status", "--step"],
}

_PLAIN_FIELDS = ("code", "name", "login", "frame_start", "frame_end", "status", "step")


def _values(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """The service payload of `pm KIND create/update` from its flags (unset flags left out)."""
    raw = {k: v for k, v in vars(args).items() if v is not None}
    values: dict[str, Any] = {k: raw[k] for k in _PLAIN_FIELDS if k in raw}
    for platform in ("linux", "windows", "mac"):
        if f"root_{platform}" in raw:
            values[f"root_{platform}"] = raw[f"root_{platform}"]
    if "templates" in raw:
        values["templates"] = raw["templates"]
    if "type" in raw:
        values["asset_type"] = raw["type"]
    if "email" in raw:
        values["email"] = raw["email"] or None  # '' removes it
    if "active" in raw:
        values["active"] = raw["active"] == "yes"
    if kind in ("sequence", "asset") and "project" in raw:
        values["project_id"] = project_id(raw["project"])
    if kind == "shot" and "sequence" in raw:
        values["sequence_id"] = sequence_id(raw.get("project"), raw["sequence"])
    if "artist" in raw:
        values["artist_id"] = artist_id(raw["artist"])
    if raw.get("unassign"):
        if "artist" in raw:
            raise ValidationError("give --artist or --unassign, not both", field="--unassign")
        values["artist_id"] = None
    return values


def _task_target(args: argparse.Namespace) -> dict[str, Any]:
    """target_type and target_id of `pm task create` from --shot or --asset."""
    if bool(args.shot) == bool(args.asset):
        raise ValidationError("give either --shot SEQUENCE/SHOT or --asset CODE", "--shot")
    if args.shot:
        return {"target_type": "shot", "target_id": shot_id(args.project, args.shot)}
    return {"target_type": "asset", "target_id": asset_id(args.project, args.asset)}


_SHOW_HELP = {
    "project": "project code or id",
    "sequence": "sequence code (with --project) or id",
    "shot": "SEQUENCE/SHOT codes (with --project) or shot id",
    "asset": "asset code (with --project) or id",
    "artist": "login or id",
    "task": "task id",
}


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def register(commands: Any) -> None:
    from pm_db.cli.import_commands import IMPORT_EPILOG

    for kind, flags in CREATE_FLAGS.items():
        verbs = group(commands, kind, f"create, import, list, show, update or delete {kind}s")
        create = leaf(verbs, "create", f"create {_article(kind)}")
        for flag, options in flags:
            create.add_argument(flag, **options)
        create.set_defaults(run=_create, kind=kind)
        batch = leaf(
            verbs,
            "import",
            f"create many {kind}s from a CSV or JSON file: every row checked first, "
            "then all written or none",
            IMPORT_EPILOG[kind],
        )
        batch.add_argument("file", help="a .csv or .json file (- for JSON on stdin)")
        batch.add_argument(
            "--format", choices=["csv", "json"], help="the file's format (default: its suffix)"
        )
        batch.set_defaults(run=_import, kind=kind)
        listing = leaf(verbs, "list", f"list {kind}s in id order")
        for flag in LIST_FLAGS[kind]:
            options = {"choices": ["yes", "no"]} if flag == "--active" else {}
            listing.add_argument(flag, **options)
        add_paging(listing)
        listing.set_defaults(run=_list, kind=kind)
        show = leaf(verbs, "show", f"show one {kind}")
        show.add_argument("ref", help=_SHOW_HELP[kind])
        if kind in ("sequence", "shot", "asset"):
            show.add_argument("--project", help="project code or id (to look codes up)")
        show.set_defaults(run=_show, kind=kind)
        update = leaf(verbs, "update", f"change fields of {_article(kind)}")
        update.add_argument("id", type=whole_number)
        for flag, options in UPDATE_FLAGS[kind]:
            update.add_argument(flag, **options)
        update.set_defaults(run=_update, kind=kind)
        delete = leaf(verbs, "delete", f"delete {_article(kind)} nothing refers to")
        delete.add_argument("id", type=whole_number)
        delete.set_defaults(run=_delete, kind=kind)


def _create(args: argparse.Namespace) -> Any:
    values = _values(args.kind, args)
    if args.kind == "task":
        values.update(_task_target(args))
    return _with_codes(args.kind, backend().create(args.kind, values), Codes())


def _import(args: argparse.Namespace) -> dict[str, Any]:
    from pm_db.cli.import_commands import import_file

    return import_file(args.kind, args.file, args.format, quiet=args.json)


def _update(args: argparse.Namespace) -> Any:
    found = backend().update(args.kind, args.id, _values(args.kind, args))
    return _with_codes(args.kind, found, Codes())


def _list(args: argparse.Namespace) -> Any:
    filters: dict[str, Any] = {}
    project = getattr(args, "project", None)
    if args.kind == "shot" and args.sequence:
        filters["sequence_id"] = sequence_id(project, args.sequence)
    elif project:
        filters["project_id"] = project_id(project)
    if getattr(args, "shot", None):
        filters["shot_id"] = shot_id(project, args.shot)
    if getattr(args, "asset", None):
        filters["asset_id"] = asset_id(project, args.asset)
    if getattr(args, "type", None):
        filters["asset_type"] = args.type
    if getattr(args, "active", None):
        filters["active"] = args.active == "yes"
    for key in ("status", "step"):
        if getattr(args, key, None):
            filters[key] = getattr(args, key)
    if getattr(args, "artist", None):
        filters["artist_id"] = artist_id(args.artist)
    found = backend().list(args.kind, limit=args.limit + 1, offset=args.offset, **filters)
    codes = Codes()
    rows = [_with_codes(args.kind, record, codes, brief=not args.json) for record in found]
    return Page(rows, args.offset, args.limit)


def _show(args: argparse.Namespace) -> Any:
    project = getattr(args, "project", None)
    if args.kind == "task":
        if not args.ref.isdigit():
            raise ValidationError("show a task by its id", field="ref")
        ident = int(args.ref)
    elif args.kind == "project":
        ident = project_id(args.ref, "ref")
    elif args.kind == "artist":
        ident = artist_id(args.ref, "ref")
    elif args.kind == "shot":
        ident = shot_id(project, args.ref, "ref")
    else:
        ident = _scoped(args.kind, args.ref, project, "ref")
    return _with_codes(args.kind, backend().get(args.kind, ident), Codes())


def _delete(args: argparse.Namespace) -> dict[str, Any]:
    backend().delete(args.kind, args.id)
    return {"deleted": args.kind, "id": args.id}


class Codes:
    """The codes of records by kind and id, each looked up once (a page of tasks names a
    few shots many times)."""

    def __init__(self) -> None:
        self.source = backend()
        self.known: dict[tuple[str, int], str | None] = {}

    def of(self, kind: str, ident: int | None) -> str | None:
        """The code (login for an artist, SEQUENCE/SHOT for a shot) of a record, or None."""
        if ident is None:
            return None
        key = (kind, ident)
        if key not in self.known:
            try:
                record = self.source.get(kind, ident)
            except NotFound:
                self.known[key] = None
            else:
                self.known[key] = self._label(kind, record)
        return self.known[key]

    def _label(self, kind: str, record: Any) -> str:
        if kind == "artist":
            return str(record.login)
        if kind == "shot":
            return f"{self.of('sequence', record.sequence_id)}/{record.code}"
        return str(record.code)


# The code fields each kind's rows get, after their id: (field, kind, id field).
CODE_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "project": [],
    "sequence": [("project", "project", "project_id")],
    "shot": [("sequence", "sequence", "sequence_id")],
    "asset": [("project", "project", "project_id")],
    "artist": [],
    "task": [("project", "project", "project_id"), ("artist", "artist", "artist_id")],
}
_BRIEF_HIDDEN = {"created_at", "templates"}


def _with_codes(kind: str, record: Any, codes: Codes, brief: bool = False) -> dict[str, Any]:
    """A record as a row with the codes of what it points at; `brief` (a table) shows the
    codes instead of the ids and leaves out long fields."""
    data: dict[str, Any] = record.model_dump(mode="json")
    row: dict[str, Any] = {"id": data.pop("id")}
    for name, target, id_field in CODE_FIELDS[kind]:
        row[name] = codes.of(target, data.get(id_field))
    if kind == "task":
        row["target"] = codes.of(data["target_type"], data["target_id"])
    for name, value in data.items():
        if brief and (name.endswith("_id") or name in _BRIEF_HIDDEN):
            continue
        row[name] = value
    return row
