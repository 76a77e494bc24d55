"""Path templates: `format(fields) -> path` and `parse(path) -> fields`, an exact inverse pair.

A template is a string with `{field}` and `{field:03}` placeholders and `{@name}` references
to other templates. Every field has a rule (see FIELDS), checked on format, so no template
can produce a surprising path; parse re-formats what it read and refuses anything that is
not the canonical spelling (`v0012`, `V001`), so parse(format(f)) == f and
format(parse(p)) == p. The rules are written out in docs/templates.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from pm_db.errors import FormatError, ParseError, ValidationError
from pm_db.names import check_login, check_name

FieldValue = str | int


def _check_root(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("must be a non-empty path", field=field)
    return _normalized_root(value, field)


@lru_cache(maxsize=64)
def _normalized_root(value: str, field: str) -> str:
    return normalize_path(value, field).rstrip("/") or "/"


def _check_number(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"must be a whole number, got {value!r}", field=field)
    if value < 1:
        raise ValidationError(f"must be 1 or more, got {value}", field=field)
    return value


def _check_ext(value: object, field: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9]{1,16}", value):
        raise ValidationError(f"must be a lower-case file extension, got {value!r}", field=field)
    return value


FIELDS: dict[str, Callable[[object, str], FieldValue]] = {
    "root": _check_root,
    "project": check_name,
    "sequence": check_name,
    "shot": check_name,
    "asset_type": check_name,
    "asset_name": check_name,
    "step": check_name,
    "task": check_name,
    "software": check_name,
    "artist": check_login,
    "scene": check_name,
    "asset": check_name,
    "part": check_name,
    "version": _check_number,
    "iteration": _check_number,
    "ext": _check_ext,
}
NUMBER_FIELDS = {"version", "iteration"}


def _valid(key: str, value: object) -> FieldValue:
    """FIELDS[key](value), remembered for text and numbers: a farm formats the same
    names thousands of times."""
    if isinstance(value, str | int):
        return _valid_remembered(key, value)
    return FIELDS[key](value, key)


@lru_cache(maxsize=4096, typed=True)
def _valid_remembered(key: str, value: str | int) -> FieldValue:
    return FIELDS[key](value, key)


_PLACEHOLDER = re.compile(r"\{(?P<ref>@)?(?P<name>[a-z_]+)(?::0(?P<width>[1-9]))?\}")

DEFAULT_TEMPLATES: dict[str, str] = {
    "shot_work": "{root}/sequences/{sequence}/{shot}/{step}/{software}",
    "asset_work": "{root}/assets/{asset_type}/{asset_name}/{step}/{software}",
    "scene_folder": "{@work}/scenes/{artist}/{scene}",
    "scene_file": "{@scene_folder}/{scene}_v{version:03}_i{iteration:03}.{ext}",
    "asset_layer": "{@scene_folder}/usd/{asset}/{asset}.usd",
    "part_layer": "{@scene_folder}/usd/{asset}/{part}/{part}.usd",
    "part_data": "{@scene_folder}/usd/{asset}/{part}/data/{part}_v{version:03}_i{iteration:03}.usd",
}
"""The original API's layout. `{@work}` is `shot_work` or `asset_work`, by the task's target."""

REQUIRED_FIELDS: dict[str, set[str]] = {
    "shot_work": {"root", "sequence", "shot"},
    "asset_work": {"root", "asset_name"},
    "scene_folder": {"artist", "scene"},
    "scene_file": {"version", "iteration", "ext"},
    "asset_layer": {"asset"},
    "part_layer": {"asset", "part"},
    "part_data": {"asset", "part", "version", "iteration"},
}
"""What an override must keep so that distinct records can never share a path."""

TARGET_TYPES = ("shot", "asset")

_WORK_FIELDS = {"root", "project", "step", "software"}
TARGET_FIELDS: dict[str, set[str]] = {
    "shot": {"sequence", "shot"},
    "asset": {"asset_type", "asset_name"},
}
AVAILABLE_FIELDS: dict[str, set[str]] = {
    "shot_work": _WORK_FIELDS,
    "asset_work": _WORK_FIELDS,
    "scene_folder": _WORK_FIELDS | {"artist", "scene"},
    "scene_file": _WORK_FIELDS | {"artist", "scene", "version", "iteration", "ext"},
    "asset_layer": _WORK_FIELDS | {"artist", "scene", "asset"},
    "part_layer": _WORK_FIELDS | {"artist", "scene", "asset", "part"},
    "part_data": _WORK_FIELDS | {"artist", "scene", "asset", "part", "version", "iteration"},
}
"""The fields a template may use besides its target's (TARGET_FIELDS): what pm knows when
it formats it. An asset layer is one per asset, so it cannot name a part or a version."""
FILE_TEMPLATES = ("scene_file", "asset_layer", "part_layer", "part_data")
"""Templates of files, no two of which may ever give the same path."""


@dataclass(frozen=True)
class Template:
    """One path pattern with `{field}` placeholders (references already expanded)."""

    name: str
    pattern: str

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names, in order of first appearance."""
        seen: dict[str, None] = {}
        for match in _PLACEHOLDER.finditer(self.pattern):
            seen.setdefault(match.group("name"))
        return tuple(seen)

    def format(self, fields: Mapping[str, Any]) -> str:
        """The path for `fields`. Raises FormatError naming a missing or invalid field."""
        parts: list[str] = []
        for literal, key, width in _segments(self.pattern):
            parts.append(literal)
            if not key:
                continue
            if key not in fields:
                raise FormatError(f"missing for template {self.name!r}", field=key)
            try:
                value = _valid(key, fields[key])
            except ValidationError as exc:
                raise FormatError(exc.message, field=exc.field) from exc
            parts.append(f"{value:0{width}d}" if width else str(value))
        return "".join(parts)

    def parse(self, path: str) -> dict[str, FieldValue]:
        """The fields read back from `path`. Raises ParseError if it does not match exactly."""
        match = self._regex().fullmatch(path)
        if match is None:
            raise ParseError(f"{path!r} does not match template {self.name!r} ({self.pattern})")
        fields: dict[str, FieldValue] = {
            key: int(value) if key in NUMBER_FIELDS else value
            for key, value in match.groupdict().items()
        }
        try:
            canonical = self.format(fields)
        except FormatError as exc:
            raise ParseError(f"{path!r}: {exc}", field=exc.field) from exc
        if canonical != path:
            raise ParseError(f"{path!r} is not the canonical spelling {canonical!r}")
        return fields

    def _regex(self) -> re.Pattern[str]:
        return _compile(self.pattern)


