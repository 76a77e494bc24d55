"""hython batch publishing, run as the farm runs it: a separate process
(`python -m pm_houdini.batch`, the fake hou standing in for Houdini's) against a real
database (SQLite and PostgreSQL), loading hip files pm saved and writing real USD files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from pxr import Usd

# The fake hou must be on sys.path (support does it) before pm_houdini imports hou.
from tests.fake_hou import support

# isort: split
from pm_houdini import batch
from pm_houdini import save as pm_save

from pm_db.errors import ValidationError
from pm_db.services import publish_reads

houdini = support.houdini
launched = support.launched


def saved_scene(hou: types.ModuleType, parts: tuple[str, ...] = ("particles01",)) -> str:
    """A hip file saved through pm with a pm Publish Part node per part; returns its path."""
    stage = hou.node("/stage")
    for part in parts:
        source = stage.createNode("sphere", f"{part}_src")
        node = stage.createNode("pm::publish_part::1.0", part)
        node.setInput(0, source)
        node.parm("asset").set("PinchIn")
    rop = hou.node("/out").createNode("geometry", "cache")
    assert rop is not None
    return pm_save.save_scene(scene_name="PinchIn").path


def publish_rows(studio: Any) -> list[tuple[str, int, int, str, int]]:
    rows = publish_reads.list_publishes(studio.db)
    return sorted((p.part_name, p.version, p.iteration, p.status, p.id) for p in rows)


def run(tmp_path: Path, *args: str, **env: str) -> tuple[int, Any, str]:
    done = support.run_batch(*args, cwd=tmp_path, env=support.batch_env(env) if env else None)
    document = json.loads(done.stdout) if "--json" in args else done.stdout
    return done.returncode, document, done.stderr


def test_publish_one_node_then_a_retry_returns_the_first_record(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = saved_scene(houdini)
    args = ("publish", "--hip", hip, "--node", "/stage/particles01", "--json")
    code, report, stderr = run(tmp_path, *args)
    assert code == 0, stderr
    [job] = report["jobs"]
    assert job["status"] == "published" and job["exit_code"] == 0
    data_layer = job["publish"]["item_usd_path"]
    assert Path(data_layer).name == "particles01_v001_i001.usd"
    layer = Usd.Stage.Open(data_layer)
    assert [str(p.GetPath()) for p in layer.Traverse()] == ["/particles01_src"]
    written = os.stat(data_layer).st_mtime_ns

    code, again, stderr = run(tmp_path, *args)
    assert code == 0, stderr
    assert again["jobs"][0]["status"] == "already_published"
    assert again["jobs"][0]["publish"]["publish_id"] == job["publish"]["publish_id"]
    assert os.stat(data_layer).st_mtime_ns == written  # nothing rendered the second time
    assert [r[:4] for r in publish_rows(launched)] == [("particles01", 1, 1, "published")]


def test_a_job_list_reports_each_job_and_a_rerun_only_retries_failures(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = saved_scene(houdini, ("particles01", "debris"))
    jobs = tmp_path / "jobs.json"
    jobs.write_text(
        json.dumps(
            {
                "jobs": [
                    {"id": "particles", "hip": hip, "node": "/stage/particles01"},
                    {"id": "wrong-node", "hip": hip, "node": "/out/cache", "part": "cache"},
                    {"id": "no-hip", "hip": str(tmp_path / "gone.hip"), "node": "/stage/x"},
                    {
                        "id": "debris",
                        "hip": hip,
                        "node": "/stage/debris",
                        "frame_range": [1001, 1003],
                    },
                ]
            }
        )
    )
    report_file = tmp_path / "out" / "report.json"
    code, report, stderr = run(tmp_path, "jobs", str(jobs), "--report", str(report_file), "--json")
    assert code == batch.EXIT_SOME_JOBS_FAILED, stderr
    statuses = {j["id"]: (j["status"], j["exit_code"]) for j in report["jobs"]}
    assert statuses == {
        "particles": ("published", 0),
        "wrong-node": ("failed", 2),
        "no-hip": ("failed", 3),
        "debris": ("published", 0),
    }
    wrong = next(j for j in report["jobs"] if j["id"] == "wrong-node")
    assert wrong["error"]["field"] == "node"
    assert "publish a LOP node or a USD ROP" in wrong["error"]["message"]
    assert report["summary"] == {
        "published": 2,
        "already_published": 0,
        "failed": 2,
        "not_run": 0,
    }
    assert json.loads(report_file.read_text())["jobs"] == report["jobs"]
    debris = next(j for j in report["jobs"] if j["id"] == "debris")["publish"]
    stage = Usd.Stage.Open(debris["item_usd_path"])
    assert (stage.GetStartTimeCode(), stage.GetEndTimeCode()) == (1001.0, 1003.0)

    code, rerun, _ = run(tmp_path, "jobs", str(jobs), "--json")
    assert code == batch.EXIT_SOME_JOBS_FAILED
    assert [j["status"] for j in rerun["jobs"]] == [
        "already_published",
        "failed",
        "failed",
        "already_published",
    ]
    assert [r[:4] for r in publish_rows(launched)] == [
        ("debris", 1, 1, "published"),
        ("particles01", 1, 1, "published"),
    ]


def test_a_failing_rop_exits_8_and_the_retry_reopens_the_same_publish(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = saved_scene(houdini)
    document = json.loads(Path(hip).read_text())
    source = next(n for n in document["nodes"] if n["path"] == "/stage/particles01_src")
    source["parms"]["primpath"] = "not a prim path"
    Path(hip).write_text(json.dumps(document))
    args = ("publish", "--hip", hip, "--node", "/stage/particles01", "--json")

    code, report, _ = run(tmp_path, *args)
    assert code == 8
    error = report["jobs"][0]["error"]
    assert error["code"] == "write_failed" and error["field"] == "node"
    [(_, _, _, status, first_id)] = publish_rows(launched)
    assert status == "failed"

    source["parms"]["primpath"] = "/particles01"
    Path(hip).write_text(json.dumps(document))
    code, report, stderr = run(tmp_path, *args)
    assert code == 0, stderr
    assert publish_rows(launched) == [("particles01", 1, 1, "published", first_id)]
    assert publish_reads.get_publish(launched.db, first_id).error is None


def test_a_hip_that_pm_did_not_save_exits_3_and_records_nothing(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    houdini.node("/stage").createNode("pm::publish_part::1.0", "particles01")
    foreign = tmp_path / "elsewhere" / "foreign.hip"
    houdini.hipFile.save(str(foreign))
    code, report, _ = run(
        tmp_path, "publish", "--hip", str(foreign), "--node", "/stage/particles01", "--json"
    )
    assert code == 2  # outside every project: invalid input, not a retryable failure
    assert report["jobs"][0]["error"]["field"] == "hip"
    assert "saved with pm" in report["jobs"][0]["error"]["message"]
    copied = launched.root / "sequences" / "copy.hip"
    houdini.hipFile.save(str(copied))
    code, report, _ = run(
        tmp_path, "publish", "--hip", str(copied), "--node", "/stage/particles01", "--json"
    )
    assert code == 3
    assert publish_rows(launched) == []


def test_an_invalid_job_file_runs_nothing_and_names_the_field(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = saved_scene(houdini)
    jobs = tmp_path / "jobs.json"
    jobs.write_text(
        json.dumps(
            [
                {"hip": hip, "node": "/stage/particles01"},
                {"hip": hip, "nodes": "/stage/particles01"},
            ]
        )
    )
    code, report, stderr = run(tmp_path, "jobs", str(jobs), "--json")
    assert code == 2
    assert report["error"]["field"] == "jobs[1].nodes"
    assert "jobs[1].nodes" in stderr
    assert publish_rows(launched) == []


def test_an_unreachable_database_exits_6_so_the_farm_retries_later(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = saved_scene(houdini)
    code, report, stderr = run(
        tmp_path,
        "publish",
        "--hip",
        hip,
        "--node",
        "/stage/particles01",
        "--json",
        PM_DB_URL="postgresql+psycopg2://pm:secret@127.0.0.1:1/pm",
    )
    assert code == 6, stderr
    assert "secret" not in stderr and "secret" not in json.dumps(report)


def test_job_files_are_checked_before_anything_runs(tmp_path: Path) -> None:
    cases = {
        "[]": "jobs",
        "{}": "jobs",
        "not json": "jobs",
        '[{"hip": "a.hip"}]': "jobs[0].node",
        '[{"hip": "a.hip", "node": "/n", "asset": "a/b"}]': "jobs[0].asset",
        '[{"hip": "a.hip", "node": "/n", "frame_range": [5, 1]}]': "jobs[0].frame_range",
        '[{"id": "x", "hip": "a", "node": "/n"}, {"id": "x", "hip": "b", "node": "/n"}]': (
            "jobs[1].id"
        ),
    }
    for text, field in cases.items():
        path = tmp_path / "jobs.json"
        path.write_text(text)
        try:
            batch.load_jobs(str(path))
        except ValidationError as exc:
            assert exc.field == field, text
        else:
            raise AssertionError(f"accepted {text}")


def test_an_interrupted_batch_stops_and_reports_the_rest_as_not_run(
    launched: Any, houdini: types.ModuleType, tmp_path: Path
) -> None:
    hip = saved_scene(houdini, ("particles01", "debris"))
    jobs = [
        batch.Job("first", hip, "/stage/particles01"),
        batch.Job("second", hip, "/stage/debris"),
    ]
    houdini._session.interrupt_at = 1
    statuses = batch.run_jobs(jobs)
    assert [(s.status, s.exit_code) for s in statuses] == [("failed", 130), ("not_run", 130)]
    assert [r[3] for r in publish_rows(launched)] == ["failed"]


# bin/pm_batch.py: the launcher script --------------------------------------------------------

LAUNCHER = Path(__file__).resolve().parent.parent / "bin" / "pm_batch.py"


def bare_env(tmp_path: Path) -> dict[str, str]:
    """A Python without Houdini and without pm on its path."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PM_HOME": str(tmp_path)}


@pytest.mark.parametrize("argv", [["--help"], ["publish", "--help"], ["jobs", "-h"]])
def test_the_launcher_answers_help_without_houdini(tmp_path: Path, argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-S", str(LAUNCHER), *argv],
        cwd=tmp_path,
        env=bare_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: hython pm_batch.py")


def test_the_launcher_refuses_bad_arguments_without_houdini(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-S", str(LAUNCHER), "publish", "--hip", "x.hip"],
        cwd=tmp_path,
        env=bare_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--node" in done.stderr
    assert "No module named 'hou'" not in done.stderr


def test_the_launcher_runs_the_batch_in_houdini(launched: Any, tmp_path: Path) -> None:
    env = support.batch_env()
    env["PYTHONPATH"] = str(support.FAKE_DIR)  # hou only: the launcher finds pm itself
    missing = str(tmp_path / "nowhere.hip")
    done = subprocess.run(
        [
            sys.executable,
            str(LAUNCHER),
            "publish",
            "--hip",
            missing,
            "--node",
            "/stage/x",
            "--json",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 3, done.stderr
    assert json.loads(done.stdout)["jobs"][0]["error"]["field"] == "hip"
