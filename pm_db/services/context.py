"""A task's place in the project: its template fields, its templates and its roots.

Paths are stored project-relative ('/' separated) and shown absolute under the root of
the platform asking, so a file saved on Linux under /show/FX3X is P:/FX3X/... on Windows.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from pm_db.config import PLATFORMS, current_platform
from pm_db.errors import NotFound, ValidationError
from pm_db.models import Asset, Project, Sequence, Shot, Task
from pm_db.templates import Template, TemplateSet, normalize_path


def platform() -> str:
    """The platform whose roots absolute paths use (PM_PLATFORM, else this machine's)."""
    name = os.environ.get("PM_PLATFORM") or current_platform()
    if name not in PLATFORMS:
        raise ValidationError(f"must be one of {', '.join(PLATFORMS)}", field="PM_PLATFORM")
    return name


class Rooted(Protocol):
    """Anything with a project's code and roots: a Project, or a row of those columns."""

    @property
    def code(self) -> str: ...

    @property
    def root_linux(self) -> str | None: ...

    @property
    def root_windows(self) -> str | None: ...

    @property
    def root_mac(self) -> str | None: ...


def project_roots(project: Rooted) -> dict[str, str]:
    """The project's roots by platform (only those set)."""
    roots = {p: getattr(project, f"root_{p}") for p in PLATFORMS}
    return {p: r for p, r in roots.items() if r}


def root_for(project: Rooted, platform_name: str | None = None) -> str:
    """The project's root on `platform_name`; raises ValidationError if it has none."""
    name = platform_name or platform()
    root = project_roots(project).get(name)
    if not root:
        raise ValidationError(
            f"project {project.code} has no {name} root; set root_{name}", field=f"root_{name}"
        )
    return root


def _under(path: str, root: str, case_insensitive: bool) -> str | None:
    left, right = (path.lower(), root.lower()) if case_insensitive else (path, root)
    if left == right:
        return ""
    prefix = right.rstrip("/") + "/"
    if left.startswith(prefix):
        return path[len(prefix) :]
    return None


def relative_path(project: Rooted, path: str, field: str = "path") -> str:
    """`path` relative to whichever of the project's roots holds it; raises ValidationError
    naming `field` if it lies outside every root."""
    normalized = normalize_path(path, field)
    for name, root in project_roots(project).items():
        relative = _under(normalized, root, case_insensitive=name == "windows")
        if relative:
            return relative
    roots = ", ".join(project_roots(project).values())
    raise ValidationError(f"{path!r} is not inside the project's roots ({roots})", field=field)


def join_root(root: str, relative: str) -> str:
    """A stored project-relative path under a project root: the one place they are joined."""
    return f"{root.rstrip('/')}/{relative}"


def format_relative(template: Template, root: str, fields: dict[str, Any]) -> str:
    """The project-relative path `template` gives for `fields` under `root`."""
    return template.format({**fields, "root": root})[len(root.rstrip("/")) + 1 :]


def parse_relative(template: Template, root: str, relative: str) -> dict[str, Any]:
    """The fields of a project-relative path, read with `template` under `root` (any of
    the project's roots: the relative part is the same under each). Raises ParseError."""
    return dict(template.parse(join_root(root, relative)))


def absolute_path(project: Rooted, relative: str, platform_name: str | None = None) -> str:
    """The absolute path of a stored relative path on `platform_name`."""
    return join_root(root_for(project, platform_name), relative)


@dataclass(frozen=True)
class TaskRef:
    """The columns of a task the templates and publishes use (no ORM object: a context is
    loaded for every save and publish)."""

    id: int
    shot_id: int | None
    asset_id: int | None
    step: str


@dataclass(frozen=True)
class ProjectRef:
    """A project's id, code, roots and template overrides (a `Rooted`)."""

    id: int
    code: str
    root_linux: str | None
    root_windows: str | None
    root_mac: str | None
    templates: dict[str, str]


@dataclass(frozen=True)
class TaskContext:
    """What the templates need to know about one task."""

    task: TaskRef
    project: ProjectRef
    target_type: str
    fields: dict[str, Any]
    templates: TemplateSet

    def template(self, name: str) -> Template:
        return self.templates.get(name, self.target_type)

    @cached_property
    def root(self) -> str:
        """The project's root on this platform; raises ValidationError if it has none."""
        return root_for(self.project)

    def path(self, template_name: str, **fields: Any) -> str:
        """The absolute path of `template_name` on this platform for these fields."""
        values = {**self.fields, "root": self.root, **fields}
        return self.template(template_name).format(values)

    def relative(self, template_name: str, **fields: Any) -> str:
        """The project-relative path of `template_name` for these fields."""
        return format_relative(self.template(template_name), self.root, {**self.fields, **fields})

    def parse(self, template_name: str, path: str, field: str) -> dict[str, Any]:
        """The fields of an absolute path under any of the project's roots, checked against
        this task (same shot or asset, same step); raises ValidationError naming `field`."""
        relative = relative_path(self.project, path, field)
        root = self.root
        try:
            values = self.template(template_name).parse(f"{root}/{relative}")
        except ValidationError as exc:
            raise ValidationError(exc.message, field=field) from exc
        for key, expected in self.fields.items():
            if values.get(key, expected) != expected:
                raise ValidationError(
                    f"names {key} {values[key]!r} but task {self.task.id} has {expected!r}",
                    field=field,
                )
        return values


@lru_cache(maxsize=256)
def _template_set(overrides_json: str) -> TemplateSet:
    return TemplateSet(json.loads(overrides_json))


def template_set(overrides: dict[str, str]) -> TemplateSet:
    """The TemplateSet of a project's overrides (built once per distinct overrides)."""
    return _template_set(json.dumps(overrides, sort_keys=True))


# Table columns, not mapped attributes: a plain Core statement skips the ORM's per-query
# work, and every save and publish runs this one.
_TASK, _PROJECT = cast(Table, Task.__table__), cast(Table, Project.__table__)
_SEQUENCE, _SHOT = cast(Table, Sequence.__table__), cast(Table, Shot.__table__)
_ASSET = cast(Table, Asset.__table__)
_CONTEXT = (
    select(
        _TASK.c.id,
        _TASK.c.shot_id,
        _TASK.c.asset_id,
        _TASK.c.step,
        _PROJECT.c.id.label("project_id"),
        _PROJECT.c.code.label("project_code"),
        _PROJECT.c.root_linux,
        _PROJECT.c.root_windows,
        _PROJECT.c.root_mac,
        _PROJECT.c.templates,
        _SEQUENCE.c.code.label("sequence_code"),
        _SHOT.c.code.label("shot_code"),
        _ASSET.c.asset_type,
        _ASSET.c.code.label("asset_code"),
    )
    .join(_PROJECT, _PROJECT.c.id == _TASK.c.project_id)
    .outerjoin(_SHOT, _SHOT.c.id == _TASK.c.shot_id)
    .outerjoin(_SEQUENCE, _SEQUENCE.c.id == _SHOT.c.sequence_id)
    .outerjoin(_ASSET, _ASSET.c.id == _TASK.c.asset_id)
    .where(_TASK.c.id == bindparam("b_task_id"))
)


def load_context(session: Session, task_id: int, field: str = "task_id") -> TaskContext:
    """The context of task `task_id`, in one query; raises NotFound naming `field`."""
    row = session.execute(_CONTEXT, {"b_task_id": task_id}).first()
    if row is None:
        raise NotFound(f"no task with id {task_id}", field=field)
    task = TaskRef(row.id, row.shot_id, row.asset_id, row.step)
    project = ProjectRef(
        row.project_id,
        row.project_code,
        row.root_linux,
        row.root_windows,
        row.root_mac,
        row.templates,
    )
    fields: dict[str, Any] = {"project": project.code, "step": task.step}
    if task.shot_id is not None:
        fields.update(sequence=row.sequence_code, shot=row.shot_code)
        target_type = "shot"
    else:
        fields.update(asset_type=row.asset_type, asset_name=row.asset_code)
        target_type = "asset"
    return TaskContext(task, project, target_type, fields, template_set(project.templates))


def target_id(task: TaskRef | Task) -> int:
    """The id of the shot or asset a task is on."""
    return task.shot_id if task.shot_id is not None else task.asset_id  # type: ignore[return-value]
