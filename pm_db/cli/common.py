"""Helpers every command module shares: the leaf parser and the database handle."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pm_db.db import Database, open_database

Subparsers = "argparse._SubParsersAction[argparse.ArgumentParser]"


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
    """JSON from a file path, or from stdin when `source` is '-'."""
    from pm_db.errors import ValidationError

    try:
        raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {source}: {exc.strerror}", field="payload") from exc
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"is not valid JSON: {exc}", field="payload") from exc
