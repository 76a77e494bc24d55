"""What a farm submission renders and publishes, checked before anything is submitted.

A plan is built in three steps: find hython; let hython check the job file the way the
batch will on the farm (`hython -m pm_houdini.farm inspect`: hip files saved by pm,
nodes that are LOPs or USD ROPs, ROPs to render, each publish's asset, part and request
id); then read each scene's task from pm, for the context every farm task runs with.
Any failure raises a pm error naming the file, job or node; nothing is submitted then.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pm_db.errors import ERRORS_BY_CODE, ConfigError, PmError, ValidationError
from pm_db.launch import package_dir

if TYPE_CHECKING:
    from pm_db.backend import Backend

FrameRange = tuple[float, float, float]

# Settings a farm task may need from the submitter's environment: none is a secret (a
# token or password travels as a file path, never as a value).
FORWARDED_SETTINGS = ("PM_API_URL", "PM_API_TOKEN_FILE", "PM_ENV")
INSPECT_TIMEOUT = 900.0


@dataclass(frozen=True)
class PublishJob:
    """One node to publish on the farm, as the batch will publish it."""

    id: str
    hip: str
    node: str
    asset: str
    part: str
    frame_range: FrameRange | None
    request_id: str
    scene_id: int
    context: dict[str, str]
    """PM_PROJECT, PM_TASK_ID and PM_ARTIST of the scene the node is published from."""

    def batch_arguments(self) -> list[str]:
        """The arguments of `hython -m pm_houdini.batch publish` for this job."""
        arguments = ["-m", "pm_houdini.batch", "publish", "--hip", self.hip, "--node", self.node]
        arguments += ["--asset", self.asset, "--part", self.part]
        if self.frame_range is not None:
            arguments += ["--frame-range", *(_number(f) for f in self.frame_range)]
        return [*arguments, "--request-id", self.request_id, "--json"]


@dataclass(frozen=True)
class RenderJob:
    """A ROP rendered before the publishes (a simulation cache the LOPs read, say)."""

    hip: str
    node: str
    type: str
    frames: tuple[int, int, int]

    @property
    def frame_list(self) -> str:
        """The frames in Deadline's and Open Job Description's notation: 1001-1100 or
        1001-1100x2 (Deadline), 1001-1100:2 (Open Job Description, see `range_expr`)."""
        start, end, step = self.frames
        return f"{start}-{end}" if step == 1 else f"{start}-{end}x{step}"

    @property
    def range_expr(self) -> str:
        start, end, step = self.frames
        return f"{start}-{end}" if step == 1 else f"{start}-{end}:{step}"


@dataclass(frozen=True)
class FarmPlan:
    """Everything a submission sends, checked."""

    name: str
    hython: str
    houdini_version: str
    renders: tuple[RenderJob, ...]
    publishes: tuple[PublishJob, ...]
    environment: dict[str, str] = field(default_factory=dict)
    """What every farm task runs with besides its own context (HOUDINI_PACKAGE_DIR...)."""


@dataclass(frozen=True)
class Request:
    """What the user asked: a hip file and nodes, or a pm job file."""

    hip: str | None = None
    nodes: tuple[str, ...] = ()
    jobs_file: str | None = None
    asset: str | None = None
    part: str | None = None
    frame_range: tuple[float, ...] | None = None
    renders: tuple[str, ...] = ()
    render_frames: tuple[float, ...] | None = None
    name: str | None = None


def find_hython(given: str | None, env: Mapping[str, str]) -> str:
    """The hython to run: `given`, else $PM_HYTHON, else $HFS/bin/hython, else hython on
    PATH. Raises ConfigError naming `hython`."""
    candidates = [given, env.get("PM_HYTHON")]
    if env.get("HFS"):
        candidates.append(str(Path(env["HFS"]) / "bin" / "hython"))
    for candidate in candidates:
        if candidate:
            found = shutil.which(candidate, path=env.get("PATH"))
            if found is None:
                raise ConfigError(f"{candidate} is not an executable file", field="hython")
            return found
    found = shutil.which("hython", path=env.get("PATH"))
    if found is None:
        raise ConfigError(
            "no hython found (give --hython, or set PM_HYTHON or HFS); pm checks the nodes "
            "with Houdini before it submits anything",
            field="hython",
        )
    return found


def job_document(request: Request) -> dict[str, Any]:
    """The pm job file of a `--hip/--node` request. Raises ValidationError naming the flag."""
    if request.hip is None or not request.nodes:
        raise ValidationError("give --hip and at least one --node, or --jobs", field="--node")
    if len(request.nodes) > 1 and request.part is not None:
        raise ValidationError("names one part; several --node need their own parts", "--part")
    if len(set(request.nodes)) != len(request.nodes):
        raise ValidationError("names the same node twice", field="--node")
    hip = str(Path(request.hip).absolute())
    if not Path(hip).is_file():
        raise ValidationError(f"no hip file at {hip}", field="--hip")
    jobs = []
    for node in request.nodes:
        job: dict[str, Any] = {"id": slug(node), "hip": hip, "node": node}
        for key, value in (
            ("asset", request.asset),
            ("part", request.part),
            ("frame_range", list(request.frame_range) if request.frame_range else None),
        ):
            if value is not None:
                job[key] = value
        jobs.append(job)
    return {"jobs": jobs}


def build_plan(
    request: Request, hython: str, backend: Backend, workdir: Path, env: Mapping[str, str]
) -> FarmPlan:
    """Check `request` with hython and pm; the plan of what to submit. Raises the pm error
    of the first problem (ValidationError, NotFound, Unavailable, ConfigError)."""
    if request.jobs_file is not None:
        if request.hip is not None or request.nodes:
            raise ValidationError("give either --jobs or --hip/--node, not both", "--jobs")
        jobs_file = Path(request.jobs_file).absolute()
        if not jobs_file.is_file():
            raise ValidationError(f"no job file at {jobs_file}", field="--jobs")
    else:
        jobs_file = workdir / "pm_jobs.json"
        workdir.mkdir(parents=True, exist_ok=True)
        jobs_file.write_text(json.dumps(job_document(request), indent=2) + "\n", "utf-8")
    checked = inspect(hython, jobs_file, request.renders, env)
    projects: dict[int, str] = {}
    publishes = []
    for job in checked["jobs"]:
        scene = job["scene"]
        if scene["task_id"] not in projects:
            projects[scene["task_id"]] = backend.task_row(scene["task_id"]).project
        context = {
            "PM_PROJECT": projects[scene["task_id"]],
            "PM_TASK_ID": str(scene["task_id"]),
            "PM_ARTIST": scene["artist"],
        }
        frames = job["frame_range"]
        publishes.append(
            PublishJob(
                id=job["id"],
                hip=job["hip"],
                node=job["node"],
                asset=job["asset"],
                part=job["part"],
                frame_range=(frames[0], frames[1], frames[2]) if frames else None,
                request_id=job["request_id"],
                scene_id=scene["id"],
                context=context,
            )
        )
    renders = tuple(
        _render_job(publishes[0].hip, raw, request.render_frames) for raw in checked["renders"]
    )
    first = checked["jobs"][0]["scene"]
    name = request.name or f"{first['name']}_v{first['version']:03d}_i{first['iteration']:03d}"
    environment = {"HOUDINI_PACKAGE_DIR": package_dir(env)}
    environment.update({key: env[key] for key in FORWARDED_SETTINGS if env.get(key)})
    return FarmPlan(
        name=name,
        hython=hython,
        houdini_version=checked["houdini_version"],
        renders=renders,
        publishes=tuple(publishes),
        environment=environment,
    )


def inspect(
    hython: str, jobs_file: Path, renders: Sequence[str], env: Mapping[str, str]
) -> dict[str, Any]:
    """Run `hython -m pm_houdini.farm inspect`; its JSON answer. Raises the pm error it
    reports, or ConfigError when hython itself fails."""
    command = [hython, "-m", "pm_houdini.farm", "inspect", str(jobs_file)]
    for node in renders:
        command += ["--render", node]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=dict(env),
            timeout=INSPECT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"could not run {hython}: {exc}", field="hython") from exc
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        tail = " ".join(done.stderr.strip().splitlines()[-3:])
        raise ConfigError(
            f"{hython} could not check the nodes (exit {done.returncode}): {tail}",
            field="hython",
        )
    if not answer.get("ok"):
        error = answer.get("error") or {}
        kind = ERRORS_BY_CODE.get(str(error.get("code")), PmError)
        raise kind(str(error.get("message")), field=error.get("field"))
    return answer


def _render_job(hip: str, raw: Mapping[str, Any], frames: tuple[float, ...] | None) -> RenderJob:
    node = str(raw["node"])
    chosen = frames if frames is not None else raw["frame_range"]
    if chosen is None:
        raise ValidationError(
            f"{node} renders only the current frame (its Valid Frame Range); give "
            "--render-frames START END [STEP]",
            field="--render-frames",
        )
    if len(chosen) not in (2, 3) or any(float(f) != int(f) for f in chosen):
        raise ValidationError("must be whole frames: START END [STEP]", field="--render-frames")
    start, end = int(chosen[0]), int(chosen[1])
    step = int(chosen[2]) if len(chosen) == 3 else 1
    if end < start or step < 1:
        raise ValidationError("needs START <= END and a positive STEP", "--render-frames")
    return RenderJob(hip=hip, node=node, type=str(raw["type"]), frames=(start, end, step))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def slug(text: str) -> str:
    """`text` as a file name part: runs of other characters become `_`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "job"


def default_workdir(env: Mapping[str, str], name: str) -> Path:
    """Where a submission's files go by default: $PM_HOME/farm/NAME."""
    home = Path(env.get("PM_HOME") or Path.home() / ".pm").expanduser()
    return (home / "farm" / slug(name)).absolute()
