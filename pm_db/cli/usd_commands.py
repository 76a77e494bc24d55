"""`pm usd ...`, `pm doctor` and `pm part ...`: the stable USD layers and their repair.

`pm usd rebuild` and `pm doctor` show their progress on stderr (pm_db.cli.progress);
stdout keeps the one result (JSON with --json). `pm doctor` exits 1 when it leaves a
problem unrepaired, and ends with the count of each kind of problem.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from typing import Any

from pm_db.cli.common import backend, database, group, leaf, remote, whole_number
from pm_db.cli.progress import Progress
from pm_db.numbers import label as numbers_label

PROBLEMS_EXIT = 1

# The layer code names fields its own way; the CLI shows the names every other command
# and the REST API use (docs/cli.md, "Shared field names").
SHARED_NAMES = {"asset": "asset_name", "part": "part_name", "published_at": "completed_at"}


def shared_names(data: Any) -> Any:
    """`data` (models, dicts, lists) with the layer code's field names renamed."""
    dump = getattr(data, "model_dump", None)
    if callable(dump):
        data = dump(mode="json")
    if isinstance(data, dict):
        return {SHARED_NAMES.get(k, k): shared_names(v) for k, v in data.items()}
    if isinstance(data, list):
        return [shared_names(v) for v in data]
    return data


DOCTOR_EPILOG = """examples:
  pm doctor
  pm doctor --repair --project FX3X
"""


def _hours(value: str) -> float:
    try:
        hours = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of hours, got {value!r}") from None
    if hours < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value!r}")
    return hours


def register(commands: Any) -> None:
    usd = group(commands, "usd", "the stable part and asset layers")
    rebuild = leaf(usd, "rebuild", "rewrite part and asset layers from the database")
    which = rebuild.add_mutually_exclusive_group(required=True)
    which.add_argument("--asset", help="USD asset name, e.g. PinchIn (any case)")
    which.add_argument("--all", action="store_true", help="every asset")
    rebuild.add_argument("--project", help="project code: only its assets")
    rebuild.set_defaults(run=_rebuild)
    show = leaf(usd, "show", "open an asset layer with Usd.Stage: its parts and versions")
    show.add_argument("--asset", required=True, help="USD asset name, e.g. PinchIn")
    show.add_argument("--project", help="project code")
    show.set_defaults(run=_show)

    doctor = leaf(
        commands,
        "doctor",
        "check that files, layers and the database agree (exit 1 if not)",
        DOCTOR_EPILOG,
    )
    doctor.add_argument(
        "--repair",
        action="store_true",
        help="fix what can be derived: layers, stale reservations, stale pins "
        "(never deletes a data file)",
    )
    doctor.add_argument(
        "--stale-after",
        type=_hours,
        default=24.0,
        metavar="HOURS",
        help="a reservation pending this long is stale (default 24)",
    )
    doctor.add_argument("--project", help="project code: only its records")
    doctor.set_defaults(run=_doctor)

    part = group(commands, "part", "pin, unpin, withdraw or restore a part of an asset")
    listing = leaf(part, "list", "parts with what their layer points at")
    listing.add_argument("--asset", help="USD asset name")
    listing.add_argument("--project", help="project code")
    listing.set_defaults(run=_list_parts)
    for name, help_text in (
        ("show", "one part"),
        ("pin", "hold a part at a chosen published version"),
        ("unpin", "let a part follow its latest publish again"),
        ("withdraw", "take a part out of its asset layer (its history stays)"),
        ("restore", "put a withdrawn part back into its asset layer"),
    ):
        parser = leaf(part, name, help_text)
        parser.add_argument("part", help="part id, or ASSET/PART (e.g. PinchIn/particles01)")
        parser.add_argument("--project", help="project code, when ASSET/PART is ambiguous")
        if name != "show":
            parser.add_argument("--artist", help="login of who asks (recorded in the log)")
        if name == "pin":
            target = parser.add_mutually_exclusive_group(required=True)
            target.add_argument("--version", type=whole_number, help="version number, e.g. 3")
            target.add_argument("--publish", help="publish id or publish_id")
            parser.add_argument("--iteration", type=whole_number, help="iteration of --version")
        parser.set_defaults(run=_part, verb=name)


def _rebuild(args: argparse.Namespace) -> Any:
    if remote():
        report = backend().rebuild_layers(args.asset, args.project)
    else:
        from pm_db.usd import layers

        with Progress("rebuilding layers", quiet=args.json) as progress:
            report = layers.rebuild(database(), args.project, args.asset, progress=progress)
    if report.failed:
        args.exit_status = PROBLEMS_EXIT
    return shared_names(report)


def _show(args: argparse.Namespace) -> Any:
    from pm_db.usd import layers
    from pm_db.usd.resolve import resolve_asset_layer

    handle = database()
    keys = layers.find_assets(handle, args.project, args.asset)
    assets = [resolve_asset_layer(layers.asset_layer_path(handle, key)) for key in keys]
    return shared_names(assets) if args.json else "\n".join(_asset_text(a) for a in assets)


