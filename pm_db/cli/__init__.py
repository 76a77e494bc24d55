"""The `pm` command line. Each command module registers its subcommands; every command
prints exactly one JSON document with `--json`, and every error is one line on stderr
naming the field, with a non-zero exit code (see pm_db.errors for the codes)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pm_db.cli import (
    admin_commands,
    entity_commands,
    event_commands,
    houdini_commands,
    launch_commands,
    path_commands,
    publish_commands,
    serve_commands,
    usd_commands,
)
from pm_db.cli.common import CommandParser, wants_json
from pm_db.cli.output import fail, show
from pm_db.errors import PmError

COMMAND_MODULES = [
    admin_commands,
    entity_commands,
    event_commands,
    houdini_commands,
    launch_commands,
    path_commands,
    publish_commands,
    serve_commands,
    usd_commands,
]


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="pm", description="pm: deterministic saves and USD publishes for Houdini."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `pm` command; returns the exit code."""
    parser = build_parser()
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(publish_commands.with_payload_verb(words))
    except PmError as exc:
        return fail(exc, as_json=wants_json(words))
    try:
        result = args.run(args)
    except PmError as exc:
        return fail(exc, as_json=getattr(args, "json", False))
    except KeyboardInterrupt:
        print("pm: interrupted", file=sys.stderr)
        return 130
    show(result, as_json=getattr(args, "json", False))
    # A command that ran but found problems (e.g. `pm doctor`) sets its own status.
    return int(getattr(args, "exit_status", 0))
