"""Helpers every command module shares: the parser class, leaf parsers, the database handle."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from pm_db.db import Database, open_database
from pm_db.errors import ValidationError

_ARGUMENT = re.compile(r"argument (?P<flags>[^:]+): (?P<message>.*)", re.S)
_REQUIRED = re.compile(r"the following arguments are required: (?P<names>.*)", re.S)
_UNKNOWN = re.compile(r"unrecognized arguments: (?P<names>.*)", re.S)


def usage_error(message: str) -> ValidationError:
    """argparse's complaint as a ValidationError naming the flag it is about."""
    if match := _ARGUMENT.fullmatch(message):
        flag = match["flags"].split("/")[-1]
        return ValidationError(match["message"], field=flag)
    if match := _REQUIRED.fullmatch(message):
        first, *others = match["names"].split(", ")
        also = f" (so are {', '.join(others)})" if others else ""
        return ValidationError(f"is required{also}", field=first)
    if match := _UNKNOWN.fullmatch(message):
        first = match["names"].split()[0]
        return ValidationError("is not an option of this command (see --help)", field=first)
    return ValidationError(message)


class CommandParser(argparse.ArgumentParser):
    """A parser whose complaints are pm errors: one line on stderr naming the flag, exit 2,
    and the JSON error envelope with --json, like every other error."""

    def error(self, message: str) -> NoReturn:
        raise usage_error(message)


def wants_json(argv: list[str] | None) -> bool:
    """Whether the command line asks for JSON (for errors found before parsing ends)."""
    return "--json" in (sys.argv[1:] if argv is None else argv)


def leaf(commands: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    """A subcommand parser that takes `--json`."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help_text, description=help_text
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser


def group(commands: Any, name: str, help_text: str) -> Any:
    """A subcommand that has subcommands of its own."""
    parser = commands.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)


def database() -> Database:
    """The configured database (PM_DB_URL, PM_DB_NAME..., or the SQLite default)."""
    return open_database()


def read_json(source: str) -> Any:
    """JSON from a file path, or from stdin when `source` is '-', read by the one JSON
    reader every front end uses (pm_db.schemas.load_json); raises ValidationError."""
    from pm_db.schemas import load_json

    try:
        raw = _stdin_bytes() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {source}: {exc.strerror}", field="payload") from exc
    return load_json(raw, field="payload")


def _stdin_bytes() -> bytes | str:
    """Standard input as bytes, or as text where it has no byte stream (an embedding
    host's console replaces sys.stdin with a text object)."""
    stream = getattr(sys.stdin, "buffer", None)
    return stream.read() if stream is not None else sys.stdin.read()


def whole_number(value: str) -> int:
    """An argparse type: the flag's value as an int, or argparse's one-line error."""
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None
