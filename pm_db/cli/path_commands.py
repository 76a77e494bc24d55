"""`pm path format|parse|show`: the path templates, from the command line."""

from __future__ import annotations

import argparse
from typing import Any

from pm_db.cli.common import database, group, leaf
from pm_db.errors import ValidationError

FORMAT_EPILOG = "examples:\n" + "".join(
    f"  {line}\n"
    for line in (
        "pm path format part_data --task 1 software=houdini artist=jdoe scene=PinchIn "
        "asset=PinchIn part=particles01 version=2 iteration=1",
        "pm path format scene_file root=/show/FX3X sequence=SQ010 shot=SH010 step=fx "
        "software=houdini artist=jdoe scene=PinchIn version=1 iteration=1 ext=hip",
    )
)


def register(commands: Any) -> None:
    paths = group(commands, "path", "format or parse a path template")
    fmt = leaf(
        paths, "format", "fill a template with a task's fields and FIELD=VALUE pairs", FORMAT_EPILOG
    )
    fmt.add_argument("template", help="template name, e.g. scene_file, part_data")
    fmt.add_argument("fields", nargs="*", help="FIELD=VALUE pairs")
    fmt.add_argument("--task", type=int, help="task id: takes its project's templates and roots")
    fmt.add_argument("--target-type", choices=["shot", "asset"], default="shot")
    fmt.set_defaults(run=_format)
    parse = leaf(paths, "parse", "read the fields back from a path")
    parse.add_argument("template")
    parse.add_argument("path")
    parse.add_argument("--task", type=int)
    parse.add_argument("--target-type", choices=["shot", "asset"], default="shot")
    parse.set_defaults(run=_parse)
    listing = leaf(paths, "templates", "list the templates (a task's project overrides applied)")
    listing.add_argument("--task", type=int)
    listing.add_argument("--target-type", choices=["shot", "asset"], default="shot")
    listing.set_defaults(run=_templates)


def _fields(pairs: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValidationError(f"expected FIELD=VALUE, got {pair!r}", field="fields")
        key, value = pair.split("=", 1)
        fields[key] = int(value) if key in ("version", "iteration") and value.isdigit() else value
    return fields


def _context(args: argparse.Namespace) -> tuple[Any, str, dict[str, Any]]:
    """(TemplateSet, target type, task fields with root) for --task, else the defaults."""
    from pm_db.templates import TemplateSet

    if args.task is None:
        return TemplateSet(), args.target_type, {}
    from pm_db.services.context import load_context, root_for

    def work(session: Any) -> tuple[Any, str, dict[str, Any]]:
        context = load_context(session, args.task, field="--task")
        fields = {**context.fields, "root": root_for(context.project)}
        return context.templates, context.target_type, fields

    result: tuple[Any, str, dict[str, Any]] = database().read(work)
    return result


def _format(args: argparse.Namespace) -> dict[str, Any]:
    templates, target_type, fields = _context(args)
    template = templates.get(args.template, target_type)
    given = _fields(args.fields)
    unknown = sorted(set(given) - set(template.fields))
    if unknown:
        raise ValidationError(
            f"is not a field of template {args.template!r} ({', '.join(template.fields)})",
            field=unknown[0],
        )
    return {"template": template.pattern, "path": template.format({**fields, **given})}


def _parse(args: argparse.Namespace) -> dict[str, Any]:
    templates, target_type, _ = _context(args)
    template = templates.get(args.template, target_type)
    return {"template": template.pattern, "fields": template.parse(args.path)}


def _templates(args: argparse.Namespace) -> dict[str, str]:
    templates, target_type, _ = _context(args)
    return {name: templates.get(name, target_type).pattern for name in templates.patterns}
