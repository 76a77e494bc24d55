"""`pm KIND import FILE`: many records from a CSV or JSON file, all or nothing.

A row names what it points at by code, as the flags do: `project` (code), `sequence`
(code, in the row's project), `shot` (`SEQUENCE/SHOT`), `asset` (code), `artist`
(login); ids (`project_id`, `target_type` + `target_id`...) work too. CSV cells are text:
whole numbers and yes/no are read by column, an empty cell is left out. Every row is
read and checked before anything is written (pm_db.services.entities.create_many), and
an error names its row: `items[3].code` in JSON, `line 5.code` in CSV (line 1 is the
header). Progress goes to stderr (pm_db.cli.progress).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from pm_db.cli.common import database, read_json
from pm_db.cli.progress import Progress
from pm_db.errors import NotFound, PmError, ValidationError

INTEGERS = {"frame_start", "frame_end", "project_id", "sequence_id", "target_id", "artist_id"}
YES_NO = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
BOOLEANS = {"active": YES_NO}
LOOKUP_PAGE = 100_000

IMPORT_EPILOG = {
    "project": """columns: code, name, root_linux, root_windows, root_mac, templates (JSON)
example:
  pm project import projects.csv
""",
    "sequence": """columns: project (code) or project_id, code
example:
  pm sequence import sequences.csv
""",
    "shot": """columns: project, sequence (codes) or sequence_id, code, frame_start, frame_end
example:
  pm shot import shots.csv
""",
    "asset": """columns: project (code) or project_id, code, type
example:
  pm asset import assets.json
""",
    "artist": """columns: login, name, email, active (yes/no)
example:
  pm artist import artists.csv
""",
    "task": """columns: project, shot (SEQUENCE/SHOT) or asset (code), step, name,
  artist (login), status; or target_type + target_id and artist_id
example:
  pm task import tasks.csv
""",
}


def read_rows(source: str, form: str | None) -> tuple[list[Any], str]:
    """The rows of a CSV or JSON file (JSON: a list of objects) and the format read."""
    form = form or ("csv" if source.lower().endswith(".csv") else "json")
    if form == "json":
        return read_json(source), form
    try:
        raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationError(f"cannot read {source}: {exc.strerror}", field="file") from exc
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    rows = []
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise ValidationError("has more cells than the header", field=f"line {number}")
        rows.append({k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()})
    return rows, form


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row's cells as the numbers and booleans their columns hold."""
    typed: dict[str, Any] = {}
    for name, value in row.items():
        if name in INTEGERS and isinstance(value, str) and value.lstrip("-").isdigit():
            typed[name] = int(value)
        elif name in BOOLEANS and isinstance(value, str) and value.lower() in BOOLEANS[name]:
            typed[name] = BOOLEANS[name][value.lower()]
        elif name == "templates" and isinstance(value, str):
            try:
                typed[name] = json.loads(value)
            except json.JSONDecodeError:
                raise ValidationError("is not valid JSON", field=name) from None
        else:
            typed[name] = value
    return typed


class CodeBook:
    """Codes to ids, loaded once per kind and project (an import of 100,000 tasks asks
    for a few thousand shots many times)."""

    def __init__(self) -> None:
        self.db = database()
        self.maps: dict[tuple[str, int | None], dict[str, int]] = {}

    def _records(self, kind: str, **filters: Any) -> list[Any]:
        from pm_db.services import entities

        found: list[Any] = []
        while True:
            page = entities.list_(self.db, kind, limit=LOOKUP_PAGE, offset=len(found), **filters)
            found += page
            if len(page) < LOOKUP_PAGE:
                return found

    def _map(self, kind: str, project: int | None) -> dict[str, int]:
        key = (kind, project)
        if key not in self.maps:
            scope = {} if project is None else {"project_id": project}
            records = self._records(kind, **scope)
            if kind == "shot":
                sequences = {v: k for k, v in self._map("sequence", project).items()}
                codes = {f"{sequences.get(r.sequence_id)}/{r.code}".lower(): r.id for r in records}
            elif kind == "artist":
                codes = {r.login.lower(): r.id for r in records}
            else:
                codes = {r.code.lower(): r.id for r in records}
            self.maps[key] = codes
        return self.maps[key]

    def id_of(self, kind: str, code: Any, field: str, project: int | None = None) -> int:
        """The id of the `kind` with `code` (in `project`); a number no code matches is an
        id. Raises NotFound or ValidationError naming `field`."""
        text = str(code).strip()
        found = self._map(kind, project).get(text.lower())
        if found is not None:
            return found
        if text.isdigit():
            return int(text)
        where = "" if project is None else " in the row's project"
        raise NotFound(f"no {kind} with code {text!r}{where}", field=field)


def with_ids(kind: str, row: Any, book: CodeBook) -> Any:
    """`row` with its codes turned into the ids the service takes."""
    if not isinstance(row, dict):
        return row
    row = _typed(row)
    project = book.id_of("project", row.pop("project"), "project") if "project" in row else None
    if project is not None and kind in ("sequence", "asset"):
        row["project_id"] = project
    if "sequence" in row:
        if project is None:
            raise ValidationError("is needed to look the sequence code up", "project")
        row["sequence_id"] = book.id_of("sequence", row.pop("sequence"), "sequence", project)
    if kind == "asset" and "type" in row:
        row["asset_type"] = row.pop("type")
    if kind == "task":
        for target in ("shot", "asset"):
            if target in row:
                if project is None:
                    raise ValidationError(f"is needed to look the {target} up", "project")
                row["target_type"] = target
                row["target_id"] = book.id_of(target, row.pop(target), target, project)
    if "artist" in row:
        row["artist_id"] = book.id_of("artist", row.pop("artist"), "artist")
    return row


def _where(form: str, index: int, field: str | None) -> str:
    """An error's place: `items[3].code` in JSON, `line 5.code` in CSV."""
    place = f"line {index + 2}" if form == "csv" else f"items[{index}]"
    return f"{place}.{field}" if field else place


def import_file(kind: str, source: str, form: str | None, quiet: bool) -> dict[str, Any]:
    """Create every record of the file, or none; returns what was created."""
    from pm_db.services import entities

    book = CodeBook()
    rows, form = read_rows(source, form)
    if not isinstance(rows, list) or not rows:
        raise ValidationError("must hold at least one row (a JSON list of objects)", "file")
    items = []
    with Progress(f"reading {kind}s", quiet=quiet) as progress:
        for index, row in enumerate(rows):
            try:
                items.append(with_ids(kind, row, book))
            except PmError as exc:
                raise type(exc)(exc.message, field=_where(form, index, exc.field)) from None
            if index % 1000 == 0:
                progress(index, len(rows))
        progress(len(rows), len(rows))
    with Progress(f"importing {kind}s", quiet=quiet) as progress:
        try:
            created = entities.create_many(book.db, kind, items, progress)
        except PmError as exc:
            raise type(exc)(exc.message, field=_csv_field(form, exc.field)) from None
    return {
        "kind": kind,
        "created": len(created),
        "first_id": created[0].id,
        "last_id": created[-1].id,
    }


def _csv_field(form: str, field: str | None) -> str | None:
    """`items[3].code` as `line 5.code` for a CSV file."""
    if form != "csv" or not field or not field.startswith("items["):
        return field
    index, _, rest = field[len("items[") :].partition("]")
    return _where(form, int(index), rest.lstrip(".") or None)
