"""Helpers every command module shares: the parser class, leaf parsers, the database or
service a command talks to, paging."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from pm_db.errors import ConfigError, Unavailable, ValidationError

if TYPE_CHECKING:
    from pm_db.backend import Backend
    from pm_db.db import Database

_ARGUMENT = re.compile(r"argument (?P<flags>[^:]+): (?P<message>.*)", re.S)
_REQUIRED = re.compile(r"the following arguments are required: (?P<names>.*)", re.S)
_UNKNOWN = re.compile(r"unrecognized arguments: (?P<names>.*)", re.S)

NEEDS_DATABASE = "this command needs a database; PM_API_URL is set"
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100


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


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """The options every command takes, anywhere on the line (pm_db.cli.app reads them)."""
    options = parser.add_argument_group("global options (anywhere on the line)")
    options.add_argument("--json", action="store_true", help="print one JSON document")
    options.add_argument(
        "--wide", action="store_true", help="tables show every column (default: fit 120)"
    )
    options.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more on stderr (-vv: also SQL); or set PM_LOG_LEVEL",
    )


def leaf(commands: Any, name: str, help_text: str, epilog: str | None = None) -> Any:
    """A subcommand parser; `epilog` holds its examples (tests/test_cli_docs.py runs
    every line of it that starts with `pm `)."""
    parser = commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_global_options(parser)
    return parser


def group(commands: Any, name: str, help_text: str) -> Any:
    """A subcommand that has subcommands of its own; alone, it prints its help."""
    parser = commands.add_parser(name, help=help_text, description=help_text)
    add_global_options(parser)
    parser.set_defaults(run=lambda _args: HelpText(parser.format_help()))
    return parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND")


class HelpText(str):
    """A command's help, printed as it is (a group named without its subcommand)."""


def remote() -> bool:
    """Whether PM_API_URL selects the REST service."""
    from pm_db.config import load_settings

    return bool(load_settings().api_url)


def backend() -> Backend:
    """The REST service when PM_API_URL is set, else the database (a missing SQLite file
    is refused, never made)."""
    from pm_db.backend import LocalBackend, get_backend

    if remote():
        return get_backend()
    return LocalBackend(db=database())


def database(create: bool = False) -> Database:
    """The configured database (PM_DB_URL, PM_DB_NAME..., or the SQLite default). Raises
    ConfigError when PM_API_URL is set (the command has no REST counterpart), Unavailable
    when a SQLite file does not exist and `create` is false: only `pm db upgrade` and
    `pm demo` make one."""
    from pm_db.config import load_settings
    from pm_db.db import missing_sqlite_file, open_database

    settings = load_settings()
    if settings.api_url:
        raise ConfigError(NEEDS_DATABASE, field="PM_API_URL")
    missing = missing_sqlite_file(settings.db_url)
    if missing and not create:
        raise Unavailable(
            f"no pm database at {missing}: run `pm db upgrade` to make one", field="PM_DB_URL"
        )
    return open_database(settings)


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


def task_id(value: str) -> int:
    """An argparse type for --task: a task id, 1 or more."""
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a task id (a whole number), got {value!r}")
    return int(value)


def page_size(value: str) -> int:
    """An argparse type for --limit: 1 to MAX_LIMIT."""
    number = whole_number(value)
    if not 1 <= number <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_LIMIT}, got {number}")
    return number


def page_start(value: str) -> int:
    """An argparse type for --offset: 0 or more."""
    number = whole_number(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def add_paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit", type=page_size, default=DEFAULT_LIMIT, help=f"rows per page (1 to {MAX_LIMIT})"
    )
    parser.add_argument("--offset", type=page_start, default=0, help="skip this many rows first")


class Page(list[Any]):
    """One page of a list: its rows, and whether more follow (--offset to read on)."""

    def __init__(self, rows: list[Any], offset: int, limit: int) -> None:
        super().__init__(rows[:limit])
        self.offset = offset
        self.limit = limit
        self.more = len(rows) > limit

    def info(self) -> dict[str, Any]:
        return {"offset": self.offset, "limit": self.limit, "count": len(self), "more": self.more}


def project_default(given: str | None) -> str | None:
    """--project, else $PM_PROJECT."""
    return given or os.environ.get("PM_PROJECT") or None


def artist_default(given: str | None) -> str | None:
    """--artist, else $PM_ARTIST."""
    return given or os.environ.get("PM_ARTIST") or None
