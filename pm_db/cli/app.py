"""The `pm` parser and one run of it. Each command module registers its subcommands;
global options (--json, --wide, -v) are read anywhere on the line; every command prints
one JSON document with --json, and every error is one line on stderr naming the field,
with a non-zero exit code (see pm_db.errors for the codes)."""

from __future__ import annotations

import argparse
import logging
import os
import re
from dataclasses import dataclass

from pm_db.cli import (
    admin_commands,
    entity_commands,
    event_commands,
    farm_commands,
    houdini_commands,
    launch_commands,
    offline_commands,
    path_commands,
    publish_commands,
    serve_commands,
    tool_commands,
    usd_commands,
)
from pm_db.cli.common import CommandParser, add_global_options, usage_error
from pm_db.cli.output import fail, show
from pm_db.errors import ConfigError, PmError

COMMAND_MODULES = [
    admin_commands,
    entity_commands,
    event_commands,
    farm_commands,
    houdini_commands,
    launch_commands,
    offline_commands,
    path_commands,
    publish_commands,
    serve_commands,
    tool_commands,
    usd_commands,
]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_VERBOSE = re.compile(r"-v+")

# Flags that name a project or an artist take $PM_PROJECT and $PM_ARTIST when not given.
ENV_DEFAULTS = {"--project": "PM_PROJECT", "--artist": "PM_ARTIST"}


@dataclass
class GlobalOptions:
    json: bool = False
    wide: bool = False
    verbose: int = 0


def split_global_options(words: list[str]) -> tuple[list[str], GlobalOptions]:
    """The words without the global options, and those options (anywhere before `--`)."""
    found = GlobalOptions()
    rest: list[str] = []
    for index, word in enumerate(words):
        if word == "--":
            rest += words[index:]
            break
        if word == "--json":
            found.json = True
        elif word == "--wide":
            found.wide = True
        elif word == "--verbose":
            found.verbose += 1
        elif _VERBOSE.fullmatch(word):
            found.verbose += len(word) - 1
        else:
            rest.append(word)
    return rest, found


def build_parser() -> argparse.ArgumentParser:
    from pm_db import __version__

    parser = CommandParser(
        prog="pm",
        description="pm: deterministic saves and USD publishes for Houdini.",
        epilog="`pm COMMAND --help` shows a command's options and examples; docs/cli.md has "
        "the output rules and exit codes.",
    )
    parser.add_argument("--version", action="version", version=f"pm {__version__}")
    add_global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    _environment_defaults(parser)
    return parser


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """`parser` and every subcommand parser under it."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += _parsers(child)
    return found


def _environment_defaults(parser: argparse.ArgumentParser) -> None:
    """--project and --artist default to $PM_PROJECT and $PM_ARTIST, wherever they are."""
    for sub in _parsers(parser):
        for action in sub._actions:
            named = [ENV_DEFAULTS[o] for o in action.option_strings if o in ENV_DEFAULTS]
            if not named:
                continue
            variable = named[0]
            action.help = f"{action.help or ''} (default: ${variable})".strip()
            value = os.environ.get(variable)
            if value:
                action.default = value
                action.required = False


def configure_logging(verbose: int) -> None:
    """Log to stderr at -v (INFO), -vv (DEBUG, with SQL) or $PM_LOG_LEVEL; raises ConfigError."""
    named = os.environ.get("PM_LOG_LEVEL", "").strip().upper()
    if named and named not in LOG_LEVELS:
        raise ConfigError(f"must be one of {', '.join(LOG_LEVELS)}", field="PM_LOG_LEVEL")
    level = {0: named or "WARNING", 1: "INFO"}.get(verbose, "DEBUG")
    logging.basicConfig(level=level, format="pm: %(levelname)s: %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    if level == "DEBUG":
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)


def _take_pairs(args: argparse.Namespace, extra: list[str]) -> None:
    """FIELD=VALUE pairs after other options (`pm path format T --task 3 version=2`) join
    the command's `fields`; any other leftover word is refused, naming it."""
    pairs = [word for word in extra if "=" in word and not word.startswith("-")]
    if hasattr(args, "fields") and len(pairs) == len(extra):
        args.fields = [*args.fields, *pairs]
        return
    if extra:
        raise usage_error(f"unrecognized arguments: {' '.join(extra)}")


def run(words: list[str]) -> int:
    """Parse `words` and run the command; returns the exit code."""
    words, options = split_global_options(words)
    try:
        configure_logging(options.verbose)
        parser = build_parser()
        if not words:
            show(parser.format_help().rstrip(), as_json=False)
            return 0
        args, extra = parser.parse_known_args(publish_commands.with_payload_verb(words))
        _take_pairs(args, extra)
    except PmError as exc:
        return fail(exc, as_json=options.json)
    args.json, args.wide, args.verbose = options.json, options.wide, options.verbose
    try:
        result = args.run(args)
    except PmError as exc:
        return fail(exc, as_json=options.json)
    show(result, as_json=options.json, wide=options.wide)
    # A command that ran but found problems (e.g. `pm doctor`) sets its own status.
    return int(getattr(args, "exit_status", 0))
