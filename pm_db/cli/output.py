"""How the CLI shows results and errors (docs/cli.md, "Output"):

- with --json, exactly one JSON document on stdout, the REST service's envelope:
  `{"ok": true, "data": ...}` (a list adds `"page": {offset, limit, count, more}`), or
  `{"ok": false, "error": {"code", "message", "field"}}`;
- without, readable text: a table for a list (fitted to 120 columns unless --wide, and a
  last line saying how to read on when more rows follow), `key  value` lines for a record;
- errors are also one line on stderr: `pm: error: FIELD: message`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from pm_db.errors import PmError

TABLE_WIDTH = 120
GAP = "  "


def plain(value: Any) -> Any:
    """`value` as JSON-ready data (pydantic models dumped, lists and dicts walked)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else " ".join(str(value).split())


def _shorten(text: str, width: int) -> str:
    """`text` in `width` characters: paths keep their end, other text its start."""
    if len(text) <= width:
        return text
    if width <= 3:
        return text[:width]
    if "/" in text or "\\" in text:
        return "..." + text[-(width - 3) :]
    return text[: width - 3] + "..."


def _fit(widths: list[int], limit: int) -> list[int]:
    """Column widths that fit `limit` characters: the widest columns shrink first."""
    fitted = list(widths)
    room = limit - len(GAP) * (len(widths) - 1)
    while sum(fitted) > room:
        widest = max(range(len(fitted)), key=lambda i: fitted[i])
        if fitted[widest] <= 8:
            break
        fitted[widest] -= 1
    return fitted


def table(rows: list[dict[str, Any]], wide: bool = False) -> str:
    """Rows as a table under a header; fitted to TABLE_WIDTH columns unless `wide`."""
    if not rows:
        return "(none)"
    columns = [c for c in rows[0] if not isinstance(rows[0][c], dict | list)]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    if not wide:
        widths = _fit(widths, TABLE_WIDTH)
    lines = [GAP.join(_shorten(c, w).ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [
        GAP.join(_shorten(v, w).ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells
    ]
    return "\n".join(line.rstrip() for line in lines)


def text(value: Any, wide: bool = False) -> str:
    """A readable rendering: a table for a list of records, `key  value` lines otherwise."""
    data = plain(value)
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        rendered = table(data, wide)
        page = getattr(value, "info", None)
        if callable(page):
            info = page()
            if info["more"]:
                rendered += (
                    f"\n(rows {info['offset'] + 1} to {info['offset'] + info['count']}; more "
                    f"follow: --offset {info['offset'] + info['count']})"
                )
        return rendered
    if isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        return "\n".join(
            f"{k.ljust(width)}  {json.dumps(v) if isinstance(v, dict | list) else _cell(v)}"
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


def envelope(result: Any) -> dict[str, Any]:
    """The success envelope of `result`."""
    document: dict[str, Any] = {"ok": True, "data": plain(result)}
    page = getattr(result, "info", None)
    if callable(page):
        document["page"] = page()
    return document


def show(result: Any, as_json: bool, wide: bool = False) -> None:
    """Print a command's result: the JSON envelope with `as_json`, else readable text."""
    if as_json:
        _write(json.dumps(envelope(result), indent=2))
    elif result is not None:
        _write(text(result, wide))


def fail(error: PmError, as_json: bool) -> int:
    """Report `error` as one line on stderr (and the envelope on stdout with --json), with
    passwords and tokens redacted; returns the exit code."""
    from pm_db.config import redact

    message = " ".join(redact(str(error)).split())
    if as_json:
        detail = {**error.as_dict(), "message": " ".join(redact(error.message).split())}
        _write(json.dumps({"ok": False, "error": detail}))
    print(f"pm: error: {message}", file=sys.stderr)
    return error.exit_code
