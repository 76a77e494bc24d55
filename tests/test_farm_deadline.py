"""`pm farm submit`: Deadline job files checked against the keys Deadline documents, a
stand-in `deadlinecommand` recording what would have been submitted, and the publish job's
own command line run the way Deadline's CommandLine plugin runs it, twice (a re-queued
task), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.fake_hou import support
from tests.farm_support import deadline_calls, farm_env, farm_scene, info_file, stand_in_bin
from tests.helpers import cli_document

# isort: split
from pm_db.services import publish_reads

houdini = support.houdini
launched = support.launched

# Job info keys as Deadline 10 documents them (Manual Job Submission, "Job Info File")
# and as its own Houdini and CommandLine submitters write them; numbered keys end in N.
JOB_INFO_KEYS = {
    "Plugin", "Name", "BatchName", "Comment", "Department", "Pool", "SecondaryPool",
    "Group", "Priority", "Frames", "ChunkSize", "JobDependencies", "InitialStatus",
    "MachineLimit", "TaskTimeoutMinutes", "ConcurrentTasks", "OnJobComplete", "UserName",
}  # fmt: skip
NUMBERED_JOB_INFO_KEYS = ("EnvironmentKeyValue", "ExtraInfoKeyValue", "OutputDirectory")
# Plugin info keys of Deadline's Houdini plugin (SubmitHoudiniToDeadline) and of its
# CommandLine plugin (the Monitor's command line submitter, -SubmitCommandLineJob).
HOUDINI_PLUGIN_KEYS = {"SceneFile", "OutputDriver", "Version", "IgnoreInputs", "Build"}
COMMANDLINE_PLUGIN_KEYS = {"Executable", "Arguments", "StartupDirectory", "Shell", "ShellExecute"}


def pm_farm(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pm_db", "farm", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def check_keys(files: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The job and plugin info of one job; every key is one Deadline documents."""
    [job_text] = [text for path, text in files.items() if path.endswith(".job_info.job")]
    [plugin_text] = [text for path, text in files.items() if path.endswith(".plugin_info.job")]
    job, plugin = info_file(job_text), info_file(plugin_text)
    for key in job:
        numbered = any(
            key.startswith(p) and key[len(p) :].isdigit() for p in NUMBERED_JOB_INFO_KEYS
        )
        assert key in JOB_INFO_KEYS or numbered, f"{key} is not a documented job info key"
    documented = HOUDINI_PLUGIN_KEYS if job["Plugin"] == "Houdini" else COMMANDLINE_PLUGIN_KEYS
    assert set(plugin) <= documented, set(plugin) - documented
    assert {"Plugin", "Name", "Frames"} <= set(job)
    return job, plugin


def job_files(folder: Path) -> list[dict[str, str]]:
    """The info files of each job written into `folder`, in submission order."""
    record = json.loads((folder / "submission.json").read_text())
    return [
        {
            job["job_info"]: Path(job["job_info"]).read_text(),
            job["plugin_info"]: Path(job["plugin_info"]).read_text(),
        }
        for job in record["jobs"]
    ]


def environment_of(job: dict[str, str]) -> dict[str, str]:
    pairs = [v.split("=", 1) for k, v in job.items() if k.startswith("EnvironmentKeyValue")]
    return {key: value for key, value in pairs}


