"""Input and output models (pydantic v2) of the service layer.

Input models check types and the name rules; `parse(Model, data)` turns any failure into
pm's ValidationError naming the field, so every front end reports it the same way.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
)

from pm_db.errors import ValidationError
from pm_db.names import check_login, check_lower_name, check_name
from pm_db.templates import check_overrides, normalize_path

MAX_METADATA_BYTES = 64 * 1024
TASK_STATUSES = ("todo", "wip", "review", "approved", "done", "omit")
PUBLISH_STATUSES = ("pending", "published", "failed", "deprecated")


def _name(value: object, info: ValidationInfo) -> str:
    return check_name(value, info.field_name or "name")


def _lower_name(value: object, info: ValidationInfo) -> str:
    return check_lower_name(value, info.field_name or "name")


def _login(value: object, info: ValidationInfo) -> str:
    return check_login(value, info.field_name or "login")


def _root(value: object, info: ValidationInfo) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError("must be a path", field=info.field_name)
    return normalize_path(value, info.field_name or "root").rstrip("/") or "/"


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
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"must be plain JSON: {exc}", field=field) from exc
    if size > MAX_METADATA_BYTES:
        raise ValidationError(
            f"is {size} bytes of JSON; the limit is {MAX_METADATA_BYTES}", field=field
        )
    return value


def _templates(value: object, info: ValidationInfo) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError("must be an object of template name to pattern", "templates")
    return check_overrides(value)


Name = Annotated[str, BeforeValidator(_name)]
LowerName = Annotated[str, BeforeValidator(_lower_name)]
Login = Annotated[str, BeforeValidator(_login)]
Root = Annotated[str | None, BeforeValidator(_root)]
AbsPath = Annotated[str, BeforeValidator(_path)]
Metadata = Annotated[dict[str, Any], BeforeValidator(_metadata)]
Templates = Annotated[dict[str, str], BeforeValidator(_templates)]
Id = Annotated[int, Field(ge=1, le=2**62, strict=True)]
Number = Annotated[int, Field(ge=1, le=99_999, strict=True)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TargetType = Literal["shot", "asset"]


class In(BaseModel):
    # No blanket whitespace stripping: it would also rewrite the keys and values of
    # free metadata. Names strip themselves; labels through StringConstraints.
    model_config = ConfigDict(extra="forbid")


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
    name: Label | None = None
    root_linux: Root = None
    root_windows: Root = None
    root_mac: Root = None
    templates: Templates | None = None


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
    code: Name | None = None


class SequenceOut(Out):
    id: int
    project_id: int
    code: str
    created_at: datetime


class ShotIn(In):
    sequence_id: Id
    code: Name
    frame_start: int = Field(default=1001, strict=True, ge=-(10**6), le=10**7)
    frame_end: int = Field(default=1100, strict=True, ge=-(10**6), le=10**7)


class ShotUpdate(In):
    code: Name | None = None
    frame_start: int | None = Field(default=None, strict=True, ge=-(10**6), le=10**7)
    frame_end: int | None = Field(default=None, strict=True, ge=-(10**6), le=10**7)


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
    code: Name | None = None
    asset_type: Name | None = None


class AssetOut(Out):
    id: int
    project_id: int
    code: str
    asset_type: str
    created_at: datetime


class ArtistIn(In):
    login: Login
    name: Label
    email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    active: bool = True


class ArtistUpdate(In):
    name: Label | None = None
    email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    active: bool | None = None


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
    name: Name | None = None
    artist_id: Id | None = None
    status: Literal[TASK_STATUSES] | None = None  # type: ignore[valid-type]


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
    version_up: bool = False
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
    """The seed's one-call publish payload: the caller computed the paths."""

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
    publish_id: str
    id: int
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
