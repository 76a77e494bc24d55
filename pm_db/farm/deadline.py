"""A farm plan as Thinkbox Deadline 10 jobs, submitted with `deadlinecommand`.

Each job is two files of `Key=Value` lines, a job info file and a plugin info file,
submitted as `deadlinecommand JOB_INFO_FILE PLUGIN_INFO_FILE`; Deadline answers with a
`JobID=...` line. The keys are those Deadline documents and its own submitters write
(docs/farm.md says where each was checked):

- a render job per ROP to render first: Deadline's Houdini plugin (SceneFile,
  OutputDriver, Version, IgnoreInputs, Build), its frames split into tasks of ChunkSize;
- a publish job per node: the CommandLine plugin (Executable, Arguments,
  StartupDirectory) running `hython -m pm_houdini.batch publish ... --request-id ID`,
  depending on the render jobs (JobDependencies), with the task context in
  EnvironmentKeyValueN. The request id makes a re-queued or retried task return the
  first publish; the batch's exit code is the task's: 0 (published now or before)
  completes it, anything else fails it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pm_db.errors import ConfigError, PmError, ValidationError
from pm_db.farm.plan import FarmPlan, PublishJob, RenderJob, slug

SUBMIT_TIMEOUT = 300.0
_JOB_ID = re.compile(r"^JobID=(?P<id>\S+)\s*$", re.M)


class SubmitFailed(PmError):
    """Deadline refused a job or could not be reached; the message names every job
    already submitted, so none is left behind unreported."""

    code = "submit_failed"
    exit_code = 10
    http_status = 502


@dataclass(frozen=True)
class JobSettings:
    """Scheduling settings every job of a submission shares."""

    pool: str | None = None
    group: str | None = None
    priority: int = 50
    chunk_size: int = 10
    comment: str | None = None
    suspended: bool = False


@dataclass
class DeadlineJob:
    """One Deadline job: its two files' contents and what it depends on."""

    key: str
    kind: str
    name: str
    job_info: dict[str, str]
    plugin_info: dict[str, str]
    depends_on: list[str] = field(default_factory=list)
    job_id: str | None = None

    def as_dict(self, workdir: Path) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "name": self.name,
            "job_info": str(workdir / f"{self.key}.job_info.job"),
            "plugin_info": str(workdir / f"{self.key}.plugin_info.job"),
            "depends_on": self.depends_on,
            "job_id": self.job_id,
        }


def jobs_for(plan: FarmPlan, settings: JobSettings) -> list[DeadlineJob]:
    """The render jobs, then a publish job per node depending on all of them."""
    jobs = [_render_job(plan, render, settings, n) for n, render in enumerate(plan.renders, 1)]
    renders = [job.key for job in jobs]
    for number, publish in enumerate(plan.publishes, len(jobs) + 1):
        job = _publish_job(plan, publish, settings, number)
        job.depends_on = list(renders)
        jobs.append(job)
    return jobs


def _common(plan: FarmPlan, name: str, settings: JobSettings) -> dict[str, str]:
    info = {"Name": name, "BatchName": plan.name, "Priority": str(settings.priority)}
    for key, value in (
        ("Pool", settings.pool),
        ("Group", settings.group),
        ("Comment", settings.comment),
    ):
        if value:
            info[key] = value
    if settings.suspended:
        info["InitialStatus"] = "Suspended"
    return info


def _render_job(
    plan: FarmPlan, render: RenderJob, settings: JobSettings, number: int
) -> DeadlineJob:
    name = f"{plan.name} - render {render.node}"
    job_info = {"Plugin": "Houdini", **_common(plan, name, settings)}
    job_info.update(Frames=render.frame_list, ChunkSize=str(settings.chunk_size))
    plugin_info = {
        "SceneFile": render.hip,
        "OutputDriver": render.node,
        "Version": plan.houdini_version,
        "IgnoreInputs": "False",
        "Build": "None",
    }
    return DeadlineJob(
        f"{number:02d}-render-{slug(render.node)}", "render", name, job_info, plugin_info
    )