def _asset_text(asset: Any) -> str:
    """An asset as the stage resolves it, one line per part."""
    folder = os.path.dirname(asset.layer)
    lines = [f"{asset.project} {asset.asset}  {asset.layer}"]
    width = max((len(part.part) for part in asset.parts), default=0)
    for part in asset.parts:
        data = os.path.relpath(part.data_layer, folder) if part.data_layer else "-"
        lines.append(
            f"  {part.part:<{width}}  {numbers_label(part.version, part.iteration)}  "
            f"{part.state:<6}  {data}  prims: {' '.join(part.prims) or '-'}"
        )
    if not asset.parts:
        lines.append("  (no part composed)")
    if asset.withdrawn:
        lines.append(f"  withdrawn: {', '.join(asset.withdrawn)}")
    return "\n".join(lines)


def _doctor(args: argparse.Namespace) -> Any:
    from datetime import timedelta

    from pm_db import doctor

    handle = database()
    progress = Progress("pm doctor", quiet=args.json)
    so_far: list[doctor.Problem] = []
    try:
        report = doctor.examine(
            handle,
            repair=args.repair,
            stale_after=timedelta(hours=args.stale_after),
            project=args.project,
            progress=progress,
            found=so_far,
        )
    except KeyboardInterrupt:
        progress.close()
        done, total = progress.last or (0, 0)
        repaired = Counter(problem.kind for problem in so_far if problem.repaired)
        changed = ", ".join(f"{count} {kind}" for kind, count in sorted(repaired.items()))
        kept = f"; repaired so far, and kept: {changed or 'nothing'}" if args.repair else ""
        print(
            f"pm doctor: interrupted after {done} of {total} checks{kept}; "
            "run it again for the full report",
            file=sys.stderr,
        )
        raise
    progress.close()
    if not report.ok:
        args.exit_status = PROBLEMS_EXIT
    return doctor_document(report) if args.json else _doctor_text(report)


def _summary(report: Any) -> dict[str, dict[str, int]]:
    """Per kind of problem: how many were found, repaired, and are left."""
    found = Counter(problem.kind for problem in report.problems)
    repaired = Counter(problem.kind for problem in report.problems if problem.repaired)
    return {
        kind: {
            "found": found[kind],
            "repaired": repaired[kind],
            "left": found[kind] - repaired[kind],
        }
        for kind in sorted(found)
    }


def doctor_document(report: Any) -> dict[str, Any]:
    """The doctor's report for --json. `clean`, not `ok`: the envelope's `ok` says whether
    the command ran; `clean` whether files and records agree."""
    return {
        "clean": report.ok,
        "repair": report.repair,
        "checked": report.checked,
        "summary": _summary(report),
        "problems": [problem.model_dump(mode="json") for problem in report.problems],
    }


def _doctor_text(report: Any) -> str:
    """The doctor's report for a terminal: one line per problem, then the counts per kind."""
    lines = []
    for problem in report.problems:
        if problem.repaired:
            outcome = f"repaired: {problem.repair}"
        elif problem.error:
            outcome = f"not repaired: {problem.error}"
        elif problem.repair is None:
            outcome = "cannot be derived; see the message"
        else:
            outcome = f"--repair would {problem.repair}"
        lines.append(f"{problem.kind}: {problem.subject}: {problem.message}")
        if problem.path:
            lines.append(f"    {problem.path}")
        lines.append(f"    {outcome}")
    checked = ", ".join(f"{count} {name}" for name, count in report.checked.items())
    repaired = sum(1 for problem in report.problems if problem.repaired)
    verdict = "clean" if report.ok else "problems remain"
    lines.append(f"pm doctor: {verdict}; {len(report.problems)} problem(s), {repaired} repaired")
    lines.append(f"  checked: {checked}")
    for kind, counts in _summary(report).items():
        lines.append(
            f"  {kind}: {counts['found']} found, {counts['repaired']} repaired, "
            f"{counts['left']} left"
        )
    return "\n".join(lines)


def _list_parts(args: argparse.Namespace) -> Any:
    found = backend().list_parts(asset_name=args.asset, project=args.project)
    return found if args.json else [_part_row(part) for part in found]


def _numbers(ref: Any) -> str:
    return "" if ref is None else f"{numbers_label(ref.version, ref.iteration)}"


def _part_row(part: Any) -> dict[str, Any]:
    """A part as one table row: what its layer points at, pinned or withdrawn."""
    state = "none" if part.resolved is None else "latest"
    if part.pinned is not None and part.resolved == part.pinned:
        state = "pinned"
    if part.resolved is not None and part.resolved.missing:
        state = f"{state}, FILE MISSING"
    return {
        "id": part.id,
        "project": part.project,
        "part": f"{part.asset_name}/{part.part_name}",
        "resolves": _numbers(part.resolved),
        "state": state,
        "latest": _numbers(part.latest),
        "withdrawn": "yes" if part.withdrawn else "",
        "folder": part.folder,
    }


def _part(args: argparse.Namespace) -> Any:
    source = backend()
    request: dict[str, Any] = {"part": args.part, "project": args.project}
    if args.verb == "show":
        found = source.get_part(args.part, args.project)
    elif args.verb == "pin":
        request.update(
            artist=args.artist, version=args.version, iteration=args.iteration, publish=args.publish
        )
        found = source.pin_part(request)
    else:
        actions = {
            "unpin": source.unpin_part,
            "withdraw": source.withdraw_part,
            "restore": source.restore_part,
        }
        found = actions[args.verb]({**request, "artist": args.artist})
    return found if args.json else _part_row(found)
