"""A farm plan as an Open Job Description job template (the job format of AWS Deadline
Cloud, `jobtemplate-2023-09`), validated with the `openjd-model` library.

A step per ROP to render first (a task per frame: `hython -m pm_houdini.farm render`),
then a step per node to publish (`hython -m pm_houdini.batch publish ... --request-id`)
depending on every render step. The job environment carries the settings every task
needs (HOUDINI_PACKAGE_DIR, ...); each publish step's environment its task context
(PM_PROJECT, PM_TASK_ID, PM_ARTIST). A non-zero exit fails the task, as on Deadline.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pm_db.errors import ConfigError, ValidationError
from pm_db.farm.plan import FarmPlan, slug

SPECIFICATION = "jobtemplate-2023-09"
NAME_LIMIT = 64


def template_for(plan: FarmPlan) -> dict[str, Any]:
    """The job template of `plan` (a plain dict, as JSON or YAML would hold it)."""
    steps: list[dict[str, Any]] = []
    for render in plan.renders:
        frame = "{{Task.Param.Frame}}"
        arguments = ["-m", "pm_houdini.farm", "render", "--hip", render.hip, "--node", render.node]
        steps.append(
            {
                "name": _name(f"render {slug(render.node)}"),
                "parameterSpace": {
                    "taskParameterDefinitions": [
                        {"name": "Frame", "type": "INT", "range": render.range_expr}
                    ]
                },
                "script": _script(plan.hython, [*arguments, "--frames", frame, frame]),
            }
        )
    renders = [step["name"] for step in steps]
    for publish in plan.publishes:
        step: dict[str, Any] = {
            "name": _name(f"publish {slug(publish.asset)}-{slug(publish.part)}"),
            "stepEnvironments": [{"name": "pm task context", "variables": dict(publish.context)}],
            "script": _script(plan.hython, publish.batch_arguments()),
        }
        if renders:
            step["dependencies"] = [{"dependsOn": name} for name in renders]
        steps.append(step)
    template: dict[str, Any] = {
        "specificationVersion": SPECIFICATION,
        "name": _name(f"pm {plan.name}"),
        "steps": steps,
    }
    if plan.environment:
        template["jobEnvironments"] = [{"name": "pm", "variables": dict(plan.environment)}]
    return template


def _script(command: str, arguments: list[str]) -> dict[str, Any]:
    return {"actions": {"onRun": {"command": command, "args": arguments}}}


def _name(text: str) -> str:
    return text if len(text) <= NAME_LIMIT else text[: NAME_LIMIT - 3] + "..."


def validate(template: dict[str, Any]) -> None:
    """Check `template` with openjd-model: decoded, and a job created from it. Raises
    ValidationError with the library's message, ConfigError without the library."""
    try:
        from openjd.model import DecodeValidationError, create_job, decode_job_template
    except ImportError as exc:
        raise ConfigError(
            "checking an Open Job Description template needs openjd-model "
            "(pip install openjd-model)",
            field="openjd",
        ) from exc
    try:
        decoded = decode_job_template(template=template)
        create_job(job_template=decoded, job_parameter_values={})
    except DecodeValidationError as exc:
        raise ValidationError(f"is not a valid job template: {exc}", field="template") from exc


def write_template(template: dict[str, Any], path: Path) -> Path:
    """Write the template as JSON (beside, then renamed); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path
