"""`pm launcher` (the artist's desktop window) and `pm launch DCC --task ID` (its command
line twin): start a DCC with the pipeline context of a task."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pm_db.cli.common import leaf, task_id


def register(commands: Any) -> None:
    launch = leaf(commands, "launch", "start a DCC for a task with the pipeline context")
    launch.add_argument("dcc", help="which application, e.g. houdini")
    launch.add_argument("--task", type=task_id, required=True, help="task id")
    launch.add_argument(
        "--artist", help="artist login (default: $PM_ARTIST, else the task's artist)"
    )
    launch.add_argument(
        "--dry-run",
        action="store_true",
        help="check everything and show the command and context; start nothing",
    )
    launch.set_defaults(run=_launch)
    window = leaf(commands, "launcher", "open the launcher window: pick a task, start Houdini")
    window.set_defaults(run=_launcher)


def _launch(args: argparse.Namespace) -> Any:
    from pm_db import launch
    from pm_db.cli.common import backend as selected

    backend = selected()
    plan = launch.plan_launch(backend, args.dcc, args.task, args.artist)
    for note in plan.notes:
        print(f"pm: note: {note}", file=sys.stderr)
    if args.dry_run:
        return {
            "dcc": plan.dcc,
            "command": plan.command,
            "executable_from": plan.executable.source,
            "task_id": plan.task.id,
            "target": f"{plan.task.project} {plan.task.target}",
            "artist": plan.artist,
            "context": plan.context,
        }
    result = launch.start(backend, plan)
    return {
        "dcc": result.dcc,
        "pid": result.pid,
        "command": result.command,
        "task_id": result.task_id,
        "artist": result.artist,
        "event_id": result.event_id,
        "context": result.context,
    }


def _launcher(args: argparse.Namespace) -> Any:
    from pm_db.errors import ConfigError

    try:
        from pm_houdini.launcher import run
    except ImportError as exc:
        raise ConfigError(
            f"the launcher needs Qt ({exc}); install it with: pip install 'pm-pipeline[ui]'",
            field="PySide6",
        ) from exc
    code = run()
    if code:
        raise SystemExit(code)
    return None