@lru_cache(maxsize=512)
def _segments(pattern: str) -> tuple[tuple[str, str, int], ...]:
    """A pattern split into (literal text, field name or "", zero-pad width) triples."""
    segments: list[tuple[str, str, int]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(pattern):
        width = int(match.group("width") or 0)
        segments.append((pattern[position : match.start()], match.group("name"), width))
        position = match.end()
    segments.append((pattern[position:], "", 0))
    return tuple(segments)


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    """The parse regex of a template pattern: one named group per field, repeats matched
    as back-references, the root lazily (it may hold '/')."""
    parts: list[str] = []
    seen: set[str] = set()
    position = 0
    for match in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[position : match.start()]))
        key = match.group("name")
        if key in seen:
            parts.append(f"(?P={key})")
        elif key == "root":
            parts.append(f"(?P<{key}>.+?)")
        elif key in NUMBER_FIELDS:
            parts.append(f"(?P<{key}>[0-9]+)")
        else:
            parts.append(f"(?P<{key}>[^/]+)")
        seen.add(key)
        position = match.end()
    parts.append(re.escape(pattern[position:]))
    return re.compile("".join(parts))


class TemplateSet:
    """The templates of one project: the defaults with the project's overrides."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self.patterns = {**DEFAULT_TEMPLATES, **check_overrides(overrides or {})}
        self._expanded: dict[tuple[str, str], Template] = {}

    def get(self, name: str, target_type: str) -> Template:
        """The template `name` for a task on a `target_type` (shot or asset)."""
        key = (name, target_type)
        if key not in self._expanded:
            self._expanded[key] = _expand(self.patterns, name, target_type)
        return self._expanded[key]


def _expand(patterns: Mapping[str, str], name: str, target_type: str) -> Template:
    """Template `name` of `patterns` with its `{@references}` replaced, for a target type.
    Raises ValidationError for an unknown template, target type or reference, or a loop."""
    if target_type not in TARGET_TYPES:
        raise ValidationError(f"must be one of {', '.join(TARGET_TYPES)}", "target_type")
    if name not in patterns:
        raise ValidationError(f"unknown template {name!r}", field="template")

    def expand(pattern: str, depth: int) -> str:
        if depth > len(patterns):
            raise ValidationError("templates refer to each other in a loop", field="templates")

        def replace(match: re.Match[str]) -> str:
            if not match.group("ref"):
                return match.group(0)
            ref = match.group("name")
            ref = f"{target_type}_work" if ref == "work" else ref
            if ref not in patterns:
                raise ValidationError(f"refers to unknown template {ref!r}", field="templates")
            return expand(patterns[ref], depth + 1)

        return _PLACEHOLDER.sub(replace, pattern)

    return Template(name, expand(patterns[name], 0))


def check_overrides(overrides: Mapping[str, object]) -> dict[str, str]:
    """Validated per-project template overrides, checked one by one and then as a set
    with the defaults: every template uses only the fields it can be given, and no two
    file templates give the same path. Raises ValidationError naming the template."""
    checked: dict[str, str] = {}
    for name, pattern in overrides.items():
        field = f"templates.{name}"
        if name not in DEFAULT_TEMPLATES:
            known = ", ".join(DEFAULT_TEMPLATES)
            raise ValidationError(f"unknown template (known: {known})", field=field)
        if not isinstance(pattern, str) or not pattern.strip():
            raise ValidationError("must be a non-empty template string", field=field)
        if "\\" in pattern or "/../" in pattern or pattern.endswith("/.."):
            raise ValidationError("must use '/' and must not contain '..'", field=field)
        leftover = _PLACEHOLDER.sub("", pattern)
        if "{" in leftover or "}" in leftover:
            raise ValidationError(f"has a malformed placeholder: {pattern!r}", field=field)
        used = {m.group("name") for m in _PLACEHOLDER.finditer(pattern) if not m.group("ref")}
        unknown = used - FIELDS.keys()
        if unknown:
            raise ValidationError(f"unknown fields {sorted(unknown)}", field=field)
        checked[name] = pattern
    patterns = {**DEFAULT_TEMPLATES, **checked}
    for name in checked:
        for target_type in TARGET_TYPES:
            if name.endswith("_work") and not name.startswith(target_type):
                continue
            template = _expand(patterns, name, target_type)
            missing = REQUIRED_FIELDS[name] - set(template.fields)
            if missing:
                raise ValidationError(
                    f"must keep the fields {sorted(missing)}", field=f"templates.{name}"
                )
            if not template.pattern.startswith("{root}/"):
                raise ValidationError("must start with {root}/", field=f"templates.{name}")
    # The defaults pass both checks (tests/test_templates.py); overrides are checked with
    # them as a set.
    for target_type in TARGET_TYPES if checked else ():
        _check_available(patterns, target_type, set(checked))
        _check_distinct(patterns, target_type, set(checked))
    return checked


def _blame(names: tuple[str, ...], overridden: set[str]) -> str:
    """The field naming the template to fix: an overridden one of `names`."""
    return f"templates.{next((n for n in names if n in overridden), names[0])}"


def _check_available(patterns: Mapping[str, str], target_type: str, overridden: set[str]) -> None:
    """Every template uses only fields pm knows when it formats it; raises ValidationError."""
    for name, available in AVAILABLE_FIELDS.items():
        if name.endswith("_work") and not name.startswith(target_type):
            continue
        template = _expand(patterns, name, target_type)
        extra = set(template.fields) - available - TARGET_FIELDS[target_type]
        if extra:
            raise ValidationError(
                f"uses {sorted(extra)}, which a {target_type} task's {name} does not have "
                f"(it has {sorted(available | TARGET_FIELDS[target_type])})",
                field=_blame((name,), overridden),
            )


def _samples(target_type: str) -> list[dict[str, FieldValue]]:
    """Field values to try two templates with: every name the same (an asset named as its
    part), then every name different."""
    names = sorted(set(FIELDS) - NUMBER_FIELDS - {"root", "ext"})
    same: dict[str, FieldValue] = {name: "a" for name in names}
    apart: dict[str, FieldValue] = {name: f"{name.replace('_', '')}1" for name in names}
    common: dict[str, FieldValue] = {"root": "/r", "ext": "usd", "version": 1, "iteration": 1}
    return [{**same, **common}, {**apart, **common}]


def _check_distinct(patterns: Mapping[str, str], target_type: str, overridden: set[str]) -> None:
    """No two file templates give the same path (an asset layer that is also a part
    layer); raises ValidationError naming the overridden one of the pair."""
    templates = {name: _expand(patterns, name, target_type) for name in FILE_TEMPLATES}
    for values in _samples(target_type):
        for name, template in templates.items():
            path = template.format(values)
            for other, other_template in templates.items():
                if other == name:
                    continue
                try:
                    other_template.parse(path)
                except ValidationError:
                    continue
                raise ValidationError(
                    f"{name} and {other} can give the same path ({path!r}); one file would "
                    "overwrite the other",
                    field=_blame((name, other), overridden),
                )


def normalize_path(path: str, field: str = "path") -> str:
    """`path` with '/' separators, absolute, without '.', '..' or doubled separators.
    Raises ValidationError naming `field`."""
    if isinstance(path, str) and _is_normal_posix(path):
        return path
    if not isinstance(path, str) or not path.strip():
        raise ValidationError("must be a non-empty path", field=field)
    text = path.strip().replace("\\", "/")
    is_windows = bool(re.match(r"^[A-Za-z]:/", text)) or text.startswith("//")
    pure = PureWindowsPath(text) if is_windows else PurePosixPath(text)
    if not pure.is_absolute():
        raise ValidationError(f"must be absolute: {path!r}", field=field)
    if ".." in pure.parts:
        raise ValidationError(f"must not contain '..': {path!r}", field=field)
    normalized = pure.as_posix()
    if is_windows:
        normalized = normalized[0].upper() + normalized[1:] if normalized[1] == ":" else normalized
    return normalized


def _is_normal_posix(path: str) -> bool:
    """`path` is already an absolute POSIX path in normal form (the common case, answered
    without building a PurePath)."""
    if path == "/":
        return True
    return (
        path.startswith("/")
        and not path.endswith(("/", "/.", "/.."))
        and "//" not in path
        and "/./" not in path
        and "/../" not in path
        and "\\" not in path
        and path == path.strip()
    )
