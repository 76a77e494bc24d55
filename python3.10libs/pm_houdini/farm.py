"""The Houdini side of farm submission: `hython -m pm_houdini.farm ...`.

    hython -m pm_houdini.farm inspect JOBS.json [--render ROP ...]
    hython -m pm_houdini.farm render --hip FILE --node ROP --frames START END [STEP]

`inspect` is what `pm farm submit` runs on the submitting machine before anything is
submitted: it reads the job file with the batch's own parser, opens each hip, and checks
every node the way the batch will on the farm (a LOP node or a USD ROP to publish, a ROP
to render first), resolving each publish's asset, part and request id exactly as the
batch does. It prints one JSON document; an error is `{"ok": false, "error": ...}` and
the error's exit code (docs/houdini.md), naming the job and field.

`render` renders a ROP for a frame range: the render step of an Open Job Description
job (Deadline runs its own Houdini plugin instead). Exit codes as the batch's.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import hou

from pm_db.errors import PmError, ValidationError
from pm_houdini import batch
from pm_houdini import context as pm_context
from pm_houdini import publish as pm_publish
from pm_houdini.errors import WriteFailed, describe


def inspect(jobs_file: str, renders: Sequence[str]) -> dict[str, Any]:
    """What the farm will publish and render, checked. Raises ValidationError, NotFound,
    Unavailable (the database or service), each naming the job and field."""
    jobs = batch.load_jobs(jobs_file)
    backend = pm_context.backend()
    hips = sorted({job.hip for job in jobs})
    if renders and len(hips) != 1:
        raise ValidationError("renders go with one hip file; this job file names several", "render")
    checked: list[dict[str, Any]] = []
    for index, job in enumerate(jobs):
        where = f"jobs[{index}]"
        try:
            batch.open_hip(job.hip)
            scene = backend.find_scene_by_path(hou.hipFile.path())
            target = pm_publish.collect(
                job.node, job.asset, job.part, job.frame_range, default_asset=scene.name
            )
        except PmError as exc:
            raise type(exc)(exc.message, field=f"{where}.{exc.field or 'node'}") from exc
        checked.append(
            {
                "id": job.id,
                "hip": job.hip,
                "node": target.path,
                "kind": target.kind,
                "asset": target.asset,
                "part": target.part,
                "frame_range": list(job.frame_range) if job.frame_range else None,
                "request_id": job.request_id or pm_publish.request_id_for(scene, target, "batch"),
                "scene": scene.model_dump(mode="json"),
            }
        )
    rendered = [_check_render(node) for node in renders]
    major, minor, _patch = hou.applicationVersion()
    return {"ok": True, "houdini_version": f"{major}.{minor}", "jobs": checked, "renders": rendered}


def _check_render(node_path: str) -> dict[str, Any]:
    """A ROP to render before the publishes, and the frames its own parameters ask for."""
    node = pm_publish.find_node(node_path)
    if not isinstance(node, hou.RopNode):
        category = node.type().category().name()
        raise ValidationError(
            f"{node_path} is a {category} node ({node.type().name()}); only ROPs render",
            field="render",
        )
    if node.isBypassed():
        raise ValidationError(f"{node_path} is bypassed", field="render")
    return {
        "node": node.path(),
        "type": node.type().name(),
        "frame_range": pm_publish.node_frame_range(node),
    }


def render(hip: str, node_path: str, frames: Sequence[float]) -> None:
    """Render the ROP at `node_path` of `hip` for `frames` (start, end[, step]). Raises
    NotFound, ValidationError, WriteFailed."""
    frame_range = pm_publish.check_frame_range(frames)
    batch.open_hip(hip)
    node = pm_publish.find_node(node_path)
    if not isinstance(node, hou.RopNode):
        raise ValidationError(f"{node_path} is not a ROP", field="node")
    try:
        node.render(frame_range=frame_range or (), ignore_inputs=False, output_progress=True)
    except hou.Error as exc:
        raise WriteFailed(f"{node_path} failed: {describe(exc)}", field="node") from exc
    errors = [e for e in node.errors() if e.strip()]
    if errors:
        raise WriteFailed(f"{node_path} failed: {' '.join(errors)}", field="node")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hython -m pm_houdini.farm", description="Check and render for pm's farm jobs."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser("inspect", help="check a job file before it is submitted")
    check.add_argument("jobs", help='a pm job file: {"jobs": [{"hip": ..., "node": ...}]}')
    check.add_argument("--render", action="append", default=[], help="a ROP to render first")
    run = commands.add_parser("render", help="render a ROP for a frame range")
    run.add_argument("--hip", required=True)
    run.add_argument("--node", required=True)
    run.add_argument("--frames", nargs="+", type=float, required=True, metavar="FRAME")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "inspect":
            print(json.dumps(inspect(args.jobs, args.render)))
        else:
            render(args.hip, args.node, args.frames)
    except PmError as exc:
        print(json.dumps({"ok": False, "exit_code": exc.exit_code, "error": exc.as_dict()}))
        print(f"pm farm: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
