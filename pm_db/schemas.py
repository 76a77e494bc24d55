"""Input and output models (pydantic v2) of the service layer, and the rules every input
meets whichever front end (CLI, REST, Python backend, hython) it came through.

Input models check types and the name rules; `parse(Model, data)` turns any failure into
pm's ValidationError naming the field, so every front end reports it the same way. Before
a model sees them, the values pass `check_json`: text a database can store (no NUL, no
lone surrogate), bounded nesting, whole numbers that fit 64 bits. `load_json` is the one
JSON reader (CLI files and stdin, REST bodies): the same rules, and a clear error for
bytes that are not UTF-8 JSON.
"""

from __future__ import annotations

import contextvars
import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    computed_field,
    model_validator,
)

from pm_db.errors import ValidationError
from pm_db.names import MAX_NAME, WINDOWS_DEVICES, check_login, check_lower_name, check_name
from pm_db.templates import check_overrides, normalize_path

MAX_METADATA_BYTES = 64 * 1024
MAX_DEPTH = 32
"""How deep objects and lists may nest in any input (metadata holds the deepest)."""
MAX_JSON_DIGITS = 100
"""The longest number a JSON text may spell: a longer one is refused while reading (a
5,000-digit number costs real time to convert); a shorter one that does not fit 64 bits
is refused by check_json, naming its field."""
MAX_ID = 2**62
"""The largest record id accepted (ids are 64-bit on both databases)."""
MAX_INT = 2**63 - 1
TASK_STATUSES = ("todo", "wip", "review", "approved", "done", "omit")
PUBLISH_STATUSES = ("pending", "published", "failed", "deprecated")


def check_text(value: str, field: str) -> str:
    """`value` if a database can store it: no NUL character (PostgreSQL refuses it), no
    lone surrogate (not UTF-8). Raises ValidationError naming `field`."""
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("is not valid Unicode text (a lone surrogate)", field=field) from None
    return value


def check_json(value: object, field: str = "") -> None:
    """Every key and string inside `value` passes check_text, objects and lists nest at
    most MAX_DEPTH deep, whole numbers fit 64 bits (metadata refuses NaN and infinities
    when it is measured; no other field takes a fraction). Raises
    ValidationError naming the dotted path of the culprit (`field` for the top)."""
    pending: list[tuple[object, str, int]] = [(value, field, 0)]
    while pending:
        item, path, depth = pending.pop()
        where = path or "payload"
        if isinstance(item, str):
            check_text(item, where)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -MAX_INT - 1 <= item <= MAX_INT:
                raise ValidationError("is a whole number larger than 64 bits", field=where)
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise ValidationError(f"nests deeper than {MAX_DEPTH} levels", field=where)
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    check_text(key, name)
                pending.append((child, name, depth + 1))


def check_id(value: object, field: str) -> int:
    """`value` as a record id both databases can hold; raises ValidationError naming
    `field`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"must be a whole number, got {type(value).__name__}", field)
    if not 1 <= value <= MAX_ID:
        raise ValidationError(f"must be a record id from 1 to {MAX_ID}, got {value}", field)
    return value


def check_ref(ref: object, field: str) -> int | str:
    """A publish reference: an id (a number, or digits) checked as check_id, or another
    text (a uuid) as it is. Raises ValidationError naming `field`."""
    if isinstance(ref, str) and ref.isascii() and ref.isdigit():
        if len(ref) > len(str(MAX_ID)):
            raise ValidationError(f"must be a record id from 1 to {MAX_ID}", field)
        check_id(int(ref), field)
        return ref
    if isinstance(ref, str):
        return check_text(ref, field)
    return check_id(ref, field)


def _whole_number(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_JSON_DIGITS:
        raise ValidationError(
            f"holds a {len(digits.lstrip('-'))}-digit number; numbers must fit 64 bits",
            field=_reading.get(),
        )
    return int(digits)


def _no_constant(name: str) -> Any:
    raise ValidationError(f"holds {name}, which is not JSON", field=_reading.get())


_reading: contextvars.ContextVar[str] = contextvars.ContextVar("pm_json_field", default="")


def load_json(raw: bytes | str, field: str = "payload") -> Any:
    """The JSON document in `raw` (UTF-8 bytes, a BOM allowed, or text). Raises
    ValidationError naming `field` for bytes that are not UTF-8, text that is not JSON,
    nesting too deep for the parser, or a number longer than MAX_JSON_DIGITS. What it
    holds meets check_json when an input model reads it (In)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})", field=field
            ) from None
    if not raw.strip():
        raise ValidationError("is empty; send a JSON object", field=field)
    token = _reading.set(field)
    try:
        data = json.loads(raw, parse_int=_whole_number, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", field=field
        ) from None
    except RecursionError:
        raise ValidationError(f"nests deeper than {MAX_DEPTH} levels", field=field) from None
    finally:
        _reading.reset(token)
    return data


