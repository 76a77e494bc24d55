"""`pm farm submit` and `pm farm template`: publishing on the studio's farm (docs/farm.md).

Both check everything first (deadlinecommand, hython, the hip files, every node, the
database or service) and submit or write nothing if any check fails."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from pm_db.cli.common import group, leaf, whole_number


def register(commands: Any) -> None:
    farm = group(commands, "farm", "publish on the farm: Deadline jobs, Open Job Description")
    submit = leaf(
        farm, "submit", "submit render and pm publish jobs to Thinkbox Deadline (deadlinecommand)"
    )
    _inputs(submit)
    submit.add_argument("--pool", help="Deadline pool")
    submit.add_argument("--group", help="Deadline group")
    submit.add_argument("--priority", type=whole_number, default=50, help="0-100 (default 50)")
    submit.add_argument(
        "--chunk-size", type=whole_number, default=10, help="frames per render task (default 10)"
    )
    submit.add_argument("--comment", help="Deadline job comment")
    submit.add_argument("--suspended", action="store_true", help="submit the jobs suspended")
    submit.add_argument("--deadlinecommand", help="deadlinecommand (default: $DEADLINE_PATH, PATH)")
    submit.add_argument(
        "--dry-run", action="store_true", help="write the job files and submit nothing"
    )
    submit.set_defaults(run=_submit)
    template = leaf(
        farm, "template", "write the same submission as an Open Job Description template"
    )
    _inputs(template)
    template.set_defaults(run=_template)


def _inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hip", help="a hip file saved with pm")
    parser.add_argument(
        "--node", action="append", default=[], help="a LOP node or USD ROP to publish (repeat)"
    )
    parser.add_argument("--jobs", help="a pm job file instead of --hip/--node (docs/houdini.md)")
    parser.add_argument("--asset", help="asset name (default: the node's, else the scene's)")
    parser.add_argument("--part", help="part name (default: the node's)")
    parser.add_argument(
        "--frame-range", nargs="+", type=float, metavar="FRAME", help="START END [STEP]"
    )
    parser.add_argument(
        "--render", action="append", default=[], help="a ROP to render before publishing (repeat)"
    )
    parser.add_argument(
        "--render-frames", nargs="+", type=float, metavar="FRAME", help="START END [STEP] to render"
    )
    parser.add_argument("--name", help="batch name (default: the scene, e.g. PinchIn_v003_i008)")
    parser.add_argument("--hython", help="hython (default: $PM_HYTHON, $HFS/bin/hython, PATH)")
    parser.add_argument("--out", help="folder for the files (default: $PM_HOME/farm/HIP-NAME)")


def _plan(args: argparse.Namespace, env: dict[str, str]) -> tuple[Any, Path]:
    from pm_db.backend import get_backend
    from pm_db.farm import plan

    request = plan.Request(
        hip=args.hip,
        nodes=tuple(args.node),
        jobs_file=args.jobs,
        asset=args.asset,
        part=args.part,
        frame_range=tuple(args.frame_range) if args.frame_range else None,
        renders=tuple(args.render),
        render_frames=tuple(args.render_frames) if args.render_frames else None,
        name=args.name,
    )
    source = args.jobs or args.hip or "submission"
    workdir = (
        Path(args.out).absolute() if args.out else plan.default_workdir(env, Path(source).stem)
    )
    hython = plan.find_hython(args.hython, env)
    return plan.build_plan(request, hython, get_backend(), workdir, env), workdir


def _submit(args: argparse.Namespace) -> dict[str, Any]:
    from pm_db.farm import deadline

    env = dict(os.environ)
    command = None if args.dry_run else deadline.find_deadlinecommand(args.deadlinecommand, env)
    farm_plan, workdir = _plan(args, env)
    settings = deadline.JobSettings(
        pool=args.pool,
        group=args.group,
        priority=args.priority,
        chunk_size=args.chunk_size,
        comment=args.comment,
        suspended=args.suspended,
    )
    jobs = deadline.jobs_for(farm_plan, settings)
    if command is None:
        deadline.write_files(jobs, workdir)
        return deadline.write_record(jobs, workdir, dry_run=True)
    return deadline.submit(jobs, workdir, command)


def _template(args: argparse.Namespace) -> dict[str, Any]:
    from pm_db.farm import openjd

    farm_plan, workdir = _plan(args, dict(os.environ))
    template = openjd.template_for(farm_plan)
    openjd.validate(template)
    path = openjd.write_template(template, workdir / "pm_job_template.json")
    return {"template": str(path), "steps": [step["name"] for step in template["steps"]]}