def _publish_job(
    plan: FarmPlan, publish: PublishJob, settings: JobSettings, number: int
) -> DeadlineJob:
    name = f"{plan.name} - pm publish {publish.asset}/{publish.part} ({publish.node})"
    job_info = {"Plugin": "CommandLine", **_common(plan, name, settings)}
    job_info.update(Frames="0", ChunkSize="1")
    environment = {**plan.environment, **publish.context}
    for index, (key, value) in enumerate(sorted(environment.items())):
        job_info[f"EnvironmentKeyValue{index}"] = f"{key}={value}"
    job_info["ExtraInfoKeyValue0"] = f"pm_request_id={publish.request_id}"
    job_info["ExtraInfoKeyValue1"] = f"pm_part={publish.asset}/{publish.part}"
    plugin_info = {
        "Executable": plan.hython,
        # Deadline hands Arguments to the process as one string, split by the rules
        # list2cmdline writes for (double quotes around an argument with spaces).
        "Arguments": subprocess.list2cmdline(publish.batch_arguments()),
        "StartupDirectory": str(Path(publish.hip).parent),
    }
    key = f"{number:02d}-publish-{slug(publish.asset)}-{slug(publish.part)}"
    return DeadlineJob(key, "publish", name, job_info, plugin_info)


def info_text(values: Mapping[str, str], what: str) -> str:
    """`values` as a Deadline info file (`Key=Value` lines). Raises ValidationError for a
    value Deadline would split (a line break)."""
    lines = []
    for key, value in values.items():
        if "\n" in value or "\r" in value:
            raise ValidationError(f"{key} holds a line break: {value!r}", field=what)
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def write_files(jobs: list[DeadlineJob], workdir: Path) -> None:
    """Write every job's info files into `workdir` (each beside, then renamed)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for job in jobs:
        _replace(workdir / f"{job.key}.job_info.job", info_text(job.job_info, job.key))
        _replace(workdir / f"{job.key}.plugin_info.job", info_text(job.plugin_info, job.key))


def write_record(jobs: list[DeadlineJob], workdir: Path, dry_run: bool) -> dict[str, Any]:
    """`submission.json`: every job, its files and its Deadline id once submitted."""
    record = {
        "dry_run": dry_run,
        "workdir": str(workdir),
        "jobs": [j.as_dict(workdir) for j in jobs],
    }
    _replace(workdir / "submission.json", json.dumps(record, indent=2) + "\n")
    return record


def find_deadlinecommand(given: str | None, env: Mapping[str, str]) -> str:
    """`given`, else $DEADLINE_PATH/deadlinecommand (set by Deadline's client
    installer), else deadlinecommand on PATH. Raises ConfigError naming it."""
    if given:
        found = shutil.which(given, path=env.get("PATH"))
        if found is None:
            raise ConfigError(f"{given} is not an executable file", field="deadlinecommand")
        return found
    if env.get("DEADLINE_PATH"):
        candidate = shutil.which("deadlinecommand", path=env["DEADLINE_PATH"])
        if candidate is not None:
            return candidate
    found = shutil.which("deadlinecommand", path=env.get("PATH"))
    if found is None:
        raise ConfigError(
            "not found on PATH or in $DEADLINE_PATH; install Deadline's client or give "
            "--deadlinecommand",
            field="deadlinecommand",
        )
    return found


def submit(
    jobs: list[DeadlineJob],
    workdir: Path,
    deadlinecommand: str,
) -> dict[str, Any]:
    """Submit the jobs in order, each publish job after the render jobs it depends on;
    the submission record. Raises SubmitFailed naming the jobs already submitted."""
    ids: dict[str, str] = {}
    for job in jobs:
        if job.depends_on:
            job.job_info["JobDependencies"] = ",".join(ids[key] for key in job.depends_on)
        write_files([job], workdir)
        job_file, plugin_file = (
            workdir / f"{job.key}.job_info.job",
            workdir / f"{job.key}.plugin_info.job",
        )
        try:
            done = subprocess.run(
                [deadlinecommand, str(job_file), str(plugin_file)],
                capture_output=True,
                text=True,
                timeout=SUBMIT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _failed(job, jobs, workdir, f"could not run {deadlinecommand}: {exc}") from exc
        match = _JOB_ID.search(done.stdout or "")
        if done.returncode != 0 or match is None:
            said = " ".join((done.stdout + " " + done.stderr).split())[-400:]
            raise _failed(job, jobs, workdir, f"exit {done.returncode}: {said}")
        job.job_id = ids[job.key] = match["id"]
        write_record(jobs, workdir, dry_run=False)
    return write_record(jobs, workdir, dry_run=False)


def _failed(job: DeadlineJob, jobs: list[DeadlineJob], workdir: Path, why: str) -> SubmitFailed:
    write_record(jobs, workdir, dry_run=False)
    submitted = [f"{j.name} ({j.job_id})" for j in jobs if j.job_id]
    already = (
        "already submitted (remove them in Deadline Monitor before submitting again): "
        + "; ".join(submitted)
        if submitted
        else "nothing was submitted"
    )
    return SubmitFailed(
        f"Deadline did not take {job.name!r} ({why}); {already}. "
        f"Record: {workdir / 'submission.json'}",
        field="deadlinecommand",
    )


def _replace(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