def _name(value: object, info: ValidationInfo) -> str:
    return check_name(value, info.field_name or "name")


def _lower_name(value: object, info: ValidationInfo) -> str:
    return check_lower_name(value, info.field_name or "name")


def _login(value: object, info: ValidationInfo) -> str:
    return check_login(value, info.field_name or "login")


MAX_LABEL = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _label(value: object, info: ValidationInfo) -> str:
    """A display name: one line of text, trimmed, 1 to MAX_LABEL characters."""
    field = info.field_name or "name"
    if not isinstance(value, str):
        raise ValidationError(f"must be text, got {type(value).__name__}", field=field)
    label = value.strip()
    if not label:
        raise ValidationError("must not be empty", field=field)
    if len(label) > MAX_LABEL:
        raise ValidationError(f"must be at most {MAX_LABEL} characters", field=field)
    if _CONTROL.search(label):
        raise ValidationError("must be one line of text, without control characters", field)
    return label


def _root(value: object, info: ValidationInfo) -> str | None:
    field = info.field_name or "root"
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError("must be a path", field=field)
    root = normalize_path(value, field).rstrip("/") or "/"
    # normalize_path keeps a drive (`P:/show`) or a UNC share (`//server/show`) as is:
    # neither means anything on Linux or macOS.
    if field != "root_windows" and (not root.startswith("/") or root.startswith("//")):
        raise ValidationError(
            f"must be a {field[5:].title()} path starting with one '/', not {value!r}", field
        )
    return root


def _path(value: object, info: ValidationInfo) -> str:
    if not isinstance(value, str):
        raise ValidationError("must be a path", field=info.field_name)
    return normalize_path(value, info.field_name or "path")


def _metadata(value: object, info: ValidationInfo) -> dict[str, Any]:
    field = info.field_name or "metadata"
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError("must be a JSON object", field=field)
    try:
        size = len(json.dumps(value, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(f"must be plain JSON: {exc}", field=field) from None
    if size > MAX_METADATA_BYTES:
        raise ValidationError(
            f"is {size} bytes of JSON; the limit is {MAX_METADATA_BYTES}", field=field
        )
    check_json(value, field)
    return value


def _templates(value: object, info: ValidationInfo) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError("must be an object of template name to pattern", "templates")
    return check_overrides(value)


# The API document says what these validators accept, as patterns (Python's `re`; `\s` is
# what str.strip removes), so that it is exactly as strict as the service.
def _either_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


_DEVICE = "|".join(_either_case(name) for name in sorted(WINDOWS_DEVICES))
NAME_PATTERN = rf"^\s*(?!(?:{_DEVICE})\s*$)[A-Za-z0-9][A-Za-z0-9_\-]{{0,{MAX_NAME - 1}}}\s*$"
LOGIN_PATTERN = (
    rf"^\s*(?!(?:{_DEVICE})(?:\.|\s*$))(?=[^\s]{{1,{MAX_NAME}}}\s*$)"
    r"[A-Za-z0-9](?:[A-Za-z0-9_\-]|\.(?=[A-Za-z0-9_\-]))*\s*$"
)
_LINE = r"[^\x00-\x1f\x7f-\x9f]"
_EDGE = r"[^\s\x00-\x1f\x7f-\x9f]"
LABEL_PATTERN = rf"^\s*{_EDGE}(?:{_LINE}{{0,{MAX_LABEL - 2}}}{_EDGE})?\s*$"
TEXT_PATTERN = r"^[^\x00]*$"
"""Any text: no NUL (added to every string of the API document without a pattern)."""
_JSON_VALUE: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": TEXT_PATTERN},
        {"type": "integer", "minimum": -MAX_INT - 1, "maximum": MAX_INT},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {
            "type": "object",
            "propertyNames": {"pattern": TEXT_PATTERN},
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
        },
    ],
    "description": f"Any JSON, nested at most {MAX_DEPTH} deep",
}
JSON_SCHEMAS: dict[str, dict[str, Any]] = {"JsonValue": _JSON_VALUE}
"""Schemas the API document's components hold besides the models'."""
JSON_VALUE_MARK = "x-pm-json-value"
"""Marks where the API document refers to JsonValue (pm_db.api.openapi puts the $ref)."""
_METADATA_SCHEMA = {
    "type": "object",
    "propertyNames": {"pattern": TEXT_PATTERN},
    "additionalProperties": {JSON_VALUE_MARK: True},
    "description": f"Free JSON, at most {MAX_METADATA_BYTES} bytes",
}