def run_as_commandline_plugin(plugin: dict[str, str], job: dict[str, str]) -> Any:
    """What Deadline's CommandLine plugin runs: Executable with Arguments, in
    StartupDirectory, with the job's environment on top of the worker's."""
    env = farm_env(Path(plugin["Executable"]).parent, **environment_of(job))
    done = subprocess.run(
        [plugin["Executable"], *shlex.split(plugin["Arguments"])],
        cwd=plugin["StartupDirectory"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, json.loads(done.stdout), done.stderr


def test_dry_run_writes_documented_files_and_the_publish_job_is_safe_to_requeue(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = farm_scene(houdini)
    bin_folder = stand_in_bin(tmp_path)
    log = tmp_path / "deadline.jsonl"
    env = farm_env(bin_folder, FAKE_DEADLINE_LOG=str(log))
    args = ["submit", "--hip", hip, "--node", "/stage/particles01", "--render", "/out/cache"]
    done = pm_farm(
        *args, "--out", str(tmp_path / "dry"), "--dry-run", "--json", env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert deadline_calls(log) == []  # a dry run submits nothing
    record = cli_document(done.stdout)
    assert record["dry_run"] is True
    assert [job["kind"] for job in record["jobs"]] == ["render", "publish"]
    assert record["jobs"][1]["depends_on"] == [record["jobs"][0]["key"]]

    (render_job, render_plugin), (publish_job, publish_plugin) = [
        check_keys(files) for files in job_files(tmp_path / "dry")
    ]
    assert render_job["Plugin"] == "Houdini" and render_job["Frames"] == "1-3"
    assert render_plugin["SceneFile"] == hip and render_plugin["OutputDriver"] == "/out/cache"
    assert render_plugin["Version"] == "{}.{}".format(*houdini.applicationVersion()[:2])
    assert publish_job["Plugin"] == "CommandLine" and publish_job["Frames"] == "0"
    context = environment_of(publish_job)
    assert context["PM_TASK_ID"] == str(launched.shot_task_id)
    assert (context["PM_PROJECT"], context["PM_ARTIST"]) == ("FX3X", "jdoe")
    assert publish_plugin["Executable"] == str(bin_folder / "hython")
    words = shlex.split(publish_plugin["Arguments"])
    assert words[:3] == ["-m", "pm_houdini.batch", "publish"]
    request_id = words[words.index("--request-id") + 1]
    assert publish_job["ExtraInfoKeyValue0"] == f"pm_request_id={request_id}"

    # The same submission again derives the same request id (files by default under
    # $PM_HOME/farm/HIPNAME).
    again = pm_farm(*args, "--dry-run", "--json", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    workdir = Path(os.environ["PM_HOME"]) / "farm" / Path(hip).stem
    assert cli_document(again.stdout)["workdir"] == str(workdir)
    [_render, (publish_again, _plugin)] = [check_keys(f) for f in job_files(workdir)]
    assert publish_again["ExtraInfoKeyValue0"] == publish_job["ExtraInfoKeyValue0"]

    # The task as Deadline runs it, then re-queued: one publish, the second run a no-op.
    code, first, stderr = run_as_commandline_plugin(publish_plugin, publish_job)
    assert code == 0, stderr
    assert first["jobs"][0]["status"] == "published"
    code, second, stderr = run_as_commandline_plugin(publish_plugin, publish_job)
    assert code == 0, stderr
    assert second["jobs"][0]["status"] == "already_published"
    assert second["jobs"][0]["publish"]["publish_id"] == first["jobs"][0]["publish"]["publish_id"]
    with launched.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT part_id, status, request_id FROM publishes")).all()
    assert [(status, rid) for _part, status, rid in rows] == [("published", request_id)]


def test_submit_calls_deadlinecommand_as_documented_render_first_then_dependent_publish(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = farm_scene(houdini, ("particles01", "debris"))
    log = tmp_path / "deadline.jsonl"
    env = farm_env(stand_in_bin(tmp_path), FAKE_DEADLINE_LOG=str(log))
    done = pm_farm(
        "submit", "--hip", hip, "--node", "/stage/particles01", "--node", "/stage/debris",
        "--render", "/out/cache", "--render-frames", "1", "2", "--chunk-size", "1",
        "--pool", "fx", "--suspended", "--comment", "cache then publish",
        "--out", str(tmp_path / "sub"), "--json", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    calls = deadline_calls(log)
    assert len(calls) == 3
    # Deadline's documented form: deadlinecommand JOB_INFO_FILE PLUGIN_INFO_FILE.
    for call in calls:
        job_file, plugin_file = call["argv"]
        assert job_file.endswith(".job_info.job") and plugin_file.endswith(".plugin_info.job")
    jobs = [check_keys(call["files"]) for call in calls]
    (render, _), *published = jobs
    assert (render["Plugin"], render["Frames"], render["ChunkSize"]) == ("Houdini", "1-2", "1")
    record = cli_document(done.stdout)
    render_id = record["jobs"][0]["job_id"]
    assert render_id and all(job["job_id"] for job in record["jobs"])
    for job, plugin in published:
        assert job["JobDependencies"] == render_id
        assert (job["Pool"], job["InitialStatus"]) == ("fx", "Suspended")
        assert job["Comment"] == "cache then publish"
        assert "--node" in shlex.split(plugin["Arguments"])
    parts = {
        shlex.split(p["Arguments"])[shlex.split(p["Arguments"]).index("--part") + 1]
        for _, p in published
    }
    assert parts == {"particles01", "debris"}
    assert json.loads((tmp_path / "sub" / "submission.json").read_text()) == record


def test_a_submission_failing_half_way_names_the_job_it_already_submitted(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = farm_scene(houdini)
    log = tmp_path / "deadline.jsonl"
    env = farm_env(stand_in_bin(tmp_path), FAKE_DEADLINE_LOG=str(log), FAKE_DEADLINE_FAIL_AT="2")
    done = pm_farm(
        "submit", "--hip", hip, "--node", "/stage/particles01", "--render", "/out/cache",
        "--out", str(tmp_path / "sub"), env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 10
    record = json.loads((tmp_path / "sub" / "submission.json").read_text())
    render_id = record["jobs"][0]["job_id"]
    assert render_id and record["jobs"][1]["job_id"] is None
    assert render_id in done.stderr and "render /out/cache" in done.stderr
    assert "deadlinecommand" in done.stderr
    assert len(deadline_calls(log)) == 2


def test_bad_input_is_named_before_anything_is_submitted(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = farm_scene(houdini)
    bin_folder = stand_in_bin(tmp_path)
    log = tmp_path / "deadline.jsonl"
    env = farm_env(bin_folder, FAKE_DEADLINE_LOG=str(log))
    outside = tmp_path / "elsewhere" / Path(hip).name
    outside.parent.mkdir()
    outside.write_bytes(Path(hip).read_bytes())
    cases = [
        # (arguments, extra environment, exit code, words the error must hold)
        (["--node", "/obj/geo1"], {}, 2, ["node", "/obj/geo1", "LOP node or a USD ROP"]),
        (["--node", "/stage/particles01", "--render", "/stage/particles01"], {}, 2,
         ["render", "/stage/particles01", "only ROPs render"]),
        (["--node", "/stage/nothing"], {}, 3, ["node", "/stage/nothing"]),
        (["--node", "/stage/particles01", "--render", "/out/cache", "--render-frames", "1.5", "3"],
         {}, 2, ["--render-frames", "whole frames"]),
        (["--node", "/stage/particles01"], {"PM_API_URL": "http://127.0.0.1:9"}, 6,
         ["127.0.0.1:9"]),
    ]  # fmt: skip
    for arguments, extra, code, words in cases:
        done = pm_farm("submit", "--hip", hip, *arguments, env={**env, **extra}, cwd=tmp_path)
        assert done.returncode == code, (arguments, done.stderr)
        for word in words:
            assert word in done.stderr, (word, done.stderr)
    done = pm_farm(
        "submit", "--hip", str(outside), "--node", "/stage/particles01", env=env, cwd=tmp_path
    )
    assert done.returncode == 2 and "not inside any project's roots" in done.stderr, done.stderr
    no_deadline = {**env, "PATH": f"{bin_folder}-none:/usr/bin:/bin"}
    done = pm_farm(
        "submit", "--hip", hip, "--node", "/stage/particles01",
        "--hython", str(bin_folder / "hython"), env=no_deadline, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 7 and done.stderr.startswith("pm: error: deadlinecommand:"), (
        done.stderr
    )
    assert deadline_calls(log) == []
    assert publish_reads.list_publishes(launched.db) == []


def test_conflicting_options_are_named_before_hython_runs(
    launched: Any, houdini: types.ModuleType, tmp_path: Path, capsys: Any
) -> None:
    from pm_db.cli import main

    hip = farm_scene(houdini)
    hython = str(stand_in_bin(tmp_path) / "hython")
    two = ["--node", "/stage/a", "--node", "/stage/b"]
    cases = [
        (["--hip", hip, *two, "--part", "rock"], "--part"),
        (["--hip", hip, "--node", "/stage/a", "--node", "/stage/a"], "--node"),
        (["--hip", hip], "--node"),
        (["--hip", hip, "--node", "/stage/a", "--jobs", hip], "--jobs"),
        (["--hip", str(tmp_path / "missing.hip"), "--node", "/stage/a"], "--hip"),
        (["--jobs", str(tmp_path / "missing.json")], "--jobs"),
    ]
    for arguments, field in cases:
        code = main(["farm", "submit", *arguments, "--hython", hython, "--dry-run", "--json"])
        out, _err = capsys.readouterr()
        assert code == 2, arguments
        assert cli_document(out)["error"]["field"] == field, (arguments, out)


def test_a_pm_job_file_becomes_one_publish_job_per_job_and_is_checked_by_the_batch_parser(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = farm_scene(houdini, ("particles01", "debris"))
    env = farm_env(stand_in_bin(tmp_path), FAKE_DEADLINE_LOG=str(tmp_path / "log"))
    jobs = tmp_path / "jobs.json"
    jobs.write_text(
        json.dumps(
            {
                "jobs": [
                    {"id": "a", "hip": hip, "node": "/stage/particles01", "request_id": "farm-a"},
                    {"id": "b", "hip": hip, "node": "/stage/debris", "part": "debris02",
                     "frame_range": [1, 3]},
                ]
            }
        )
    )  # fmt: skip
    done = pm_farm("submit", "--jobs", str(jobs), "--dry-run", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = Path(cli_document(done.stdout)["workdir"])
    assert folder.name == "jobs"
    published = [check_keys(files) for files in job_files(folder)]
    words = [shlex.split(plugin["Arguments"]) for _job, plugin in published]
    assert [w[w.index("--part") + 1] for w in words] == ["particles01", "debris02"]
    assert words[0][words[0].index("--request-id") + 1] == "farm-a"  # the job file's own id
    assert words[1][words[1].index("--frame-range") + 1 :][:2] == ["1", "3"]

    jobs.write_text(json.dumps({"jobs": [{"hip": hip, "node": "/stage/debris", "nodes": []}]}))
    done = pm_farm("submit", "--jobs", str(jobs), "--dry-run", env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert "jobs[0].nodes: is not a known field" in done.stderr
