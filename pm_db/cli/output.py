"""How the CLI shows results and errors: one JSON document, or readable text."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from pm_db.config import redact
from pm_db.errors import PmError


def plain(value: Any) -> Any:
    """`value` as JSON-ready data (pydantic models dumped, lists and dicts walked)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(none)"
    columns = [c for c in rows[0] if not isinstance(rows[0][c], dict | list)]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else "..." + text[-77:]


def text(value: Any) -> str:
    """A readable rendering: a table for a list of records, `key: value` lines otherwise."""
    data = plain(value)
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return _table(data)
    if isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        return "\n".join(
            f"{k.ljust(width)}  {json.dumps(v) if isinstance(v, dict | list) else v}"
            for k, v in data.items()
        )
    return str(data)


def _write(document: str) -> None:
    """Print `document` on stdout; a reader that stopped early (`pm ... | head`) is fine."""
    try:
        print(document)
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at nothing, so the flush at exit does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def show(result: Any, as_json: bool) -> None:
    """Print a command's result: one JSON document with `as_json`, else readable text."""
    if as_json:
        _write(json.dumps(plain(result), indent=2, sort_keys=False))
    elif result is not None:
        _write(text(result))


def fail(error: PmError, as_json: bool) -> int:
    """Report `error` as one line on stderr (and the envelope on stdout with --json), with
    passwords and tokens redacted; returns the exit code."""
    message = " ".join(redact(str(error)).split())
    if as_json:
        envelope = {**error.as_dict(), "message": " ".join(redact(error.message).split())}
        _write(json.dumps({"ok": False, "error": envelope}))
    print(f"pm: error: {message}", file=sys.stderr)
    return error.exit_code
