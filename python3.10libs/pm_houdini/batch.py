"""Headless publishing for the farm: `hython -m pm_houdini.batch ...`.

    hython -m pm_houdini.batch publish --hip FILE --node PATH [--asset A] [--part P]
                                       [--frame-range START END [STEP]] [--json]
    hython -m pm_houdini.batch jobs JOBS.json [--report REPORT.json] [--json]

A job publishes one node of a hip file pm saved; the part takes the hip's version and
iteration. The batch never saves the hip: it publishes exactly the file it was given.
Re-running a job is safe: its request id is derived from the job (scene, node, asset,
part, frame range), so a job that already published returns the first record and
renders nothing, and a job that failed is retried.

Exit codes (docs/houdini.md): 0 every job published (now or before); 1 an unexpected
error (a bug: the traceback is logged); 2 invalid input (arguments, job file, node
type); 3 not found (hip file, node, or a hip pm did not save); 4 conflict (published from this
iteration by another request); 5 permission denied; 6 database or service unreachable,
retry later; 7 configuration; 8 the ROP failed or wrote nothing; 9 some jobs of a job
list failed (the report says which and why); 130 interrupted.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hou

from pm_db.errors import NotFound, PmError, ValidationError
from pm_db.names import check_name
from pm_db.numbers import label as numbers_label
from pm_houdini import context as pm_context
from pm_houdini import publish as pm_publish
from pm_houdini.batch_args import build_parser
from pm_houdini.errors import Interrupted
from pm_houdini.messages import log

if TYPE_CHECKING:
    from pm_db.backend import Backend
    from pm_db.schemas import SceneOut

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INVALID = 2
EXIT_SOME_JOBS_FAILED = 9
JOB_FIELDS = ("id", "hip", "node", "asset", "part", "frame_range", "request_id")


@dataclass(frozen=True)
class Job:
    """One publish: a node of a hip file, with optional asset, part and frame range."""

    id: str
    hip: str
    node: str
    asset: str | None = None
    part: str | None = None
    frame_range: tuple[float, float, float] | None = None
    request_id: str | None = None


@dataclass
class JobStatus:
    """What became of a job, as the report shows it."""

    id: str
    status: str  # published, already_published, failed, not_run
    exit_code: int
    hip: str
    node: str
    publish: dict[str, Any] | None = None
    error: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "exit_code": self.exit_code,
            "hip": self.hip,
            "node": self.node,
            "publish": self.publish,
            "error": self.error,
        }


def parse_job(raw: object, where: str | None) -> Job:
    """A job from its JSON object; raises ValidationError naming `where.field` (a job in a
    job file) or `--field` (the command line's job, `where` None)."""

    def name(key: str) -> str:
        return f"{where}.{key}" if where else "--" + key.replace("_", "-")

    if not isinstance(raw, dict):
        raise ValidationError("must be a JSON object", field=where)
    unknown = sorted(set(raw) - set(JOB_FIELDS))
    if unknown:
        known = ", ".join(JOB_FIELDS)
        raise ValidationError(f"is not a known field (known: {known})", field=name(unknown[0]))
    values: dict[str, Any] = {}
    for key in ("id", "hip", "node", "request_id"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("must be a non-empty string", field=name(key))
        values[key] = value.strip()
    for key in ("hip", "node"):
        if key not in values:
            raise ValidationError("is required", field=name(key))
    for key in ("asset", "part"):
        if raw.get(key) is not None:
            values[key] = check_name(raw[key], name(key))
    if raw.get("frame_range") is not None:
        try:
            values["frame_range"] = pm_publish.check_frame_range(raw["frame_range"])
        except ValidationError as exc:
            raise ValidationError(exc.message, field=name("frame_range")) from None
    values.setdefault("id", where or "publish")
    return Job(**values)


def load_jobs(path: str) -> list[Job]:
    """The jobs of a job file (`{"jobs": [...]}` or a bare list), all checked before any
    runs. Raises ValidationError naming the file or the job and field."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}", field="jobs") from exc
    except ValueError as exc:
        raise ValidationError(f"{path} is not valid JSON: {exc}", field="jobs") from exc
    raw_jobs = document.get("jobs") if isinstance(document, dict) else document
    if not isinstance(raw_jobs, list) or not raw_jobs:
        raise ValidationError('must hold a non-empty list of jobs ({"jobs": [...]})', "jobs")
    jobs = [parse_job(raw, f"jobs[{i}]") for i, raw in enumerate(raw_jobs)]
    seen: set[str] = set()
    for index, job in enumerate(jobs):
        if job.id in seen:
            raise ValidationError(f"{job.id!r} is used by two jobs", field=f"jobs[{index}].id")
        seen.add(job.id)
    return jobs


def open_hip(hip: str) -> None:
    """Load `hip` unless it is already the open scene. Raises NotFound, ValidationError."""
    path = Path(hip).absolute()
    if not hou.hipFile.isNewFile() and Path(hou.hipFile.path()) == path:
        return
    if not path.is_file():
        raise NotFound(f"no hip file at {path}", field="hip")
    try:
        hou.hipFile.load(str(path), suppress_save_prompt=True, ignore_load_warnings=True)
    except hou.Error as exc:
        message = exc.instanceMessage().strip()
        raise ValidationError(f"Houdini could not load {path}: {message}", field="hip") from exc


def run_job(job: Job, backend: Backend) -> JobStatus:
    """Publish one job; every failure becomes a failed status with its code."""
    try:
        open_hip(job.hip)
        scene = _scene_of_open_hip(backend)
        target = pm_publish.collect(
            job.node, job.asset, job.part, job.frame_range, default_asset=scene.name
        )
        result = pm_publish.publish_target(
            target, scene, tool="batch", request_id=job.request_id, backend=backend
        )
    except PmError as exc:
        log.error("job %s failed: %s", job.id, exc)
        return JobStatus(job.id, "failed", exc.exit_code, job.hip, job.node, error=exc.as_dict())
    except Exception as exc:
        log.error("job %s failed unexpectedly:\n%s", job.id, traceback.format_exc())
        error = {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}", "field": None}
        return JobStatus(job.id, "failed", EXIT_INTERNAL, job.hip, job.node, error=error)
    status = "already_published" if result.already_published else "published"
    log.info("job %s: %s", job.id, result.describe())
    return JobStatus(
        job.id, status, EXIT_OK, job.hip, job.node, publish=result.publish.model_dump(mode="json")
    )


def _scene_of_open_hip(backend: Backend) -> SceneOut:
    path = hou.hipFile.path()
    try:
        return backend.find_scene_by_path(path)
    except (NotFound, ValidationError) as exc:
        raise type(exc)(
            f"{exc.message}: the batch publishes from scenes saved with pm (the part takes "
            "the scene's version and iteration)",
            field="hip",
        ) from exc


def run_jobs(jobs: Sequence[Job]) -> list[JobStatus]:
    """Run every job in order, each independently of the others' failures; after an
    interruption the remaining jobs are reported as not run."""
    backend = pm_context.backend()
    statuses: list[JobStatus] = []
    for number, job in enumerate(jobs, start=1):
        if statuses and statuses[-1].exit_code == Interrupted.exit_code:
            error = Interrupted("not run: the batch was interrupted", field="jobs").as_dict()
            statuses.append(
                JobStatus(job.id, "not_run", Interrupted.exit_code, job.hip, job.node, error=error)
            )
            continue
        log.info("job %s (%d of %d): %s %s", job.id, number, len(jobs), job.hip, job.node)
        statuses.append(run_job(job, backend))
    return statuses


def _write_report(path: str, document: dict[str, Any]) -> None:
    """Write the report beside, then rename: a scheduler never reads half a report."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, target)


def _summary(statuses: Sequence[JobStatus]) -> dict[str, int]:
    counts = {"published": 0, "already_published": 0, "failed": 0, "not_run": 0}
    for status in statuses:
        counts[status.status] += 1
    return counts


def _print(statuses: Sequence[JobStatus], as_json: bool, exit_code: int) -> None:
    if as_json:
        document = {
            "ok": exit_code == EXIT_OK,
            "exit_code": exit_code,
            "summary": _summary(statuses),
            "jobs": [s.as_dict() for s in statuses],
        }
        print(json.dumps(document, indent=2))
        return
    for status in statuses:
        if status.publish is not None:
            p = status.publish
            print(
                f"{status.status:<18} {status.id}  {p['asset_name']}/{p['part_name']} "
                f"{numbers_label(p['version'], p['iteration'])}  {p['item_usd_path']}"
            )
        else:
            error = status.error or {}
            where = f"{error.get('field')}: " if error.get("field") else ""
            print(f"{'failed':<18} {status.id}  {where}{error.get('message')}")


def _log_to_stderr() -> None:
    """pm's log lines on stderr, whatever logging set-up the host (hython) already has."""
    if not any(getattr(h, "name", None) == "pm-batch" for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name("pm-batch")
        handler.setFormatter(logging.Formatter("pm batch: %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the batch command line; returns the exit code for the farm scheduler."""
    _log_to_stderr()
    args = build_parser().parse_args(argv)
    try:
        if args.command == "publish":
            raw = {
                "id": "publish",
                "hip": args.hip,
                "node": args.node,
                "asset": args.asset,
                "part": args.part,
                "frame_range": args.frame_range,
                "request_id": args.request_id,
            }
            jobs = [parse_job(raw, None)]
        else:
            jobs = load_jobs(args.jobs)
        statuses = run_jobs(jobs)
    except PmError as exc:
        log.error("%s", exc)
        if getattr(args, "json", False):
            print(json.dumps({"ok": False, "exit_code": exc.exit_code, "error": exc.as_dict()}))
        return exc.exit_code
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    if args.command == "publish":
        exit_code = statuses[0].exit_code
    else:
        exit_code = (
            EXIT_OK if all(s.exit_code == EXIT_OK for s in statuses) else EXIT_SOME_JOBS_FAILED
        )
    if args.command == "jobs" and args.report:
        _write_report(
            args.report, {"exit_code": exit_code, "jobs": [s.as_dict() for s in statuses]}
        )
    _print(statuses, args.json, exit_code)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