def _string(pattern: str, description: str) -> Any:
    return WithJsonSchema({"type": "string", "pattern": pattern, "description": description})


Name = Annotated[
    str, BeforeValidator(_name), _string(NAME_PATTERN, "a name; not a Windows device name")
]
LowerName = Annotated[str, BeforeValidator(_lower_name), _string(NAME_PATTERN, "a name")]
Login = Annotated[str, BeforeValidator(_login), _string(LOGIN_PATTERN, "an artist login")]
Root = Annotated[str | None, BeforeValidator(_root)]
AbsPath = Annotated[str, BeforeValidator(_path)]
Metadata = Annotated[dict[str, Any], BeforeValidator(_metadata), WithJsonSchema(_METADATA_SCHEMA)]
Templates = Annotated[dict[str, str], BeforeValidator(_templates)]
Id = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
Frame = Annotated[int, Field(strict=True, ge=-(10**6), le=10**7)]
Number = Annotated[int, Field(ge=1, le=99_999, strict=True)]
Label = Annotated[str, BeforeValidator(_label), _string(LABEL_PATTERN, "one line of text")]
Flag = Annotated[bool, Field(strict=True)]
Email = Annotated[
    str, Field(max_length=320, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
]
TargetType = Literal["shot", "asset"]


def _never_null(schema: dict[str, Any]) -> None:
    """An update field's schema without `null`: the service refuses it (the column is
    never empty), and the document says so."""
    kinds = [kind for kind in schema.pop("anyOf", []) if kind.get("type") != "null"]
    if len(kinds) == 1:
        schema.update(kinds[0])
    elif kinds:
        schema["anyOf"] = kinds
    schema.pop("default", None)


def unset() -> Any:
    """The default of an update field that may be left out but never be null."""
    return Field(default=None, json_schema_extra=_never_null)


class In(BaseModel):
    # No blanket whitespace stripping: it would also rewrite the keys and values of
    # free metadata. Names strip themselves; labels through StringConstraints.
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        """Every input, whichever front end built it, meets check_json first."""
        if isinstance(data, dict):
            check_json(data)
        return data


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: object) -> M:
    """`data` validated as `model`; raises ValidationError naming the first bad field."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or None
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "is not a known field"
        raise ValidationError(message, field=field) from None


# Projects and the entities inside them --------------------------------------------


class ProjectIn(In):
    code: Name
    name: Label
    root_linux: Root = None
    root_windows: Root = None
    root_mac: Root = None
    templates: Templates = Field(default_factory=dict)


class ProjectUpdate(In):
    name: Label | None = unset()
    root_linux: Root = None
    root_windows: Root = None
    root_mac: Root = None
    templates: Templates | None = unset()


class ProjectOut(Out):
    id: int
    code: str
    name: str
    root_linux: str | None
    root_windows: str | None
    root_mac: str | None
    templates: dict[str, str]
    created_at: datetime


class SequenceIn(In):
    project_id: Id
    code: Name


class SequenceUpdate(In):
    code: Name | None = unset()


class SequenceOut(Out):
    id: int
    project_id: int
    code: str
    created_at: datetime


class ShotIn(In):
    sequence_id: Id
    code: Name
    frame_start: Frame = 1001
    frame_end: Frame = 1100


class ShotUpdate(In):
    code: Name | None = unset()
    frame_start: Frame | None = unset()
    frame_end: Frame | None = unset()


class ShotOut(Out):
    id: int
    sequence_id: int
    code: str
    frame_start: int
    frame_end: int
    created_at: datetime


class AssetIn(In):
    project_id: Id
    code: Name
    asset_type: Name


class AssetUpdate(In):
    code: Name | None = unset()
    asset_type: Name | None = unset()


class AssetOut(Out):
    id: int
    project_id: int
    code: str
    asset_type: str
    created_at: datetime


class ArtistIn(In):
    login: Login
    name: Label
    email: Email | None = None
    active: Flag = True


class ArtistUpdate(In):
    name: Label | None = unset()
    email: Email | None = None
    active: Flag | None = unset()


class ArtistOut(Out):
    id: int
    login: str
    name: str
    email: str | None
    active: bool
    created_at: datetime


class TaskIn(In):
    target_type: TargetType
    target_id: Id
    step: LowerName
    name: Name | None = None
    artist_id: Id | None = None
    status: Literal[TASK_STATUSES] = "todo"  # type: ignore[valid-type]


class TaskUpdate(In):
    name: Name | None = unset()
    artist_id: Id | None = None
    status: Literal[TASK_STATUSES] | None = unset()  # type: ignore[valid-type]


class TaskOut(Out):
    id: int
    project_id: int
    target_type: str
    target_id: int
    step: str
    name: str
    artist_id: int | None
    status: str
    created_at: datetime


# Saves and publishes ------------------------------------------------------------------


class SaveRequest(In):
    task_id: Id
    artist: Login
    scene_name: Name
    software: LowerName = "houdini"
    version_up: Flag = False
    ext: Annotated[str, Field(pattern=r"^[a-z0-9]{1,16}$")] = "hip"
    host: Annotated[str, Field(max_length=255)] | None = None
    software_version: Annotated[str, Field(max_length=64)] | None = None
    request_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None


class SceneOut(Out):
    id: int
    task_id: int
    artist: str
    software: str
    name: str
    version: int
    iteration: int
    path: str
    host: str | None
    software_version: str | None
    created_at: datetime


class PublishIn(In):
    """The one-call publish request of the project_manager API: the caller computed the
    paths. `asset_usd_path` is the part's stable layer, as the original clients send it
    (`.../usd/PinchIn/particles01/particles01.usd`), or the asset layer
    (`.../usd/PinchIn/PinchIn.usd`); either is checked against the item path."""

    task_id: Id
    target_type: TargetType
    target_id: Id
    software: LowerName = "houdini"
    source_version: Number
    source_iteration: Number
    item_usd_path: AbsPath
    asset_usd_path: AbsPath
    status: Literal["published", "pending"] = "published"
    metadata: Metadata = Field(default_factory=dict)
    request_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None


class ReserveRequest(In):
    """Reserve the numbers and paths of a part publish from a saved scene."""

    scene_id: Id
    asset_name: Name
    part_name: Name
    metadata: Metadata = Field(default_factory=dict)
    request_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None


class PublishOut(Out):
    """A publish as every front end shows it. `id` and `publish_id` are the same number,
    as the original API answers; `uuid` is pm's id that is unique across databases."""

    id: int
    uuid: str = Field(validation_alias=AliasChoices("uuid", "publish_id"))
    task_id: int
    target_type: str
    target_id: int
    software: str
    scene_id: int
    part_id: int
    asset_name: str
    part_name: str
    source_version: int
    source_iteration: int
    version: int
    iteration: int
    item_usd_path: str
    part_usd_path: str
    asset_usd_path: str
    status: str
    is_latest: bool
    metadata: dict[str, Any]
    created_by: str
    created_at: datetime
    completed_at: datetime | None
    error: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def publish_id(self) -> int:
        """The publish's id, under the name the original API gives it."""
        return self.id
